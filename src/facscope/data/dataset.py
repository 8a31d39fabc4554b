"""The Dataset collection, the adapter registry and :func:`load_dataset`."""

from __future__ import annotations

import inspect
import os
import statistics
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, overload

import numpy as np

from facscope.data.clips import ClipOptions
from facscope.data.problems import Problem
from facscope.data.sample import TARGETS, Sample
from facscope.errors import ConfigError
from facscope.facs import MEGC3
from facscope.registry import Registry

__all__ = ["DATASETS", "TARGETS", "Dataset", "concat", "list_datasets", "load_dataset"]


class Dataset(Sequence[Sample]):
    """A sized, iterable, indexable collection of :class:`Sample` records.

    Indexing with an int gives a Sample; with a slice, a boolean mask or an index array (e.g. a
    fold's ``train``) gives a Dataset holding those samples.

    Attributes:
        name: the registry name the dataset was loaded as (``casme2``, ``smic.hs``, ``megc2019``).
        root: the root it was loaded from (a folder, or the CSV file for ``csv``).
        problems: every annotation/file problem found while loading (see :class:`Problem`).
        classes: the class names of :attr:`target`, in the dataset's id order.
        target: ``"label"`` (canonical emotion) or ``"megc3"`` (MEGC 2019 3-class).
        options: the adapter options used (for reports and manifests).
    """

    def __init__(
        self,
        name: str,
        root: str | os.PathLike[str] | None,
        samples: Iterable[Sample],
        *,
        problems: Iterable[Problem] = (),
        classes: Sequence[str] = (),
        target: str = "label",
        options: dict[str, Any] | None = None,
    ) -> None:
        if target not in TARGETS:
            raise ConfigError(f"target must be one of {TARGETS}; got {target!r}")
        self.name = name
        self.root = None if root is None else Path(root)
        self._samples: tuple[Sample, ...] = tuple(samples)
        self.problems: list[Problem] = list(problems)
        self.classes: tuple[str, ...] = tuple(classes)
        self.target = target
        self.options: dict[str, Any] = dict(options or {})

    # ----------------------------------------------------------------- sequence protocol
    def __len__(self) -> int:
        return len(self._samples)

    def __iter__(self) -> Iterator[Sample]:
        return iter(self._samples)

    @overload
    def __getitem__(self, index: int) -> Sample: ...
    @overload
    def __getitem__(self, index: slice | Sequence[int] | np.ndarray) -> Dataset: ...
    def __getitem__(self, index: Any) -> Sample | Dataset:
        if isinstance(index, (int, np.integer)):
            return self._samples[int(index)]
        if isinstance(index, slice):
            return self._subset(self._samples[index])
        idx = np.asarray(index)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise ConfigError(f"boolean mask must have length {len(self)}; got {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.size and not np.issubdtype(idx.dtype, np.integer):
            raise ConfigError(f"index a Dataset with ints, a slice, or a mask; got {idx.dtype}")
        return self._subset([self._samples[int(i)] for i in idx.ravel()])

    def __repr__(self) -> str:
        return (
            f"Dataset({self.name!r}, {len(self)} samples, {len(self.subjects())} subjects, "
            f"{len(self.problems)} problems)"
        )

    def _subset(self, samples: Iterable[Sample], **changes: Any) -> Dataset:
        kw: dict[str, Any] = {
            "problems": self.problems,
            "classes": self.classes,
            "target": self.target,
            "options": self.options,
        } | changes
        return Dataset(self.name, self.root, samples, **kw)

    # ----------------------------------------------------------------- views
    @property
    def samples(self) -> tuple[Sample, ...]:
        return self._samples

    def labels(self) -> list[str | None]:
        """Each sample's class under :attr:`target` (None when it has none)."""
        if self.target == "megc3":
            return [s.megc3 for s in self._samples]
        return [s.label for s in self._samples]

    def label_ids(self) -> np.ndarray:
        """Each sample's index into :attr:`classes`; -1 for a sample with no class."""
        index = {c: i for i, c in enumerate(self.classes)}
        return np.array([index.get(lab, -1) for lab in self.labels()], dtype=np.int64)

    def subjects(self) -> list[str]:
        """Distinct subjects in first-seen order."""
        return list(dict.fromkeys(s.subject for s in self._samples))

    def groups(self) -> np.ndarray:
        """Each sample's ``dataset/subject`` key, the unit every protocol splits on."""
        return np.array([s.group for s in self._samples], dtype=object)

    def sources(self) -> np.ndarray:
        """Each sample's source dataset name (differs from :attr:`name` in a composite)."""
        return np.array([s.dataset for s in self._samples], dtype=object)

    def filter(self, keep: Callable[[Sample], bool]) -> Dataset:
        """The samples for which ``keep(sample)`` is true."""
        return self._subset(s for s in self._samples if keep(s))

    def with_target(self, target: str) -> Dataset:
        """Relabel to ``target``; ``"megc3"`` drops samples that have no 3-class label."""
        if target not in TARGETS:
            raise ConfigError(f"target must be one of {TARGETS}; got {target!r}")
        if target == "megc3":
            return self._subset((s for s in self._samples if s.megc3), classes=MEGC3, target=target)
        return self._subset(
            self._samples, target=target, classes=infer_classes([s.label for s in self._samples])
        )

    def to_manifest(self) -> list[dict[str, Any]]:
        """One flat row per sample in the generic ``csv`` manifest format (see
        :func:`facscope.data.manifest.write_manifest` to write it)."""
        return [s.to_dict() for s in self._samples]

    def summary(self) -> dict[str, Any]:
        """Counts per class, per subject, per fps and kind; clip durations; problem counts."""
        labels = self.labels()
        by_class = Counter(lab for lab in labels if lab is not None)
        ordered = {c: by_class.get(c, 0) for c in self.classes}
        ordered |= {c: n for c, n in sorted(by_class.items()) if c not in ordered}
        frames = [s.n_frames for s in self._samples if s.n_frames is not None]
        seconds = [s.duration for s in self._samples if s.duration is not None]
        return {
            "dataset": self.name,
            "root": None if self.root is None else str(self.root),
            "target": self.target,
            "samples": len(self),
            "subjects": len(self.subjects()),
            "classes": ordered,
            "unlabelled": sum(lab is None for lab in labels),
            "per_subject": dict(Counter(s.subject for s in self._samples)),
            "sources": dict(Counter(s.dataset for s in self._samples)),
            "kinds": dict(Counter(s.kind for s in self._samples)),
            "fps": {
                str(k): v
                for k, v in sorted(
                    Counter(s.fps for s in self._samples).items(),
                    key=lambda kv: (kv[0] is None, kv[0] or 0),
                )
            },
            "frames": _stats(frames),
            "seconds": _stats(seconds),
            "problems": dict(Counter(p.kind for p in self.problems)),
        }


def _stats(values: list[float] | list[int]) -> dict[str, float] | None:
    if not values:
        return None
    return {
        "min": float(min(values)),
        "median": float(statistics.median(values)),
        "max": float(max(values)),
        "mean": float(statistics.fmean(values)),
    }


def infer_classes(labels: Iterable[str | None]) -> tuple[str, ...]:
    """A class order for free-form labels: the first well-known label set holding them all
    (MEGC3, the 7 basic emotions, FER7, FER8, the 8 emotions), else sorted names."""
    from facscope.facs import EMOTIONS, FER7, FER8, ME7

    found = {lab for lab in labels if lab is not None}
    for known in (MEGC3, ME7, FER7, FER8, EMOTIONS):
        if found and found <= set(known):
            return tuple(known)
    return tuple(sorted(found))


def concat(
    name: str,
    datasets: Sequence[Dataset],
    *,
    target: str = "label",
    classes: Sequence[str] | None = None,
) -> Dataset:
    """The union of several datasets (samples keep their own ``dataset`` and ``subject``)."""
    samples = [s for d in datasets for s in d]
    ids = Counter((s.dataset, s.sample_id) for s in samples)
    dup = [k for k, n in ids.items() if n > 1]
    if dup:
        raise ConfigError(f"{name}: samples appear in more than one part: {dup[:3]}")
    problems = [p for d in datasets for p in d.problems]
    return Dataset(
        name,
        None,
        samples,
        problems=problems,
        classes=classes if classes is not None else infer_classes(s.label for s in samples),
        target=target,
        options={d.name: d.options for d in datasets},
    )


# --------------------------------------------------------------------------- registry

DATASETS: Registry[Dataset] = Registry("dataset")
"""Adapter name → ``factory(root, *, strict=False, **options) -> Dataset``."""


def list_datasets() -> list[str]:
    """The registered dataset names, sorted (``DATASETS.describe()`` gives name → help)."""
    return DATASETS.names()


def load_dataset(
    name: str, root: str | os.PathLike[str] | Any, *, strict: bool = False, **options: Any
) -> Dataset:
    """Read a dataset's release layout from ``root``.

    Args:
        name: a registered adapter (``facscope.data.list_datasets()``), e.g. ``"casme2"``,
            ``"smic.hs"``, ``"megc2019"``, ``"csv"``.
        root: the dataset's root folder (for ``csv`` the manifest file; for ``megc2019`` a folder
            holding the three datasets, or pass ``smic=``, ``casme2=``, ``samm=`` options).
        strict: raise on the first doubtful row instead of warning and applying the rule.
        **options: adapter options (see each adapter's docstring); an unknown one is an error.
            For a clip adapter the :class:`~facscope.data.clips.ClipOptions` fields it takes
            (``scan``, ``apex``, ``target``, …) are gathered into one ``ClipOptions``.

    Returns:
        The :class:`Dataset`; ``.problems`` lists every problem found and the rule applied.
    """
    factory = DATASETS.get(name)
    params = inspect.signature(factory).parameters
    clip_fields: tuple[str, ...] | None = getattr(factory, "clip_options", None)
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return factory(root, strict=strict, **options)
    own = [k for k, p in params.items() if p.kind is p.KEYWORD_ONLY and k != "strict"]
    allowed = [*(clip_fields or ()), *own]
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ConfigError(f"dataset {name!r} has no option(s) {unknown}; its options are {allowed}")
    if clip_fields is None:
        return factory(root, strict=strict, **options)
    clip = {k: options.pop(k) for k in clip_fields if k in options}
    return factory(root, ClipOptions(strict=strict, **clip), **options)
