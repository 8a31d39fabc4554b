"""One fold of a run: train on the fold's training subjects, select, predict its test subjects.

Called by :func:`facscope.mer.train.train`; see there for seeds, checkpoints and resume.
:func:`run_fold` reads as its steps, each a method of :class:`FoldRun` (the fold's model,
optimiser, loaders and progress): build, restore from the checkpoint, then per epoch train,
select, record and checkpoint, and at the end predict the test subjects and write the outputs.
Callbacks (:mod:`facscope.mer.callbacks`) are told after every step and every epoch.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.eval.predictions import Predictions, write_predictions
from facscope.io import write_json, write_text
from facscope.mer.callbacks import FoldCallback, RunState, epoch_end, step_end
from facscope.mer.checkpoint import CHECKPOINT, history_json, load_checkpoint, save_checkpoint
from facscope.mer.config import TrainConfig
from facscope.mer.prepare import (
    FoldSplit,
    PreparedData,
    derive_seed,
    fold_weights,
    resolve_spec,
)

__all__ = ["FoldRun", "evaluate", "run_fold"]

#: Where a fold's model initialisation seed is drawn, beside its epochs' ``(seed, fold, epoch)``.
INIT_STREAM = 0xC0DE


def run_fold(
    config: TrainConfig,
    data: PreparedData,
    fold: FoldSplit,
    accelerator: Any,
    state: RunState,
    *,
    progress: bool = True,
    callbacks: Sequence[FoldCallback] = (),
) -> Predictions | None:
    """Train, select and predict one fold; None when ``max_steps`` stopped the run."""
    write_split(config, data, fold, accelerator)
    run = FoldRun.build(config, data, fold, accelerator)
    if config.eval_only:  # published weights: score them on their own test fold
        preds = run.predict()
        run.write_outputs(preds)
        return preds
    run.restore(state)
    with run.epoch_bar(progress) as bar:
        for epoch in bar:
            record = run.train_epoch(epoch, state, callbacks)
            if record is None:  # max_steps reached: stop, the last checkpoint stays
                return None
            run.select(epoch, record)
            run.record(record)
            bar.set_postfix(**run.postfix(record))
            run.checkpoint(epoch)
            epoch_end(callbacks, state, record)
    preds = run.predict()
    run.write_outputs(preds)
    return preds


def fold_dir(config: TrainConfig, fold: FoldSplit) -> Path:
    """``<output_dir>/fold_XX``."""
    return Path(config.output_dir) / f"fold_{fold.index:02d}"


def write_split(config: TrainConfig, data: PreparedData, fold: FoldSplit, accelerator: Any) -> None:
    """Write ``split.json`` (the fold's subjects); refuse ``selection="val"`` without
    validation subjects."""
    if accelerator.is_main_process:
        out = fold_dir(config, fold)
        out.mkdir(parents=True, exist_ok=True)
        write_json(
            out / "split.json",
            {
                name: sorted({data.samples[i].group for i in getattr(fold, name)})
                for name in ("train", "val", "test")
            },
        )
    if config.selection == "val" and len(fold.val) == 0:
        raise ConfigError(
            f"fold {fold.index}: selection='val' needs validation subjects, but the fold has none"
        )


def _no_best() -> dict[str, Any]:
    return {"score": -1.0, "epoch": -1, "state": None}


@dataclass
class FoldRun:
    """One fold's model, optimiser, loss and loaders (ready for ``accelerator``), and its
    progress: the first epoch to train, the history, the best validation model, the steps."""

    config: TrainConfig
    data: PreparedData
    fold: FoldSplit
    accelerator: Any
    model: Any
    optimizer: Any
    loss_fn: Any
    sampler: Any
    train_set: Any
    train_loader: Any
    eval_loaders: dict[str, Any]
    start: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    best: dict[str, Any] = field(default_factory=_no_best)
    fold_steps: int = 0

    @classmethod
    def build(
        cls, config: TrainConfig, data: PreparedData, fold: FoldSplit, accelerator: Any
    ) -> FoldRun:
        """A fresh model (seeded from ``(seed, fold)``), its optimiser, the imbalance loss, the
        training sampler and the loaders of the fold's subsets."""
        import torch

        from facscope.mer.imbalance import create_imbalance
        from facscope.mer.loader import EpochSampler
        from facscope.mer.models import create_model

        k = len(data.classes)
        torch.manual_seed(derive_seed(config.seed, fold.index, INIT_STREAM))
        _, model_kw = resolve_spec(config)
        weights = fold_weights(config, data, fold)
        model = create_model(config.model, k, weights=weights, **model_kw)
        y_train = data.labels[fold.train]
        loss_fn = create_imbalance(
            config.imbalance,
            np.bincount(y_train, minlength=k),
            epochs=config.epochs,
            **config.imbalance_options,
        )
        train_set = _dataset(config, data, fold.train, train=True)
        sampler = EpochSampler(
            len(train_set),
            seed=derive_seed(config.seed, fold.index),
            weights=loss_fn.sample_weights(y_train),
        )
        optimizer = _optimizer(config, model.parameters())
        train_loader = _loader(config, train_set, sampler, accelerator, persistent=True)
        eval_loaders = {
            name: _loader(
                config,
                _dataset(config, data, getattr(fold, name), train=False),
                None,
                accelerator,
                persistent=name == "val",
            )
            for name in ("val", "test")
            if len(getattr(fold, name))
        }
        model, optimizer, train_loader = accelerator.prepare(model, optimizer, train_loader)
        eval_loaders = {n: accelerator.prepare(dl) for n, dl in eval_loaders.items()}
        loss_fn = loss_fn.to(accelerator.device)
        return cls(
            config, data, fold, accelerator, model, optimizer, loss_fn, sampler, train_set,
            train_loader, eval_loaders,
        )  # fmt: skip

    @property
    def use_val(self) -> bool:
        return self.config.selection == "val"

    @property
    def checkpoint_path(self) -> Path:
        return fold_dir(self.config, self.fold) / CHECKPOINT

    def prepare(self, x: Any) -> Any:
        """A loader batch as the model's input."""
        from facscope.mer.loader import to_model_input

        c = self.config
        return to_model_input(x, self.data.spec, clip_input=c.clip_input, diff_gain=c.diff_gain)

    def restore(self, state: RunState) -> None:
        """Continue from the fold's checkpoint when resuming (and there is one); count its
        steps into ``state``."""
        state.fold = self.fold.index
        if self.config.resume and self.checkpoint_path.is_file():
            ck = load_checkpoint(self.checkpoint_path, self.accelerator, self.model, self.optimizer)
            self.start, self.history, self.best = ck["epoch"] + 1, ck["history"], ck["best"]
            state.global_step += ck["fold_steps"]
        self.fold_steps = sum(h["steps"] for h in self.history)

    def epoch_bar(self, progress: bool) -> Any:
        """The progress bar over the epochs left (a context manager that closes it)."""
        from tqdm.auto import tqdm

        return tqdm(
            range(self.start, self.config.epochs),
            desc=f"fold {self.fold.index}",
            unit="epoch",
            disable=not (progress and self.accelerator.is_main_process),
            initial=self.start,
            total=self.config.epochs,
        )

    def begin_epoch(self, epoch: int) -> None:
        """Seed dropout from ``(seed, fold, epoch)``, set the learning rate, and tell the
        sampler, dataset, loader and loss the epoch."""
        import torch

        config = self.config
        torch.manual_seed(derive_seed(config.seed, self.fold.index, epoch))
        for g in self.optimizer.param_groups:
            g["lr"] = config.lr * _lr_factor(config, epoch)
        self.sampler.set_epoch(epoch)
        self.train_set.set_epoch(epoch)
        if hasattr(self.train_loader, "set_epoch"):
            self.train_loader.set_epoch(epoch)  # accelerate's loaders re-set the sampler's epoch
        self.loss_fn.set_epoch(epoch)

    def train_epoch(
        self, epoch: int, state: RunState, callbacks: Sequence[FoldCallback]
    ) -> dict[str, Any] | None:
        """One pass over the training loader; the epoch's history record, or None when
        ``max_steps`` was reached during it."""
        acc, max_steps = self.accelerator, self.config.max_steps
        state.epoch = epoch
        self.begin_epoch(epoch)
        self.model.train()
        total, seen, steps = 0.0, 0, 0
        began = time.perf_counter()
        for batch in self.train_loader:
            x = self.prepare(batch["x"])
            with acc.autocast():
                loss = self.loss_fn(self.model(x).float(), batch["y"])
            self.optimizer.zero_grad(set_to_none=True)
            acc.backward(loss)
            self.optimizer.step()
            steps += 1
            state.global_step += 1
            total += float(loss.detach()) * len(batch["y"])
            seen += len(batch["y"])
            step_end(callbacks, state)
            if max_steps is not None and state.global_step >= max_steps:
                return None
        seconds = time.perf_counter() - began
        return {
            "epoch": epoch,
            "loss": total / max(seen, 1),
            "steps": steps,
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": round(seconds, 3),  # the training pass, loading included; no evaluation
            "clips_per_s": round(seen * acc.num_processes / max(seconds, 1e-9), 1),
        }

    def select(self, epoch: int, record: dict[str, Any]) -> None:
        """With ``selection="val"``: score the validation subjects into ``record`` and keep a
        copy of the model when it is the best so far."""
        if not self.use_val:
            return
        logits, idx = evaluate(self.model, self.eval_loaders["val"], self.prepare, self.accelerator)
        pred_ids = logits.argmax(1) if len(logits) else np.zeros(0, dtype=np.int64)
        val_uf1 = _uf1(self.data.labels[self.fold.val][idx], pred_ids, len(self.data.classes))
        record["val_uf1"] = val_uf1
        if val_uf1 > self.best["score"]:
            weights = self.accelerator.unwrap_model(self.model).state_dict()
            self.best = {
                "score": val_uf1,
                "epoch": epoch,
                "state": copy.deepcopy({n: t.cpu() for n, t in weights.items()}),
            }

    def record(self, record: dict[str, Any]) -> None:
        """Add the epoch to the history and its steps to the fold's."""
        self.history.append(record)
        self.fold_steps += record["steps"]

    def postfix(self, record: dict[str, Any]) -> dict[str, str]:
        """What the progress bar shows of an epoch."""
        shown = {"loss": f"{record['loss']:.3f}", "clips_s": f"{record['clips_per_s']:.0f}"}
        if self.use_val:
            shown["val_uf1"] = f"{record['val_uf1']:.3f}"
        return shown

    def checkpoint(self, epoch: int) -> None:
        """Write the checkpoint every ``checkpoint_every`` epochs and after the last one."""
        config = self.config
        due = (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs
        if self.accelerator.is_main_process and due:
            progress = {
                "epoch": epoch,
                "history": self.history,
                "best": self.best,
                "fold_steps": self.fold_steps,
            }
            save_checkpoint(
                self.checkpoint_path, self.accelerator, self.model, self.optimizer, progress
            )
        self.accelerator.wait_for_everyone()

    def predict(self) -> Predictions:
        """The selected model's predictions of the test subjects, in dataset order."""
        if self.use_val and self.best["state"] is not None:
            self.accelerator.unwrap_model(self.model).load_state_dict(self.best["state"])
        loader = self.eval_loaders["test"]
        logits, idx = evaluate(self.model, loader, self.prepare, self.accelerator)
        return fold_predictions(self.data, self.fold.test[idx], logits, self.fold.index)

    def write_outputs(self, preds: Predictions) -> None:
        """Write ``history.json``, ``selection.json`` and ``predictions.csv``."""
        write_fold_outputs(self.config, self.fold, self.history, self.best, preds, self.accelerator)


def fold_predictions(
    data: PreparedData, test: np.ndarray, logits: np.ndarray, fold: int
) -> Predictions:
    """A fold's predictions of dataset indices ``test`` from their logits, in dataset order."""
    import torch

    samples = [data.samples[i] for i in test]
    preds = Predictions(
        classes=tuple(data.classes),
        sample_ids=tuple(s.sample_id for s in samples),
        datasets=tuple(s.dataset for s in samples),
        subjects=tuple(s.subject for s in samples),
        folds=np.full(len(test), fold, dtype=np.int64),
        y_true=data.labels[test],
        y_pred=logits.argmax(1).astype(np.int64),
        probs=torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy(),
    )
    return _reorder(preds, np.argsort(test, kind="stable"))


def write_fold_outputs(
    config: TrainConfig,
    fold: FoldSplit,
    history: list[dict[str, Any]],
    best: dict[str, Any],
    preds: Predictions,
    accelerator: Any,
) -> None:
    """Write a fold's ``history.json``, ``selection.json`` and ``predictions.csv``."""
    out = fold_dir(config, fold)
    use_val = config.selection == "val"
    if accelerator.is_main_process:
        write_text(out / "history.json", history_json(history))
        rule = "weights" if config.eval_only else "val" if use_val else "last"
        write_json(
            out / "selection.json",
            {
                "rule": rule,
                "epoch": best["epoch"] if use_val else config.epochs - 1,
                "val_uf1": best["score"] if use_val else None,
            },
        )
        write_predictions(out / "predictions.csv", preds)
    accelerator.wait_for_everyone()


def _optimizer(config: TrainConfig, params: Any) -> Any:
    import torch

    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
        )
    cls = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return cls(params, lr=config.lr, weight_decay=config.weight_decay)


def _lr_factor(config: TrainConfig, epoch: int) -> float:
    """Learning-rate multiplier of ``epoch`` (cosine decay to 0 over the budget, or 1)."""
    if config.scheduler == "none":
        return 1.0
    return 0.5 * (1.0 + float(np.cos(np.pi * epoch / config.epochs)))


def _loader(
    config: TrainConfig, dataset: Any, sampler: Any, accelerator: Any, *, persistent: bool
) -> Any:
    from facscope.mer.loader import make_loader

    return make_loader(
        dataset,
        sampler,
        batch_size=config.batch_size,
        num_workers=config.num_workers,
        seed=config.seed,
        device=accelerator.device,
        persistent=persistent,
    )


def _dataset(config: TrainConfig, data: PreparedData, idx: np.ndarray, *, train: bool) -> Any:
    from facscope.mer.loader import CachedDataset

    return CachedDataset(
        [data.samples[i] for i in idx],
        [data.entries[i] for i in idx],
        data.labels[idx],
        data.spec,
        sampling=config.sampling,
        window=config.window,
        jitter=config.jitter,
        train=train,
        hflip=config.hflip,
        seed=config.seed,
    )


def evaluate(
    model: Any, loader: Any, prepare: Any, accelerator: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Logits and dataset indices of every sample of ``loader`` (gathered over processes);
    ``prepare`` turns a loader batch into the model's input."""
    import torch

    model.eval()
    logits, index = [], []
    with torch.no_grad():
        for batch in loader:
            out = model(prepare(batch["x"]))
            out, idx = accelerator.gather_for_metrics((out.float(), batch["index"]))
            logits.append(out.cpu().numpy())
            index.append(idx.cpu().numpy())
    if not logits:
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    return np.concatenate(logits), np.concatenate(index)


def _uf1(y_true: np.ndarray, y_pred: np.ndarray, k: int) -> float:
    from facscope.eval.metrics import classification_scores

    return float(classification_scores(y_true, y_pred, labels=list(range(k)))["uf1"])


def _reorder(p: Predictions, order: np.ndarray) -> Predictions:
    pick = order.tolist()
    return Predictions(
        classes=p.classes,
        sample_ids=tuple(p.sample_ids[i] for i in pick),
        datasets=tuple(p.datasets[i] for i in pick),
        subjects=tuple(p.subjects[i] for i in pick),
        folds=p.folds[order],
        y_true=p.y_true[order],
        y_pred=p.y_pred[order],
        probs=p.probs[order],
    )
