"""A disk cache of aligned, cropped clips and apex-flow stacks, built once per setting.

Decoding raw frames, detecting and aligning the face and computing optical flow cost far more
than a training step of a small model, so they are done once and stored:

* **clip entries** (video models): the face is detected and aligned on the **onset** frame and
  that one transform crops every frame from onset to offset (:mod:`facscope.motion.clip`).
  Frames are kept as ``uint8`` ``(T, size, size, 3)`` in ``frames.npy`` (a training step reads
  only the frames its sampling strategy picks: :class:`FrameFile`) with their frame numbers in
  ``numbers.npy``. Clips faster than ``fps`` are thinned to the frames nearest to multiples of
  ``1 / fps`` seconds (the apex and offset frames are always kept).
* **flow entries** (apex-flow models): onset → apex flow on the aligned grayscale crop
  (``flow_size`` px) turned into the STSTNet (u, v, strain) stack at ``size`` px
  (:func:`facscope.motion.strain.ststnet_stack`), ``float32`` ``(size, size, 3)``.

An entry lives in a folder named after the sample and a hash of everything that shapes it (the
frames' path, onset/apex/offset, crop size, face mode, detector, fps, flow method), so changing
a setting builds a new entry and never reuses a stale one. ``meta.json`` is written last and
atomically: an entry without it is unfinished and is rebuilt. A sample that fails (no face, an
unreadable frame) is recorded and the build carries on.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import warnings
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facscope.data.sample import Sample
from facscope.errors import ConfigError, FacscopeDataWarning, FacscopeError, InputFileError
from facscope.io import JsonlLog, atomic_path, write_json

__all__ = ["CacheBuild", "CacheSpec", "FrameFile", "build_cache", "cache_sample", "load_entry"]

KINDS = ("clip", "flow")


@dataclass(frozen=True, kw_only=True)
class CacheSpec:
    """How entries of one kind are built.

    Attributes:
        root: cache folder (shared by runs; entries of other settings live beside).
        kind: ``"clip"`` or ``"flow"``.
        size: side of the cached crop (clip) or of the flow stack (flow).
        face: ``"detect"`` (align on the onset frame) or ``"full"`` (resize whole frames).
        detector: face detector for ``"detect"``.
        fps: highest frame rate kept in clip entries (None keeps every frame).
        flow: flow method (:func:`facscope.motion.flow.list_flows`) for flow entries.
        flow_size: side of the aligned crop the flow is computed on.
        channels: the model's channel names, picked from precomputed flow files (samples of
            kind ``flow``) by their ``flow_channels`` names.
    """

    root: Path
    kind: str = "clip"
    size: int = 112
    face: str = "detect"
    detector: str = "mtcnn"
    fps: float | None = 200.0
    flow: str = "tvl1"
    flow_size: int = 128
    channels: tuple[str, ...] = ("u", "v", "strain")

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))
        object.__setattr__(self, "channels", tuple(self.channels))
        if self.kind not in KINDS:
            raise ConfigError(f"cache kind must be one of {KINDS}; got {self.kind!r}")
        if not 8 <= int(self.size) <= 1024:
            raise ConfigError(f"cache size must be in 8..1024 pixels; got {self.size}")

    def settings(self) -> dict[str, Any]:
        """The settings that shape an entry of this kind (hashed into its name)."""
        common = {"kind": self.kind, "size": int(self.size), "face": self.face}
        if self.face == "detect":
            common["detector"] = self.detector
        if self.kind == "clip":
            return {**common, "fps": self.fps}
        return {**common, "flow": self.flow, "flow_size": int(self.flow_size)}

    def file_settings(self, sample: Sample) -> dict[str, Any]:
        """What shapes the entry of a precomputed flow file (kind ``flow``): no face, no flow
        method, but its channel names, order and scale and the model's channels and size."""
        from facscope.mer.flowinput import format_meta

        meta = format_meta(sample)
        return {"kind": "flowfile", "size": int(self.size), "channels": list(self.channels), **meta}

    def entry(self, sample: Sample) -> Path:
        """The entry folder of ``sample`` under these settings."""
        if sample.is_flow:
            ident = {"dataset": sample.dataset, "sample_id": sample.sample_id,
                     "path": str(sample.path), **self.file_settings(sample)}  # fmt: skip
            digest = hashlib.sha1(json.dumps(ident, sort_keys=True, default=str).encode())
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{sample.dataset}-{sample.sample_id}")[:80]
            return self.root / "flowfile" / f"{safe}-{digest.hexdigest()[:16]}"
        ident = {
            "dataset": sample.dataset,
            "sample_id": sample.sample_id,
            "path": str(sample.path),
            "onset": sample.onset,
            "apex": sample.apex,
            "offset": sample.offset,
            "fps": sample.fps,
            **self.settings(),
        }
        digest = hashlib.sha1(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{sample.dataset}-{sample.sample_id}")[:80]
        return self.root / self.kind / f"{safe}-{digest}"


@dataclass(frozen=True)
class CacheBuild:
    """Result of :func:`build_cache`: one entry folder per sample (None where it failed)."""

    entries: tuple[Path | None, ...]
    failures: tuple[dict[str, str], ...]
    built: int
    reused: int


def _damage(entry: Path) -> str | None:
    """Why a finished-looking entry cannot be read (a truncated or foreign ``.npy``), or None.
    Memory-mapping reads only the header and checks the file holds all the data it declares;
    arrays of Python objects cannot be mapped, so they are caught too."""
    for path in sorted(entry.glob("*.npy")):
        try:
            np.load(path, mmap_mode="r")
        except (ValueError, OSError, EOFError) as exc:
            return f"{path.name}: {exc}"
    return None


def is_done(entry: Path) -> bool:
    """True for a finished entry whose arrays can be read; a damaged one (a kill or a disk
    fault during a copy) is reported, removed and so built again."""
    if not (entry / "meta.json").is_file():
        return False
    problem = _damage(entry)
    if problem is None:
        return True
    warnings.warn(
        f"cache entry {entry} is damaged ({problem}); it is built again",
        FacscopeDataWarning,
        stacklevel=2,
    )
    shutil.rmtree(entry, ignore_errors=True)
    return False


def _save_npy(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        np.save(tmp, array)


def _open(sample: Sample) -> Any:
    from facscope.motion.clip import open_clip

    if not sample.is_clip:
        raise ConfigError(f"sample {sample.sample_id!r} is a still image, not a clip")
    if sample.onset is None or sample.offset is None:
        raise ConfigError(f"sample {sample.sample_id!r} has no onset/offset annotation")
    return open_clip(sample.path, fps=sample.fps)


def _align(spec: CacheSpec, clip: Any, onset_pos: int, size: int) -> Any:
    return clip.align(onset_pos, size=size, face=spec.face, detector=spec.detector)


def _thin(
    numbers: list[int],
    onset: int,
    offset: int,
    apex: int | None,
    fps: float | None,
    keep_fps: float | None,
) -> list[int]:
    """The frame numbers in [onset, offset] kept at ``keep_fps`` (all when slower)."""
    inside = [n for n in numbers if onset <= n <= offset]
    if keep_fps is None or fps is None or fps <= keep_fps or len(inside) <= 2:
        return inside
    arr = np.asarray(inside)
    steps = np.arange(0, int(np.floor((offset - onset) / fps * keep_fps + 1e-9)) + 1)
    targets = onset + steps / keep_fps * fps
    picked = {int(arr[np.argmin(np.abs(arr - t))]) for t in targets}
    picked |= {inside[-1]}
    if apex is not None and apex in inside:
        picked.add(apex)
    return sorted(picked)


def cache_sample(sample: Sample, spec: CacheSpec) -> Path:
    """Build (or reuse) the cache entry of one sample; returns its folder.

    Raises:
        FacscopeError: the sample cannot be read, has no face, or has no annotation.
    """
    entry = spec.entry(sample)
    if is_done(entry):
        return entry
    entry.mkdir(parents=True, exist_ok=True)
    if sample.is_flow:
        from facscope.mer.flowinput import cache_flow_file

        return cache_flow_file(sample, spec, entry)
    clip = _open(sample)
    onset_pos = clip.index_of(sample.onset)
    meta: dict[str, Any] = {
        "sample_id": sample.sample_id,
        "subject": sample.subject,
        "dataset": sample.dataset,
        "onset": sample.onset,
        "apex": sample.apex,
        "offset": sample.offset,
        "fps": sample.fps,
        "settings": spec.settings(),
    }
    if spec.kind == "clip":
        keep = _thin(
            list(clip.numbers), sample.onset, sample.offset, sample.apex, sample.fps, spec.fps
        )
        if not keep:
            raise ConfigError(
                f"{sample.sample_id}: no frame between onset {sample.onset} and offset "
                f"{sample.offset} in {clip.source}"
            )
        align = _align(spec, clip, onset_pos, int(spec.size))
        positions = [clip.index_of(n, strict=True) for n in keep]
        frames = np.stack([align.crop(f) for f in clip.load(positions)]).astype(np.uint8)
        _save_npy(entry / "frames.npy", frames)
        _save_npy(entry / "numbers.npy", np.asarray(keep, dtype=np.int64))
        meta["alignment"] = align.to_dict()
        meta["frames"] = len(keep)
    else:
        from facscope.motion.flow import compute_flow
        from facscope.motion.strain import ststnet_stack

        apex = sample.apex if sample.apex is not None else (sample.onset + sample.offset) // 2
        align = _align(spec, clip, onset_pos, int(spec.flow_size))
        onset_img, apex_img = clip.load([onset_pos, clip.index_of(apex)])
        flow = compute_flow(align.crop_gray(onset_img), align.crop_gray(apex_img), spec.flow)
        stack = ststnet_stack(flow, int(spec.size)).astype(np.float32)
        _save_npy(entry / "flow.npy", stack)
        meta["alignment"] = align.to_dict()
        meta["apex_used"] = int(apex)
    write_json(entry / "meta.json", meta)
    return entry


def _worker(args: tuple[Sample, CacheSpec]) -> tuple[str | None, str | None]:
    sample, spec = args
    try:
        return str(cache_sample(sample, spec)), None
    except (FacscopeError, OSError, ValueError) as exc:
        return None, f"{type(exc).__name__}: {exc}"


def build_cache(
    samples: Sequence[Sample],
    spec: CacheSpec,
    *,
    workers: int = 0,
    progress: bool = True,
) -> CacheBuild:
    """Build the entries of ``samples`` that are missing; reuse finished ones.

    A failing sample is recorded in :attr:`CacheBuild.failures` (and appended to
    ``<root>/failures.jsonl``) and the build goes on.

    Args:
        samples: the clips to cache.
        spec: the settings.
        workers: processes to build with (0: in this process).
        progress: show a tqdm bar.
    """
    from tqdm.auto import tqdm

    entries: list[Path | None] = [None] * len(samples)
    failures: list[dict[str, str]] = []
    todo = []
    reused = 0
    for i, s in enumerate(samples):
        e = spec.entry(s)
        if is_done(e):
            entries[i] = e
            reused += 1
        else:
            todo.append(i)
    bar = tqdm(
        total=len(todo),
        desc=f"cache {spec.kind} ({reused} reused)" if reused else f"cache {spec.kind}",
        unit="clip",
        disable=not progress or not todo,  # nothing to build: no empty bar
    )
    jobs = [(samples[i], spec) for i in todo]
    if workers > 0 and len(jobs) > 1:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            results = pool.map(_worker, jobs, chunksize=1)
            for i, (path, err) in zip(todo, results):
                _record(i, path, err, samples, entries, failures)
                bar.update(1)
    else:
        for i, job in zip(todo, jobs):
            path, err = _worker(job)
            _record(i, path, err, samples, entries, failures)
            bar.update(1)
    bar.close()
    if failures:
        log = JsonlLog(spec.root / "failures.jsonl").repair()
        log.append(*({**f, "settings": spec.settings()} for f in failures), ensure_ascii=True)
    return CacheBuild(tuple(entries), tuple(failures), len(todo) - len(failures), reused)


def _record(
    i: int,
    path: str | None,
    err: str | None,
    samples: Sequence[Sample],
    entries: list[Path | None],
    failures: list[dict[str, str]],
) -> None:
    if path is not None:
        entries[i] = Path(path)
    else:
        s = samples[i]
        failures.append({"sample_id": s.sample_id, "subject": s.subject, "error": str(err)})


@dataclass(frozen=True)
class FrameFile:
    """The frames of a clip entry's ``frames.npy``, read frame by frame on demand.

    ``frames[[i, j, …]]`` reads just those frames, in one open-read-close of the file. Unlike a
    memory map it holds no file open between reads (a memory map keeps a file descriptor, so a
    worker keeping thousands of entries would run out of them) and it knows the header, so a
    read parses nothing.
    """

    path: Path
    offset: int
    shape: tuple[int, ...]
    dtype: np.dtype

    @classmethod
    def open(cls, path: Path) -> FrameFile:
        fmt = np.lib.format
        with open(path, "rb") as fh:
            version = fmt.read_magic(fh)
            read = {(1, 0): fmt.read_array_header_1_0, (2, 0): fmt.read_array_header_2_0}.get(
                version
            )
            if read is None:
                raise InputFileError(f"{path}: .npy format {version} is not read here; rebuild it")
            shape, fortran_order, dtype = read(fh)
            offset = fh.tell()
        if fortran_order or dtype.hasobject or len(shape) < 1:
            raise InputFileError(f"{path} is not a C-ordered frame array: rebuild the cache entry")
        return cls(Path(path), offset, tuple(shape), dtype)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, index: Sequence[int]) -> np.ndarray:
        picks = [int(i) for i in index]
        out = np.empty((len(picks), *self.shape[1:]), dtype=self.dtype)
        size = out[0].nbytes if len(picks) else 0
        with open(self.path, "rb", buffering=0) as fh:
            for k, i in enumerate(picks):
                if not 0 <= i < self.shape[0]:
                    raise IndexError(f"frame {i} of {self.shape[0]} in {self.path}")
                fh.seek(self.offset + i * size)
                if fh.readinto(memoryview(out[k]).cast("B")) != size:
                    raise InputFileError(f"{self.path} is truncated: rebuild the cache entry")
        return out


def load_entry(entry: Path, kind: str, *, mmap: bool = True) -> dict[str, Any]:
    """The arrays of a finished entry: ``frames`` + ``numbers`` (clip) or ``flow`` (flow)."""
    mode = "r" if mmap else None
    if kind == "clip":
        return {
            "frames": np.load(entry / "frames.npy", mmap_mode=mode),
            "numbers": np.load(entry / "numbers.npy"),
        }
    return {"flow": np.load(entry / "flow.npy")}


def spec_dict(spec: CacheSpec) -> dict[str, Any]:
    d = asdict(spec)
    d["root"] = str(spec.root)
    return d
