"""Synthetic datasets in the CASME II, SAMM and DFME layouts (docs/layouts.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.facs import DATASET_LABELS, au_numbers, dataset_label, parse_aus
from facscope.io import frame_number, list_frames
from facscope.synth import dataset as synth_dataset
from facscope.synth.dataset import write_dataset

TINY = dict(frame_size=(128, 96), progress=False)
CASME2_COLUMNS = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame",
                  "Action Units", "Estimated Emotion"]  # fmt: skip
SAMM_COLUMNS = ["Subject", "Filename", "Inducement Code", "Onset Frame", "Apex Frame",
                "Offset Frame", "Duration", "Type", "Action Units", "Notes", "Estimated Emotion",
                "Objective Classes"]  # fmt: skip
DFME_COLUMNS = ["Subject", "Filename", "OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion",
                "EmotionId", "Fps", "AU"]  # fmt: skip
DFME_BOOKS = ["DFME_train_full_with_AU.xlsx", "DFME_testA_full_with_AU.xlsx",
              "DFME_testB_full_with_AU.xlsx"]  # fmt: skip


def _sheet(path: Path) -> list[tuple]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return rows


def _table(root: Path, layout: str) -> list[dict]:
    """Annotation rows as dicts, read the way the release is laid out."""
    if layout == "dfme":  # three workbooks, header on row 1 (a split may hold no sample)
        books = [_sheet(root / name) for name in DFME_BOOKS]
        return [dict(zip(b[0], r)) for b in books for r in b[1:]]
    name = "CASME2-coding-20140508.xlsx" if layout == "casme2" else "SAMM_Micro_FACS_Codes_v2.xlsx"
    rows = _sheet(root / name)
    header_at = 0 if layout == "casme2" else 12
    header = rows[header_at]
    return [dict(zip(header, r)) for r in rows[header_at + 1 :]]


KEYS = {
    "casme2": (
        "OnsetFrame",
        "ApexFrame",
        "OffsetFrame",
        "Estimated Emotion",
        "CASME2_RAW_selected",
    ),
    "samm": ("Onset Frame", "Apex Frame", "Offset Frame", "Estimated Emotion", "SAMM"),
    "dfme": ("OnsetFrame", "ApexFrame", "OffsetFrame", "Emotion", "frames"),
}


@pytest.mark.parametrize("layout", ["casme2", "samm", "dfme"])
def test_layout_files_match_the_documented_release(tmp_path, layout):
    res = write_dataset(tmp_path, layout, subjects=3, clips_per_subject=2, seed=1, **TINY)
    assert (res.written, res.skipped, res.failed) == (6, 0, [])
    onset_k, apex_k, offset_k, emo_k, frames_root = KEYS[layout]
    if layout == "casme2":
        assert list(_sheet(res.annotation)[0]) == CASME2_COLUMNS  # header on row 1
    elif layout == "samm":
        rows = _sheet(res.annotation)
        assert list(rows[12]) == SAMM_COLUMNS  # header on sheet row 13
        assert rows[0][0] and all(r[0] != "Subject" for r in rows[:12])  # a preamble above it
    else:
        assert all(list(_sheet(tmp_path / b)[0]) == DFME_COLUMNS for b in DFME_BOOKS)
    table = _table(tmp_path, layout)
    assert len(table) == 3 * 2
    truth = json.loads(res.truth.read_text())
    by_id = {s["sample_id"]: s for s in truth["samples"]}
    assert len(by_id) == 6
    for row in table:
        subject = row["Subject"]
        if layout == "casme2":
            assert isinstance(subject, int)
            folder = tmp_path / frames_root / f"sub{subject:02d}" / row["Filename"]
        elif layout == "samm":
            assert isinstance(subject, str) and len(subject) == 3 and subject.isdigit()
            folder = tmp_path / frames_root / subject / row["Filename"]
        else:  # DFME: sub0001, sub0001_01
            assert re.fullmatch(r"sub\d{4}", subject) and row["Filename"].startswith(subject)
            assert DATASET_LABELS["dfme"][row["EmotionId"]] == row["Emotion"]
            assert row["Fps"] in (500, 300, 200)
            folder = tmp_path / frames_root / subject / row["Filename"]
        frames = list_frames(folder)
        numbers = [frame_number(p) for p in frames]
        onset, apex, offset = (int(row[k]) for k in (onset_k, apex_k, offset_k))
        assert numbers == list(range(onset, offset + 1))  # consecutive, onset..offset
        assert onset < apex < offset
        rec = by_id[f"{folder.parent.name}/{folder.name}"]
        assert (rec["onset"], rec["apex"], rec["offset"]) == (onset, apex, offset)
        assert rec["n_frames"] == len(frames)
        assert row[emo_k] in DATASET_LABELS[layout]
        assert dataset_label(layout, row[emo_k]) == rec["emotion"] or rec["emotion"] == "others"
        aus = row["AU" if layout == "dfme" else "Action Units"]
        assert au_numbers(parse_aus(aus)) == set(rec["au_numbers"])
        img = cv2.imread(str(frames[0]), cv2.IMREAD_UNCHANGED)
        assert img.shape[:2] == (96, 128)
        if layout == "casme2":
            assert frames[0].name == f"img{onset}.jpg" and onset > 1
        elif layout == "samm":
            assert frames[0].name == f"{subject}_{onset:05d}.jpg" and img.ndim == 2
            assert row["Duration"] == offset - onset + 1
        else:
            assert frames[0].name == f"{onset}.jpg"
            assert int(row["Fps"]) == {"A": 500, "B": 300, "C": 200}[rec["part"]]
            assert rec["fps"] == float(row["Fps"])
            assert (apex - onset) / rec["fps"] == pytest.approx(rec["rise"], abs=1 / rec["fps"])


def test_emotions_cycle_through_the_datasets_vocabulary(tmp_path):
    res = write_dataset(tmp_path / "s", "samm", subjects=2, clips_per_subject=4, **TINY)
    labels = [s["label"] for s in res.samples]
    assert labels == list(DATASET_LABELS["samm"])  # 8 clips, 8 labels, each once
    some = write_dataset(
        tmp_path / "c",
        "casme2",
        subjects=1,
        clips_per_subject=4,
        emotions=["Happiness", "repression"],
        **TINY,
    )
    assert [s["label"] for s in some.samples] == ["happiness", "repression"] * 2
    happy = {n for s in some.samples if s["label"] == "happiness" for n in s["au_numbers"]}
    assert happy <= {6, 12}
    with pytest.raises(ConfigError, match="not a dfme label"):
        write_dataset(tmp_path / "d", "dfme", emotions=["repression"], **TINY)


def test_quirks_are_written_but_truth_keeps_the_real_values(tmp_path):
    res = write_dataset(tmp_path, "casme2", subjects=2, clips_per_subject=4, quirks=True, **TINY)
    table = _table(tmp_path, "casme2")
    slash = [r for r in table if r["ApexFrame"] == "/"]
    unsure = [r for r in table if "(?)" in str(r["Action Units"])]
    assert slash and unsure
    truth = {s["filename"]: s for s in res.samples}
    for r in slash:
        rec = truth[r["Filename"]]
        assert "apex-slash" in rec["quirks"] and rec["onset"] < rec["apex"] < rec["offset"]
    clean = write_dataset(tmp_path / "clean", "casme2", subjects=2, clips_per_subject=4, **TINY)
    assert all(not s["quirks"] for s in clean.samples)
    assert all(r["ApexFrame"] != "/" for r in _table(tmp_path / "clean", "casme2"))


def test_saved_flow_is_the_true_flow(tmp_path):
    res = write_dataset(
        tmp_path, "dfme", subjects=1, clips_per_subject=1, save_flow=True, fps=100, **TINY
    )
    rec = res.samples[0]
    flow = np.load(tmp_path / rec["flow"])
    assert flow.shape == (96, 128, 2) and flow.dtype == np.float32
    peak = np.hypot(flow[..., 0], flow[..., 1]).max()
    assert 0 < peak < 2 * rec["amplitude"]  # frame pixels of a face smaller than 256 px
    assert rec["part"] == "A"  # 100 fps is no DFME part: the cycle's part is kept


def test_rerun_resumes_and_a_failed_clip_is_recorded(tmp_path, monkeypatch):
    real = synth_dataset.synth_clip
    calls = []

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated renderer crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(synth_dataset, "synth_clip", flaky)
    first = write_dataset(tmp_path, "casme2", subjects=2, clips_per_subject=2, **TINY)
    assert first.written == 3 and len(first.failed) == 1
    assert "simulated renderer crash" in first.failed[0]["error"]
    assert len(_table(tmp_path, "casme2")) == 3  # the failed clip is left out
    stale = tmp_path / "CASME2_RAW_selected" / "sub01" / ".synth-tmp-EP99_01-1234"
    stale.mkdir()
    (stale / "img1.jpg").write_bytes(b"partial")
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "CASME2_RAW_selected").rglob("*.jpg")}
    monkeypatch.setattr(synth_dataset, "synth_clip", real)
    second = write_dataset(tmp_path, "casme2", subjects=2, clips_per_subject=2, **TINY)
    assert (second.written, second.skipped, second.failed) == (1, 3, [])
    assert len(_table(tmp_path, "casme2")) == 4 and len(second.samples) == 4
    assert not stale.exists()
    for p, t in before.items():  # finished clips were not rewritten
        if p.exists():
            assert p.stat().st_mtime_ns == t
    with pytest.raises(ConfigError, match="other options"):
        write_dataset(tmp_path, "casme2", subjects=3, clips_per_subject=2, **TINY)
    again = write_dataset(
        tmp_path, "casme2", subjects=1, clips_per_subject=1, overwrite=True, **TINY
    )
    assert again.written == 1 and len(_table(tmp_path, "casme2")) == 1
    assert len(list((tmp_path / "CASME2_RAW_selected").iterdir())) == 1


def test_same_seed_same_dataset(tmp_path):
    a = write_dataset(tmp_path / "a", "samm", subjects=2, clips_per_subject=1, seed=7, **TINY)
    b = write_dataset(tmp_path / "b", "samm", subjects=2, clips_per_subject=1, seed=7, **TINY)
    assert a.samples == b.samples
    fa = sorted((tmp_path / "a").rglob("*.jpg"))
    fb = sorted((tmp_path / "b").rglob("*.jpg"))
    assert [p.name for p in fa] == [p.name for p in fb]
    assert fa[5].read_bytes() == fb[5].read_bytes()


def test_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ConfigError, match="not empty"):
        write_dataset(tmp_path, "casme2", **TINY)
    with pytest.raises(ConfigError, match="layout"):
        write_dataset(tmp_path / "x", "smic", **TINY)


def test_a_base_face_that_is_not_found_is_skipped(tmp_path, monkeypatch):
    real = synth_dataset.load_base
    refused = []

    def picky(name=None):
        if isinstance(name, str) and name.startswith("lfw:") and not refused:
            refused.append(name)
            raise synth_dataset.FaceNotFoundError(f"{name}: no face")
        return real(name)

    monkeypatch.setattr(synth_dataset, "load_base", picky)
    res = write_dataset(tmp_path, "dfme", subjects=3, clips_per_subject=1, fps=50, **TINY)
    bases = [s["base"] for s in res.samples]
    assert len(bases) == 3 and bases[0] == "astronaut" and refused[0] not in bases
    assert len(set(bases)) == 3
