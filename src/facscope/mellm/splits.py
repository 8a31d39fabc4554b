"""Subject-independent train / validation / test splits of instruction records.

The split is made on subjects (``dataset/subject`` groups) with :mod:`facscope.eval.protocols`,
so no subject is in two parts, and validation subjects come from the training subjects only.
Training writes the split to ``split.json`` beside its outputs; prediction and evaluation read
it back and keep only the **test** subjects, so a model is never scored on a subject it trained
on (:func:`check_disjoint` enforces it).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, InputFileError
from facscope.io import read_json

__all__ = ["Split", "check_disjoint", "read_split", "subject_split"]


@dataclass(frozen=True)
class Split:
    """Which subjects (groups) train, validate and test."""

    name: str
    protocol: str
    train: tuple[str, ...]
    val: tuple[str, ...]
    test: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "protocol": self.protocol,
            "train": list(self.train),
            "val": list(self.val),
            "test": list(self.test),
        }

    def part(self, name: str) -> tuple[str, ...]:
        if name not in ("train", "val", "test"):
            raise ConfigError(f"split part must be train, val or test; got {name!r}")
        return getattr(self, name)


def subject_split(records: Sequence[Any], section: Any) -> Split:
    """The split that ``section`` (a :class:`~facscope.mellm.config.SplitSection`) describes
    over the records' subjects (each record needs ``group`` and ``label``)."""
    import numpy as np

    from facscope.eval.protocols import group_kfold, loso

    groups = np.asarray([r.group for r in records], dtype=object)
    labels = [r.label for r in records]
    if not len(groups):
        raise ConfigError("no records to split; build some first")
    if section.protocol == "none":
        if section.val:
            raise ConfigError("split.protocol 'none' trains on every subject; set val: 0")
        return Split("all subjects", "none", tuple(sorted(set(groups))), (), ())
    if section.protocol == "kfold":
        folds = list(group_kfold(groups, labels, k=section.k, val=section.val, seed=section.seed))
    else:
        folds = list(loso(groups, val=section.val, seed=section.seed))
    if section.fold >= len(folds):
        raise ConfigError(
            f"split.fold {section.fold} is out of range: {section.protocol} gives "
            f"{len(folds)} fold(s) over {len(set(groups))} subject(s)"
        )
    fold = folds[section.fold]
    fold.check(groups)

    def names(idx: Any) -> tuple[str, ...]:
        return tuple(sorted({str(g) for g in groups[idx]}))

    return Split(fold.name, section.protocol, names(fold.train), names(fold.val), names(fold.test))


def read_split(path: str | os.PathLike[str]) -> Split:
    """A split written by training (``split.json``, or a run folder holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "split.json"
    what = "a split.json written by 'facscope mellm train'"
    d = read_json(p, what=what)
    try:
        return Split(
            d["name"], d["protocol"], tuple(d["train"]), tuple(d.get("val", ())), tuple(d["test"])
        )
    except (KeyError, TypeError):
        raise InputFileError(
            f"{p}: not a split file (needs name, protocol, train and test); expected {what}"
        ) from None


def check_disjoint(split: Split) -> None:
    """Raise :class:`ConfigError` if a subject is in two parts of ``split``."""
    parts = {"train": set(split.train), "val": set(split.val), "test": set(split.test)}
    for a, b in (("train", "val"), ("train", "test"), ("val", "test")):
        shared = parts[a] & parts[b]
        if shared:
            raise ConfigError(f"subjects {sorted(shared)[:3]} are in both {a} and {b}")
