"""Leakage-free evaluation protocols: generators of train / validation / test index sets.

Every protocol splits on **groups** (subjects; ``dataset/subject`` in a composite), so no
subject is ever in two parts of a fold, and the validation part is always drawn from the
fold's *training* subjects (a seeded fraction, or a count): model selection, early stopping and
threshold tuning never see the test fold. Protocols:

* :func:`loso`: leave one subject out (one fold per subject);
* :func:`group_kfold`: k folds of whole subjects, stratified by label where possible;
* :func:`official_split`: a dataset's own train/(val)/test split (RAF-DB, FERPlus, AffectNet);
* :func:`composite_loso`: LOSO over the union of several datasets (MEGC 2019);
* :func:`cross_dataset`: train on dataset(s) A, test on dataset(s) B;
* :func:`leave_one_dataset_out`: one fold per source dataset.

:func:`split_dataset` runs one of them by name (:data:`PROTOCOLS`) on a
:class:`~facscope.data.Dataset`.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.registry import Registry

__all__ = [
    "PROTOCOLS",
    "Fold",
    "composite_loso",
    "cross_dataset",
    "group_kfold",
    "leave_one_dataset_out",
    "loso",
    "official_split",
    "split_dataset",
]


@dataclass(frozen=True)
class Fold:
    """One fold: sorted int64 index arrays; unpacks as ``train, val, test``."""

    index: int
    name: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def __iter__(self) -> Iterator[np.ndarray]:
        return iter((self.train, self.val, self.test))

    def check(self, groups: Sequence[Hashable] | np.ndarray) -> None:
        """Raise :class:`ConfigError` if a group (subject) is in two parts of this fold."""
        g = np.asarray(groups, dtype=object)
        parts = {"train": set(g[self.train]), "val": set(g[self.val]), "test": set(g[self.test])}
        for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
            shared = parts[a] & parts[b]
            if shared:
                raise ConfigError(
                    f"fold {self.name}: subjects {sorted(map(str, shared))[:3]} are "
                    f"in both {a} and {b}"
                )


def _groups(groups: Sequence[Hashable] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unique groups (sorted as text) and the group index of every sample."""
    g = np.asarray([str(x) for x in groups], dtype=object)
    if g.size == 0:
        raise ConfigError("no samples to split")
    uniq, inv = np.unique(g.astype(str), return_inverse=True)
    return uniq, inv.astype(np.int64)


def _n_val(val: float | int, n_groups: int, fold: str) -> int:
    if isinstance(val, bool) or val < 0:
        raise ConfigError(f"val must be a fraction in [0, 1) or a subject count; got {val!r}")
    if val == 0:
        return 0
    n = int(val) if float(val).is_integer() and val >= 1 else max(1, round(val * n_groups))
    if n >= n_groups:
        raise ConfigError(
            f"fold {fold}: {n} validation subject(s) asked of {n_groups} training "
            "subject(s); lower val or use a protocol with more training subjects"
        )
    return n


def _make_fold(
    index: int,
    name: str,
    train_mask: np.ndarray,
    test_mask: np.ndarray,
    inv: np.ndarray,
    *,
    val: float | int,
    seed: int,
) -> Fold:
    """Split validation subjects off the training part and build the Fold."""
    train_groups = np.unique(inv[train_mask])
    n = _n_val(val, train_groups.size, name)
    rng = np.random.default_rng([int(seed), index])
    val_groups = rng.choice(train_groups, size=n, replace=False) if n else np.array([], np.int64)
    val_mask = train_mask & np.isin(inv, val_groups)
    return Fold(
        index,
        name,
        np.flatnonzero(train_mask & ~val_mask),
        np.flatnonzero(val_mask),
        np.flatnonzero(test_mask),
    )


def loso(
    groups: Sequence[Hashable] | np.ndarray, *, val: float | int = 0.0, seed: int = 0
) -> Iterator[Fold]:
    """Leave one subject out: one fold per subject (sorted), tested on that subject alone.

    Args:
        groups: the subject (group) of each sample.
        val: validation subjects per fold, drawn from the training subjects: a fraction in
            [0, 1) (at least one subject when > 0) or a count.
        seed: seeds the validation draw (fold ``i`` uses ``default_rng([seed, i])``).
    """
    uniq, inv = _groups(groups)
    if uniq.size < 2:
        raise ConfigError(f"LOSO needs at least 2 subjects; got {uniq.size}")
    for i, name in enumerate(uniq):
        test = inv == i
        yield _make_fold(i, f"subject={name}", ~test, test, inv, val=val, seed=seed)


def composite_loso(
    sources: Sequence[Hashable],
    subjects: Sequence[Hashable],
    *,
    val: float | int = 0.0,
    seed: int = 0,
) -> Iterator[Fold]:
    """LOSO over the union of datasets: subjects are keyed ``source/subject`` (MEGC 2019: 68
    folds on the full composite)."""
    if len(sources) != len(subjects):
        raise ConfigError(
            f"sources and subjects differ in length: {len(sources)} vs {len(subjects)}"
        )
    return loso([f"{a}/{b}" for a, b in zip(sources, subjects)], val=val, seed=seed)


def _assign_stratified(y: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Greedy assignment of groups (rows of the group × class count matrix ``y``) to ``k``
    folds, keeping each class's share per fold even; no fold is left empty."""
    n_groups = y.shape[0]
    totals = np.maximum(y.sum(0), 1)
    order = rng.permutation(n_groups)
    order = order[np.argsort(-np.std(y[order], axis=1), kind="stable")]
    counts = np.zeros((k, y.shape[1]))
    members = np.zeros(k, dtype=np.int64)
    fold_of = np.empty(n_groups, dtype=np.int64)
    for done, g in enumerate(order):
        empty = np.flatnonzero(members == 0)
        cands = empty if n_groups - done <= empty.size else np.arange(k)
        best, best_cost = -1, (np.inf, np.inf)
        for f in cands:
            counts[f] += y[g]
            cost = (float(np.mean(np.std(counts / totals, axis=0))), float(counts[f].sum()))
            counts[f] -= y[g]
            if cost < best_cost:
                best, best_cost = int(f), cost
        counts[best] += y[g]
        members[best] += 1
        fold_of[g] = best
    return fold_of


def group_kfold(
    groups: Sequence[Hashable] | np.ndarray,
    labels: Sequence[Hashable] | np.ndarray | None = None,
    *,
    k: int = 10,
    stratify: bool = True,
    val: float | int = 0.0,
    seed: int = 0,
) -> Iterator[Fold]:
    """Subject-grouped k-fold: every subject's samples fall in exactly one test fold.

    With ``labels`` and ``stratify`` (default) subjects are assigned greedily so each fold's
    class shares stay close to the whole's (whole subjects make exact stratification
    impossible); otherwise fold sizes are balanced. ``seed`` breaks ties and draws validation.
    """
    uniq, inv = _groups(groups)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 2 <= k <= uniq.size:
        raise ConfigError(
            f"k must be an integer in 2..{uniq.size} (the number of subjects); got {k!r}"
        )
    rng = np.random.default_rng([int(seed), 0x5EED])
    if labels is not None and stratify:
        lab = np.asarray([str(x) for x in labels])
        if lab.size != inv.size:
            raise ConfigError(f"labels and groups differ in length: {lab.size} vs {inv.size}")
        _, lab_i = np.unique(lab, return_inverse=True)
        y = np.zeros((uniq.size, int(lab_i.max()) + 1))
        np.add.at(y, (inv, lab_i), 1.0)
    else:
        y = np.bincount(inv, minlength=uniq.size).astype(float)[:, None]
    fold_of = _assign_stratified(y, int(k), rng)
    for f in range(int(k)):
        test = np.isin(inv, np.flatnonzero(fold_of == f))
        yield _make_fold(f, f"fold={f + 1}/{k}", ~test, test, inv, val=val, seed=seed)


def _names(value: str | Sequence[str], what: str) -> set[str]:
    names = {value} if isinstance(value, str) else set(value)
    if not names:
        raise ConfigError(f"{what} must name at least one split or dataset")
    return names


def official_split(
    splits: Sequence[str | None],
    groups: Sequence[Hashable] | np.ndarray,
    *,
    train: str | Sequence[str] = "train",
    test: str | Sequence[str] = "test",
    val_split: str | Sequence[str] | None = None,
    val: float | int = 0.0,
    seed: int = 0,
) -> Iterator[Fold]:
    """A dataset's own split (``Sample.meta["split"]``): one fold.

    Validation is the official ``val_split`` when given (FERPlus ``val``), else ``val`` of the
    training subjects. A subject in two parts raises (the split would leak).
    """
    s = np.asarray([None if x is None else str(x) for x in splits], dtype=object)
    uniq, inv = _groups(groups)
    if s.size != inv.size:
        raise ConfigError(f"splits and groups differ in length: {s.size} vs {inv.size}")
    tr = np.isin(s, list(_names(train, "train")))
    te = np.isin(s, list(_names(test, "test")))
    if not tr.any() or not te.any():
        raise ConfigError(
            f"official split: no sample in train {train!r} or test {test!r}; "
            f"splits present: {sorted({str(x) for x in s})}"
        )
    if val_split is not None:
        va = np.isin(s, list(_names(val_split, "val_split")))
        fold = Fold(0, "official", np.flatnonzero(tr), np.flatnonzero(va), np.flatnonzero(te))
    else:
        fold = _make_fold(0, "official", tr, te, inv, val=val, seed=seed)
    fold.check(uniq[inv])
    yield fold


def cross_dataset(
    sources: Sequence[str],
    groups: Sequence[Hashable] | np.ndarray,
    *,
    train: str | Sequence[str],
    test: str | Sequence[str],
    val: float | int = 0.0,
    seed: int = 0,
) -> Iterator[Fold]:
    """Train on the samples of dataset(s) ``train``, test on those of ``test`` (one fold)."""
    src = np.asarray([str(x) for x in sources], dtype=object)
    a, b = _names(train, "train"), _names(test, "test")
    if a & b:
        raise ConfigError(f"cross-dataset: {sorted(a & b)} is both a train and a test dataset")
    uniq, inv = _groups(groups)
    tr, te = np.isin(src, list(a)), np.isin(src, list(b))
    if not tr.any() or not te.any():
        raise ConfigError(
            f"cross-dataset: no samples of train {sorted(a)} or test {sorted(b)}; "
            f"datasets present: {sorted(set(src))}"
        )
    fold = _make_fold(
        0,
        f"train={'+'.join(sorted(a))} test={'+'.join(sorted(b))}",
        tr,
        te,
        inv,
        val=val,
        seed=seed,
    )
    fold.check(uniq[inv])
    yield fold


def leave_one_dataset_out(
    sources: Sequence[str],
    groups: Sequence[Hashable] | np.ndarray,
    *,
    val: float | int = 0.0,
    seed: int = 0,
) -> Iterator[Fold]:
    """One fold per source dataset: test on it, train on all the others."""
    src = np.asarray([str(x) for x in sources], dtype=object)
    names = sorted(set(src))
    if len(names) < 2:
        raise ConfigError(f"leave-one-dataset-out needs 2+ datasets; got {names}")
    uniq, inv = _groups(groups)
    for i, name in enumerate(names):
        te = src == name
        fold = _make_fold(i, f"test={name}", ~te, te, inv, val=val, seed=seed)
        fold.check(uniq[inv])
        yield fold


# --------------------------------------------------------------------------- by name

PROTOCOLS: Registry[Iterator[Fold]] = Registry("protocol")
"""Protocol name → ``fn(dataset, *, labels, val, seed, **options)`` yielding Folds."""


def _groups_of(dataset: Any) -> np.ndarray:
    return np.asarray([s.group for s in dataset], dtype=object)


@PROTOCOLS.register("loso")
def _loso(dataset: Any, *, labels: Any, val: float | int, seed: int) -> Iterator[Fold]:
    """Leave one subject out (dataset/subject groups)."""
    return loso(_groups_of(dataset), val=val, seed=seed)


PROTOCOLS.register("megc2019", help="MEGC 2019 composite: LOSO over dataset/subject groups")(_loso)


@PROTOCOLS.register("kfold")
def _kfold(
    dataset: Any, *, labels: Any, val: float | int, seed: int, k: int = 10, stratify: bool = True
) -> Iterator[Fold]:
    """Subject-grouped k-fold (stratified by label where possible; k=10 by default)."""
    return group_kfold(_groups_of(dataset), labels, k=k, stratify=stratify, val=val, seed=seed)


@PROTOCOLS.register("official")
def _official(
    dataset: Any,
    *,
    labels: Any,
    val: float | int,
    seed: int,
    train: str | Sequence[str] = "train",
    test: str | Sequence[str] = "test",
    val_split: str | Sequence[str] | None = None,
) -> Iterator[Fold]:
    """The dataset's own split from Sample.meta['split'] (RAF-DB, FERPlus, AffectNet)."""
    splits = [s.meta.get("split") for s in dataset]
    if all(x is None for x in splits):
        raise ConfigError(
            "protocol 'official' needs Sample.meta['split']; this dataset has none "
            "(use loso or kfold)"
        )
    return official_split(
        splits, _groups_of(dataset), train=train, test=test, val_split=val_split, val=val, seed=seed
    )


@PROTOCOLS.register("cross_dataset")
def _cross(
    dataset: Any,
    *,
    labels: Any,
    val: float | int,
    seed: int,
    train: str | Sequence[str] = (),
    test: str | Sequence[str] = (),
) -> Iterator[Fold]:
    """Train on source dataset(s) train=, test on test= (a composite or concatenated dataset)."""
    return cross_dataset(
        [s.dataset for s in dataset],
        _groups_of(dataset),
        train=train,
        test=test,
        val=val,
        seed=seed,
    )


@PROTOCOLS.register("lodo")
def _lodo(dataset: Any, *, labels: Any, val: float | int, seed: int) -> Iterator[Fold]:
    """Leave one dataset out (one fold per source dataset of a composite)."""
    return leave_one_dataset_out(
        [s.dataset for s in dataset], _groups_of(dataset), val=val, seed=seed
    )


PROTOCOLS.alias("cross-dataset", "cross_dataset")  # former name


def split_dataset(
    dataset: Any,
    protocol: str = "loso",
    *,
    labels: Sequence[Hashable] | np.ndarray | None = None,
    val: float | int = 0.0,
    seed: int = 0,
    **options: Any,
) -> Iterator[Fold]:
    """Folds of ``protocol`` over a Dataset (or any sequence of Samples).

    Args:
        protocol: a name of :data:`PROTOCOLS` (loso, megc2019, kfold, official, cross_dataset,
            lodo).
        labels: each sample's class (for stratified k-fold); the dataset's
            ``label_ids()`` when None.
        val: validation subjects per fold, from the training subjects (fraction or count).
        seed: seeds validation draws and k-fold tie-breaking.
        **options: protocol options (``k``, ``stratify``; ``train``/``test``/``val_split``).
    """
    fn = PROTOCOLS.get(protocol)
    if labels is None and hasattr(dataset, "label_ids"):
        labels = dataset.label_ids()
    try:
        folds = fn(dataset, labels=labels, val=val, seed=seed, **options)
    except TypeError as exc:
        raise ConfigError(f"protocol {protocol!r}: bad options {sorted(options)} ({exc})") from None
    groups = _groups_of(dataset)
    for fold in folds:
        fold.check(groups)
        yield fold
