"""Helpers shared by the adapters: subject ids, frame roots, duplicates, the clip loop."""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from facscope.data.clips import ClipOptions, ClipSpec, make_clip
from facscope.data.dataset import Dataset
from facscope.data.problems import ProblemLog
from facscope.data.sample import Sample
from facscope.data.tables import Row, cell_int, cell_text
from facscope.errors import DatasetError

__all__ = [
    "DirIndex",
    "build_clips",
    "check_root",
    "finish",
    "pick_root",
    "row_meta",
    "subject_id",
]


def check_root(root: str | os.PathLike[str], name: str) -> Path:
    p = Path(root)
    if not p.is_dir():
        raise DatasetError(f"{p}: no such folder; pass the {name} root folder (--root)")
    return p


def subject_id(value: Any, *, prefix: str = "", width: int = 0) -> str | None:
    """A subject id as text: numbers are zero-padded to ``width`` and given ``prefix``
    (``1`` → ``sub01``; ``"006"`` stays ``006``); text already carrying the prefix is kept."""
    text = cell_text(value)
    if text is None:
        return None
    n = cell_int(text)
    if n is not None and n >= 0:
        return f"{prefix}{n:0{width}d}"
    if prefix and text.lower().startswith(prefix.lower()):
        rest = cell_int(text[len(prefix) :])
        if rest is not None:
            return f"{prefix}{rest:0{width}d}"
    return text


def pick_root(root: Path, candidates: Sequence[str], probes: Iterable[str]) -> Path:
    """The first ``root/candidate`` folder that holds one of the ``probes`` (subject folders);
    ``root`` itself when none does."""
    probe_list = list(dict.fromkeys(probes))[:8]
    for cand in candidates:
        d = root / cand
        if d.is_dir() and any((d / p).is_dir() for p in probe_list):
            return d
    return root


def row_meta(row: Row, names: Sequence[str]) -> dict[str, Any]:
    """The given columns of ``row`` as meta (snake-case keys; missing cells left out)."""
    out: dict[str, Any] = {}
    for name in names:
        value = row.get(name)
        text = cell_text(value)
        if text is not None:
            key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
            out[key] = value if isinstance(value, (int, float)) else text
    return out


def _dedupe(specs: list[ClipSpec], log: ProblemLog) -> list[ClipSpec]:
    """Apply the duplicate-row and duplicate-filename rules (see PROBLEM_KINDS)."""
    seen: set[tuple[Any, ...]] = set()
    unique: list[ClipSpec] = []
    for spec in specs:
        key = (spec.subject, spec.sample_id, cell_int(spec.onset), cell_int(spec.offset))
        if key in seen:
            log.add(
                "duplicate-row",
                f"repeats an earlier row (onset {key[2]}, offset {key[3]})",
                action="skipped",
                sample_id=spec.sample_id,
                row=spec.row,
            )
            continue
        seen.add(key)
        unique.append(spec)
    counts = Counter(s.sample_id for s in unique)
    taken: set[str] = set()
    for spec in unique:
        if counts[spec.sample_id] > 1:
            base = spec.sample_id
            new = f"{base}@{cell_int(spec.onset)}"
            if new in taken:
                new = f"{new}-{cell_int(spec.offset)}"
            log.add(
                "duplicate-filename",
                f"{base} appears {counts[base]} times in subject {spec.subject}; this row is {new}",
                action="kept",
                sample_id=new,
                row=spec.row,
            )
            spec.sample_id = new
            spec.meta.setdefault("filename_repeats", counts[base])
        taken.add(spec.sample_id)
    return unique


def build_clips(specs: list[ClipSpec], log: ProblemLog, options: ClipOptions) -> list[Sample]:
    """Dedupe ``specs`` and turn each into a Sample by the rules of :func:`make_clip`."""
    out = []
    for spec in _dedupe(specs, log):
        sample = make_clip(spec, log, options)
        if sample is not None:
            out.append(sample)
    return out


def finish(
    name: str,
    root: Path,
    samples: list[Sample],
    log: ProblemLog,
    *,
    classes: Sequence[str],
    target: str = "label",
    options: dict[str, Any] | None = None,
) -> Dataset:
    """Wrap up a load: warn once per problem kind and build the Dataset (relabelled to
    ``target``)."""
    log.warn()
    ds = Dataset(name, root, samples, problems=log.problems, classes=classes, options=options)
    return ds if target == "label" else ds.with_target(target)


class DirIndex:
    """Cached folder listings, so checking thousands of files costs one listing per folder."""

    def __init__(self) -> None:
        self._cache: dict[Path, frozenset[str]] = {}
        self._numbers: dict[Path, dict[int, Path]] = {}

    def names(self, folder: Path) -> frozenset[str]:
        if folder not in self._cache:
            try:
                self._cache[folder] = frozenset(os.listdir(folder))
            except OSError:
                self._cache[folder] = frozenset()
        return self._cache[folder]

    def exists(self, path: Path) -> bool:
        return path.name in self.names(path.parent)

    def by_number(self, folder: Path) -> dict[int, Path]:
        """Frame number → image file in ``folder`` (empty when it is missing)."""
        if folder not in self._numbers:
            from facscope.io import IMAGE_SUFFIXES, frame_number

            table: dict[int, Path] = {}
            for name in sorted(self.names(folder)):
                p = folder / name
                if p.suffix.lower() in IMAGE_SUFFIXES and re.search(r"\d", p.stem):
                    table.setdefault(frame_number(p), p)
            self._numbers[folder] = table
        return self._numbers[folder]
