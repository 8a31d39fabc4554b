"""A whole LOSO of STSTNet as one stacked model: every fold trained at once.

The F fold models' parameters are stacked along a leading fold axis. Each fold sees exactly
what the per-fold loop (:mod:`facscope.mer.fold`) gives it: its initial weights (the same
seeded ``create_model``), its own training subjects in the same seeded order and batches, the
same dropout masks (drawn from a generator seeded like the loop's ``(seed, fold, epoch)``),
its own imbalance loss, and its own optimiser state (Adam, AdamW or SGD, written out
elementwise, per-fold step counts). Batch norm is computed per fold over that fold's own rows
(a mask leaves out the padding of shorter batches), and the classifier is one batched matrix
product.

The stream layer runs as the fused native kernel of :mod:`facscope.mer.fused` where a C++
compiler is found (``batched_kernel: auto``), else as torch operations (one grouped
convolution, ``groups=F``). Equality with the loop (``tests/mer/test_batched.py``, CPU): with
SGD, probabilities within 1e-4 and the same predictions after several epochs; with Adam within
the loop's own spread between thread counts (see ``ADAM_ATOL`` there for why).

Checkpoints (``batched_FF-LL.pt`` per group of folds, every ``checkpoint_every`` epochs) make a
killed run resume; ``selection: val`` scores each fold's validation subjects every epoch. Not
covered: ``hflip``, mixed precision and several processes (the loop is used for them).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from facscope.errors import ConfigError
from facscope.eval.predictions import Predictions
from facscope.mer.callbacks import FoldCallback, RunState, step_end
from facscope.mer.config import TrainConfig

if TYPE_CHECKING:
    from facscope.mer.fused import FoldGenerators
from facscope.mer.prepare import FoldSplit, PreparedData, derive_seed, fold_weights, resolve_spec

__all__ = ["batched_unsupported", "run_batched"]

_EPS = 1e-5  # batch-norm epsilon (torch's default, as STSTNet's layers use)


def batched_unsupported(config: TrainConfig, accelerator: Any) -> str | None:
    """Why ``config`` cannot run batched (None when it can)."""
    if config.model != "ststnet":
        return f"model {config.model!r} (batched LOSO covers ststnet)"
    if config.hflip:
        return "hflip"
    if config.mixed_precision not in (None, "no") or accelerator.num_processes > 1:
        return "mixed precision or several processes"
    if dict(config.model_options).get("widths", (3, 5, 8)) != (3, 5, 8):
        widths = tuple(dict(config.model_options)["widths"])
        if len(widths) != 3:
            return "stream widths"
    return None


@dataclass
class Stack:
    """The stacked parameters (leaf tensors with a leading fold axis) and buffers."""

    conv_w: Any  # (F*16, C, 3, 3)
    conv_b: Any  # (F*16,)
    gamma: Any  # (F, 16)
    beta: Any
    fc_w: Any  # (F, K, D)
    fc_b: Any  # (F, K)
    running_mean: Any  # (F, 16)
    running_var: Any
    tracked: Any  # (F,)
    widths: tuple[int, ...]
    p: float
    position: str
    momentum: float = 0.1

    def params(self) -> list[Any]:
        return [self.conv_w, self.conv_b, self.gamma, self.beta, self.fc_w, self.fc_b]

    @classmethod
    def of(cls, models: Sequence[Any]) -> Stack:
        import torch

        def cat(get: Any) -> Any:
            return torch.stack([torch.cat([get(s) for s in m.streams]) for m in models])

        m0 = models[0]
        widths = tuple(s[0].out_channels for s in m0.streams)
        f = len(models)
        drop = [mod for mod in m0.modules() if isinstance(mod, torch.nn.Dropout)]
        leaf = lambda t: t.detach().clone().requires_grad_(True)  # noqa: E731
        return cls(
            conv_w=leaf(cat(lambda s: s[0].weight.detach()).reshape(f * sum(widths), -1, 3, 3)),
            conv_b=leaf(cat(lambda s: s[0].bias.detach()).reshape(-1)),
            gamma=leaf(cat(lambda s: s[2].weight.detach())),
            beta=leaf(cat(lambda s: s[2].bias.detach())),
            fc_w=leaf(torch.stack([m.fc.weight.detach() for m in models])),
            fc_b=leaf(torch.stack([m.fc.bias.detach() for m in models])),
            running_mean=cat(lambda s: s[2].running_mean.detach()).clone(),
            running_var=cat(lambda s: s[2].running_var.detach()).clone(),
            tracked=torch.zeros(f, dtype=torch.long),
            widths=widths,
            p=float(drop[0].p) if drop else 0.0,
            position=m0.dropout_position,
        )

    def state_dict(self, f: int, c: int) -> dict[str, Any]:
        """Fold ``f``'s weights in :class:`~facscope.mer.flownets.STSTNet`'s keys."""
        w = self.conv_w.detach().reshape(-1, sum(self.widths), c, 3, 3)[f]
        b = self.conv_b.detach().reshape(-1, sum(self.widths))[f]
        out: dict[str, Any] = {}
        start = 0
        for i, width in enumerate(self.widths):
            sl = slice(start, start + width)
            out |= {
                f"streams.{i}.0.weight": w[sl].clone(),
                f"streams.{i}.0.bias": b[sl].clone(),
                f"streams.{i}.2.weight": self.gamma.detach()[f, sl].clone(),
                f"streams.{i}.2.bias": self.beta.detach()[f, sl].clone(),
                f"streams.{i}.2.running_mean": self.running_mean[f, sl].clone(),
                f"streams.{i}.2.running_var": self.running_var[f, sl].clone(),
                f"streams.{i}.2.num_batches_tracked": self.tracked[f].clone(),
            }
            start += width
        return out | {
            "fc.weight": self.fc_w.detach()[f].clone(),
            "fc.bias": self.fc_b.detach()[f].clone(),
        }

    def forward(self, data: Any, idx: Any, mask: Any, drops: Drops | None) -> Any:
        """Logits ``(F, B, K)`` of rows ``idx`` ``(F, B)`` of ``data``; ``mask`` ``(F, B)`` marks
        real rows (training: batch statistics over them, running statistics updated);
        ``drops`` the step's dropout masks (None: evaluation, running statistics)."""
        if data.kernel is not None:
            return self._forward_fused(data, idx, mask, drops)
        return self._forward_torch(data.x[idx], mask, drops)

    def _update_running(self, mean: Any, var: Any, rows: Any, positions: int) -> None:
        """Batch norm's running statistics, for the folds that had rows (as torch: momentum,
        unbiased variance)."""
        import torch

        with torch.no_grad():
            on = (rows > 0)[:, None]
            n = (rows.to(var.dtype) * positions)[:, None]
            unbiased = var.detach() * n / (n - 1).clamp(min=1)
            mom = self.momentum
            self.running_mean.copy_(torch.where(on, (1 - mom) * self.running_mean
                                                + mom * mean.detach(), self.running_mean))  # fmt: skip
            self.running_var.copy_(torch.where(on, (1 - mom) * self.running_var
                                               + mom * unbiased, self.running_var))  # fmt: skip
            self.tracked += on[:, 0].long()

    def _forward_torch(self, x: Any, mask: Any, drops: Drops | None) -> Any:
        """The layers as torch operations on ``x`` ``(F, B, C, H, W)`` (no compiler needed)."""
        import torch
        import torch.nn.functional as fn

        f, b, c, h, w = x.shape
        d = sum(self.widths)
        y = fn.conv2d(x.transpose(0, 1).reshape(b, f * c, h, w), self.conv_w, self.conv_b,
                      padding=2, groups=f)  # fmt: skip
        y = torch.relu(y).reshape(b, f, d, y.shape[-2], y.shape[-1])
        if drops is not None:
            m = mask.t().to(y.dtype)[:, :, None, None, None]  # (B, F, 1, 1, 1)
            n = (mask.sum(1).to(y.dtype) * y.shape[-2] * y.shape[-1]).clamp(min=1)[:, None]
            mean = (y * m).sum(dim=(0, 3, 4)) / n
            var = (((y - mean[None, :, :, None, None]) * m) ** 2).sum(dim=(0, 3, 4)) / n
            self._update_running(mean, var, mask.sum(1), y.shape[-2] * y.shape[-1])
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.gamma / torch.sqrt(var + _EPS)
        y = (y - mean[None, :, :, None, None]) * scale[None, :, :, None, None]
        y = y + self.beta[None, :, :, None, None]
        y = fn.max_pool2d(y.reshape(b, f * d, *y.shape[-2:]), 3, 3, 1)
        y = y.reshape(b, f, d, *y.shape[-2:])
        if drops is not None and self.position == "streams":
            y = y * drops.streams().transpose(0, 1)
        y = fn.avg_pool2d(y.reshape(b, f * d, *y.shape[-2:]), 2, 2)
        feats = y.reshape(b, f, -1).transpose(0, 1)  # (F, B, D)
        return self._head(feats, drops)

    def _forward_fused(self, data: Any, idx: Any, mask: Any, drops: Drops | None) -> Any:
        """The stream layer as the fused kernel (:mod:`facscope.mer.fused`): it pools the ReLU
        output (max or min by the sign of batch norm's scale), and batch norm's affine map is
        applied here to the pooled values, channels last."""
        import torch

        from facscope.mer.fused import stream_layer, tail_layer

        f = idx.shape[0]
        d = sum(self.widths)
        rows = mask.sum(1)
        w = self.conv_w.view(f, d, -1, 3, 3)
        q, mean, var = stream_layer(data.kernel, data.xpad, idx, rows, w, self.conv_b.view(f, d),
                                    self.gamma.detach() < 0, self.running_mean)  # fmt: skip
        if drops is not None:
            self._update_running(mean, var, rows, data.kernel.conv_side**2)
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.gamma / torch.sqrt(var + _EPS)  # (F, D)
        streams = drops is not None and self.position == "streams" and drops.masks
        feats = tail_layer(data.kernel, q, rows, mean, scale, self.beta,
                           drops.masks if streams else (), drops.keep if streams else 1.0)  # fmt: skip
        return self._head(feats, drops)

    def _head(self, feats: Any, drops: Drops | None) -> Any:
        import torch

        if drops is not None and self.position == "head":
            feats = feats * drops.head()
        return torch.baddbmm(self.fc_b[:, None, :], feats, self.fc_w.transpose(1, 2))


class Drops:
    """One step's dropout masks of every fold: ``masks`` one ``(F, B, *shape)`` 0/1 tensor per
    place the model drops (each stream's pooled map, or the pooled features), rows past a
    fold's batch zero; kept values are scaled by ``keep`` = 1 / (1 − p). Fold ``g``'s masks
    are drawn from its generator in the loop's order and shapes (CPU ``F.dropout`` draws
    ``bernoulli_(1 − p)`` on a tensor of its input's shape), so every fold drops what the
    per-fold loop drops."""

    def __init__(self, folds: int, width: int, shapes: Sequence[tuple[int, ...]], p: float) -> None:
        import torch

        self.masks = [torch.empty(folds, width, *s) for s in shapes] if p > 0 else []
        self.keep = 1.0 / (1.0 - p) if p > 0 else 1.0
        self.p = p

    def draw(self, gens: FoldGenerators, rows: Sequence[int]) -> None:
        """Every fold's masks from its generator, folds split over threads."""
        from facscope.mer.fused import over_folds

        def draw(lo: int, hi: int) -> None:
            for g in range(lo, hi):
                for m in self.masks:
                    gens.bernoulli_(g, m[g, : rows[g]], 1 - self.p)
                    m[g, rows[g] :] = 0

        if self.masks:
            over_folds(draw, len(rows))

    def streams(self) -> Any:
        """``(F, B, D, P, P)`` multipliers (ones without dropout)."""
        import torch

        if not self.masks:
            return 1.0
        return torch.cat(self.masks, dim=2) * self.keep

    def head(self) -> Any:
        """``(F, B, D)`` multipliers of the pooled features (ones without dropout)."""
        return self.masks[0] * self.keep if self.masks else 1.0


class _Optimizer:
    """Adam, AdamW or SGD (momentum, no dampening) over stacked parameters, written as
    ``torch.optim`` (single-tensor path) computes them, with a step count per fold so that
    folds with fewer batches wait."""

    def __init__(self, params: Sequence[Any], folds: int, config: TrainConfig) -> None:
        import torch

        self.params, self.folds = list(params), folds
        self.kind, self.wd, self.momentum = config.optimizer, config.weight_decay, config.momentum
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.steps = torch.zeros(folds, dtype=torch.float64)

    def step(self, lr: float, active: Any) -> None:
        import torch

        self.steps += active.double()
        on = active[:, None]
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                pv, gv = p.view(self.folds, -1), p.grad.view(self.folds, -1)
                mv, vv = m.view(self.folds, -1), v.view(self.folds, -1)
                if self.kind == "sgd":
                    new_p, new_m, new_v = self._sgd(pv, gv, mv, lr)
                else:
                    new_p, new_m, new_v = self._adam(pv, gv, mv, vv, lr)
                mv.copy_(torch.where(on, new_m, mv))
                vv.copy_(torch.where(on, new_v, vv))
                pv.copy_(torch.where(on, new_p, pv))

    def _sgd(self, pv: Any, gv: Any, mv: Any, lr: float) -> tuple[Any, Any, Any]:
        import torch

        if self.wd:
            gv = gv + self.wd * pv
        if not self.momentum:
            return pv - lr * gv, mv, mv
        first = (self.steps == 1)[:, None]  # torch starts the buffer at the first gradient
        buf = torch.where(first, gv, mv * self.momentum + gv)
        return pv - lr * buf, buf, mv

    def _adam(self, pv: Any, gv: Any, mv: Any, vv: Any, lr: float) -> tuple[Any, Any, Any]:
        import torch

        b1, b2, eps = 0.9, 0.999, 1e-8
        t = self.steps.clamp(min=1)
        step_size = (lr / (1 - b1**t)).float()[:, None]
        bc2 = torch.sqrt(1 - b2**t).float()[:, None]
        if self.kind == "adamw" and self.wd:
            pv = pv * (1 - lr * self.wd)
        elif self.wd:
            gv = gv + self.wd * pv
        new_m = mv.lerp(gv, 1 - b1)
        new_v = vv * b2 + (1 - b2) * gv * gv
        return pv - step_size * (new_m / (new_v.sqrt() / bc2 + eps)), new_m, new_v

    def state(self) -> dict[str, Any]:
        return {"m": self.m, "v": self.v, "steps": self.steps}

    def load(self, state: dict[str, Any]) -> None:
        for mine, theirs in zip(self.m + self.v, state["m"] + state["v"]):
            mine.copy_(theirs)
        self.steps.copy_(state["steps"])


@dataclass
class Inputs:
    """Every prepared sample's model input, read once from the cache: ``x`` ``(N, C, H, W)``,
    and for the fused kernel ``xpad`` (zero-padded by 2) and the compiled ``kernel``."""

    x: Any
    kernel: Any = None
    xpad: Any = None

    @classmethod
    def of(cls, config: TrainConfig, data: PreparedData) -> Inputs:
        import warnings

        import torch
        import torch.nn.functional as fn

        from facscope.errors import FacscopeConfigWarning
        from facscope.mer.fused import load_kernel
        from facscope.mer.loader import CachedDataset, to_model_input

        ds = CachedDataset(data.samples, data.entries, data.labels, data.spec)
        x = to_model_input(torch.stack([ds[i][0] for i in range(len(ds))]), data.spec)
        x = x.contiguous()
        if config.batched_kernel == "torch":
            return cls(x)
        widths = dict(config.model_options).get("widths", (3, 5, 8))
        if x.shape[-1] != x.shape[-2]:
            got: Any = f"inputs are not square ({tuple(x.shape[-2:])})"
        else:
            got = load_kernel(x.shape[1], x.shape[-1], sum(widths))
        if isinstance(got, str):
            if config.batched_kernel == "fused":
                raise ConfigError(f"batched_kernel 'fused' cannot run here: {got}; "
                                  "use batched_kernel 'torch' or 'auto'")  # fmt: skip
            warnings.warn(f"batched LOSO runs the slower torch stream layer: {got}",
                          FacscopeConfigWarning, stacklevel=2)  # fmt: skip
            return cls(x)
        return cls(x, got, fn.pad(x, (2, 2, 2, 2)).contiguous())


def _padded(parts: Sequence[np.ndarray], width: int) -> tuple[Any, Any]:
    """Index rows padded to ``width`` (0) and their mask."""
    import torch

    idx = torch.zeros(len(parts), width, dtype=torch.long)
    mask = torch.zeros(len(parts), width, dtype=torch.bool)
    for g, part in enumerate(parts):
        idx[g, : len(part)] = torch.as_tensor(np.asarray(part, dtype=np.int64))
        mask[g, : len(part)] = True
    return idx, mask


class _Group:
    """Folds trained together as one :class:`Stack`."""

    def __init__(self, config: TrainConfig, data: PreparedData, folds: Sequence[FoldSplit],
                 inputs: Inputs) -> None:  # fmt: skip
        import torch

        from facscope.mer.fold import INIT_STREAM
        from facscope.mer.imbalance import create_imbalance
        from facscope.mer.loader import EpochSampler
        from facscope.mer.models import create_model

        self.config, self.data, self.folds, self.inputs = config, data, list(folds), inputs
        k = len(data.classes)
        _, model_kw = resolve_spec(config)
        models, self.losses, self.samplers = [], [], []
        for fold in self.folds:
            torch.manual_seed(derive_seed(config.seed, fold.index, INIT_STREAM))
            models.append(create_model(config.model, k, weights=fold_weights(config, data, fold),
                                       **model_kw))  # fmt: skip
            y_train = data.labels[fold.train]
            loss_fn = create_imbalance(config.imbalance, np.bincount(y_train, minlength=k),
                                       epochs=config.epochs, **config.imbalance_options)  # fmt: skip
            self.losses.append(loss_fn)
            self.samplers.append(EpochSampler(len(fold.train), weights=loss_fn.sample_weights(
                y_train), seed=derive_seed(config.seed, fold.index)))  # fmt: skip
        self.stack = Stack.of(models)
        self.shapes = self._drop_shapes(models[0])
        self.adam = _Optimizer(self.stack.params(), len(self.folds), config)
        self.start = 0
        self.histories: list[list[dict[str, Any]]] = [[] for _ in self.folds]
        self.best: list[dict[str, Any]] = [{"score": -1.0, "epoch": -1, "state": None}
                                           for _ in self.folds]  # fmt: skip

    def _drops(self, folds: int, width: int) -> Drops:
        """The step's mask buffers (reused while the step's shape stays the same)."""
        got = getattr(self, "_drop_buffers", None)
        if got is None or (got.masks and tuple(got.masks[0].shape[:2]) != (folds, width)):
            got = self._drop_buffers = Drops(folds, width, self.shapes, self.stack.p)
        return got

    def _drop_shapes(self, model: Any) -> list[tuple[int, ...]]:
        side = (self.inputs.x.shape[-1] + 2 + 2 - 3) // 3 + 1
        if self.stack.position == "streams":
            return [(w, side, side) for w in self.stack.widths]
        return [(model.fc.in_features,)]

    @property
    def path(self) -> Path:
        first, last = self.folds[0].index, self.folds[-1].index
        return Path(self.config.output_dir) / f"batched_{first:02d}-{last:02d}.pt"

    def save(self, epoch: int, global_step: int) -> None:
        from facscope.mer.checkpoint import save_torch

        st = self.stack
        save_torch(self.path, {
            "epoch": epoch, "global_step": global_step, "params": [p.detach() for p in st.params()],
            "buffers": [st.running_mean, st.running_var, st.tracked], "adam": self.adam.state(),
            "histories": self.histories, "best": self.best,
        })  # fmt: skip

    def restore(self, state: RunState) -> None:
        import torch

        if not (self.config.resume and self.path.is_file()):
            return
        ck = torch.load(self.path, map_location="cpu", weights_only=True)
        with torch.no_grad():
            for mine, theirs in zip(self.stack.params(), ck["params"]):
                mine.copy_(theirs)
            for mine, theirs in zip((self.stack.running_mean, self.stack.running_var,
                                     self.stack.tracked), ck["buffers"]):  # fmt: skip
                mine.copy_(theirs)
        self.adam.load(ck["adam"])
        self.start, self.histories, self.best = ck["epoch"] + 1, ck["histories"], ck["best"]
        state.global_step = max(state.global_step, int(ck["global_step"]))

    def logits(self, parts: Sequence[np.ndarray], drops: Any = None, mask: Any = None) -> Any:
        width = max(1, max(len(p) for p in parts))
        idx, m = _padded(parts, width)
        return self.stack.forward(self.inputs, idx, m if mask is None else mask, drops), m

    def epoch(self, epoch: int, state: RunState, callbacks: Sequence[FoldCallback]) -> bool:
        """Train one epoch of every fold; False when ``max_steps`` stopped the run."""
        import torch

        from facscope.mer.fold import _lr_factor
        from facscope.mer.fused import FoldGenerators

        config, b = self.config, self.config.batch_size
        lr = config.lr * _lr_factor(config, epoch)
        orders, gens = [], []
        for fold, sampler, loss_fn in zip(self.folds, self.samplers, self.losses):
            sampler.set_epoch(epoch)
            loss_fn.set_epoch(epoch)
            orders.append(fold.train[np.asarray([i for _, i in sampler], dtype=np.int64)])
            gens.append(torch.Generator().manual_seed(derive_seed(config.seed, fold.index, epoch)))
        rngs = FoldGenerators(gens, self.inputs.kernel)
        totals = np.zeros(len(self.folds))
        steps = np.zeros(len(self.folds), dtype=np.int64)
        for s in range(max(-(-len(o) // b) for o in orders)):
            chunks = [o[s * b : (s + 1) * b] for o in orders]
            drops = self._drops(len(chunks), max(1, max(len(c) for c in chunks)))
            drops.draw(rngs, [len(c) for c in chunks])
            out, mask = self.logits(chunks, drops)
            ys = [torch.as_tensor(self.data.labels[c]) for c in chunks]
            losses = [fn(out[g, : len(c)].float(), ys[g]) if len(c) else None
                      for g, (fn, c) in enumerate(zip(self.losses, chunks))]  # fmt: skip
            for p in self.stack.params():
                p.grad = None
            torch.stack([v for v in losses if v is not None]).sum().backward()
            self.adam.step(lr, mask.any(1))
            for g, v in enumerate(losses):
                if v is not None:
                    totals[g] += float(v.detach()) * len(chunks[g])
                    steps[g] += 1
            state.global_step += 1
            step_end(callbacks, state)
            if config.max_steps is not None and state.global_step >= config.max_steps:
                return False
        for g in range(len(self.folds)):
            self.histories[g].append({"epoch": epoch, "loss": float(totals[g] / max(len(orders[g]), 1)),
                                      "steps": int(steps[g]), "lr": lr})  # fmt: skip
        return True

    def select(self, epoch: int) -> None:
        """``selection: val``: score each fold's validation subjects, keep its best weights."""
        import torch

        from facscope.mer.fold import _uf1

        with torch.no_grad():
            out, _ = self.logits([f.val for f in self.folds])
        c = int(self.inputs.x.shape[1])
        for g, fold in enumerate(self.folds):
            pred = out[g, : len(fold.val)].argmax(1).numpy()
            score = _uf1(self.data.labels[fold.val], pred, len(self.data.classes))
            self.histories[g][-1]["val_uf1"] = score
            if score > self.best[g]["score"]:
                self.best[g] = {"score": score, "epoch": epoch,
                                "state": copy.deepcopy(self.stack.state_dict(g, c))}  # fmt: skip

    def predict(self) -> list[Predictions]:
        import torch

        from facscope.mer.fold import fold_predictions
        from facscope.mer.models import create_model

        with torch.no_grad():
            out, _ = self.logits([f.test for f in self.folds])
        preds = []
        for g, fold in enumerate(self.folds):
            logits = out[g, : len(fold.test)]
            if self.config.selection == "val" and self.best[g]["state"] is not None:
                _, model_kw = resolve_spec(self.config)
                model = create_model(self.config.model, len(self.data.classes), **model_kw)
                model.load_state_dict(self.best[g]["state"])
                model.eval()
                with torch.no_grad():
                    logits = model(self.inputs.x[torch.as_tensor(fold.test)])
            preds.append(fold_predictions(self.data, fold.test, logits.numpy(), fold.index))
        return preds


def run_batched(
    config: TrainConfig,
    data: PreparedData,
    folds: Sequence[FoldSplit],
    accelerator: Any,
    state: RunState,
    *,
    progress: bool = True,
    callbacks: Sequence[FoldCallback] = (),
) -> list[Predictions] | None:
    """Train ``folds`` ``config.batched_folds`` at a time as stacked models; each fold's
    predictions (and outputs, as the loop writes them), or None when ``max_steps`` stopped."""
    from tqdm.auto import tqdm

    from facscope.mer.fold import write_fold_outputs, write_split

    why = batched_unsupported(config, accelerator)
    if why is not None:
        raise ConfigError(f"batched_folds cannot run this config ({why}); unset batched_folds")
    inputs = Inputs.of(config, data)
    size = int(config.batched_folds or len(folds))
    out: list[Predictions] = []
    for first in range(0, len(folds), size):
        group = _Group(config, data, folds[first : first + size], inputs)
        for fold in group.folds:
            write_split(config, data, fold, accelerator)
        group.restore(state)
        bar = tqdm(range(group.start, config.epochs), desc=f"folds {first}-{first + len(group.folds) - 1}",
                   unit="epoch", disable=not progress, initial=group.start, total=config.epochs)  # fmt: skip
        for epoch in bar:
            if not group.epoch(epoch, state, callbacks):
                return None
            if config.selection == "val":
                group.select(epoch)
            if (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs:
                group.save(epoch, state.global_step)
        bar.close()
        preds = group.predict()
        for g, (fold, p) in enumerate(zip(group.folds, preds)):
            write_fold_outputs(config, fold, group.histories[g], group.best[g], p, accelerator)
        out.extend(preds)
    return out
