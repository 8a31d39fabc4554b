"""Per-sample predictions of every test fold, saved so pooled metrics can be recomputed.

A predictions CSV has one row per test sample: ``sample_id, dataset, subject, fold, true,
pred, true_id, pred_id`` and one ``p_<class>`` probability column per class (softmax of the
logits, in class order).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facscope.errors import ConfigError, InputFileError
from facscope.io import write_text

__all__ = ["Predictions", "read_predictions", "write_predictions"]

_FIXED = ("sample_id", "dataset", "subject", "fold", "true", "pred", "true_id", "pred_id")


@dataclass(frozen=True)
class Predictions:
    """Predictions of one or more folds (rows aligned across the arrays)."""

    classes: tuple[str, ...]
    sample_ids: tuple[str, ...]
    datasets: tuple[str, ...]
    subjects: tuple[str, ...]
    folds: np.ndarray  # (N,) int
    y_true: np.ndarray  # (N,) int class ids
    y_pred: np.ndarray  # (N,) int class ids
    probs: np.ndarray  # (N, K) float

    def __len__(self) -> int:
        return len(self.sample_ids)

    @classmethod
    def concat(cls, parts: Sequence[Predictions]) -> Predictions:
        if not parts:
            raise ConfigError("no predictions to concatenate")
        classes = parts[0].classes
        if any(p.classes != classes for p in parts):
            raise ConfigError("predictions to concatenate must share one class list")
        return cls(
            classes=classes,
            sample_ids=tuple(s for p in parts for s in p.sample_ids),
            datasets=tuple(s for p in parts for s in p.datasets),
            subjects=tuple(s for p in parts for s in p.subjects),
            folds=np.concatenate([p.folds for p in parts]),
            y_true=np.concatenate([p.y_true for p in parts]),
            y_pred=np.concatenate([p.y_pred for p in parts]),
            probs=np.concatenate([p.probs for p in parts]),
        )

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow([*_FIXED, *(f"p_{c}" for c in self.classes)])
        for i in range(len(self)):
            t, p = int(self.y_true[i]), int(self.y_pred[i])
            w.writerow(
                [
                    self.sample_ids[i],
                    self.datasets[i],
                    self.subjects[i],
                    int(self.folds[i]),
                    self.classes[t],
                    self.classes[p],
                    t,
                    p,
                    *(f"{float(v):.6g}" for v in self.probs[i]),
                ]
            )
        return buf.getvalue()


def write_predictions(path: str | os.PathLike[str], preds: Predictions) -> Path:
    """Write predictions as CSV, atomically."""
    return write_text(path, preds.to_csv())


def read_predictions(path: str | os.PathLike[str]) -> Predictions:
    """Read a predictions CSV written by :func:`write_predictions`."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such predictions file")
    with open(p, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows or tuple(rows[0][: len(_FIXED)]) != _FIXED:
        raise ConfigError(f"{p}: not a facscope predictions CSV (header {rows[:1]})")
    classes = tuple(h.removeprefix("p_") for h in rows[0][len(_FIXED) :])
    body = rows[1:]
    k = len(_FIXED)
    return Predictions(
        classes=classes,
        sample_ids=tuple(r[0] for r in body),
        datasets=tuple(r[1] for r in body),
        subjects=tuple(r[2] for r in body),
        folds=np.array([int(r[3]) for r in body], dtype=np.int64),
        y_true=np.array([int(r[6]) for r in body], dtype=np.int64),
        y_pred=np.array([int(r[7]) for r in body], dtype=np.int64),
        probs=np.array([[float(v) for v in r[k:]] for r in body], dtype=np.float64).reshape(
            len(body), len(classes)
        ),
    )
