"""Builders that reproduce each dataset's release layout exactly (file names, sheet offsets,
column names) with tiny images, plus the quirks the adapters must handle.

Each ``make_*`` builder writes one dataset under a folder and returns the counts an adapter must
find (tests/data/conftest.py builds each layout once per session). No real dataset file is
ever used.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from facscope.data.layouts import DFME_SPLIT_FILES, SHEETS

_JPG = cv2.imencode(".jpg", np.full((2, 2, 3), 128, np.uint8))[1].tobytes()
_GRAY_JPG = cv2.imencode(".jpg", np.full((2, 2), 90, np.uint8))[1].tobytes()
_PNG = cv2.imencode(".png", np.full((2, 2), 60, np.uint8))[1].tobytes()
_BMP = cv2.imencode(".bmp", np.full((2, 2, 3), 30, np.uint8))[1].tobytes()


def frames(folder: Path, names: list[str], data: bytes = _JPG) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(data)


def xlsx(path: Path, rows: list[list[Any]], *, sheet: str = "Sheet1") -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for row in rows:
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def write_csv(path: Path, rows: list[list[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


# --------------------------------------------------------------------------- CASME II


def make_casme2(root: Path, *, cropped: bool = False) -> dict[str, Any]:
    """CASME2-coding-20140508.xlsx (header on row 1, unnamed columns) + CASME2_RAW_selected."""
    columns = SHEETS["casme2"].columns
    head = [*columns[:5], None, *columns[5:], None]  # the release's unnamed columns
    rows = [
        [1, "EP02_01f", 46, 50, 55, None, "1+2+L12", "happiness", "note"],
        ["01", "EP03_02", 10, "/", 20, None, "4+7(?)", "disgust", None],
        [2, "EP01_11f", 5, 30, 12, None, "R12+L14A", "repression", None],
        [2, "EP05_03", 100, 110, 120, None, "12 or 14", "others", None],
        [2, "EP06_01", 1, 2, 5, None, "10", "fear", None],  # no frame folder
        [3, "EP07_01", "abc", 3, 9, None, "", "sadness", None],  # broken onset
        [3, "EP08_02", 1, 3, 6, None, "14", "confusion", None],  # unknown label
        [3, "EP09_01", 1, 3, 6, None, 12.0, "surprise", None],
        [None, None, None, None, None, None, None, None, None],  # blank line
        [3, "EP09_01", 1, 3, 6, None, 12.0, "surprise", None],  # exact duplicate
        [3, "EP10_01", 1, 4, 8, None, "1+2+", "surprise", None],  # frames start at 3
    ]
    xlsx(root / SHEETS["casme2"].file, [head, *rows])
    raw = root / "CASME2_RAW_selected"
    clips = {
        "sub01/EP02_01f": range(46, 56),
        "sub01/EP03_02": range(10, 21),
        "sub02/EP01_11f": range(5, 13),
        "sub02/EP05_03": [n for n in range(100, 121) if n not in (104, 105)],
        "sub03/EP09_01": range(1, 7),
        "sub03/EP10_01": range(3, 9),
    }
    for clip, numbers in clips.items():
        frames(raw / clip, [f"img{n}.jpg" for n in numbers])
        if cropped:
            frames(root / "Cropped" / clip, [f"reg_img{n}.jpg" for n in numbers])
    return {
        "samples": 6,
        "subjects": 3,
        "classes": {"happiness": 1, "disgust": 1, "repression": 1, "others": 1, "surprise": 2},
        "problems": {
            "apex-missing": 1,
            "apex-outside": 1,
            "au-doubtful": 2,
            "au-notation": 2,
            "frame-gap": 1,
            "missing-frames": 1,
            "bad-row": 1,
            "unknown-label": 1,
            "duplicate-row": 1,
            "index-outside-frames": 1,
        },
    }


# --------------------------------------------------------------------------- SAMM


def make_samm(root: Path) -> dict[str, Any]:
    """SAMM_Micro_FACS_Codes_v2.xlsx with a 12-row preamble (header on sheet row 13)."""
    preamble: list[list[Any]] = [["SAMM Micro-Movement Database - FACS codes"]]
    preamble += [[], ["Note: frame numbers refer to the image file names"], []]
    preamble += [[None, f"preamble line {i}"] if i % 3 == 0 else [] for i in range(8)]
    assert len(preamble) == SHEETS["samm"].header_row - 1
    head = list(SHEETS["samm"].columns)
    rows = [
        [6, "006_1_2", 1, 5562, 5588, 5605, 44, "Micro - 1/2", "4+7", None, "Anger", 4],
        [6, "006_1_3", 1, 3000, 2990, 3010, 11, "Micro - 1/2", "R12+R14", None, "Contempt", 3],
        [
            "007",
            "007_3_1",
            3,
            100,
            110,
            120,
            21,
            "Micro - 1/2",
            "12+smile+1x",
            None,
            "Happiness",
            1,
        ],
        [7, "007_5_2", 5, 200, 204, 210, 11, "Micro - 1/2", "43", "blink?", "Other", 7],
        [7, "007_6_1", 6, 50, 60, 40, -9, "Micro - 1/2", "4", None, "Sadness", 6],  # bad index
    ]
    # the real file's sheet name: the adapter reads the first sheet whatever it is called
    xlsx(root / SHEETS["samm"].file, [*preamble, head, *rows], sheet="FACS_Movement_Only")
    base = root / "SAMM"
    for subj, clip, lo, hi in [
        ("006", "006_1_2", 5562, 5605),
        ("006", "006_1_3", 3000, 3010),
        ("007", "007_3_1", 100, 120),
        ("007", "007_5_2", 200, 210),
        ("007", "007_6_1", 40, 60),
    ]:
        frames(base / subj / clip, [f"{subj}_{n:05d}.jpg" for n in range(lo, hi + 1)], _GRAY_JPG)
    return {
        "samples": 4,
        "subjects": 2,
        "classes": {"anger": 1, "contempt": 1, "happiness": 1, "others": 1},
        "problems": {"apex-outside": 1, "au-notation": 2, "au-unparsable": 1, "bad-index": 1},
    }


# --------------------------------------------------------------------------- CAS(ME)³ part A


def make_casme3(root: Path) -> dict[str, Any]:
    head = list(SHEETS["casme3"].columns)
    rows = [
        ["spNO.1", "a", 10, 14, 20, "L12+L14", "happy", 1],
        ["spNO.1", "a", 40, 44, 50, "4", "disgust", 2],
        ["spNO.1", "b", 5, 7, 9, "1+2", "surprise", 5],
        ["spNO.2", "a", 3, 6, 8, "4+7(?)", "sad", 2],
    ]
    xlsx(root / SHEETS["casme3"].file, [head, *rows])
    data = root / "part_A"
    frames(data / "spNO.1" / "a" / "color", [f"{n}.jpg" for n in range(1, 61)])
    frames(data / "spNO.1" / "b" / "color", [f"{n}.jpg" for n in range(1, 12)])
    frames(data / "spNO.2" / "a" / "color", [f"{n}.jpg" for n in range(0, 10)])
    frames(data / "spNO.1" / "a" / "depth", [f"{n}.png" for n in range(1, 3)], _PNG)
    return {
        "samples": 4,
        "subjects": 2,
        "classes": {"happiness": 1, "disgust": 1, "surprise": 1, "sadness": 1},
        "problems": {"duplicate-filename": 2, "au-notation": 1, "au-doubtful": 1},
    }


# --------------------------------------------------------------------------- SMIC


def make_smic(root: Path) -> dict[str, Any]:
    """HS/VIS/NIR subject/micro/emotion/clip tree of .bmp frames (no annotation file)."""
    hs = root / "HS"
    frames(hs / "s1/micro/negative/s1_ne_01", [f"image{n:06d}.bmp" for n in range(101, 111)], _BMP)
    frames(hs / "s1/micro/positive/s1_po_01", [f"image{n:06d}.bmp" for n in range(201, 206)], _BMP)
    frames(hs / "s2/micro/surprise/s2_sur_01", [f"image{n:06d}.bmp" for n in range(7, 19)], _BMP)
    frames(hs / "s2/non_micro/negative/s2_ne_09", [f"image{n:06d}.bmp" for n in (1, 2)], _BMP)
    frames(hs / "s3/micro/negative/s3_ne_01", [f"image{n:06d}.bmp" for n in (1, 2, 5, 6)], _BMP)
    frames(hs / "s3/micro/angry/s3_an_01", [f"image{n:06d}.bmp" for n in (1, 2)], _BMP)
    for v in ("VIS", "NIR"):
        frames(
            root / v / "s1/micro/negative/s1_ne_01",
            [f"image{n:06d}.bmp" for n in range(1, 4)],
            _BMP,
        )
    return {
        "samples": 4,
        "subjects": 3,
        "classes": {"negative": 2, "positive": 1, "surprise": 1},
        "problems": {"frame-gap": 1, "unknown-label": 1},
    }


# --------------------------------------------------------------------------- DFME


def make_dfme(root: Path) -> dict[str, Any]:
    """The release: three *_full_with_AU.xlsx workbooks (training, test A, test B); the test B
    workbook writes its headers in lower case."""
    head = list(SHEETS["dfme"].columns)
    books = {
        "train": [
            ["sub0001", "sub0001_01", 1, 5, 9, "anger", 0, 500, "4+7"],
            ["sub0001", "sub0001_02", 1, 3, 9, "happiness", 4, 500, "R12"],
            ["sub0002", "sub0002_01", 2, 4, 6, None, 6, 300, "1+2+5+M58"],  # only the id
        ],
        "test_a": [
            ["sub0003", "sub0003_01", 1, 2, 3, "neutral", None, 200, "14"],  # not a DFME label
            ["sub0003", "sub0003_02", 1, "", 5, "disgust", 2, 200, "9+AD38+soft focus"],  # no apex
        ],
        "test_b": [["sub0004", "sub0004_01", 1, 4, 8, "Contempt", 1, 500, "L12+L14+12x"]],
    }
    for split, rows in books.items():
        header = [h.lower() for h in head] if split == "test_b" else head
        xlsx(root / DFME_SPLIT_FILES[split], [header, *rows])
        for r in rows:
            frames(root / "frames" / r[0] / r[1], [f"{n}.jpg" for n in range(1, 10)])
    return {
        "samples": 5,
        "subjects": 4,
        "classes": {"anger": 1, "happiness": 1, "surprise": 1, "disgust": 1, "contempt": 1},
        "splits": {"train": 3, "test_a": 1, "test_b": 1},
        "problems": {"unknown-label": 1, "apex-missing": 1, "au-notation": 4, "au-unparsable": 1},
    }


def make_dfme_legacy(root: Path) -> dict[str, Any]:
    """The older single-table layout facscope assumed before the release (mapping='legacy')."""
    head = list(SHEETS["dfme.labels"].columns)
    rows = [
        [1, "clip_a", "A", 500, 1, 5, 9, "4+7", "anger"],
        ["001", "clip_b", "A", 500, 1, 3, 9, "R12", "4"],  # id 4 = happiness
        [2, "clip_a", "B", None, 2, 4, 6, "1+2+5", "Surprise"],  # fps from part B
        [3, "clip_c", "C", 200, 1, 2, 3, "14", "neutral"],  # not a DFME label
        [3, "clip_d", "C", 200, 1, "", 5, "9", "disgust"],  # no apex
    ]
    write_csv(root / SHEETS["dfme.labels"].file, [head, *rows])
    for subj, clip in [
        ("001", "clip_a"),
        ("001", "clip_b"),
        ("002", "clip_a"),
        ("003", "clip_c"),
        ("003", "clip_d"),
    ]:
        frames(root / "frames" / subj / clip, [f"{n}.jpg" for n in range(1, 10)])
    return {
        "samples": 4,
        "subjects": 3,
        "classes": {"anger": 1, "happiness": 1, "surprise": 1, "disgust": 1},
        "problems": {"unknown-label": 1, "apex-missing": 1, "au-notation": 1},
    }


# --------------------------------------------------------------------------- FACS cells

#: AU cells as the published sheets write them (issue 17), with the unreadable tokens in each.
FACS_CELLS: tuple[tuple[Any, tuple[str, ...]], ...] = (
    ("T18", ()), ("T23", ()), ("T28+14", ()), ("A12", ()), ("A1B+A2C", ()), ("A/L12", ()),
    ("A9E", ()), ("10A/B", ()), ("4A/B", ()), ("15A", ()), ("A12B", ()), ("ref(7B)+43", ()),
    ("7B+ ref(43)", ()), ("ref(L10)+A12B", ()), ("4D+ref(6)+7C+43E", ()),
    ("(R6 or R12)+R15", ()), ("(R6 or R12) + R15", ()), ("AD31", ()), ("AD38", ()),
    ("AD39", ()), ("23+AD31", ()), ("4+7+AD38", ()), ("M58", ()), ("1+2+5+M58", ()),
    ("53+61+64", ()), ("R14+17+soft focus", ()), ("?", ()), ("1.7", ()), (1.7, ()),
    ("12 or 14", ()), ("4+7(?)", ()), ("R12+L14A", ()), (12.0, ()),
    ("1+2+12x", ("12x",)), ("4+0+L", ("0", "L")), ("6+12+#", ("#",)),
)  # fmt: skip


def _cell_row(name: str, i: int, aus: Any) -> dict[str, Any]:
    """Field values of the ``i``-th row of a FACS-cells sheet for ``name``."""
    subject = {"casme2": 1, "samm": 6, "casme3": "spNO.1", "dfme": "sub0001"}[name]
    filename = {
        "casme2": f"EP01_{i:02d}", "samm": f"006_1_{i}", "casme3": f"c{i}",
        "dfme": f"sub0001_{i:02d}",
    }[name]  # fmt: skip
    emotion = {"casme2": "others", "samm": "Other", "casme3": "others", "dfme": "fear"}[name]
    return {
        "subject": subject, "filename": filename, "onset": 1, "apex": 2, "offset": 3,
        "aus": aus, "emotion": emotion, "fps": 200, "emotion_id": 3,
    }  # fmt: skip


def make_facs_cells(root: Path, name: str) -> dict[str, Any]:
    """``name``'s sheet (casme2, samm, casme3, dfme) with one row per :data:`FACS_CELLS` cell;
    read it with ``scan=False`` (no frames are written)."""
    sheet = SHEETS[name]
    field_of = {col: f for f, col in sheet.fields.items()}
    rows = []
    for i, (cell, _) in enumerate(FACS_CELLS, start=1):
        values = _cell_row(name, i, cell)
        rows.append([values.get(field_of.get(c, ""), None) for c in sheet.columns])
    preamble: list[list[Any]] = [[f"preamble {r}"] for r in range(1, sheet.header_row)]
    xlsx(root / sheet.file, [*preamble, list(sheet.columns), *rows])
    return {
        "cells": [c for c, _ in FACS_CELLS],
        "unreadable": sum(len(u) for _, u in FACS_CELLS),
        "cells_with_unreadable": sum(1 for _, u in FACS_CELLS if u),
    }


# --------------------------------------------------------------------------- FER


def make_rafdb(root: Path) -> dict[str, Any]:
    lines = [
        "train_00001.jpg 5",
        "train_00002.jpg 1",
        "train_00003.jpg 7",
        "test_0001.jpg 4",
        "test_0002.jpg 6",
        "garbage line here",
        "test_0003.jpg 9",
        "train_00004.jpg 2",
    ]
    (root / "EmoLabel").mkdir(parents=True)
    (root / "EmoLabel" / "list_patition_label.txt").write_text("\n".join(lines) + "\n")
    names = ["train_00001", "train_00002", "train_00003", "test_0001", "test_0002", "test_0003"]
    frames(root / "Image" / "aligned", [f"{n}_aligned.jpg" for n in names])
    frames(root / "Image" / "original", [f"{n}.jpg" for n in names])
    return {
        "samples": 5,  # train_00004 has no image, test_0003 has label 9
        "classes": {"sadness": 1, "surprise": 1, "neutral": 1, "happiness": 1, "anger": 1},
        "splits": {"train": 3, "test": 2},
        "problems": {"bad-row": 1, "unknown-label": 1, "missing-file": 1},
    }


FERPLUS_HEAD = list(SHEETS["ferplus"].columns)


def make_ferplus(root: Path) -> dict[str, Any]:
    rows = [
        ["Training", "fer0000000.png", 4, 0, 0, 1, 3, 2, 0, 0, 0, 0],  # no majority, plurality
        ["Training", "fer0000001.png", 6, 0, 0, 1, 3, 0, 0, 0, 0, 0],  # neutral majority
        ["Training", "", 0, 0, 0, 0, 0, 0, 0, 0, 0, 10],  # no image (not a face)
        ["PublicTest", "fer0028709.png", 0, 10, 0, 0, 0, 0, 0, 0, 0, 0],
        ["PrivateTest", "fer0032220.png", 0, 0, 2, 0, 0, 0, 0, 0, 8, 0],  # unknown wins
        ["PrivateTest", "fer0032221.png", 0, 0, 0, 0, 0, 0, 9, 1, 0, 0],
        ["PrivateTest", "fer0032222.png", 0, 0, 0, 0, 0, 0, "x", 1, 0, 0],  # broken votes
        ["PrivateTest", "fer0032223.png", 3, 3, 0, 0, 0, 0, 0, 0, 0, 0],  # tie
    ]
    write_csv(root / SHEETS["ferplus"].file, [FERPLUS_HEAD, *rows])
    frames(root / "FER2013Train", ["fer0000000.png", "fer0000001.png"], _PNG)
    frames(root / "FER2013Valid", ["fer0028709.png"], _PNG)
    frames(root / "FER2013Test", ["fer0032220.png", "fer0032221.png", "fer0032223.png"], _PNG)
    return {"majority": 3, "plurality": 4, "problems": {"bad-row": 1}}


def make_affectnet(root: Path) -> dict[str, Any]:
    head = list(SHEETS["affectnet"].columns)
    train = [
        [
            "689/737db2483489148d783ef278f43f486c0a97e140fc4b6b61b84363ca.jpg",
            134,
            134,
            899,
            899,
            "181.64;530.91;188.32",
            1,
            0.785714,
            -0.055556,
        ],
        [
            "392/c4db2f9b7e4b422d14b6e038f0cdc3ecee239b55326e9181ee4520f9.jpg",
            20,
            20,
            100,
            100,
            "",
            0,
            -0.017,
            0.004,
        ],
        ["392/notthere.jpg", 20, 20, 100, 100, "", 6, -0.5, 0.5],
        ["392/b.jpg", 20, 20, 100, 100, "", 7, -0.2, 0.1],  # contempt
        ["392/c.jpg", 20, 20, 100, 100, "", 9, -2, -2],  # uncertain
        ["392/d.jpg", 20, 20, 100, 100, "", "x", 0, 0],  # broken
    ]
    write_csv(root / "Manually_Annotated_file_lists" / SHEETS["affectnet"].file, [head, *train])
    val = [["100/e.jpg", 1, 1, 50, 50, "", 3, 0.1, 0.2]]  # no header line in this file
    write_csv(root / "Manually_Annotated_file_lists" / "validation.csv", val)
    img = root / "Manually_Annotated_Images"
    for rel in [r[0] for r in train if r[0] != "392/notthere.jpg"] + ["100/e.jpg"]:
        frames((img / rel).parent, [Path(rel).name])
    return {"samples8": 4, "samples7": 3, "problems": {"bad-row": 1, "missing-file": 1}}


# --------------------------------------------------------------------------- AU datasets


def make_disfa(root: Path) -> dict[str, Any]:
    intens = {1: [0, 1, 2, 3, 0, 0], 2: [0, 0, 2, 5, 4, 0], 12: [1, 1, 1, 2, 2, 2]}
    for subj in ("SN001", "SN002"):
        d = root / "ActionUnit_Labels" / subj
        d.mkdir(parents=True)
        for au, vals in intens.items():
            lines = [f"{i + 1},{v}" for i, v in enumerate(vals)]
            if subj == "SN001" and au == 12:
                lines.append("7,x")  # broken line
            (d / f"{subj}_au{au}.txt").write_text("\n".join(lines) + "\n")
    v = root / "Videos_LeftCamera"
    v.mkdir()
    (v / "LeftVideoSN001_comp.avi").write_bytes(b"\0")  # SN002 has no video
    frames(root / "frames" / "SN001", [f"{n}.jpg" for n in range(0, 6)])
    return {"samples": 6, "intens": intens, "problems": {"bad-row": 1, "missing-file": 1}}


def make_bp4d(root: Path) -> dict[str, Any]:
    head = ["0", "1", "2", "4", "6", "12", "99"]
    rows = [
        [2440, 1, 0, 0, 1, 1, 0],
        [2441, 1, 9, 0, 1, 1, 0],
        [2442, 0, 0, 1, 0, 0, 0],
        [2443, 0, 0, 0, 0, 0, 0],
    ]
    write_csv(root / "AUCoding" / "AU_OCC" / "F001_T1.csv", [head, *rows])
    write_csv(root / "AUCoding" / "AU_OCC" / "M002_T8.csv", [head, rows[0]])
    write_csv(root / "AUCoding" / "AU_OCC" / "F003_T2.csv", [head, rows[0]])  # no frames
    frames(root / "Sequences" / "F001" / "T1", ["2440.jpg", "2441.jpg", "2442.jpg"])
    frames(root / "Sequences" / "M002" / "T8", ["2440.jpg"])
    return {"samples": 4, "problems": {"missing-file": 1, "missing-frames": 1}}


# --------------------------------------------------------------------------- generic


def make_folder(root: Path) -> dict[str, Any]:
    frames(root / "happy", ["sub01_a.jpg", "sub02_b.jpg", "notes.txt"])
    frames(root / "pain", ["sub01_c.png"], _PNG)
    frames(root / "surprise" / "sub02_clip", [f"f{n}.jpg" for n in range(3, 9)])
    return {"samples": 4, "classes": {"happiness": 2, "pain": 1, "surprise": 1}}


def megc_manifest(path: Path) -> dict[str, Any]:
    """A generic manifest shaped like MEGC 2019: 442 samples, 68 subjects (24 + 28 + 16), the
    published per-dataset class counts (negative / positive / surprise)."""
    parts = {"casme2": (24, (88, 32, 25)), "samm": (28, (92, 26, 15)), "smic": (16, (70, 51, 43))}
    rows = [["path", "subject", "label", "dataset", "onset", "apex", "offset", "aus"]]
    img = path.parent / "flow"
    img.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for ds, (n_subj, counts) in parts.items():
        labels = [
            lab for lab, n in zip(("negative", "positive", "surprise"), counts) for _ in range(n)
        ]
        rng.shuffle(labels)
        for i, lab in enumerate(labels):
            subj = f"{ds[:2]}{i % n_subj:02d}"
            name = f"{ds}_{i:03d}.png"
            (img / name).write_bytes(_PNG)
            rows.append(
                [f"flow/{name}", subj, lab, ds, 1, 5, 9, "4+7" if lab == "negative" else "12"]
            )
    write_csv(path, rows)
    return {
        "samples": 442,
        "subjects": 68,
        "classes": {"negative": 250, "positive": 109, "surprise": 83},
    }


# --------------------------------------------------------------------------- CK+


def ck_number(value: float) -> str:
    """A number as CK+'s label files write it (MATLAB ``save -ascii``): ``   3.0000000e+00``."""
    return f"   {value:.7e}"


def make_ckplus(root: Path) -> dict[str, Any]:
    """cohn-kanade-images/, Emotion/ and FACS/ trees (S005 … S011), 8-bit PNG frames."""
    seqs = {  # subject/sequence: (frames, emotion code or None, [(AU, intensity)])
        ("S005", "001"): (range(1, 12), 3.0, [(9, 4), (17, 3), (25, 0)]),
        ("S010", "002"): (range(1, 15), 7.0, [(1, 2), (2, 2), (5, 1), (27, 0)]),
        ("S010", "006"): (range(1, 8), None, [(4, 0)]),  # AU-coded, no emotion file
        ("S011", "001"): (range(1, 10), 2.0, [(14, 3)]),  # contempt, right-side 14 in CK+
        ("S011", "002"): (range(1, 6), 9.0, []),  # emotion code outside 0..7
    }
    for (subj, seq), (numbers, emotion, aus) in seqs.items():
        frames(root / "cohn-kanade-images" / subj / seq,
               [f"{subj}_{seq}_{n:08d}.png" for n in numbers], _PNG)  # fmt: skip
        peak = f"{subj}_{seq}_{max(numbers):08d}"
        if emotion is not None:
            d = root / "Emotion" / subj / seq
            d.mkdir(parents=True, exist_ok=True)
            (d / f"{peak}_emotion.txt").write_text(ck_number(emotion) + "\n")
        if aus:
            d = root / "FACS" / subj / seq
            d.mkdir(parents=True, exist_ok=True)
            lines = [ck_number(a) + ck_number(i) for a, i in aus]
            (d / f"{peak}_facs.txt").write_text("\n".join(lines) + "\n")
    (root / "cohn-kanade-images" / "S011" / "003").mkdir()  # an empty sequence folder
    return {
        "samples": 4,
        "subjects": 3,
        "classes": {"disgust": 1, "surprise": 1, "contempt": 1},
        "problems": {"unknown-label": 1, "missing-frames": 1},
    }
