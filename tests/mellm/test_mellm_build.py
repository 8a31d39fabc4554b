"""Building records over a `facscope synth` dataset: faithful targets, images, resume, formats."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import pytest

from facscope.errors import FacscopeDataWarning
from facscope.facs import megc3, parse_aus
from facscope.mellm.answer import parse_answer_line
from facscope.mellm.build import BuildConfig, build_records
from facscope.mellm.formats import FORMATS, format_path, write_format
from facscope.mellm.parse import mentioned_aus, mentioned_emotions
from facscope.mellm.records import read_records
from facscope.motion.pipeline import MotionConfig

CFG = BuildConfig(motion=MotionConfig(size=128), image_size=64)  # as the build_dir fixture


def test_targets_name_exactly_the_true_aus_and_label(build_dir, truth):
    records = read_records(build_dir)
    assert len(records) == len(truth)
    for rec in records:
        true = truth[rec.sample_id]
        true_aus = parse_aus(true["aus"])
        assert mentioned_aus(rec.target) == {a.number for a in true_aus}, rec.id
        line = parse_answer_line(rec.target)
        assert [(a.number, a.side) for a in line.aus] == [(a.number, a.side) for a in true_aus]
        assert line.emotion == true["label"] == rec.label
        assert rec.coarse == megc3(true["label"])
        assert set(mentioned_emotions(rec.target)) <= {rec.label, rec.coarse}
        # the prompt states the motion module's legend verbatim and asks for the answer line
        from facscope.motion.colormap import legend_text

        assert legend_text() in rec.prompt and "ANSWER:" in rec.prompt
        assert rec.group == f"casme2/{rec.subject}"


def test_images_are_written_once_and_a_rerun_resumes(build_dir, samples, tmp_path):
    import shutil

    from PIL import Image

    records = read_records(build_dir)
    for rec in records:
        (path,) = rec.image_paths(build_dir)
        with Image.open(path) as im:
            assert im.size == (64, 64)
    stamps = {p: p.stat().st_mtime_ns for p in build_dir.glob("motion/*/*.png")}
    again = build_records(samples, build_dir, CFG, progress=False)
    assert (again.computed, again.cached) == (0, len(samples))
    assert {p: p.stat().st_mtime_ns for p in build_dir.glob("motion/*/*.png")} == stamps
    assert [r.target for r in again.records] == [r.target for r in records]
    # a new input mode reuses the measured motion: no flow is recomputed
    copy = shutil.copytree(build_dir, tmp_path / "copy")
    frames = build_records(samples, copy, replace(CFG, mode="frames"), progress=False)
    assert frames.computed == 0 and all(len(r.images) == 2 for r in frames.records)
    stats = build_records(samples, copy, replace(CFG, mode="stats"), progress=False)
    assert all(r.images == () and "mean" in r.prompt for r in stats.records)
    # other motion options do recompute
    other = build_records(samples[:1], copy, replace(CFG, image_size=48), progress=False)
    assert other.computed == 1


def test_a_bad_sample_is_recorded_and_the_build_carries_on(tmp_path, samples):
    broken = samples[0].with_(frames_dir=tmp_path / "missing")
    unlabelled = samples[1].with_(label=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = build_records([broken, unlabelled, samples[2]], tmp_path / "b",
                            BuildConfig(motion=MotionConfig(size=64)), progress=False)  # fmt: skip
    assert [r.sample_id for r in res.records] == [samples[2].sample_id]
    assert res.failures[0]["id"].endswith(samples[0].sample_id)
    assert "missing" in res.failures[0]["message"]
    assert res.skipped == [{"id": f"casme2/{samples[1].sample_id}", "reason": "no emotion label"}]
    assert any(issubclass(w.category, FacscopeDataWarning) for w in caught)
    saved = json.loads((tmp_path / "b" / "failures.json").read_text())
    assert saved == res.failures
    assert not list((tmp_path / "b").glob("motion/*/.*tmp*"))  # no partial files left behind


def test_formats(build_dir):
    from datasets import load_from_disk

    records = read_records(build_dir)
    for fmt in FORMATS:
        write_format(fmt, records, build_dir)
    ds = load_from_disk(str(format_path(build_dir, "trl")))
    assert len(ds) == len(records)
    row = ds[0]
    assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
    assert row["messages"][1]["content"] == records[0].target
    assert row["images"][0].size == (64, 64) and row["group"] == records[0].group

    llava = json.loads(format_path(build_dir, "llava").read_text())
    assert llava[0]["image"] == records[0].images[0]
    assert llava[0]["conversations"][0]["value"].startswith("<image>\n")
    assert llava[0]["conversations"][1] == {"from": "gpt", "value": records[0].target}
    sharegpt = json.loads(format_path(build_dir, "sharegpt").read_text())
    assert sharegpt[0]["images"] == list(records[0].images)
    assert sharegpt[0]["conversations"][0]["value"].count("<image>") == 1

    rows = [json.loads(x) for x in format_path(build_dir, "mevqa").read_text().splitlines()]
    keys = {"id", "dataset", "image", "subject", "question", "answer"}
    assert all(keys <= set(r) for r in rows)
    by_sample = {r.id: r for r in records}
    for r in rows:
        rec = by_sample[r["sample"]]
        if r["type"] == "fine":
            assert r["answer"] == rec.label
        if r["type"] == "au_present" and r["answer"] == "yes":
            assert mentioned_aus(r["question"]) <= {a.number for a in parse_aus(rec.aus)}
        assert (build_dir / r["image"]).is_file()
    assert {r["type"] for r in rows} >= {"coarse", "fine", "au_names", "au_present", "compound"}


def test_unknown_format_is_an_error(build_dir):
    from facscope.errors import ConfigError

    with pytest.raises(ConfigError, match="format"):
        write_format("alpaca", [], build_dir)


def test_grounding_recall_against_the_truth(build_dir, synth_root, tmp_path):
    import shutil

    from facscope.mellm.grounding import grounding_recall
    from facscope.mellm.records import write_records

    g = grounding_recall(build_dir, synth_root / "truth.json")
    assert g["records"] == len(read_records(build_dir)) and g["aus_exact"] == 1.0
    assert 0.75 <= g["regions"]["recall"] <= 1.0  # 128-px crops (0.89-0.92 measured, docs)
    # a build that names no moving region has zero recall
    copy = shutil.copytree(build_dir, tmp_path / "copy")
    records = [
        r.__class__(**{**r.to_dict(), "images": r.images, "moving": ()}) for r in read_records(copy)
    ]
    write_records(copy / "records.jsonl", records)
    assert grounding_recall(copy, synth_root / "truth.json")["regions"]["named"] == 0


def test_motion_is_read_from_facscope_preprocess_outputs(synth_root, samples, tmp_path):
    from facscope.motion.pipeline import MotionConfig
    from facscope.motion.preprocess import items_from_dataset, run_preprocess, sample_folder

    items = items_from_dataset("casme2", synth_root)[:2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FacscopeDataWarning)
        run_preprocess(items, tmp_path / "pre", config=MotionConfig(size=64), progress=False)
    cfg = BuildConfig(motion=MotionConfig(size=64), preprocessed=str(tmp_path / "pre"))
    res = build_records(samples[:3], tmp_path / "b", cfg, progress=False)
    assert len(res.records) == 3 and not res.failures
    for rec in res.records[:2]:
        done = tmp_path / "pre" / sample_folder(rec.id)
        assert rec.info["preprocessed"] == str(done)
        saved = json.loads((done / "regions.json").read_text())["regions"]
        assert rec.stats == saved
    assert "preprocessed" not in res.records[2].info  # not preprocessed: computed here
