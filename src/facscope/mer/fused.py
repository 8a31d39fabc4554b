"""STSTNet's stream layer for stacked fold models as one fused native kernel.

The stream layer is conv 3×3 (padding 2) → ReLU → batch norm → max pool 3/3 (padding 1).
Written as torch operations its (H+2)² maps are written and read a dozen times per step, which
bounds a 68-fold LOSO by memory traffic. The kernel (``ststnet_fused.cpp``) computes each
position's 16 channels in vector registers and keeps only what the rest of the network needs:

- batch norm is an affine map ``a·(r − mean) + beta`` per channel, monotone in ``r``, so max
  pooling after it picks the window's largest ReLU output where ``a > 0`` and the smallest
  where ``a < 0``: the kernel pools the ReLU output (max or min per channel, from the sign of
  ``gamma``) and the affine map is applied to the pooled values afterwards (10×10, not 30×30);
- the batch statistics are sums of ``r − shift`` and ``(r − shift)²`` (the shift is the running
  mean, against cancellation), so ``mean`` and the biased ``var`` are outputs of the layer and
  their gradients come back as ``g_r += alpha + beta·r`` at every position where the ReLU
  passes (``alpha = g_mean/n − 2·g_var·mean/n``, ``beta = 2·g_var/n``);
- the backward pass recomputes the convolution, adds each window's gradient at its first
  maximum (minimum) in torch's scan order, and accumulates the weight and bias gradients.

The kernel is C++ with GCC vector extensions (x86_64 and aarch64; ``-march=native``), built
on first use with the system compiler into ``$FACSCOPE_CACHE`` (default
``~/.cache/facscope``)/kernels, keyed by source, sizes, compiler and CPU; no compiler means
:func:`load_kernel` says why and the caller uses the torch version. Threads: folds are split
over ``torch.get_num_threads()`` Python threads (ctypes releases the GIL), no OpenMP.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import itertools
import os
import platform
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "FoldGenerators",
    "FusedKernel",
    "kernel_unavailable",
    "load_kernel",
    "over_folds",
    "stream_layer",
    "tail_layer",
]

SOURCE = Path(__file__).with_name("ststnet_fused.cpp")
_FLAGS = (
    "-O3",
    "-march=native",
    "-mprefer-vector-width=512",
    "-funroll-loops",
    "-ffp-contract=fast",
    "-shared",
    "-fPIC",
    "-std=c++17",
)


def _cache_root() -> Path:
    env = os.environ.get("FACSCOPE_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "facscope"


def _compiler() -> str | None:
    for name in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def _cpu_key() -> str:
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
        flags = next((ln for ln in text.splitlines() if ln.startswith(("flags", "Features"))), "")
    except OSError:
        flags = ""
    return f"{platform.machine()} {flags}"


@dataclass(frozen=True)
class FusedKernel:
    """The compiled layer for one input shape: ``cin`` channels, ``side``² inputs, ``dv``
    16-channel vectors."""

    lib: Any
    cin: int
    side: int
    dv: int

    @property
    def channels(self) -> int:
        return 16 * self.dv

    @property
    def conv_side(self) -> int:
        return self.side + 2

    @property
    def pooled(self) -> int:
        return (self.conv_side - 1) // 3 + 1


class _Unavailable(Exception):
    pass


@functools.cache
def _build(cin: int, side: int, dv: int) -> FusedKernel:
    cxx = _compiler()
    if cxx is None:
        raise _Unavailable("no C++ compiler (c++, g++ or clang++; or set CXX)")
    defines = (f"-DCIN={cin}", f"-DSIDE={side}", f"-DDV={dv}")
    try:
        version = subprocess.run([cxx, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise _Unavailable(f"{cxx} --version failed ({exc})") from exc
    key = hashlib.sha256(
        "\n".join([SOURCE.read_text(), *_FLAGS, *defines, version.stdout, _cpu_key()]).encode()
    ).hexdigest()[:20]
    out = _cache_root() / "kernels" / f"ststnet_fused_{key}.so"
    if not out.is_file():
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
            so = Path(tmp) / out.name
            run = subprocess.run(
                [cxx, *_FLAGS, *defines, str(SOURCE), "-o", str(so)],
                capture_output=True,
                text=True,
                timeout=300,
            )
            if run.returncode != 0:
                first = (run.stderr.strip().splitlines() or ["?"])[0][:200]
                raise _Unavailable(f"{Path(cxx).name} could not build {SOURCE.name}: {first}")
            os.replace(so, out)  # atomic: a concurrent build leaves one whole file
    lib = ctypes.CDLL(str(out))
    p, i = ctypes.c_void_p, ctypes.c_int
    lib.fused_forward.argtypes = [i, i, i, i, *([p] * 10)]
    lib.fused_backward.argtypes = [i, i, i, i, *([p] * 12)]
    lib.fused_forward.restype = lib.fused_backward.restype = None
    f32 = ctypes.c_float
    lib.tail_forward.argtypes = [i, i, i, i, i, p, p, p, p, p, i, p, p, f32, p]
    lib.tail_backward.argtypes = [i, i, i, i, i, p, p, p, p, i, p, p, f32, p, p, p, p]
    lib.tail_forward.restype = lib.tail_backward.restype = None
    lib.bernoulli_fill.argtypes = [p, p, p, ctypes.c_double, p, ctypes.c_int64]
    lib.bernoulli_fill.restype = None
    return FusedKernel(lib, cin, side, dv)


def load_kernel(cin: int, side: int, channels: int) -> FusedKernel | str:
    """The compiled kernel for ``cin``-channel ``side``² inputs and ``channels`` stacked stream
    channels, or a one-line reason why it cannot be built here."""
    if os.environ.get("FACSCOPE_NO_NATIVE"):
        return "FACSCOPE_NO_NATIVE is set"
    try:
        return _build(int(cin), int(side), -(-int(channels) // 16))
    except _Unavailable as exc:
        return str(exc)
    except OSError as exc:  # an unwritable cache, a .so that will not load
        return f"the kernel could not be built or loaded ({exc})"


def kernel_unavailable(cin: int, side: int, channels: int) -> str | None:
    """Why the fused kernel cannot run here (None when it can)."""
    got = load_kernel(cin, side, channels)
    return got if isinstance(got, str) else None


def _mt_states(gens: Sequence[Any]) -> tuple[Any, Any, Any]:
    """torch CPU generators' mt19937 states: words ``(G, 624)``, ``left`` and ``next``
    ``(G,)`` (int32; the layout of ``Generator.get_state()``: seed u64, left i32, seeded i32,
    next u64, 624 words as u64, …)."""
    import numpy as np
    import torch

    raw = np.stack([g.get_state().numpy() for g in gens]).astype(np.uint8)
    left = raw[:, 8:12].copy().view(np.int32)[:, 0]
    nxt = raw[:, 16:24].copy().view(np.uint64)[:, 0].astype(np.int32)
    words = raw[:, 24 : 24 + 624 * 8].copy().view(np.uint64).astype(np.uint32).view(np.int32)
    return torch.from_numpy(words.copy()), torch.from_numpy(left.copy()), torch.from_numpy(nxt)


class FoldGenerators:
    """One random generator per fold for dropout masks: torch's own (``bernoulli_``), or, with
    ``kernel``, the same mt19937 stream drawn natively (torch's CPU ``bernoulli_`` is serial
    where it does not use MKL). The native draw is used only where it gives torch's numbers
    (:func:`native_rng_matches`)."""

    def __init__(self, gens: Sequence[Any], kernel: FusedKernel | None = None, *,
                 check: bool = True) -> None:  # fmt: skip
        self.gens = list(gens)
        use = kernel is not None and (not check or native_rng_matches(kernel))
        self.kernel = kernel if use else None
        if self.kernel is not None:
            self.state, self.left, self.next = _mt_states(self.gens)

    def bernoulli_(self, fold: int, out: Any, p: float) -> None:
        """Fill the contiguous float32 ``out`` with Bernoulli(``p``) draws of fold ``fold``."""
        if self.kernel is None:
            out.bernoulli_(p, generator=self.gens[fold])
            return
        self.kernel.lib.bernoulli_fill(
            self.state.data_ptr() + fold * 624 * 4, self.left.data_ptr() + fold * 4,
            self.next.data_ptr() + fold * 4, float(p), out.data_ptr(), out.numel(),
        )  # fmt: skip


@functools.cache
def native_rng_matches(kernel: FusedKernel) -> bool:
    """Whether the native draws equal torch's ``bernoulli_`` here (they do not where torch
    uses MKL's generator, as on some Intel CPUs)."""
    import torch

    want = torch.empty(3000).bernoulli_(0.37, generator=torch.Generator().manual_seed(7))
    got = torch.empty(3000)
    gens = FoldGenerators([torch.Generator().manual_seed(7)], kernel, check=False)
    gens.bernoulli_(0, got, 0.37)
    return bool(torch.equal(got, want))


def _ptr(t: Any) -> int:
    return t.data_ptr()


def _split(f: int) -> list[tuple[int, int]]:
    import torch

    threads = max(1, min(torch.get_num_threads(), f))
    edges = [round(f * t / threads) for t in range(threads + 1)]
    return [(a, b) for a, b in itertools.pairwise(edges) if b > a]


@functools.cache
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="facscope-fused")


def over_folds(call: Any, f: int) -> None:
    """``call(lo, hi)`` over contiguous fold ranges covering ``range(f)``, one per thread
    (``torch.get_num_threads()``); ``call`` must release the GIL to run side by side."""
    parts = _split(f)
    if len(parts) == 1:
        call(*parts[0])
        return
    for fut in [_pool(len(parts)).submit(call, a, b) for a, b in parts]:
        fut.result()


def stream_layer(
    kernel: FusedKernel,
    xpad: Any,
    idx: Any,
    counts: Any,
    w: Any,
    b: Any,
    neg: Any,
    shift: Any,
) -> tuple[Any, Any, Any]:
    """The pooled ReLU output ``q`` ``(F, B, P, P, Dp)`` (max or min per channel by ``neg``;
    channels padded to ``kernel.channels``) and the batch mean and biased variance ``(F, D)``
    over each fold's first ``counts`` rows.

    ``w`` ``(F, D, C, 3, 3)`` and ``b`` ``(F, D)`` take gradients; ``xpad`` ``(N, C, S+4, S+4)``
    holds every sample zero-padded by 2, ``idx`` ``(F, B)`` each fold's rows of it; ``shift``
    ``(F, D)`` is subtracted before the sums (the running mean: against cancellation)."""
    return _functions()[0].apply(w, b, kernel, xpad, idx, counts, neg, shift)


def tail_layer(
    kernel: FusedKernel,
    q: Any,
    counts: Any,
    mean: Any,
    scale: Any,
    beta: Any,
    noise: Sequence[Any] = (),
    keep: float = 1.0,
) -> Any:
    """Features ``(F, B, D·S·S)`` (the model's flatten order): batch norm's affine map
    ``(q − mean)·scale + beta`` on the pooled values, the streams' dropout (``noise``: one
    ``(F, B, width, P, P)`` 0/1 tensor per stream, times ``keep``; empty: none) and 2×2 average
    pooling. ``q``, ``mean``, ``scale`` and ``beta`` take gradients."""
    return _functions()[1].apply(q, mean, scale, beta, kernel, counts, tuple(noise), keep)


def _f32(t: Any) -> Any:
    import torch

    return t.detach().to(torch.float32).contiguous()


@functools.cache
def _functions() -> tuple[Any, Any]:
    import torch
    import torch.nn.functional as fn

    class StreamFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, w: Any, b: Any, kernel: FusedKernel, xpad: Any, idx: Any,
                    counts: Any, neg: Any, shift: Any) -> Any:  # fmt: skip
            f, d = b.shape
            pad = kernel.channels - d
            wk = fn.pad(w.detach().reshape(f, d, -1).transpose(1, 2), (0, pad)).contiguous()
            bk = fn.pad(b.detach(), (0, pad)).contiguous()
            ng = fn.pad(neg.float(), (0, pad)).contiguous()
            sh = fn.pad(_f32(shift), (0, pad)).contiguous()
            idx64 = idx.to(torch.int64).contiguous()
            cnt = counts.to(torch.int32).contiguous()
            p, bsz = kernel.pooled, idx.shape[1]
            q = torch.empty(f, bsz, p, p, kernel.channels)
            s1 = torch.zeros(f, kernel.channels, dtype=torch.float64)
            s2 = torch.zeros_like(s1)

            def call(a: int, z: int) -> None:
                kernel.lib.fused_forward(
                    a, z, f, bsz, _ptr(xpad), _ptr(idx64), _ptr(cnt), _ptr(wk), _ptr(bk),
                    _ptr(sh), _ptr(ng), _ptr(q), _ptr(s1), _ptr(s2),
                )  # fmt: skip

            over_folds(call, f)
            n = (cnt.double() * kernel.conv_side**2).clamp(min=1)[:, None]
            m1 = s1[:, :d] / n
            mean = (sh[:, :d].double() + m1).float()
            var = (s2[:, :d] / n - m1 * m1).clamp(min=0).float()
            ctx.save_for_backward(xpad, idx64, cnt, wk, bk, ng, mean, q)
            ctx.kernel, ctx.wshape = kernel, tuple(w.shape)
            return q, mean, var

        @staticmethod
        def backward(ctx: Any, gq: Any, gmean: Any, gvar: Any) -> Any:
            xpad, idx64, cnt, wk, bk, ng, mean, q = ctx.saved_tensors
            kernel = ctx.kernel
            f, d = mean.shape
            pad = kernel.channels - d
            n = (cnt.float() * kernel.conv_side**2).clamp(min=1)[:, None]
            gmean = torch.zeros(f, d) if gmean is None else gmean
            gvar = torch.zeros(f, d) if gvar is None else gvar
            alpha = fn.pad(gmean / n - 2 * gvar * mean / n, (0, pad)).contiguous()
            beta = fn.pad(2 * gvar / n, (0, pad)).contiguous()
            bsz, p = idx64.shape[1], kernel.pooled
            g = torch.zeros(f, bsz, p, p, kernel.channels) if gq is None else _f32(gq)
            dw = torch.empty(f, wk.shape[1], kernel.channels, dtype=torch.float64)
            db = torch.empty(f, kernel.channels, dtype=torch.float64)

            def call(a: int, z: int) -> None:
                kernel.lib.fused_backward(
                    a, z, f, bsz, _ptr(xpad), _ptr(idx64), _ptr(cnt), _ptr(wk), _ptr(bk),
                    _ptr(ng), _ptr(q), _ptr(g), _ptr(alpha), _ptr(beta), _ptr(dw), _ptr(db),
                )  # fmt: skip

            over_folds(call, f)
            gw = dw[:, :, :d].transpose(1, 2).reshape(ctx.wshape).float()
            return gw, db[:, :d].float(), None, None, None, None, None, None

    class TailFn(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, q: Any, mean: Any, scale: Any, beta: Any, kernel: FusedKernel,
                    counts: Any, noise: tuple[Any, ...], keep: float) -> Any:  # fmt: skip
            f, bsz = q.shape[:2]
            d = mean.shape[1]
            side = kernel.pooled // 2
            cnt = counts.to(torch.int32).contiguous()
            m, a, b = _f32(mean), _f32(scale), _f32(beta)
            noise = tuple(_f32(t) for t in noise)
            ptrs = (ctypes.c_void_p * max(1, len(noise)))(*[_ptr(t) for t in noise])
            widths = torch.tensor([t.shape[2] for t in noise] or [0], dtype=torch.int32)
            out = torch.empty(f, bsz, d * side * side)

            def call(lo: int, hi: int) -> None:
                kernel.lib.tail_forward(
                    lo, hi, f, bsz, d, _ptr(cnt), _ptr(q), _ptr(m), _ptr(a), _ptr(b),
                    len(noise), ctypes.addressof(ptrs), _ptr(widths), ctypes.c_float(keep),
                    _ptr(out),
                )  # fmt: skip

            over_folds(call, f)
            ctx.save_for_backward(q, cnt, m, a, widths, *noise)
            ctx.kernel, ctx.keep, ctx.nstreams = kernel, keep, len(noise)
            return out

        @staticmethod
        def backward(ctx: Any, gout: Any) -> Any:
            q, cnt, m, a, widths, *noise = ctx.saved_tensors
            kernel, f, bsz, d = ctx.kernel, q.shape[0], q.shape[1], m.shape[1]
            ptrs = (ctypes.c_void_p * max(1, len(noise)))(*[_ptr(t) for t in noise])
            g = _f32(gout)
            gq = torch.empty_like(q)
            ga = torch.empty(f, d, dtype=torch.float64)
            gb = torch.empty(f, d, dtype=torch.float64)

            def call(lo: int, hi: int) -> None:
                kernel.lib.tail_backward(
                    lo, hi, f, bsz, d, _ptr(cnt), _ptr(q), _ptr(m), _ptr(a), ctx.nstreams,
                    ctypes.addressof(ptrs), _ptr(widths), ctypes.c_float(ctx.keep), _ptr(g),
                    _ptr(gq), _ptr(ga), _ptr(gb),
                )  # fmt: skip

            over_folds(call, f)
            gbeta = gb.float()
            return gq, -a * gbeta, ga.float(), gbeta, None, None, None, None

    return StreamFn, TailFn
