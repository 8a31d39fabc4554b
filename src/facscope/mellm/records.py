"""Instruction records: one sample's prompt, target, images and truth, as a JSON-able value.

A record is what every output format is written from (:mod:`facscope.mellm.formats`) and what
prediction and evaluation read back (``records.jsonl`` in a build folder). Image paths are
relative to the build folder so the folder can be moved as a whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, InputFileError

__all__ = ["InstructionRecord", "read_records", "record_slug", "subset", "write_records"]


def record_slug(record_id: str) -> str:
    """A file-system-safe, collision-free folder name for a record id (``casme2/sub01/EP02``)."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", record_id).strip("._")[:80] or "sample"
    return f"{base}-{hashlib.sha1(record_id.encode('utf-8')).hexdigest()[:8]}"


@dataclass(frozen=True, kw_only=True)
class InstructionRecord:
    """One instruction sample.

    Attributes:
        id: ``{dataset}/{sample_id}``, unique across a build.
        dataset, subject, sample_id: where it comes from; ``group`` is ``dataset/subject`` (the
            key subject-independent splits use).
        mode: the input mode (``colormap``, ``frames``, ``stats``).
        images: image paths relative to the build folder, in prompt order (empty for ``stats``).
        prompt: the user prompt; target: the FACS-grounded description.
        aus: the annotated AUs in FACS form (``6+L12B``); label: fine-grained label; coarse: the
            MEGC three-class label or None.
        moving: the regions the target names as moving.
        stats: the measured per-region statistics (``RegionMotion`` dicts).
        info: how the motion was measured (apex frame and rule, flow method, compensation).
    """

    id: str
    dataset: str
    subject: str
    sample_id: str
    group: str
    mode: str
    images: tuple[str, ...]
    prompt: str
    target: str
    aus: str
    label: str
    coarse: str | None
    moving: tuple[str, ...] = ()
    stats: list[dict[str, Any]] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["images"] = list(self.images)
        d["moving"] = list(self.moving)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InstructionRecord:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ConfigError(f"instruction record {d.get('id')!r} has unknown fields {unknown}")
        values = dict(d)
        values["images"] = tuple(values.get("images") or ())
        values["moving"] = tuple(values.get("moving") or ())
        return cls(**values)

    def image_paths(self, root: str | os.PathLike[str]) -> list[Path]:
        """The record's images as absolute paths under the build folder ``root``."""
        return [Path(root) / p for p in self.images]


def write_records(path: str | os.PathLike[str], records: Iterable[InstructionRecord]) -> Path:
    """Write records as JSON lines, atomically."""
    from facscope.io import write_text

    lines = [json.dumps(r.to_dict(), ensure_ascii=False, allow_nan=False) for r in records]
    return write_text(path, "\n".join(lines) + ("\n" if lines else ""))


def read_records(path: str | os.PathLike[str]) -> list[InstructionRecord]:
    """Read ``records.jsonl`` (a file, or a build folder holding one)."""
    p = Path(path)
    if p.is_dir():
        p = p / "records.jsonl"
    if not p.is_file():
        raise InputFileError(
            f"{p}: no instruction records; build them first with 'facscope mellm build'"
        )
    return list(_iter_records(p))


def _iter_records(p: Path) -> Iterator[InstructionRecord]:
    with p.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                yield InstructionRecord.from_dict(json.loads(line))
            except (json.JSONDecodeError, TypeError) as exc:
                raise ConfigError(f"{p}:{n}: not an instruction record ({exc})") from None


def subset(records: Sequence[InstructionRecord], groups: Iterable[str]) -> list[InstructionRecord]:
    """The records whose ``group`` is in ``groups`` (order kept)."""
    keep = set(groups)
    return [r for r in records if r.group in keep]
