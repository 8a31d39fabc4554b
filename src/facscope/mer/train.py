"""Training and subject-independent evaluation of one configuration (:class:`TrainConfig`).

``train(config)`` loads the dataset, builds the clip/flow cache once, and for every fold of the
protocol trains a fresh model on the training subjects, picks the model **without looking at the
test fold** (the last epoch of a fixed budget, or the best validation UF1 on validation subjects
drawn from the training subjects), predicts the test subjects and saves those predictions. The
metrics (ACC / UF1 / UAR) are computed once on the predictions pooled over all folds.

Everything runs through ``accelerate`` (mixed precision, one or several GPUs:
``accelerate launch -m facscope.cli mer train …``). Every fold writes a checkpoint after each
epoch; a killed run started again with the same config continues from the last checkpoint, and
a finished fold (its ``predictions.csv`` exists) is not run again. Seeds: model initialisation,
data order, jitter, flips and dropout are all derived from ``(seed, fold, epoch)``, so a resumed
run gives the same predictions as an uninterrupted one (bit-for-bit on CPU at the same thread
count; ``accelerate launch`` sets its own, from the physical cores, unless ``OMP_NUM_THREADS``
is set, so a launched and a plain CPU run may differ in the last digits and then drift).

Output folder::

    config.yaml          the resolved config
    fold_00/checkpoint.pt, fold_00/predictions.csv, fold_00/history.json (per epoch: loss,
                         steps, lr, seconds and clips/s of the training pass, val UF1) …
    predictions.csv      every fold's predictions, pooled
    metrics.json         ACC / UF1 / UAR on the pooled predictions + protocol, selection, seed,
                         runtime (device, precision, cache and total seconds of this invocation)
    report.md/.csv/.json, report_confusion.png   the same with per-class scores, bootstrap CIs
    cache_failures.json  samples the cache could not build (skipped)
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, FacscopeConfigWarning
from facscope.eval.predictions import Predictions, read_predictions, write_predictions
from facscope.io import write_json, write_text
from facscope.mer.callbacks import FoldCallback, RunState
from facscope.mer.config import TrainConfig, config_to_dict
from facscope.mer.fold import run_fold
from facscope.mer.prepare import derive_seed, make_folds, prepare_data

__all__ = ["RunResult", "derive_seed", "prepare_data", "train"]


@dataclass(frozen=True)
class RunResult:
    """What :func:`train` produced."""

    output_dir: Path
    metrics: dict[str, Any]
    predictions: Predictions | None
    interrupted: bool = False
    folds_run: tuple[int, ...] = ()
    skipped_samples: tuple[str, ...] = field(default=())


# --------------------------------------------------------------------------------------------
# Accelerator (one per process; rebuilt when a single-process run changes its settings)

_ACCEL: dict[str, Any] = {}


def get_accelerator(config: TrainConfig) -> Any:
    from accelerate import Accelerator

    key = (bool(config.cpu), config.mixed_precision)
    acc = _ACCEL.get("acc")
    if acc is not None and _ACCEL.get("key") == key:
        return acc
    if acc is not None:
        if acc.num_processes > 1:
            raise ConfigError(
                "a distributed run cannot change cpu/mixed_precision between runs; "
                "launch one process group per setting"
            )
        from accelerate.state import AcceleratorState, GradientState

        AcceleratorState._reset_state(reset_partial_state=True)
        GradientState._reset_state()
    acc = Accelerator(cpu=bool(config.cpu), mixed_precision=config.mixed_precision)
    _ACCEL.update(acc=acc, key=key)
    return acc


def warn_if_loading_starves(kind: str, num_workers: int, device_type: str) -> None:
    """Warn (:class:`FacscopeConfigWarning`) when a GPU would wait for clips read between its
    steps: a clip model, no loader workers, a CUDA device."""
    if kind == "clip" and num_workers == 0 and device_type == "cuda":
        warnings.warn(
            "num_workers is 0: clips are read and sampled in the training process between "
            "GPU steps, which starves the GPU; set num_workers (e.g. --num-workers 8, about "
            "half the CPU cores; benchmarks/mer.py measures loading against training)",
            FacscopeConfigWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------------------------
# The run


def train(
    config: TrainConfig,
    *,
    dataset: Any = None,
    progress: bool = True,
    callbacks: Sequence[FoldCallback] = (),
) -> RunResult:
    """Run every fold of ``config`` (resuming what a previous run left) and score the pooled
    predictions. See the module docstring for the outputs; ``callbacks`` are told after every
    optimiser step and epoch (:mod:`facscope.mer.callbacks`)."""
    acc = get_accelerator(config)
    out = Path(config.output_dir)
    if config.resume:
        check_resumable(out, config)
    if acc.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        write_config(out / "config.yaml", config)
    began = time.perf_counter()
    data = prepare_data(config, dataset=dataset, progress=progress, accelerator=acc)
    cache_seconds = time.perf_counter() - began
    if acc.is_main_process:
        write_json(out / "cache_failures.json", list(data.skipped))
    warn_if_loading_starves(data.spec.kind, config.num_workers, acc.device.type)
    folds = make_folds(config, data)
    parts = run_folds(config, data, folds, acc, progress=progress, callbacks=callbacks)
    if parts is None:  # max_steps reached: stop, the checkpoint stays
        return RunResult(out, {}, None, interrupted=True, skipped_samples=data.skipped)
    pooled = Predictions.concat(parts)
    metrics = score(pooled, config, input_kind=data.spec.kind)
    metrics["runtime"] = {
        "device": str(acc.device),
        "processes": acc.num_processes,
        "mixed_precision": acc.mixed_precision,
        # this invocation only: a resumed run counts what it did itself
        "cache_seconds": round(cache_seconds, 2),
        "seconds": round(time.perf_counter() - began, 2),
    }
    if acc.is_main_process:
        write_predictions(out / "predictions.csv", pooled)
        save_report(out, pooled, metrics, config)
        write_json(out / "metrics.json", metrics)
    acc.wait_for_everyone()
    return RunResult(
        out, metrics, pooled, folds_run=tuple(f.index for f in folds), skipped_samples=data.skipped
    )


def run_folds(
    config: TrainConfig,
    data: Any,
    folds: Sequence[Any],
    acc: Any,
    *,
    progress: bool,
    callbacks: Sequence[FoldCallback],
) -> list[Predictions] | None:
    """Every fold's predictions in fold order: finished folds read back, the others trained
    one by one or, with ``batched_folds``, together; None when ``max_steps`` stopped."""
    out = Path(config.output_dir)
    done: dict[int, Predictions] = {}
    todo = []
    for fold in folds:
        pred_path = out / f"fold_{fold.index:02d}" / "predictions.csv"
        if config.resume and pred_path.is_file():
            done[fold.index] = read_predictions(pred_path)
        else:
            todo.append(fold)
    state = RunState()
    if config.batched_folds and todo and not config.eval_only:
        from facscope.mer.batched import run_batched

        got = run_batched(config, data, todo, acc, state, progress=progress, callbacks=callbacks)
        if got is None:
            return None
        done |= {f.index: p for f, p in zip(todo, got)}
    else:
        for fold in todo:
            preds = run_fold(config, data, fold, acc, state, progress=progress, callbacks=callbacks)
            if preds is None:
                return None
            done[fold.index] = preds
    return [done[f.index] for f in folds]


#: Keys that may differ between a run and its resumption (they do not shape the results).
RUNTIME_KEYS = frozenset(
    {"resume", "output_dir", "cache_dir", "num_workers", "max_steps", "folds", "checkpoint_every"}
)


def check_resumable(out: Path, config: TrainConfig) -> None:
    """Refuse to resume into a folder that holds a run of another configuration."""
    from facscope.mer.config import load_config

    previous = out / "config.yaml"
    if not previous.is_file() or not any(out.glob("fold_*")):
        return
    try:
        old = config_to_dict(load_config(previous))
    except Exception:  # an unreadable or older config: let the checkpoints speak
        return
    new = config_to_dict(config)
    changed = sorted(k for k in new if k not in RUNTIME_KEYS and old.get(k) != new[k])
    if changed:
        raise ConfigError(
            f"{out} holds a run with other settings ({', '.join(changed)}); resuming it would "
            "mix two configurations: pass --no-resume (resume: false) or another --output-dir"
        )


def score(preds: Predictions, config: TrainConfig, *, input_kind: str = "clip") -> dict[str, Any]:
    """ACC / UF1 / UAR on pooled predictions, with what a table must state (flow models read
    no key frames: their sampling reads ``apex flow``)."""
    from facscope.eval.metrics import classification_scores, scores_by_source

    m = classification_scores(preds.y_true, preds.y_pred, labels=list(range(len(preds.classes))))
    counts = Counter(preds.classes[i] for i in preds.y_true)
    by_source = {}
    if len(set(preds.datasets)) > 1:  # a composite (MEGC 2019): Full and each source's own
        names = list(preds.classes)
        by_source = {
            src: {"uf1": sc.uf1, "uar": sc.uar, "acc": sc.acc, "n": sc.n}
            for src, sc in scores_by_source(
                [names[i] for i in preds.y_true],
                [names[i] for i in preds.y_pred],
                preds.datasets,
                labels=names,
            ).items()
        }
    return {
        "acc": float(m["acc"]),
        "uf1": float(m["uf1"]),
        "uar": float(m["uar"]),
        "n": len(preds),
        "folds": len(set(preds.folds.tolist())),
        "pooling": "pooled over test folds",
        "protocol": config.protocol,
        "protocol_options": dict(config.protocol_options),
        "selection": _selection_text(config),
        "seed": config.seed,
        "model": config.model,
        "sampling": config.sampling if input_kind == "clip" else "apex flow",
        "imbalance": config.imbalance,
        "classes": list(preds.classes),
        "support": {c: counts.get(c, 0) for c in preds.classes},
        **({"by_source": by_source} if by_source else {}),
    }


def _selection_text(config: TrainConfig) -> str:
    if config.eval_only:
        return f"given weights, not trained here ({config.weights})"
    if config.selection == "val":
        return f"best validation UF1 ({config.val_subjects:g} of training subjects)"
    return f"fixed budget: last of {config.epochs} epochs"


def save_report(
    out: Path, preds: Predictions, metrics: dict[str, Any], config: TrainConfig
) -> None:
    """``report.md/.csv/.json`` and ``report_confusion.png`` (:mod:`facscope.eval.report`), with
    95 % subject-bootstrap intervals."""
    from facscope.eval.report import Results

    Results(
        y_true=[preds.classes[i] for i in preds.y_true],
        y_pred=[preds.classes[i] for i in preds.y_pred],
        labels=list(preds.classes),
        dataset=f"{config.data}: {config.root}",
        protocol=f"{metrics['protocol']} ({metrics['folds']} folds)",
        selection=metrics["selection"],
        seeds=[config.seed],
        groups=[f"{d}/{s}" for d, s in zip(preds.datasets, preds.subjects)],
        sources=list(preds.datasets),
        model=f"{config.model} / {metrics['sampling']} / {config.imbalance}",
        n_bootstrap=1000,
    ).save(out, stem="report")


def write_config(path: Path, config: TrainConfig) -> Path:
    """Write the resolved config as YAML (atomically)."""
    import yaml

    return write_text(path, yaml.safe_dump(config_to_dict(config), sort_keys=False))
