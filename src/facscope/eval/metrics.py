"""Exact ME/FER metrics: ACC, UF1, UAR over a stated label set, AU F1, subject bootstrap CIs.

Over K classes (K = the label set given, never the classes that happen to occur), with TP/FP/FN
counted on predictions **pooled over all test folds**:

* UF1 = (1/K) Σ_c 2TP_c / (2TP_c + FP_c + FN_c)   (scikit-learn macro F1 with ``labels=``)
* UAR = (1/K) Σ_c TP_c / N_c                      (balanced accuracy)
* ACC = Σ_c TP_c / N

A class with no true sample and no prediction scores 0 (``zero_division``) and still counts in
K, with a :class:`~facscope.errors.FacscopeDataWarning`. The mean of per-fold scores is a
different number; :func:`classification_scores` offers it only as ``pooling="per-fold-mean"``.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facscope.errors import ConfigError, FacscopeDataWarning
from facscope.facs import ME_AUS

__all__ = [
    "BP4D_AUS",
    "DISFA_AUS",
    "ME_AUS",
    "POOLINGS",
    "AUScores",
    "ClassScores",
    "Interval",
    "Scores",
    "SourceScores",
    "accuracy_score",
    "au_f1_scores",
    "au_truth_matrix",
    "bootstrap_ci",
    "classification_scores",
    "confusion_matrix",
    "per_class_scores",
    "scores_by_source",
    "scores_from_confusion",
    "uar_score",
    "uf1_score",
]

#: DISFA's standard 8-AU evaluation list.
DISFA_AUS: tuple[int, ...] = (1, 2, 4, 6, 9, 12, 25, 26)
#: BP4D's standard 12-AU evaluation list.
BP4D_AUS: tuple[int, ...] = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)
#: How predictions of several folds are combined.
POOLINGS = ("pooled", "per-fold-mean")
METRICS = ("acc", "uf1", "uar")


def _encode(values: Iterable[Hashable], labels: Sequence[Hashable], what: str) -> np.ndarray:
    index = {lab: i for i, lab in enumerate(labels)}
    vals = list(values.tolist() if isinstance(values, np.ndarray) else values)
    try:
        return np.fromiter((index[v] for v in vals), dtype=np.int64, count=len(vals))
    except KeyError:
        bad = sorted({repr(v) for v in vals if v not in index})
        raise ConfigError(
            f"{what} holds values {bad[:5]} that are not in labels {list(labels)}; pass the "
            "full label set as labels="
        ) from None


def _check_labels(labels: Sequence[Hashable]) -> list[Hashable]:
    labs = list(labels.tolist() if isinstance(labels, np.ndarray) else labels)
    if not labs:
        raise ConfigError("labels must name at least one class")
    if len(set(labs)) != len(labs):
        raise ConfigError(f"labels must be distinct; got {labs}")
    return labs


def confusion_matrix(
    y_true: Iterable[Hashable], y_pred: Iterable[Hashable], *, labels: Sequence[Hashable]
) -> np.ndarray:
    """K×K counts, rows = true class, columns = predicted class, in the order of ``labels``."""
    labs = _check_labels(labels)
    t, p = _encode(y_true, labs, "y_true"), _encode(y_pred, labs, "y_pred")
    if t.shape != p.shape:
        raise ConfigError(f"y_true and y_pred differ in length: {t.size} vs {p.size}")
    k = len(labs)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k)


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    out = np.full(num.shape, float(zero_division))
    np.divide(num, den, out=out, where=den > 0)
    return out


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one class, its support (true count) and predicted count."""

    label: Any
    precision: float
    recall: float
    f1: float
    support: int
    predicted: int


def _from_cm(cm: np.ndarray, zero_division: float = 0.0) -> dict[str, Any]:
    cm = np.asarray(cm, dtype=np.float64)
    tp = np.diag(cm)
    support, predicted = cm.sum(axis=1), cm.sum(axis=0)
    f1 = _ratio(2 * tp, support + predicted, zero_division)  # 2TP + FP + FN
    recall = _ratio(tp, support, zero_division)
    precision = _ratio(tp, predicted, zero_division)
    n = cm.sum()
    return {
        "acc": float(tp.sum() / n) if n else float(zero_division),
        "uf1": float(f1.mean()),
        "uar": float(recall.mean()),
        "f1": f1,
        "recall": recall,
        "precision": precision,
        "support": support.astype(np.int64),
        "predicted": predicted.astype(np.int64),
    }


def scores_from_confusion(cm: np.ndarray, *, zero_division: float = 0.0) -> dict[str, float]:
    """ACC, UF1 and UAR of a confusion matrix (rows true, columns predicted)."""
    d = _from_cm(cm, zero_division)
    return {k: d[k] for k in METRICS}


def _warn_empty(cm: np.ndarray, labels: Sequence[Hashable], *, stacklevel: int = 3) -> None:
    empty = [lab for lab, n in zip(labels, cm.sum(axis=1)) if n == 0]
    if empty:
        warnings.warn(
            f"classes {empty} have no true sample: their recall (and F1 when never predicted) "
            "is scored 0 and they still count in K; pass only the classes you evaluate as labels=",
            FacscopeDataWarning,
            stacklevel=stacklevel,
        )


def accuracy_score(
    y_true: Iterable[Hashable], y_pred: Iterable[Hashable], *, labels: Sequence[Hashable]
) -> float:
    """ACC: the fraction of correct predictions."""
    return scores_from_confusion(confusion_matrix(y_true, y_pred, labels=labels))["acc"]


def _macro_score(
    key: str,
    y_true: Iterable[Hashable],
    y_pred: Iterable[Hashable],
    labels: Sequence[Hashable],
    zero_division: float,
) -> float:
    cm = confusion_matrix(y_true, y_pred, labels=labels)
    _warn_empty(cm, list(labels), stacklevel=4)  # point at the caller of uf1_score/uar_score
    return scores_from_confusion(cm, zero_division=zero_division)[key]


def uf1_score(
    y_true: Iterable[Hashable],
    y_pred: Iterable[Hashable],
    *,
    labels: Sequence[Hashable],
    zero_division: float = 0.0,
) -> float:
    """UF1 (unweighted F1): the mean over ``labels`` of 2TP / (2TP + FP + FN)."""
    return _macro_score("uf1", y_true, y_pred, labels, zero_division)


def uar_score(
    y_true: Iterable[Hashable],
    y_pred: Iterable[Hashable],
    *,
    labels: Sequence[Hashable],
    zero_division: float = 0.0,
) -> float:
    """UAR (unweighted average recall): the mean over ``labels`` of TP / N."""
    return _macro_score("uar", y_true, y_pred, labels, zero_division)


def per_class_scores(
    y_true: Iterable[Hashable],
    y_pred: Iterable[Hashable],
    *,
    labels: Sequence[Hashable],
    zero_division: float = 0.0,
) -> list[ClassScores]:
    """Precision, recall, F1, support and predicted count of every class in ``labels``."""
    d = _from_cm(confusion_matrix(y_true, y_pred, labels=labels), zero_division)
    return [
        ClassScores(
            lab,
            float(d["precision"][i]),
            float(d["recall"][i]),
            float(d["f1"][i]),
            int(d["support"][i]),
            int(d["predicted"][i]),
        )
        for i, lab in enumerate(labels)
    ]


@dataclass(frozen=True)
class Scores:
    """ACC / UF1 / UAR with the label set, the pooling that produced them, the pooled confusion
    matrix and per-class scores (always from the pooled predictions)."""

    acc: float
    uf1: float
    uar: float
    n: int
    labels: tuple[Any, ...]
    pooling: str
    confusion: np.ndarray = field(repr=False)
    per_class: tuple[ClassScores, ...] = field(repr=False)
    n_folds: int | None = None

    def as_dict(self) -> dict[str, float]:
        return {"acc": self.acc, "uf1": self.uf1, "uar": self.uar}

    def __getitem__(self, metric: str) -> float:
        """``scores["uf1"]``: a metric by name (acc, uf1, uar)."""
        if metric not in METRICS:
            raise KeyError(f"metric must be one of {METRICS}; got {metric!r}")
        return float(getattr(self, metric))


def classification_scores(
    y_true: Sequence[Hashable],
    y_pred: Sequence[Hashable],
    *,
    labels: Sequence[Hashable],
    pooling: str = "pooled",
    folds: Sequence[Hashable] | None = None,
    zero_division: float = 0.0,
) -> Scores:
    """ACC, UF1, UAR, confusion matrix and per-class scores.

    Args:
        labels: the K classes (K never shrinks to the classes present).
        pooling: ``"pooled"`` (default: one confusion matrix over all test predictions) or
            ``"per-fold-mean"`` (the mean of each fold's metrics; needs ``folds``). The
            confusion matrix and per-class scores are always pooled.
        folds: the fold of each prediction (for ``per-fold-mean``).
    """
    if pooling not in POOLINGS:
        raise ConfigError(f"pooling must be one of {POOLINGS}; got {pooling!r}")
    labs = _check_labels(labels)
    cm = confusion_matrix(y_true, y_pred, labels=labs)
    d = _from_cm(cm, zero_division)
    per = tuple(per_class_scores(y_true, y_pred, labels=labs, zero_division=zero_division))
    n_folds = None
    if pooling == "per-fold-mean":
        if folds is None or len(folds) != int(cm.sum()):
            raise ConfigError("pooling='per-fold-mean' needs folds=, the fold of each prediction")
        f = np.asarray(folds, dtype=object)
        t, p = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
        per_fold = [
            scores_from_confusion(
                confusion_matrix(t[f == k], p[f == k], labels=labs), zero_division=zero_division
            )
            for k in dict.fromkeys(f)
        ]
        n_folds = len(per_fold)
        d = {m: float(np.mean([s[m] for s in per_fold])) for m in METRICS}
    else:
        _warn_empty(cm, labs)
    return Scores(
        acc=d["acc"],
        uf1=d["uf1"],
        uar=d["uar"],
        n=int(cm.sum()),
        labels=tuple(labs),
        pooling=pooling,
        confusion=cm,
        per_class=per,
        n_folds=n_folds,
    )


@dataclass(frozen=True)
class SourceScores:
    """ACC / UF1 / UAR of one source's predictions, averaged over ``classes``: those it has
    true samples of."""

    acc: float
    uf1: float
    uar: float
    n: int
    classes: tuple[Hashable, ...]

    def __getitem__(self, name: str) -> float:
        return float(getattr(self, name))


def scores_by_source(
    y_true: Sequence[Hashable],
    y_pred: Sequence[Hashable],
    sources: Sequence[Hashable],
    *,
    labels: Sequence[Hashable],
    full: str = "Full",
) -> dict[str, SourceScores]:
    """Scores over all predictions (``full``) and over each source dataset's own, as composite
    tables report them (MEGC 2019: Full / SMIC / CASME II / SAMM).

    A source is scored over the classes it has true samples of, so a class it lacks does not
    count as a zero; a prediction of such a class is still an error of the true class. The
    ``full`` row keeps every class of ``labels``.
    """
    if len(sources) != len(y_true):
        raise ConfigError(f"{len(sources)} sources for {len(y_true)} predictions")
    t, p = np.asarray(y_true, dtype=object), np.asarray(y_pred, dtype=object)
    src = np.asarray([str(s) for s in sources], dtype=object)
    groups = {full: np.ones(len(src), bool)} | {
        name: src == name for name in sorted(set(src.tolist()))
    }
    out: dict[str, SourceScores] = {}
    for name, keep in groups.items():
        cm = confusion_matrix(t[keep].tolist(), p[keep].tolist(), labels=labels)
        rows = cm.sum(axis=1)
        present = np.arange(len(labels)) if name == full else np.flatnonzero(rows)
        tp = np.diag(cm).astype(float)
        denom = rows + cm.sum(axis=0)  # 2TP + FN + FP
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
        rec = np.divide(tp, rows, out=np.zeros_like(tp), where=rows > 0)
        n = int(cm.sum())
        out[name] = SourceScores(
            acc=float(tp.sum() / n) if n else 0.0,
            uf1=float(f1[present].mean()) if len(present) else 0.0,
            uar=float(rec[present].mean()) if len(present) else 0.0,
            n=n,
            classes=tuple(labels[i] for i in present),
        )
    return out


# --------------------------------------------------------------------------- AU detection


@dataclass(frozen=True)
class AUScores:
    """Per-AU binary F1 (and counts) over a stated AU list, and their mean.

    ``support``: coded entries where the AU is present; ``predicted``: coded entries where it is
    predicted; ``coded``: entries scored (not ``-1`` / NaN in the truth).
    """

    aus: tuple[int, ...]
    f1: dict[int, float]
    support: dict[int, int]
    mean: float
    precision: dict[int, float] = field(default_factory=dict)
    recall: dict[int, float] = field(default_factory=dict)
    predicted: dict[int, int] = field(default_factory=dict)
    coded: dict[int, int] = field(default_factory=dict)


def _is_au_set(item: Any) -> bool:
    if isinstance(item, (str, set, frozenset)):
        return True
    return isinstance(item, (tuple, list)) and any(hasattr(a, "number") for a in item)


_Targets = tuple[frozenset[int], tuple[tuple[int, ...], ...]]


def _au_targets(values: Any) -> list[_Targets] | None:
    """AU-set inputs as (AUs coded, groups of alternatives) per row; None for a matrix.

    Strings and AU records follow :func:`facscope.facs.au_targets` (action units only, no
    ``ref(…)``; ``12 or 14`` a group); plain number sets are taken as they are.
    """
    if isinstance(values, np.ndarray):
        return None
    items = list(values)
    if not (
        items
        and all(_is_au_set(v) or (isinstance(v, (tuple, list)) and not v) for v in items)
        and any(_is_au_set(v) for v in items)
    ):
        return None
    from facscope.facs import au_targets

    return [
        au_targets(v)
        if isinstance(v, str) or any(hasattr(a, "number") for a in v)
        else (frozenset(int(a) for a in v), ())
        for v in items
    ]


def _au_array(values: Any, aus: Sequence[int], what: str) -> np.ndarray:
    """(N, A) array of ``values``; an AU-set row counts each group of alternatives as its first
    code (the truth's groups are resolved against the prediction in :func:`au_f1_scores`)."""
    rows = _au_targets(values)
    if rows is not None:
        sets = [coded | {g[0] for g in groups} for coded, groups in rows]
        return np.array(
            [[1.0 if a in st else 0.0 for a in aus] for st in sets], dtype=np.float64
        ).reshape(-1, len(aus))
    arr = np.asarray(values if isinstance(values, np.ndarray) else list(values), dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != len(aus):
        raise ConfigError(
            f"{what} must be (N, {len(aus)}) for AUs {list(aus)}, or a list of AU "
            f"sets; got shape {arr.shape}"
        )
    return arr


def _resolve_alternatives(
    truth: np.ndarray, rows: list[_Targets], pred: np.ndarray, aus: Sequence[int]
) -> np.ndarray:
    """Each true group of alternatives counts as *either*: the first member (written order)
    the prediction has, else its first code (docs/facs.md)."""
    out = truth.copy()
    column = {a: j for j, a in enumerate(aus)}
    for i, (coded, groups) in enumerate(rows):
        for group in groups:
            chosen = next((a for a in group if a in column and pred[i, column[a]] > 0), group[0])
            for a in group:
                if a in column and a not in coded:
                    out[i, column[a]] = 1.0 if a == chosen else 0.0
    return out


def _check_aus(aus: Sequence[int]) -> tuple[int, ...]:
    out = tuple(int(a) for a in aus)
    if not out or len(set(out)) != len(out):
        raise ConfigError(f"aus must be a non-empty list of distinct AU numbers; got {out}")
    return out


def au_truth_matrix(y_true: Any, y_pred: Any, *, aus: Sequence[int]) -> np.ndarray:
    """(N, len(aus)) truth as :func:`au_f1_scores` counts it: 1 / 0 (-1 or NaN: not coded),
    each true group of alternatives resolved against the prediction ``y_pred``."""
    aus = _check_aus(aus)
    if not isinstance(y_true, np.ndarray):
        y_true = list(y_true)
    t, p = _au_array(y_true, aus, "y_true"), _au_array(y_pred, aus, "y_pred")
    if t.shape != p.shape:
        raise ConfigError(f"y_true and y_pred differ in shape: {t.shape} vs {p.shape}")
    rows = _au_targets(y_true)
    if rows is not None and any(groups for _, groups in rows):
        t = _resolve_alternatives(t, rows, p, aus)
    return t


def au_f1_scores(
    y_true: Any, y_pred: Any, *, aus: Sequence[int], zero_division: float = 0.0
) -> AUScores:
    """Binary F1 = 2TP / (2TP + FP + FN) of each AU in ``aus`` and their mean.

    ``y_true`` / ``y_pred`` are (N, len(aus)) arrays of 0/1 (-1 or NaN in ``y_true`` = not
    coded: that entry is left out), or sequences of AU sets (``{1, 12}``, ``"1+12"``, tuples of
    :class:`~facscope.facs.AU` such as ``Sample.aus``); a list of number lists is read as rows.
    An AU that is never present nor predicted scores ``zero_division``.

    AU strings and records count action units only (not ADs, head/eye or other codes, not
    ``ref(…)``; ``(?)`` counts); a true ``12 or 14`` is satisfied by a prediction of either
    (12 when neither is predicted). See :func:`facscope.facs.au_targets`.
    """
    aus = _check_aus(aus)
    if not isinstance(y_true, np.ndarray):
        y_true = list(y_true)
    t = au_truth_matrix(y_true, y_pred, aus=aus)
    p = _au_array(y_pred, aus, "y_pred")
    known = ~(np.isnan(t) | (t < 0))
    tt, pp = (t > 0) & known, (p > 0) & known
    tp = (tt & pp).sum(0)
    fp = (~tt & pp & known).sum(0)
    fn = (tt & ~pp).sum(0)
    f1 = _ratio(2.0 * tp, 2.0 * tp + fp + fn, zero_division)
    precision = _ratio(tp.astype(float), (tp + fp).astype(float), zero_division)
    recall = _ratio(tp.astype(float), (tp + fn).astype(float), zero_division)

    def per(values: np.ndarray, kind: type) -> dict[int, Any]:
        return {a: kind(v) for a, v in zip(aus, values)}

    return AUScores(
        aus=aus,
        f1=per(f1, float),
        support=per(tt.sum(0), int),
        mean=float(f1.mean()),
        precision=per(precision, float),
        recall=per(recall, float),
        predicted=per(pp.sum(0), int),
        coded=per(known.sum(0), int),
    )


# --------------------------------------------------------------------------- bootstrap


@dataclass(frozen=True)
class Interval:
    """A point estimate and its bootstrap percentile interval."""

    point: float
    low: float
    high: float
    level: float
    n_resamples: int


def bootstrap_ci(
    y_true: Sequence[Hashable],
    y_pred: Sequence[Hashable],
    groups: Sequence[Hashable],
    *,
    labels: Sequence[Hashable],
    metrics: Sequence[str] = METRICS,
    n_resamples: int = 1000,
    level: float = 0.95,
    seed: int = 0,
    zero_division: float = 0.0,
) -> dict[str, Interval]:
    """Percentile bootstrap CIs of pooled metrics, resampling **subjects** with replacement.

    Each resample draws as many subjects as there are, with replacement, and pools all their
    samples (a subject drawn twice counts twice); samples of one subject are never split.
    """
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        raise ConfigError(f"metrics must be among {METRICS}; got {unknown}")
    if not 0 < level < 1 or n_resamples < 1:
        raise ConfigError(
            f"level must be in (0, 1) and n_resamples >= 1; got {level}, {n_resamples}"
        )
    labs = _check_labels(labels)
    k = len(labs)
    t, p = _encode(y_true, labs, "y_true"), _encode(y_pred, labs, "y_pred")
    g = list(groups.tolist() if isinstance(groups, np.ndarray) else groups)
    if len(g) != t.size or t.size != p.size:
        raise ConfigError(
            f"y_true, y_pred and groups differ in length: {t.size}, {p.size}, {len(g)}"
        )
    keys = {v: i for i, v in enumerate(dict.fromkeys(g))}
    gi = np.fromiter((keys[v] for v in g), dtype=np.int64, count=len(g))
    s = len(keys)
    per_subject = np.zeros((s, k * k), dtype=np.float64)
    np.add.at(per_subject, (gi, t * k + p), 1.0)
    rng = np.random.default_rng(seed)
    draws = rng.integers(0, s, size=(n_resamples, s))
    weights = np.zeros((n_resamples, s))
    np.add.at(weights, (np.arange(n_resamples)[:, None], draws), 1.0)
    cms = (weights @ per_subject).reshape(n_resamples, k, k)
    point = scores_from_confusion(per_subject.sum(0).reshape(k, k), zero_division=zero_division)
    tp = np.einsum("bii->bi", cms)
    support, predicted = cms.sum(2), cms.sum(1)
    values = {
        "acc": tp.sum(1) / np.maximum(cms.sum((1, 2)), 1),
        "uf1": _ratio(2 * tp, support + predicted, zero_division).mean(1),
        "uar": _ratio(tp, support, zero_division).mean(1),
    }
    lo, hi = (1 - level) / 2 * 100, (1 + level) / 2 * 100
    return {
        m: Interval(
            point[m],
            float(np.percentile(values[m], lo)),
            float(np.percentile(values[m], hi)),
            level,
            n_resamples,
        )
        for m in metrics
    }
