"""The on-disk layouts synthetic datasets are written in (see ``docs/layouts.md``).

One :class:`Layout` per dataset: default frame rate, how subjects, clip folders and frame files
are named, how AU strings are written, which label vocabulary is used, and the annotation file
(CASME II and SAMM spreadsheets, DFME's three ``*_full_with_AU.xlsx`` workbooks, via openpyxl).
The dataset adapters read these files back, so names, sheet offsets and columns follow the real
releases.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facscope.data.layouts import DFME_PART_FPS, DFME_SPLIT_FILES, SHEETS, SheetLayout
from facscope.errors import ConfigError
from facscope.facs import AU, DATASET_LABELS, dataset_label

__all__ = ["LAYOUTS", "Layout", "format_au_string", "get_layout", "layout_label"]

#: DFME parts and their frame rates.
DFME_PARTS = {part: int(fps) for part, fps in DFME_PART_FPS.items()}
#: The release split of the ``k``-th DFME subject (1-based): 3 of every 5 train, then test A, B.
_DFME_SPLITS = ("train", "train", "train", "test_a", "test_b")
_SPLIT_KEY = "__split__"
#: SAMM objective classes (Davison et al., 2018) by the emotion they mostly correspond to.
_OBJECTIVE_CLASS = {"happiness": 1, "surprise": 2, "anger": 3, "disgust": 4, "sadness": 5,
                    "fear": 6, "contempt": 7, "others": 7}  # fmt: skip


@dataclass(frozen=True)
class Layout:
    """How one dataset's release is laid out on disk.

    The annotation file's name, sheet and columns are :attr:`sheet`
    (:data:`facscope.data.layouts.SHEETS`, what the adapters read).

    Attributes:
        name: ``casme2``, ``samm`` or ``dfme``.
        frames_root: folder holding ``{subject}/{filename}/`` clip folders.
        fps: default frame rate (DFME: per part).
        grayscale: frames are written as gray JPEGs.
        intensities: AU strings carry FACS intensity letters (``R12A``).
    """

    name: str
    frames_root: str
    fps: float
    grayscale: bool
    intensities: bool

    @property
    def sheet(self) -> SheetLayout:
        """The annotation file's layout (file name, sheet, header row, columns)."""
        return SHEETS[self.name]

    @property
    def annotation(self) -> str:
        """The annotation file name, relative to the root."""
        return self.sheet.file

    @property
    def annotations(self) -> tuple[str, ...]:
        """Every annotation file written (DFME: its three split workbooks)."""
        return tuple(DFME_SPLIT_FILES.values()) if self.name == "dfme" else (self.annotation,)

    @property
    def labels(self) -> tuple[str, ...]:
        """The dataset's own emotion labels, as its files write them."""
        return DATASET_LABELS[self.name]

    def subject_id(self, index: int) -> str:
        """Folder name of the ``index``-th (0-based) subject."""
        if self.name == "casme2":
            return f"sub{index + 1:02d}"
        if self.name == "samm":
            return f"{index + 6:03d}"  # SAMM's subject ids start at 006
        return f"sub{index + 1:04d}"  # DFME: sub0003

    def frame_name(self, subject: str, number: int) -> str:
        if self.name == "casme2":
            return f"img{number}.jpg"
        if self.name == "samm":
            return f"{subject}_{number:05d}.jpg"
        return f"{number}.jpg"

    def clip_names(self, rng: np.random.Generator, subject: str, k: int) -> list[str]:
        """``k`` unique clip folder names for ``subject``: ``EP02_01f`` (CASME II: episode,
        clip, an ``f`` suffix on some), ``006_1_2`` (SAMM: subject, inducement, clip),
        ``sub0001_01`` (DFME)."""
        if self.name == "dfme":
            return [f"{subject}_{j + 1:02d}" for j in range(k)]
        groups = sorted(rng.integers(1, 20 if self.name == "casme2" else 8, size=k))
        seen: Counter[int] = Counter()
        names = []
        for g in groups:
            seen[g] += 1
            if self.name == "casme2":
                names.append(f"EP{g:02d}_{seen[g]:02d}{'f' if rng.random() < 0.3 else ''}")
            else:
                names.append(f"{subject}_{g}_{seen[g]}")
        return names

    def row(self, rec: dict[str, Any]) -> dict[str, Any]:
        """The annotation row of a sample's ground-truth record, with its quirks applied
        (column name → value, in :attr:`sheet` order)."""
        quirks = rec["quirks"]
        apex: int | str = "/" if "apex-slash" in quirks else rec["apex"]
        if self.name == "casme2":
            aus: int | str = rec["au_string"]
            if "au-number" in quirks:
                aus = int(aus)  # Excel stores a lone AU as a number
            values = [
                int(rec["subject"][3:]), rec["filename"], rec["onset"], apex, rec["offset"],
                aus, rec["label"],
            ]  # fmt: skip
            extra = {"": "synthetic" if quirks else None}
        elif self.name == "samm":
            values = [
                rec["subject"], rec["filename"], int(rec["filename"].split("_")[1]), rec["onset"],
                apex, rec["offset"], rec["offset"] - rec["onset"] + 1, "Micro - 1/2",
                rec["au_string"], None, rec["label"], objective_class(rec["emotion"]),
            ]  # fmt: skip
            extra = {}
        else:
            fps = rec["fps"]
            values = [
                rec["subject"], rec["filename"], rec["onset"], apex, rec["offset"], rec["label"],
                self.labels.index(rec["label"]), int(fps) if float(fps).is_integer() else fps,
                rec["au_string"],
            ]  # fmt: skip
            extra = {_SPLIT_KEY: _DFME_SPLITS[(int(rec["subject"][3:]) - 1) % 5]}
        return dict(zip(self.sheet.columns, values, strict=True)) | extra

    def write_annotation(self, root: Path, rows: Sequence[dict[str, Any]], *, quirks: bool) -> Path:
        """Write the annotation file(s) for ``rows`` (one dict per sample, layout column names);
        DFME: its three split workbooks (a split without samples gets the header only)."""
        if self.name != "dfme":
            return self._write_sheet(root / self.annotation, rows, quirks=quirks)
        for split, name in DFME_SPLIT_FILES.items():
            self._write_sheet(
                root / name, [r for r in rows if r[_SPLIT_KEY] == split], quirks=False
            )
        return root / self.annotation

    def _write_sheet(self, path: Path, rows: Sequence[dict[str, Any]], *, quirks: bool) -> Path:
        from openpyxl import Workbook

        from facscope.io import atomic_path

        columns = self.sheet.columns
        wb = Workbook()
        ws = wb.active
        ws.title = self.sheet.sheet or "Sheet1"
        first = self.sheet.header_row
        if first > 1:
            _preamble(ws, first - 1)
        for c, name in enumerate(columns, start=1):
            ws.cell(row=first, column=c, value=name)
        for r, row in enumerate(rows, start=first + 1):
            for c, name in enumerate(columns, start=1):
                ws.cell(row=r, column=c, value=row.get(name))
            if quirks and self.name == "casme2" and "" in row:  # an unnamed trailing column
                ws.cell(row=r, column=len(columns) + 2, value=row[""])
        with atomic_path(path) as tmp:
            wb.save(tmp)
        return path


def _preamble(ws: Any, rows: int) -> None:
    """SAMM's preamble above its header row."""
    lines = [
        "SAMM - Spontaneous Actions and Micro-Movements (synthetic stand-in)",
        "Micro-movement FACS codes, version 2 layout",
        None,
        "Generated by facscope synth: real face images moved by known displacement fields.",
        "Frames are grayscale JPEGs named {Subject}_{frame:05d}.jpg in SAMM/{Subject}/{Filename}/.",
        "Onset, Apex and Offset are frame numbers; Duration is Offset - Onset + 1 frames.",
        "Action Units: L/R = left/right side of the subject, A-E = intensity.",
        "Objective Classes after Davison et al. (2018): I happiness, II surprise, III anger,",
        "IV disgust, V sadness, VI fear, VII other.",
        None,
        None,
        None,
    ]
    assert len(lines) == rows
    for r, text in enumerate(lines, start=1):
        if text is not None:
            ws.cell(row=r, column=1, value=text)


LAYOUTS: dict[str, Layout] = {
    "casme2": Layout("casme2", "CASME2_RAW_selected", 200, False, False),
    "samm": Layout("samm", "SAMM", 200, True, True),
    "dfme": Layout("dfme", "frames", 200, False, False),
}  # fmt: skip


def get_layout(name: str) -> Layout:
    key = str(name).lower().replace("-", "").replace("_", "")
    key = {"casmeii": "casme2"}.get(key, key)
    if key not in LAYOUTS:
        raise ConfigError(f"layout must be one of {sorted(LAYOUTS)}; got {name!r}")
    return LAYOUTS[key]


def layout_label(layout: Layout, emotion: str) -> str:
    """The dataset's own spelling of ``emotion`` (a raw label of that dataset or any canonical
    name it has), e.g. ``happiness`` → ``Happiness`` for SAMM."""
    raw = {lab.lower(): lab for lab in layout.labels}
    if emotion.strip().lower() in raw:
        return raw[emotion.strip().lower()]
    try:
        canonical = dataset_label(layout.name, emotion)
    except ConfigError:
        canonical = None
    for lab in layout.labels:
        if canonical is not None and dataset_label(layout.name, lab) == canonical:
            return lab
    raise ConfigError(
        f"emotion {emotion!r} is not a {layout.name} label; choose from {list(layout.labels)}"
    )


def format_au_string(aus: Sequence[AU], layout: Layout) -> str:
    """AUs in the dataset's style: ``1+2``, ``4+L10`` (CASME II, DFME); ``R12A+R14A`` (SAMM)."""
    parts = []
    for a in aus:
        side = a.side if a.side in ("L", "R") else ""
        letter = (a.intensity or "") if layout.intensities else ""
        parts.append(f"{side}{a.number}{letter}{'(?)' if a.uncertain else ''}")
    return "+".join(parts)


def objective_class(emotion: str) -> int:
    """SAMM objective class (1–7) of a canonical emotion."""
    return _OBJECTIVE_CLASS.get(emotion, 7)


def relpath(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path, root)).as_posix()
