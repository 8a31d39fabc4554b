"""DFME (parts A/B/C at 500/300/200 fps): a column mapping over an annotation table.

DFME's release layout is not publicly documented, so the adapter reads it through a
:class:`DFMEMapping` (a small YAML or JSON file, or a dict) whose defaults follow
docs/layouts.md::

    ROOT/DFME_labels.csv                       (or .xlsx)
    ROOT/frames/{subject}/{filename}/{N}.jpg   raw frames, not cropped or aligned

Emotion labels are names or ids 0..6 in alphabetical order (anger 0, contempt 1, disgust 2,
fear 3, happiness 4, sadness 5, surprise 6). Each sample's frame rate is the ``FPS`` column,
else its part's rate (``part_fps``), else None.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from facscope.data.clips import ClipOptions, ClipSpec, clip_adapter, resolve_label
from facscope.data.common import build_clips, check_root, finish, subject_id
from facscope.data.dataset import DATASETS, Dataset
from facscope.data.layouts import DFME_PART_FPS, SHEETS
from facscope.data.problems import ProblemLog
from facscope.data.tables import Table, cell_text, read_table
from facscope.errors import ConfigError
from facscope.facs import ME7

__all__ = ["DEFAULT_COLUMNS", "DFMEMapping", "dfme"]

#: field → column name of the default mapping (the columns of docs/layouts.md).
DEFAULT_COLUMNS: dict[str, str | None] = dict(SHEETS["dfme"].fields)
_REQUIRED = ("subject", "filename", "onset", "emotion")


@dataclass(frozen=True, kw_only=True)
class DFMEMapping:
    """Where DFME's annotations and frames are, and what its columns are called.

    Attributes:
        annotations: annotation file, relative to the root (CSV or XLSX).
        frames: frame folder template relative to the root; ``{subject}``, ``{filename}`` and
            ``{part}`` are filled from the row.
        columns: field → column name (``None`` = the table has no such column). Fields:
            subject, filename, part, fps, onset, apex, offset, aus, emotion.
        part_fps: frame rate of each part, used when there is no fps column or it is blank.
    """

    annotations: str = SHEETS["dfme"].file
    frames: str = "frames/{subject}/{filename}"
    columns: Mapping[str, str | None] = field(default_factory=lambda: dict(DEFAULT_COLUMNS))
    part_fps: Mapping[str, float] = field(default_factory=lambda: dict(DFME_PART_FPS))

    def __post_init__(self) -> None:
        unknown = sorted(set(self.columns) - set(DEFAULT_COLUMNS))
        if unknown:
            raise ConfigError(
                f"DFME mapping: unknown column field(s) {unknown}; fields are "
                f"{list(DEFAULT_COLUMNS)}"
            )
        merged = dict(DEFAULT_COLUMNS) | dict(self.columns)
        missing = [k for k in _REQUIRED if not merged.get(k)]
        if missing:
            raise ConfigError(
                f"DFME mapping: column(s) {missing} are required; map them to the "
                "table's column names"
            )
        object.__setattr__(self, "columns", merged)
        try:
            rates = {str(k).upper(): float(v) for k, v in self.part_fps.items()}
        except (TypeError, ValueError):
            raise ConfigError(
                f"DFME mapping: part_fps must map parts to numbers; got {self.part_fps!r}"
            ) from None
        if any(v <= 0 for v in rates.values()):
            raise ConfigError(f"DFME mapping: part_fps must be > 0; got {rates}")
        object.__setattr__(self, "part_fps", rates)
        try:
            self.frames.format(subject="s", filename="f", part="A")
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(
                f"DFME mapping: frames template {self.frames!r} may use only "
                f"{{subject}}, {{filename}}, {{part}} ({exc})"
            ) from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DFMEMapping:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"DFME mapping: unknown key(s) {unknown}; keys are {sorted(known)}")
        return cls(**dict(data))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> DFMEMapping:
        """Read a mapping from YAML (``.yaml``/``.yml``) or JSON."""
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read the DFME mapping ({exc.strerror})") from None
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text) or {}
        if not isinstance(data, Mapping):
            raise ConfigError(f"{p}: a DFME mapping must be a mapping of keys; got {type(data)}")
        return cls.from_dict(data)


def _mapping(
    mapping: DFMEMapping | Mapping[str, Any] | str | os.PathLike[str] | None,
) -> DFMEMapping:
    if mapping is None:
        return DFMEMapping()
    if isinstance(mapping, DFMEMapping):
        return mapping
    if isinstance(mapping, Mapping):
        return DFMEMapping.from_dict(mapping)
    return DFMEMapping.from_file(mapping)


def _fps(m: DFMEMapping, part: str | None, fps_cell: str | None) -> float | None:
    """The row's FPS cell, else its part's rate; None when neither gives a positive rate."""
    try:
        fps = float(fps_cell) if fps_cell else m.part_fps.get((part or "").upper())
    except ValueError:
        fps = m.part_fps.get((part or "").upper())
    return None if fps is not None and fps <= 0 else fps


def _specs(m: DFMEMapping, table: Table, log: ProblemLog, base: Path) -> list[ClipSpec]:
    col = m.columns
    specs = []
    for r in table:
        subj = subject_id(r.get(col["subject"]), width=3)
        fname = cell_text(r.get(col["filename"]))
        if subj is None or fname is None:
            log.add("bad-row", "no subject or file name", action="skipped", row=r.number)
            continue
        sid = f"{subj}/{fname}"
        ok, label = resolve_label("dfme", r.get(col["emotion"]), log, sample_id=sid, row=r.number)
        if not ok:
            continue
        part = cell_text(r.get(col["part"])) if col["part"] else None
        fps = _fps(m, part, cell_text(r.get(col["fps"])) if col["fps"] else None)
        specs.append(
            ClipSpec(
                dataset="dfme",
                subject=subj,
                sample_id=sid,
                frames_dir=base / m.frames.format(subject=subj, filename=fname, part=part or ""),
                fps=fps,
                onset=r.get(col["onset"]),
                apex=r.get(col["apex"]) if col["apex"] else None,
                offset=r.get(col["offset"]) if col["offset"] else None,
                aus=r.get(col["aus"]) if col["aus"] else None,
                emotion=r.get(col["emotion"]),
                label=label,
                meta={"part": part.upper()} if part else {},
                row=r.number,
                has_apex=bool(col["apex"]),
            )
        )
    return specs


@DATASETS.register("dfme")
@clip_adapter("scan", "apex", "apex_fn", "target")
def dfme(
    root: str | os.PathLike[str],
    options: ClipOptions | None = None,
    *,
    mapping: DFMEMapping | Mapping[str, Any] | str | os.PathLike[str] | None = None,
) -> Dataset:
    """DFME (500/300/200 fps): an annotation table + raw frames, read through a column mapping.

    ``mapping=`` is a YAML/JSON file, a dict or a :class:`DFMEMapping`; the defaults follow
    docs/layouts.md.
    """
    opts = options or ClipOptions()
    m = _mapping(mapping)
    base = check_root(root, "dfme")
    log = ProblemLog("dfme", strict=opts.strict)
    table = read_table(base / m.annotations, header=[m.columns[k] for k in _REQUIRED])
    samples = build_clips(_specs(m, table, log, base), log, opts)
    return finish(
        "dfme",
        base,
        samples,
        log,
        classes=ME7,
        target=opts.target,
        options={
            "annotations": str(base / m.annotations),
            "frames": m.frames,
            "scan": opts.scan,
            "apex": opts.apex,
        },
    )
