"""The annotation files of the official releases, declared once (see docs/layouts.md).

One :class:`SheetLayout` per dataset with an annotation table: the file name, the sheet, the
header row, the column names in the release's order and which column holds which field. The
adapters (:mod:`facscope.data.me`, :mod:`~facscope.data.dfme`, :mod:`~facscope.data.fer`) read
files through it, :mod:`facscope.synth.layouts` writes synthetic files with it and the test
fixtures build their sheets from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from facscope.errors import ConfigError
from facscope.facs import DATASET_LABELS

__all__ = ["DFME_PART_FPS", "DFME_SPLIT_FILES", "SHEETS", "SheetLayout", "get_sheet"]

#: Fields of a clip annotation row (what :class:`facscope.data.clips.ClipSpec` is built from).
CLIP_FIELDS = ("subject", "filename", "part", "fps", "onset", "apex", "offset", "aus", "emotion")
#: The fields a DFME column mapping names (``emotion_id``: the release's ``EmotionId``).
DFME_FIELDS = (*CLIP_FIELDS, "emotion_id")
#: DFME's release workbooks, split → file name (the adapter finds any ``*_full_with_AU.xlsx``).
DFME_SPLIT_FILES = MappingProxyType({
    "train": "DFME_train_full_with_AU.xlsx",
    "test_a": "DFME_testA_full_with_AU.xlsx",
    "test_b": "DFME_testB_full_with_AU.xlsx",
})  # fmt: skip
#: DFME's parts and their frame rates (the default of ``DFMEMapping.part_fps``).
DFME_PART_FPS = MappingProxyType({"A": 500.0, "B": 300.0, "C": 200.0})
#: The fields whose column names find the header row of a clip sheet.
HEADER_FIELDS = ("subject", "filename", "onset")


@dataclass(frozen=True, kw_only=True)
class SheetLayout:
    """One release's annotation table.

    Attributes:
        dataset: the adapter that reads it (``casme2``, ``samm``, ``casme3``, ``dfme``, …).
        file: the file name in the release, relative to the root.
        patterns: glob patterns that find the file under other version names.
        what: how an error message names the file.
        sheet: the sheet synthetic files are written to (None for CSV); readers take the first
            sheet whatever its name.
        header_row: the 1-based row of the header (SAMM v2: 13, after a preamble).
        columns: every column name, in the release's order.
        fields: field → the column holding it (see :data:`CLIP_FIELDS`).
        meta: columns kept in ``Sample.meta``.
    """

    dataset: str
    file: str
    patterns: tuple[str, ...] = ()
    what: str = ""
    sheet: str | None = None
    header_row: int = 1
    columns: tuple[str, ...]
    fields: Mapping[str, str] = field(default_factory=dict)
    meta: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        missing = sorted(set(self.fields.values()) - set(self.columns))
        missing += sorted(set(self.meta) - set(self.columns))
        if missing:
            raise ConfigError(f"{self.dataset} layout: column(s) {missing} are not in its columns")
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "patterns", self.patterns or (self.file,))

    def column(self, name: str) -> str | None:
        """The column holding field ``name`` (None when the table has none)."""
        return self.fields.get(name)

    @property
    def header(self) -> tuple[str, ...]:
        """The column names that identify the header row."""
        return tuple(c for k in HEADER_FIELDS if (c := self.fields.get(k)) is not None)


_ME = ("subject", "filename", "onset", "apex", "offset", "aus", "emotion")


def _clip_sheet(
    columns: tuple[str, ...],
    *,
    fields: tuple[str, ...] = _ME,
    meta: tuple[str, ...] = (),
    **kw: Any,
) -> SheetLayout:
    """A clip sheet whose ``columns`` other than ``meta`` hold ``fields``, in this order."""
    named = [c for c in columns if c not in meta]
    mapping = dict(zip(fields, named, strict=True))
    return SheetLayout(columns=columns, fields=mapping, meta=meta, **kw)


_CASME2 = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Action Units",
           "Estimated Emotion")  # fmt: skip
_SAMM = ("Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame", "Offset Frame",
         "Duration", "Type", "Action Units", "Notes", "Estimated Emotion",
         "Objective Classes")  # fmt: skip
_CASME3 = ("Subject", "Filename", "Onset", "Apex", "Offset", "AU", "emotion",
           "Objective class")  # fmt: skip
_DFME = ("Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion", "EmotionId",
         "Fps", "AU")  # fmt: skip
_DFME_FIELDS = ("subject", "filename", "onset", "apex", "offset", "emotion", "emotion_id", "fps",
                "aus")  # fmt: skip
_DFME_LABELS = ("Subject", "Filename", "Part", "FPS", "OnsetFrame", "ApexFrame", "OffsetFrame",
                "Action Units", "Emotion")  # fmt: skip
_AFFECTNET = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
              "facial_landmarks", "expression", "valence", "arousal")  # fmt: skip

SHEETS: Mapping[str, SheetLayout] = MappingProxyType({
    "casme2": _clip_sheet(
        _CASME2, dataset="casme2", file="CASME2-coding-20140508.xlsx",
        patterns=("CASME2-coding-*.xlsx", "CASME2*coding*.xlsx"), what="CASME II coding sheet",
        sheet="Sheet1",
    ),
    "samm": _clip_sheet(
        _SAMM, meta=("Inducement Code", "Duration", "Type", "Notes", "Objective Classes"),
        dataset="samm", file="SAMM_Micro_FACS_Codes_v2.xlsx",
        patterns=("SAMM_Micro_FACS_Codes*.xlsx", "SAMM*.xlsx"), what="SAMM FACS codes sheet",
        sheet="Sheet1", header_row=13,
    ),
    "casme3": _clip_sheet(
        _CASME3, meta=("Objective class",), dataset="casme3",
        file="cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx",
        patterns=("cas(me)3_part_A_ME_label*.xlsx", "*part_A*ME*label*.xlsx"),
        what="CAS(ME)³ part A label sheet", sheet="Sheet1",
    ),
    "dfme": _clip_sheet(
        _DFME, fields=_DFME_FIELDS, dataset="dfme", file=DFME_SPLIT_FILES["train"],
        patterns=("*_full_with_AU.xlsx",), what="DFME label workbook", sheet="Sheet1",
    ),
    # the older single-table layout facscope assumed before the release was known
    "dfme.labels": _clip_sheet(
        _DFME_LABELS, fields=CLIP_FIELDS, dataset="dfme", file="DFME_labels.csv",
        what="DFME annotation table (older layout)",
    ),
    "ferplus": SheetLayout(
        dataset="ferplus", file="fer2013new.csv", what="FERPlus vote file",
        columns=("Usage", "Image name", *DATASET_LABELS["ferplus"]),
        fields={"split": "Usage", "filename": "Image name"},
    ),
    "affectnet": SheetLayout(
        dataset="affectnet", file="training.csv", what="AffectNet list", columns=_AFFECTNET,
        fields={"filename": "subDirectory_filePath", "emotion": "expression"},
        meta=("valence", "arousal"),
    ),
})  # fmt: skip


def get_sheet(dataset: str) -> SheetLayout:
    """The :class:`SheetLayout` of ``dataset``; a clear :class:`ConfigError` when it has none."""
    if dataset not in SHEETS:
        raise ConfigError(f"no annotation layout for {dataset!r}; layouts: {sorted(SHEETS)}")
    return SHEETS[dataset]
