"""The layout table: every release's annotation file declared once."""

from __future__ import annotations

import pytest

from facscope.data.dfme import DEFAULT_COLUMNS, LEGACY_MAPPING, DFMEMapping
from facscope.data.layouts import DFME_PART_FPS, SHEETS, SheetLayout, get_sheet
from facscope.errors import ConfigError
from facscope.synth.layouts import LAYOUTS


def test_every_field_names_a_column_of_its_sheet():
    for name, sheet in SHEETS.items():
        assert sheet.dataset == name.split(".")[0]  # dfme.labels: the older DFME table
        assert set(sheet.fields.values()) <= set(sheet.columns)
        assert set(sheet.meta) <= set(sheet.columns)
        assert sheet.patterns


def test_clip_sheets_map_the_clip_fields_in_column_order():
    assert dict(SHEETS["casme2"].fields) == {
        "subject": "Subject",
        "filename": "Filename",
        "onset": "OnsetFrame",
        "apex": "ApexFrame",
        "offset": "OffsetFrame",
        "aus": "Action Units",
        "emotion": "Estimated Emotion",
    }
    assert SHEETS["samm"].header == ("Subject", "Filename", "Onset Frame")
    assert SHEETS["samm"].header_row == 13
    assert SHEETS["casme3"].column("aus") == "AU" and SHEETS["casme3"].column("part") is None


def test_the_adapters_and_the_synthesiser_read_the_same_table():
    assert dict(SHEETS["dfme"].fields) == {k: v for k, v in DEFAULT_COLUMNS.items() if v}
    assert DFMEMapping().annotations is None  # every *_full_with_AU.xlsx workbook
    assert SHEETS["dfme"].patterns == ("*_full_with_AU.xlsx",)
    assert {k: v for k, v in LEGACY_MAPPING["columns"].items() if v} == dict(
        SHEETS["dfme.labels"].fields
    )
    assert DFMEMapping().part_fps == dict(DFME_PART_FPS)
    assert SHEETS["dfme"].columns == ("Subject", "Filename", "OnsetFrame", "ApexFrame",
        "OffsetFrame", "Emotion", "EmotionId", "Fps", "AU")  # fmt: skip
    for name, layout in LAYOUTS.items():
        assert layout.sheet is SHEETS[name] and layout.annotation == SHEETS[name].file


def test_a_bad_layout_is_a_config_error():
    with pytest.raises(ConfigError, match="not in its columns"):
        SheetLayout(dataset="x", file="x.csv", columns=("A",), fields={"subject": "B"})
    with pytest.raises(ConfigError, match="no annotation layout"):
        get_sheet("casme9")
