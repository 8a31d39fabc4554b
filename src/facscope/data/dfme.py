"""DFME (500/300/200 fps): the release's label workbooks, read through a column mapping.

The release (docs/layouts.md) holds three Excel workbooks named ``*_full_with_AU.xlsx``
(training, test A, test B; the split goes to ``meta["split"]``) with the columns ``Subject``
(``sub0003``), ``Filename`` (``sub0003_01``), ``OnsetFrame``, ``ApexFrame``, ``OffsetFrame``,
``Emotion`` (names), ``EmotionId`` (0-6), ``Fps`` (per sample) and ``AU``. Headers match
case-insensitively. Frames are read from ``frames/{subject}/{filename}/{N}.jpg`` by default.

A :class:`DFMEMapping` (a small YAML or JSON file, or a dict) overrides the file, the frame
folder template and any column name; ``mapping="legacy"`` is the older single-table layout
(``DFME_labels.csv`` with ``FPS``, ``Action Units`` and ``Part``), also used when the root holds
that file and no release workbook.

Emotion labels are names, else ids 0..6 in alphabetical order (anger 0, contempt 1, disgust 2,
fear 3, happiness 4, sadness 5, surprise 6). Each sample's frame rate is its ``Fps`` cell, else
its part's rate (``part_fps``), else None; the part is the ``Part`` cell, else the part whose
rate the sample has.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from facscope.data.clips import ClipOptions, ClipSpec, clip_adapter, resolve_label
from facscope.data.common import build_clips, check_root, finish, subject_id
from facscope.data.dataset import DATASETS, Dataset
from facscope.data.layouts import DFME_FIELDS, DFME_PART_FPS, SHEETS
from facscope.data.problems import ProblemLog
from facscope.data.tables import Table, cell_text, header_key, read_table
from facscope.errors import ConfigError, DatasetError
from facscope.facs import ME7

__all__ = ["DEFAULT_COLUMNS", "LEGACY_MAPPING", "DFMEMapping", "dfme", "split_of"]

#: field → column name of the default mapping (the release's columns, docs/layouts.md).
DEFAULT_COLUMNS: dict[str, str | None] = {k: SHEETS["dfme"].fields.get(k) for k in DFME_FIELDS}
#: The older single-table layout (``mapping="legacy"``).
LEGACY_MAPPING: Mapping[str, Any] = {
    "annotations": SHEETS["dfme.labels"].file,
    "columns": {k: SHEETS["dfme.labels"].fields.get(k) for k in DFME_FIELDS},
}
_REQUIRED = ("subject", "filename", "onset")


@dataclass(frozen=True, kw_only=True)
class DFMEMapping:
    """Where DFME's annotations and frames are, and what its columns are called.

    Attributes:
        annotations: annotation file, relative to the root (CSV or XLSX); None (default): every
            release workbook ``*_full_with_AU.xlsx`` in the root or one folder below.
        frames: frame folder template relative to the root; ``{subject}``, ``{filename}`` and
            ``{part}`` are filled from the row.
        columns: field → column name (``None`` = the table has no such column). Fields:
            subject, filename, part, fps, onset, apex, offset, aus, emotion, emotion_id
            (an emotion or an emotion id column is required).
        part_fps: frame rate of each part, used when there is no fps column or it is blank.
    """

    annotations: str | None = None
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
        if not (merged.get("emotion") or merged.get("emotion_id")):
            missing.append("emotion")
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
    if str(mapping) == "legacy":
        return DFMEMapping.from_dict(LEGACY_MAPPING)
    return DFMEMapping.from_file(mapping)


_ORDER = {"train": 0, "test_a": 1, "test_b": 2}
_SPLIT = (("testa", "test_a"), ("testb", "test_b"), ("train", "train"), ("test", "test"))


def split_of(path: Path) -> str:
    """The split a release workbook holds, from its name (``…train…`` → ``train``, ``…testA…`` →
    ``test_a``, ``…testB…`` → ``test_b``); else the name before ``_full_with_AU``."""
    stem = re.sub(r"(?i)_?full_with_au$", "", path.stem)
    key = header_key(stem)
    return next((name for k, name in _SPLIT if k in key), stem or path.stem)


def _workbooks(base: Path, m: DFMEMapping) -> tuple[DFMEMapping, list[Path]]:
    """The annotation files to read (the release's workbooks, or the mapping's one file)."""
    if m.annotations is not None:
        return m, [base / m.annotations]
    found = sorted(
        {p for p in (*base.iterdir(), *base.glob("*/*")) if _is_workbook(p)},
        key=lambda p: (
            [t for k, t in enumerate(("train", "test_a", "test_b")) if split_of(p) == t]
            or [split_of(p)]
        ),
    )
    if found:
        return m, found
    legacy = DFMEMapping.from_dict(LEGACY_MAPPING | {"frames": m.frames, "part_fps": m.part_fps})
    if (base / str(legacy.annotations)).is_file():
        return legacy, [base / str(legacy.annotations)]
    raise DatasetError(
        f"{base}: no DFME label workbook (*_full_with_AU.xlsx) here or one folder below, and no "
        f"{legacy.annotations}; pass the DFME root, or mapping=FILE naming the annotation file"
    )


def _is_workbook(p: Path) -> bool:
    name = p.name.lower()
    return p.is_file() and name.endswith("_full_with_au.xlsx") and not name.startswith(("~$", "."))


def _fps(m: DFMEMapping, part: str | None, fps_cell: str | None) -> float | None:
    """The row's FPS cell, else its part's rate; None when neither gives a positive rate."""
    try:
        fps = float(fps_cell) if fps_cell else m.part_fps.get((part or "").upper())
    except ValueError:
        fps = m.part_fps.get((part or "").upper())
    return None if fps is not None and fps <= 0 else fps


_PART_OF_FPS = {v: k for k, v in DFME_PART_FPS.items()}


def _label(col: Mapping[str, str | None], r: Any) -> Any:
    """The row's emotion name, else its emotion id."""
    name = r.get(col["emotion"]) if col["emotion"] else None
    if cell_text(name) is None and col["emotion_id"]:
        return r.get(col["emotion_id"])
    return name


def _specs(
    m: DFMEMapping, table: Table, log: ProblemLog, base: Path, split: str | None
) -> list[ClipSpec]:
    col = m.columns
    specs = []
    for r in table:
        subj = subject_id(r.get(col["subject"]), width=3)
        fname = cell_text(r.get(col["filename"]))
        if subj is None or fname is None:
            log.add("bad-row", "no subject or file name", action="skipped", row=r.number)
            continue
        sid = f"{subj}/{fname}"
        emotion = _label(col, r)
        ok, label = resolve_label("dfme", emotion, log, sample_id=sid, row=r.number)
        if not ok:
            continue
        part = cell_text(r.get(col["part"])) if col["part"] else None
        fps = _fps(m, part, cell_text(r.get(col["fps"])) if col["fps"] else None)
        part = part.upper() if part else _PART_OF_FPS.get(fps or 0.0)
        meta = ({"part": part} if part else {}) | ({"split": split} if split else {})
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
                emotion=emotion,
                label=label,
                meta=meta,
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
    """DFME (500/300/200 fps): the release's *_full_with_AU.xlsx workbooks (training, test A,
    test B → ``meta["split"]``) + raw frames, read through a column mapping.

    ``mapping=`` is a YAML/JSON file, a dict, a :class:`DFMEMapping` or ``"legacy"`` (the
    older DFME_labels.csv layout); the defaults follow docs/layouts.md.
    """
    opts = options or ClipOptions()
    base = check_root(root, "dfme")
    m, files = _workbooks(base, _mapping(mapping))
    log = ProblemLog("dfme", strict=opts.strict)
    header = [m.columns[k] for k in _REQUIRED]
    specs = []
    for path in files:
        split = split_of(path) if len(files) > 1 or _is_workbook(path) else None
        specs += _specs(m, read_table(path, header=header), log, base, split)
    samples = build_clips(specs, log, opts)
    return finish(
        "dfme",
        base,
        samples,
        log,
        classes=ME7,
        target=opts.target,
        options={
            "annotations": [str(p) for p in files],
            "frames": m.frames,
            "scan": opts.scan,
            "apex": opts.apex,
        },
    )
