"""One fold of a run: train on the fold's training subjects, select, predict its test subjects.

Called by :func:`facscope.mer.train.train`; see there for seeds, checkpoints and resume.
"""

from __future__ import annotations

import copy
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.eval.predictions import Predictions, write_predictions
from facscope.io import write_json
from facscope.mer.config import TrainConfig

__all__ = ["evaluate", "loader_workers", "run_fold"]

CHECKPOINT = "checkpoint.pt"


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


def loader_workers(num_workers: int, samples: int, batch_size: int) -> int:
    """Worker processes for a loader: ``num_workers``, but no more than it has batches (a
    12-clip test set in batches of 16 gains nothing from 8 workers, and each one costs a
    process start). The count changes no result: randomness follows the samples, not workers."""
    return max(0, min(num_workers, math.ceil(samples / max(batch_size, 1))))


def _loader(
    dataset: Any, config: TrainConfig, sampler: Any, *, device: Any, persistent: bool
) -> Any:
    import torch
    from torch.utils.data import DataLoader

    from facscope.mer.loader import collate

    workers = loader_workers(
        config.num_workers, len(sampler if sampler is not None else dataset), config.batch_size
    )
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate,
        pin_memory=getattr(device, "type", "cpu") == "cuda",
        drop_last=False,
        # loaders read every epoch (training; validation with selection="val") keep their
        # workers, and the cache entries they opened; EpochSampler tells each sample's epoch
        persistent_workers=persistent and workers > 0,
        # the loader draws its workers' base seed from this, not from the global RNG that
        # dropout uses: a loader whose workers persist draws once per run, not once per epoch
        generator=torch.Generator().manual_seed(config.seed),
    )


def _datasets(config: TrainConfig, data: Any, idx: np.ndarray, *, train: bool) -> Any:
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


def run_fold(
    config: TrainConfig,
    data: Any,
    fold: Any,
    accelerator: Any,
    state: dict[str, Any],
    *,
    progress: bool = True,
) -> Predictions | None:
    """Train, select and predict one fold; None when ``max_steps`` stopped the run."""
    import torch
    from tqdm.auto import tqdm

    from facscope.mer.imbalance import create_imbalance
    from facscope.mer.loader import EpochSampler, to_model_input
    from facscope.mer.models import create_model
    from facscope.mer.train import _resolve_spec, derive_seed, history_json, save_torch

    k = len(data.classes)
    fold_dir = Path(config.output_dir) / f"fold_{fold.index:02d}"
    ckpt_path = fold_dir / CHECKPOINT
    if accelerator.is_main_process:
        fold_dir.mkdir(parents=True, exist_ok=True)
        write_json(
            fold_dir / "split.json",
            {
                name: sorted({data.samples[i].group for i in getattr(fold, name)})
                for name in ("train", "val", "test")
            },
        )
    use_val = config.selection == "val"
    if use_val and len(fold.val) == 0:
        raise ConfigError(
            f"fold {fold.index}: selection='val' needs validation subjects, but the fold has none"
        )

    torch.manual_seed(derive_seed(config.seed, fold.index, 0xC0DE))
    _, model_kw = _resolve_spec(config)
    model = create_model(config.model, k, weights=config.weights, **model_kw)
    spec = data.spec

    def prepare(x: Any) -> Any:
        return to_model_input(x, spec, clip_input=config.clip_input, diff_gain=config.diff_gain)

    y_train = data.labels[fold.train]
    counts = np.bincount(y_train, minlength=k)
    loss_fn = create_imbalance(
        config.imbalance, counts, epochs=config.epochs, **config.imbalance_options
    )
    train_ds = _datasets(config, data, fold.train, train=True)
    sampler = EpochSampler(
        len(train_ds),
        seed=derive_seed(config.seed, fold.index),
        weights=loss_fn.sample_weights(y_train),
    )
    optimizer = _optimizer(config, model.parameters())
    train_loader = _loader(train_ds, config, sampler, device=accelerator.device, persistent=True)
    eval_loaders = {
        name: _loader(
            _datasets(config, data, getattr(fold, name), train=False),
            config,
            None,
            device=accelerator.device,
            persistent=name == "val",
        )
        for name in ("val", "test")
        if len(getattr(fold, name))
    }
    model, optimizer, train_loader = accelerator.prepare(model, optimizer, train_loader)
    eval_loaders = {n: accelerator.prepare(dl) for n, dl in eval_loaders.items()}
    loss_fn = loss_fn.to(accelerator.device)

    start, history = 0, []
    best: dict[str, Any] = {"score": -1.0, "epoch": -1, "state": None}
    if config.resume and ckpt_path.is_file():
        ck = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        accelerator.unwrap_model(model).load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        if ck.get("scaler") is not None and accelerator.scaler is not None:
            accelerator.scaler.load_state_dict(ck["scaler"])
        start, history, best = ck["epoch"] + 1, ck["history"], ck["best"]
        state["steps"] += ck["fold_steps"]

    fold_steps = sum(h["steps"] for h in history)
    main = accelerator.is_main_process
    bar = tqdm(
        range(start, config.epochs),
        desc=f"fold {fold.index}",
        unit="epoch",
        disable=not (progress and main),
        initial=start,
        total=config.epochs,
    )
    for epoch in bar:
        torch.manual_seed(derive_seed(config.seed, fold.index, epoch))
        for g in optimizer.param_groups:
            g["lr"] = config.lr * _lr_factor(config, epoch)
        sampler.set_epoch(epoch)
        train_ds.set_epoch(epoch)
        if hasattr(train_loader, "set_epoch"):
            train_loader.set_epoch(epoch)  # accelerate's loaders re-set the sampler's epoch
        loss_fn.set_epoch(epoch)
        model.train()
        total, seen, steps = 0.0, 0, 0
        began = time.perf_counter()
        for batch in train_loader:
            x = prepare(batch["x"])
            with accelerator.autocast():
                loss = loss_fn(model(x).float(), batch["y"])
            optimizer.zero_grad(set_to_none=True)
            accelerator.backward(loss)
            optimizer.step()
            steps += 1
            state["steps"] += 1
            total += float(loss.detach()) * len(batch["y"])
            seen += len(batch["y"])
            if state["exit_after"] is not None and state["steps"] >= state["exit_after"]:
                os._exit(3)  # fault injection (tests): die without cleanup
            if config.max_steps is not None and state["steps"] >= config.max_steps:
                bar.close()
                return None
        seconds = time.perf_counter() - began
        record: dict[str, Any] = {
            "epoch": epoch,
            "loss": total / max(seen, 1),
            "steps": steps,
            "lr": optimizer.param_groups[0]["lr"],
            "seconds": round(seconds, 3),  # the training pass, loading included; no evaluation
            "clips_per_s": round(seen * accelerator.num_processes / max(seconds, 1e-9), 1),
        }
        if use_val:
            logits, idx = evaluate(model, eval_loaders["val"], prepare, accelerator)
            pred_ids = logits.argmax(1) if len(logits) else np.zeros(0, dtype=np.int64)
            val_uf1 = _uf1(data.labels[fold.val][idx], pred_ids, k)
            record["val_uf1"] = val_uf1
            if val_uf1 > best["score"]:
                unwrapped = accelerator.unwrap_model(model)
                best = {
                    "score": val_uf1,
                    "epoch": epoch,
                    "state": copy.deepcopy({n: t.cpu() for n, t in unwrapped.state_dict().items()}),
                }
        history.append(record)
        fold_steps += steps
        bar.set_postfix(
            loss=f"{record['loss']:.3f}",
            clips_s=f"{record['clips_per_s']:.0f}",
            **({"val_uf1": f"{record['val_uf1']:.3f}"} if use_val else {}),
        )
        due = (epoch + 1) % config.checkpoint_every == 0 or epoch + 1 == config.epochs
        if main and due:
            save_torch(
                ckpt_path,
                {
                    "model": accelerator.unwrap_model(model).state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scaler": None
                    if accelerator.scaler is None
                    else accelerator.scaler.state_dict(),
                    "epoch": epoch,
                    "history": history,
                    "best": best,
                    "fold_steps": fold_steps,
                },
            )
        accelerator.wait_for_everyone()
    bar.close()

    if use_val and best["state"] is not None:
        accelerator.unwrap_model(model).load_state_dict(best["state"])
    logits, idx = evaluate(model, eval_loaders["test"], prepare, accelerator)
    test = fold.test[idx]
    probs = torch.softmax(torch.from_numpy(logits).double(), dim=1).numpy()
    preds = Predictions(
        classes=tuple(data.classes),
        sample_ids=tuple(data.samples[i].sample_id for i in test),
        datasets=tuple(data.samples[i].dataset for i in test),
        subjects=tuple(data.samples[i].subject for i in test),
        folds=np.full(len(test), fold.index, dtype=np.int64),
        y_true=data.labels[test],
        y_pred=logits.argmax(1).astype(np.int64),
        probs=probs,
    )
    order = np.argsort(test, kind="stable")
    preds = _reorder(preds, order)
    if main:
        from facscope.io import write_text

        write_text(fold_dir / "history.json", history_json(history))
        write_json(
            fold_dir / "selection.json",
            {
                "rule": "val" if use_val else "last",
                "epoch": best["epoch"] if use_val else config.epochs - 1,
                "val_uf1": best["score"] if use_val else None,
            },
        )
        write_predictions(fold_dir / "predictions.csv", preds)
    accelerator.wait_for_everyone()
    return preds


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
