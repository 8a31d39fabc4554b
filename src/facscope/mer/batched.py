"""A whole LOSO of STSTNet as one stacked model: every fold trained at once.

The F fold models' parameters are stacked along a leading fold axis; the three streams' first
convolutions become one grouped convolution (``groups=F``), batch norm is computed per fold over
that fold's own rows (a mask leaves out the padding of shorter batches), and the classifier is
one batched matrix product. Each fold sees exactly what the per-fold loop
(:mod:`facscope.mer.fold`) gives it: its initial weights (the same seeded ``create_model``), its
own training subjects in the same seeded order and batches, the same dropout masks (drawn from
a generator seeded like the loop's ``(seed, fold, epoch)``), its own imbalance loss, and its
own Adam/AdamW state (written out elementwise, per-fold step counts). The results equal the
loop's up to floating-point rounding (the grouped and per-fold kernels sum in other orders):
``tests/mer/test_batched.py`` checks logits within 1e-4 and identical predictions after
several epochs on CPU.

Checkpoints (``batched_FF-LL.pt`` per group of folds, every ``checkpoint_every`` epochs) make a
killed run resume; ``selection: val`` scores each fold's validation subjects every epoch. Not
covered: ``hflip``, mixed precision, several processes and SGD (the loop is used for them).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.eval.predictions import Predictions
from facscope.mer.callbacks import FoldCallback, RunState, step_end
from facscope.mer.config import TrainConfig
from facscope.mer.prepare import FoldSplit, PreparedData, derive_seed, fold_weights, resolve_spec

__all__ = ["batched_unsupported", "run_batched"]

_EPS = 1e-5  # batch-norm epsilon (torch's default, as STSTNet's layers use)


def batched_unsupported(config: TrainConfig, accelerator: Any) -> str | None:
    """Why ``config`` cannot run batched (None when it can)."""
    if config.model != "ststnet":
        return f"model {config.model!r} (batched LOSO covers ststnet)"
    if config.optimizer not in ("adam", "adamw"):
        return f"optimizer {config.optimizer!r}"
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

    def forward(self, x: Any, mask: Any, drops: Sequence[Sequence[Any]] | None) -> Any:
        """Logits ``(F, B, K)`` of ``x`` ``(F, B, C, H, W)``; ``mask`` ``(F, B)`` marks real rows
        (training: batch statistics over them, running statistics updated); ``drops`` each
        fold's dropout masks (None: evaluation, running statistics)."""
        import torch
        import torch.nn.functional as fn

        f, b, c, h, w = x.shape
        d = sum(self.widths)
        y = fn.conv2d(x.transpose(0, 1).reshape(b, f * c, h, w), self.conv_w, self.conv_b,
                      padding=2, groups=f)  # fmt: skip
        y = torch.relu(y).reshape(b, f, d, y.shape[-2], y.shape[-1])
        if drops is not None:
            m = mask.t().to(y.dtype)[:, :, None, None, None]  # (B, F, 1, 1, 1)
            n = (mask.sum(1).to(y.dtype) * y.shape[-2] * y.shape[-1])[:, None]  # (F, 1)
            mean = (y * m).sum(dim=(0, 3, 4)) / n
            var = (((y - mean[None, :, :, None, None]) * m) ** 2).sum(dim=(0, 3, 4)) / n
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean.detach())
                unbiased = var.detach() * n / (n - 1).clamp(min=1)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * unbiased)
                self.tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        scale = self.gamma / torch.sqrt(var + _EPS)
        y = (y - mean[None, :, :, None, None]) * scale[None, :, :, None, None]
        y = y + self.beta[None, :, :, None, None]
        y = fn.max_pool2d(y.reshape(b, f * d, *y.shape[-2:]), 3, 3, 1)
        y = y.reshape(b, f, d, *y.shape[-2:])
        if drops is not None and self.position == "streams":
            y = y * _stream_noise(drops, self.widths, b)
        y = fn.avg_pool2d(y.reshape(b, f * d, *y.shape[-2:]), 2, 2)
        feats = y.reshape(b, f, -1).transpose(0, 1)  # (F, B, D)
        if drops is not None and self.position == "head":
            feats = feats * _head_noise(drops, b, feats.shape[-1])
        return torch.baddbmm(self.fc_b[:, None, :], feats, self.fc_w.transpose(1, 2))


def _head_noise(drops: Sequence[Sequence[Any]], b: int, d: int) -> Any:
    import torch

    noise = torch.ones(len(drops), b, d)
    for g, masks in enumerate(drops):
        if masks:
            noise[g, : masks[0].shape[0]] = masks[0]
    return noise


def _stream_noise(drops: Sequence[Sequence[Any]], widths: Sequence[int], b: int) -> Any:
    import torch

    side = drops[0][0].shape[-1] if drops and drops[0] else 1
    noise = torch.ones(b, len(drops), sum(widths), side, side)
    for g, masks in enumerate(drops):
        start = 0
        for width, mk in zip(widths, masks):
            noise[: mk.shape[0], g, start : start + width] = mk
            start += width
    return noise


def _draw(gen: Any, n: int, shapes: Sequence[tuple[int, ...]], p: float) -> list[Any]:
    """The dropout masks the loop's ``F.dropout`` would draw for a batch of ``n`` rows (CPU:
    ``bernoulli_(1 - p)`` on a tensor of the input's shape, divided by ``1 - p``)."""
    import torch

    if p <= 0 or n == 0:
        return []
    return [torch.empty(n, *s).bernoulli_(1 - p, generator=gen).div_(1 - p) for s in shapes]


class _Adam:
    """Adam / AdamW over stacked parameters, written as ``torch.optim`` (single-tensor path)
    computes it, with a step count per fold so that folds with fewer batches wait."""

    def __init__(self, params: Sequence[Any], folds: int, *, decoupled: bool, wd: float) -> None:
        import torch

        self.params, self.folds, self.decoupled, self.wd = list(params), folds, decoupled, wd
        self.m = [torch.zeros_like(p) for p in self.params]
        self.v = [torch.zeros_like(p) for p in self.params]
        self.steps = torch.zeros(folds, dtype=torch.float64)

    def step(self, lr: float, active: Any) -> None:
        import torch

        b1, b2, eps = 0.9, 0.999, 1e-8
        self.steps += active.double()
        t = self.steps.clamp(min=1)
        step_size = (lr / (1 - b1**t)).float()[:, None]
        bc2 = torch.sqrt(1 - b2**t).float()[:, None]
        on = active[:, None]
        with torch.no_grad():
            for p, m, v in zip(self.params, self.m, self.v):
                pv, gv = p.view(self.folds, -1), p.grad.view(self.folds, -1)
                mv, vv = m.view(self.folds, -1), v.view(self.folds, -1)
                if self.decoupled and self.wd:
                    pv.copy_(torch.where(on, pv * (1 - lr * self.wd), pv))
                elif self.wd:
                    gv = gv + self.wd * pv
                new_m = mv.lerp(gv, 1 - b1)
                new_v = vv * b2 + (1 - b2) * gv * gv
                new_p = pv - step_size * (new_m / (new_v.sqrt() / bc2 + eps))
                mv.copy_(torch.where(on, new_m, mv))
                vv.copy_(torch.where(on, new_v, vv))
                pv.copy_(torch.where(on, new_p, pv))

    def state(self) -> dict[str, Any]:
        return {"m": self.m, "v": self.v, "steps": self.steps}

    def load(self, state: dict[str, Any]) -> None:
        for mine, theirs in zip(self.m + self.v, state["m"] + state["v"]):
            mine.copy_(theirs)
        self.steps.copy_(state["steps"])


def _inputs(config: TrainConfig, data: PreparedData) -> Any:
    """Every prepared sample's model input, ``(N, C, H, W)`` (read once from the cache)."""
    import torch

    from facscope.mer.loader import CachedDataset, to_model_input

    ds = CachedDataset(data.samples, data.entries, data.labels, data.spec)
    return to_model_input(torch.stack([ds[i][0] for i in range(len(ds))]), data.spec)


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
                 x: Any) -> None:  # fmt: skip
        import torch

        from facscope.mer.fold import INIT_STREAM
        from facscope.mer.imbalance import create_imbalance
        from facscope.mer.loader import EpochSampler
        from facscope.mer.models import create_model

        self.config, self.data, self.folds, self.x = config, data, list(folds), x
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
        self.adam = _Adam(self.stack.params(), len(self.folds), wd=config.weight_decay,
                          decoupled=config.optimizer == "adamw")  # fmt: skip
        self.start = 0
        self.histories: list[list[dict[str, Any]]] = [[] for _ in self.folds]
        self.best: list[dict[str, Any]] = [{"score": -1.0, "epoch": -1, "state": None}
                                           for _ in self.folds]  # fmt: skip

    def _drop_shapes(self, model: Any) -> list[tuple[int, ...]]:
        side = (self.x.shape[-1] + 2 + 2 - 3) // 3 + 1
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
        return self.stack.forward(self.x[idx], m if mask is None else mask, drops), m

    def epoch(self, epoch: int, state: RunState, callbacks: Sequence[FoldCallback]) -> bool:
        """Train one epoch of every fold; False when ``max_steps`` stopped the run."""
        import torch

        from facscope.mer.fold import _lr_factor

        config, b = self.config, self.config.batch_size
        lr = config.lr * _lr_factor(config, epoch)
        orders, gens = [], []
        for fold, sampler, loss_fn in zip(self.folds, self.samplers, self.losses):
            sampler.set_epoch(epoch)
            loss_fn.set_epoch(epoch)
            orders.append(fold.train[np.asarray([i for _, i in sampler], dtype=np.int64)])
            gens.append(torch.Generator().manual_seed(derive_seed(config.seed, fold.index, epoch)))
        totals = np.zeros(len(self.folds))
        steps = np.zeros(len(self.folds), dtype=np.int64)
        for s in range(max(-(-len(o) // b) for o in orders)):
            chunks = [o[s * b : (s + 1) * b] for o in orders]
            drops = [_draw(g, len(c), self.shapes, self.stack.p) for g, c in zip(gens, chunks)]
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
        c = int(self.x.shape[1])
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
                    logits = model(self.x[torch.as_tensor(fold.test)])
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
    x = _inputs(config, data)
    size = int(config.batched_folds or len(folds))
    out: list[Predictions] = []
    for first in range(0, len(folds), size):
        group = _Group(config, data, folds[first : first + size], x)
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
