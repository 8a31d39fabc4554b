"""Results reports: a Markdown table, CSV/JSON, and a confusion-matrix PNG.

Every report states the dataset, protocol, pooling, model-selection rule and seeds, because a
number without them cannot be compared (see the leakage note in docs/datasets.md).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.eval.metrics import (
    METRICS,
    Interval,
    Scores,
    SourceScores,
    bootstrap_ci,
    classification_scores,
    scores_by_source,
)

__all__ = ["Results", "confusion_image", "results_table"]


@dataclass(frozen=True, kw_only=True)
class Results:
    """The predictions of one evaluated run and what is needed to read its numbers.

    Attributes:
        y_true, y_pred: class of each test prediction (pooled over folds).
        labels: the K classes, in display order.
        dataset, protocol: what was evaluated and how it was split (``"megc2019 / LOSO (68
            folds)"``).
        selection: the model-selection rule (``"fixed 40 epochs"``, ``"best val UF1 on 20 % of
            each fold's training subjects"``); never a rule that reads the test fold.
        seeds: the seeds used (one per repeat).
        pooling: ``pooled`` or ``per-fold-mean`` (needs ``folds``).
        groups: subject of each prediction; enables bootstrap CIs by subject.
        folds: fold of each prediction.
        sources: source dataset of each prediction; with two or more, the report adds the
            per-source breakdown composite tables use (MEGC 2019: Full / SMIC / CASME II /
            SAMM UF1 and UAR, :func:`~facscope.eval.metrics.scores_by_source`).
        model: the model's name; notes: anything else worth stating.
        n_bootstrap: subject-bootstrap resamples for the CIs (0: none).
    """

    y_true: Sequence[Hashable]
    y_pred: Sequence[Hashable]
    labels: Sequence[Hashable]
    dataset: str
    protocol: str
    selection: str
    seeds: Sequence[int]
    pooling: str = "pooled"
    groups: Sequence[Hashable] | None = None
    folds: Sequence[Hashable] | None = None
    sources: Sequence[Hashable] | None = None
    model: str = ""
    notes: str = ""
    n_bootstrap: int = 1000
    ci_level: float = 0.95
    scores: Scores = field(init=False, repr=False)
    ci: dict[str, Interval] = field(init=False, repr=False)
    by_source: dict[str, SourceScores] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        for name in ("dataset", "protocol", "selection"):
            if not str(getattr(self, name)).strip():
                raise ConfigError(f"a report must state its {name}; got {getattr(self, name)!r}")
        if not list(self.seeds):
            raise ConfigError("a report must state its seeds (e.g. seeds=[0])")
        scores = classification_scores(
            self.y_true, self.y_pred, labels=self.labels, pooling=self.pooling, folds=self.folds
        )
        ci: dict[str, Interval] = {}
        if self.groups is not None and self.n_bootstrap > 0 and self.pooling == "pooled":
            ci = bootstrap_ci(
                self.y_true,
                self.y_pred,
                self.groups,
                labels=self.labels,
                n_resamples=self.n_bootstrap,
                level=self.ci_level,
                seed=int(next(iter(self.seeds))),
            )
        by_source: dict[str, SourceScores] = {}
        if self.sources is not None and len(set(map(str, self.sources))) > 1:
            by_source = scores_by_source(self.y_true, self.y_pred, self.sources, labels=self.labels)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "ci", ci)
        object.__setattr__(self, "by_source", by_source)

    # ----------------------------------------------------------------- records
    def header(self) -> dict[str, Any]:
        """The facts every report states."""
        n_groups = None if self.groups is None else len(set(map(str, self.groups)))
        return {
            "dataset": self.dataset,
            "protocol": self.protocol,
            "pooling": self.pooling if self.pooling != "pooled" else "pooled over all test folds",
            "selection": self.selection,
            "seeds": [int(s) for s in self.seeds],
            "model": self.model,
            "samples": self.scores.n,
            "subjects": n_groups,
            "classes": [str(c) for c in self.labels],
            "notes": self.notes,
        }

    def to_dict(self) -> dict[str, Any]:
        """Header, metrics (with CIs), per-class scores and the confusion matrix, JSON-able."""
        metrics = {}
        for m in METRICS:
            entry: dict[str, Any] = {"value": self.scores[m]}
            if m in self.ci:
                iv = self.ci[m]
                entry |= {
                    "ci_low": iv.low,
                    "ci_high": iv.high,
                    "ci_level": iv.level,
                    "ci_resamples": iv.n_resamples,
                    "ci_unit": "subject",
                }
            metrics[m] = entry
        sources = {
            name: {
                **{m: sc[m] for m in METRICS},
                "samples": sc.n,
                "classes": [str(c) for c in sc.classes],
            }
            for name, sc in self.by_source.items()
        }
        return {
            **self.header(),
            "metrics": metrics,
            **({"by_source": sources} if sources else {}),
            "per_class": [
                {
                    "class": str(c.label),
                    "precision": c.precision,
                    "recall": c.recall,
                    "f1": c.f1,
                    "support": c.support,
                    "predicted": c.predicted,
                }
                for c in self.scores.per_class
            ],
            "confusion": {
                "rows": "true",
                "columns": "predicted",
                "labels": [str(c) for c in self.labels],
                "counts": self.scores.confusion.tolist(),
            },
        }

    def _ci_text(self, m: str) -> str:
        iv = self.ci.get(m)
        return "" if iv is None else f" [{iv.low:.4f}, {iv.high:.4f}]"

    def to_markdown(self) -> str:
        """A Markdown report: the stated facts, a metrics table, a per-class table."""
        h = self.header()
        lines = [
            f"**{h['model'] or 'Results'}** on **{h['dataset']}**",
            "",
            f"- protocol: {h['protocol']}",
            f"- pooling: {h['pooling']}",
            f"- selection: {h['selection']}",
            f"- seeds: {', '.join(map(str, h['seeds']))}",
            f"- samples: {h['samples']}"
            + (f" from {h['subjects']} subjects" if h["subjects"] else ""),
        ]
        if h["notes"]:
            lines.append(f"- notes: {h['notes']}")
        ci_head = f" ({self.ci_level:.0%} CI, subject bootstrap)" if self.ci else ""
        lines += ["", f"| metric | value{ci_head} |", "|---|---|"]
        lines += [f"| {m.upper()} | {self.scores[m]:.4f}{self._ci_text(m)} |" for m in METRICS]
        if self.by_source:
            lines += ["", "| source | samples | UF1 | UAR | ACC |", "|---|---|---|---|---|"]
            lines += [
                f"| {name} | {sc.n} | {sc.uf1:.4f} | {sc.uar:.4f} | {sc.acc:.4f} |"
                for name, sc in self.by_source.items()
            ]
        lines += [
            "",
            "| class | precision | recall | F1 | support | predicted |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c.label} | {c.precision:.4f} | {c.recall:.4f} | {c.f1:.4f} | "
            f"{c.support} | {c.predicted} |"
            for c in self.scores.per_class
        ]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """One row per metric and per class, each carrying the stated facts."""
        h = self.header()
        facts = [
            h["dataset"],
            h["protocol"],
            h["pooling"],
            h["selection"],
            " ".join(map(str, h["seeds"])),
            h["model"],
        ]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(
            [
                "dataset",
                "protocol",
                "pooling",
                "selection",
                "seeds",
                "model",
                "row",
                "value",
                "ci_low",
                "ci_high",
                "precision",
                "recall",
                "f1",
                "support",
            ]
        )
        for m in METRICS:
            iv = self.ci.get(m)
            w.writerow(
                [
                    *facts,
                    m,
                    f"{self.scores[m]:.6f}",
                    "" if iv is None else f"{iv.low:.6f}",
                    "" if iv is None else f"{iv.high:.6f}",
                    "",
                    "",
                    "",
                    "",
                ]
            )
        for name, sc in self.by_source.items():
            for m in METRICS:
                w.writerow([*facts, f"source:{name}:{m}", f"{sc[m]:.6f}", "", "", "", "", "", sc.n])
        for c in self.scores.per_class:
            w.writerow(
                [
                    *facts,
                    f"class:{c.label}",
                    "",
                    "",
                    "",
                    f"{c.precision:.6f}",
                    f"{c.recall:.6f}",
                    f"{c.f1:.6f}",
                    c.support,
                ]
            )
        return buf.getvalue()

    def save(self, out_dir: str | os.PathLike[str], *, stem: str = "results") -> dict[str, Path]:
        """Write ``{stem}.md``, ``.csv``, ``.json`` and ``{stem}_confusion.png`` atomically."""
        from facscope.io import save_image, write_json, write_text

        d = Path(out_dir)
        return {
            "markdown": write_text(d / f"{stem}.md", self.to_markdown()),
            "csv": write_text(d / f"{stem}.csv", self.to_csv()),
            "json": write_json(d / f"{stem}.json", self.to_dict()),
            "png": save_image(d / f"{stem}_confusion.png", self.confusion_image()),
        }

    def confusion_image(self) -> np.ndarray:
        """The pooled confusion matrix as an RGB image (see :func:`confusion_image`)."""
        h = self.header()
        title = f"{h['dataset']} | {h['protocol']} | {h['model'] or 'model'}"
        sub = (
            f"UF1 {self.scores.uf1:.3f}  UAR {self.scores.uar:.3f}  ACC {self.scores.acc:.3f}"
            f" | {h['pooling']} | seeds {', '.join(map(str, h['seeds']))}"
        )
        return confusion_image(
            self.scores.confusion, [str(c) for c in self.labels], title=title, subtitle=sub
        )


def results_table(results: Sequence[Results]) -> str:
    """A Markdown table comparing runs (one row each), with the stated facts as columns."""
    if not results:
        raise ConfigError("results_table needs at least one Results")
    lines = [
        "| model | dataset | protocol | pooling | selection | seeds | UF1 | UAR | ACC |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        h = r.header()
        cells = [f"{r.scores[m]:.4f}{r._ci_text(m)}" for m in ("uf1", "uar", "acc")]
        lines.append(
            f"| {h['model']} | {h['dataset']} | {h['protocol']} | {h['pooling']} | "
            f"{h['selection']} | {' '.join(map(str, h['seeds']))} | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the PNG


def _text(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    scale: float,
    color: tuple[int, ...],
    thick: int = 1,
) -> None:
    import cv2

    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)


def _text_size(text: str, scale: float, thick: int = 1) -> tuple[int, int]:
    import cv2

    (w, h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    return w, h


def confusion_image(
    cm: np.ndarray, labels: Sequence[str], *, title: str = "", subtitle: str = "", cell: int = 72
) -> np.ndarray:
    """Render a confusion matrix (rows true, columns predicted) as an RGB uint8 image.

    Drawn in RGB. Cell colour is the row-normalised share (white → blue), each cell shows the count and the
    row percentage, rows are labelled with class names and supports, columns with class names
    (vertical) and prediction counts.
    """
    import cv2

    cm = np.asarray(cm, dtype=np.int64)
    k = cm.shape[0]
    if cm.shape != (k, k) or len(labels) != k:
        raise ConfigError(
            f"confusion matrix must be K×K with K={len(labels)} labels; got {cm.shape}"
        )
    rows = cm.sum(1, keepdims=True)
    share = np.divide(cm, rows, out=np.zeros(cm.shape), where=rows > 0)
    names = [str(x) for x in labels]
    left = 24 + max(_text_size(f"{n} ({int(r)})", 0.5)[0] for n, r in zip(names, rows[:, 0]))
    top_labels = 16 + max(_text_size(n, 0.5)[0] for n in names)
    head = 60 if title or subtitle else 10
    top = head + top_labels + 22
    width = max(
        left + k * cell + 20, 40 + _text_size(subtitle, 0.45)[0], 40 + _text_size(title, 0.6, 2)[0]
    )
    height = top + k * cell + 40
    img = np.full((height, width, 3), 255, np.uint8)
    if title:
        _text(img, title, (10, 24), 0.6, (0, 0, 0), 2)
    if subtitle:
        _text(img, subtitle, (10, 48), 0.45, (60, 60, 60))
    for i in range(k):
        for j in range(k):
            x0, y0 = left + j * cell, top + i * cell
            s = share[i, j]
            color = tuple(int(255 - s * (255 - c)) for c in (8, 48, 107))  # white → dark blue
            cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), color, -1)
            cv2.rectangle(img, (x0, y0), (x0 + cell, y0 + cell), (200, 200, 200), 1)
            ink = (255, 255, 255) if s > 0.5 else (0, 0, 0)
            for text, dy, sc in ((str(cm[i, j]), -6, 0.6), (f"{100 * s:.0f}%", 16, 0.42)):
                w, h = _text_size(text, sc)
                _text(img, text, (x0 + (cell - w) // 2, y0 + cell // 2 + dy + h // 2), sc, ink)
        label = f"{names[i]} ({int(rows[i, 0])})"
        w, h = _text_size(label, 0.5)
        _text(img, label, (left - w - 10, top + i * cell + cell // 2 + h // 2), 0.5, (0, 0, 0))
    # column names, drawn horizontally on a strip that is then turned to read bottom-up
    strip = np.full((cell * k, top_labels, 3), 255, np.uint8)
    for j, n in enumerate(names):
        w, h = _text_size(n, 0.5)
        _text(strip, n, (8, j * cell + cell // 2 + h // 2), 0.5, (0, 0, 0))
    img[top - 22 - top_labels : top - 22, left : left + k * cell] = np.rot90(strip)
    preds = cm.sum(0)
    for j in range(k):
        t = f"({int(preds[j])})"
        w, _ = _text_size(t, 0.42)
        _text(img, t, (left + j * cell + (cell - w) // 2, top - 6), 0.42, (80, 80, 80))
    w, _ = _text_size("predicted", 0.45)
    _text(img, "predicted", (left - w - 10, top - 22 - top_labels // 2), 0.45, (90, 90, 90))
    _text(img, "true", (8, top - 6), 0.45, (90, 90, 90))
    _text(img, "cells: count and row %; colour: row share", (10, height - 14), 0.42, (90, 90, 90))
    return img
