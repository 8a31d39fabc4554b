"""Annotation-table reading: header search (SAMM row 13), cell parsing, file discovery."""

from __future__ import annotations

import pytest
from layout_fixtures import make_samm, write_csv, xlsx

from facscope.data.tables import cell_int, cell_text, find_file, header_key, read_csv, read_xlsx
from facscope.errors import DatasetError


def test_samm_header_is_found_on_row_13(tmp_path):
    make_samm(tmp_path)
    t = read_xlsx(tmp_path / "SAMM_Micro_FACS_Codes_v2.xlsx", header=("Subject", "Filename"))
    assert t.header_row == 13
    assert t.header[:3] == ("Subject", "Filename", "Inducement Code")
    assert [r.number for r in t][:2] == [14, 15]
    assert t.rows[0].get("onset frame") == 5562 and t.rows[0].get("OnsetFrame") == 5562


def test_header_not_found_names_the_columns(tmp_path):
    xlsx(tmp_path / "a.xlsx", [["x", "y"], [1, 2]])
    with pytest.raises(DatasetError, match=r"no header row with columns \['Filename'\]"):
        read_xlsx(tmp_path / "a.xlsx", header=("Filename",))


def test_unnamed_columns_blank_rows_and_bad_file(tmp_path):
    xlsx(tmp_path / "a.xlsx", [["A", None, "B"], [1, "n", 2], [None, None, None], [3, None, 4]])
    t = read_xlsx(tmp_path / "a.xlsx", header=("A",))
    assert t.header == ("A", "Unnamed: 1", "B") and len(t) == 2 and t.rows[1].number == 4
    (tmp_path / "bad.xlsx").write_text("not a workbook")
    with pytest.raises(DatasetError, match=r"bad.xlsx: cannot read as an .xlsx workbook"):
        read_xlsx(tmp_path / "bad.xlsx")


def test_csv_missing_columns_and_bom(tmp_path):
    (tmp_path / "m.csv").write_text("\ufeffpath,label\na.jpg,happy\n", encoding="utf-8")
    t = read_csv(tmp_path / "m.csv")
    assert t.header == ("path", "label") and t.rows[0].get("path") == "a.jpg"
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['subject'\]"):
        read_csv(tmp_path / "m.csv", header=("path", "subject"))
    write_csv(tmp_path / "e.csv", [])
    with pytest.raises(DatasetError, match="empty"):
        read_csv(tmp_path / "e.csv")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (46, 46),
        (46.0, 46),
        ("46", 46),
        (" 12.0 ", 12),
        ("/", None),
        ("", None),
        (None, None),
        ("abc", None),
        (12.5, None),
        (True, None),
        ("-1", -1),
        (float("nan"), None),
    ],
)
def test_cell_int(value, expected):
    assert cell_int(value) == expected


def test_cell_text_and_header_key():
    assert cell_text(" happiness ") == "happiness" and cell_text("/") is None
    assert cell_text(12.0) == "12" and cell_text(float("nan")) is None
    assert header_key("Onset Frame") == header_key("OnsetFrame") == header_key("onset_frame")


def test_find_file_prefers_newest_release_and_searches_below(tmp_path):
    (tmp_path / "x" / "y").mkdir(parents=True)
    for name in ("CASME2-coding-20120101.xlsx", "CASME2-coding-20140508.xlsx"):
        (tmp_path / "x" / "y" / name).write_bytes(b"")
    found = find_file(tmp_path, ["CASME2-coding-*.xlsx"], "coding sheet")
    assert found.name == "CASME2-coding-20140508.xlsx"
    with pytest.raises(DatasetError, match="pass the dataset root or annotations=PATH"):
        find_file(tmp_path, ["nothing*.xlsx"], "sheet")
    with pytest.raises(DatasetError, match="no such dataset folder"):
        find_file(tmp_path / "missing", ["*.xlsx"], "sheet")
