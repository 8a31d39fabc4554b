"""``facscope eval aus`` on a tiny synthetic SAMM set: every file, resume, refusal, failures."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from facscope.cli.main import cli
from facscope.face import landmarks

pytestmark = pytest.mark.skipif(
    not landmarks.landmarks_available(), reason="needs the landmarks extra (docs/aus.md)"
)


@pytest.fixture(scope="module")
def samm(tmp_path_factory):
    from facscope.synth.dataset import write_dataset

    root = tmp_path_factory.mktemp("samm")
    write_dataset(root, "samm", subjects=2, clips_per_subject=2, amplitude=2.0, fps=100,
                  frame_size=(160, 120), seed=0, progress=False)  # fmt: skip
    return root


def _run(*args):
    return CliRunner().invoke(cli, ["eval", "aus", "--no-progress", *map(str, args)])


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_eval_aus_writes_every_file_and_resumes(tmp_path, samm, monkeypatch):
    out = tmp_path / "out"
    res = _run("--data", "samm", "--root", samm, "--out", out, "--limit", 2)
    assert res.exit_code == 0, res.output
    assert len(_lines(out / "results.jsonl")) == 2
    # resume: only the two samples not yet measured are measured
    from facscope.eval import au_measure

    calls = []
    real = au_measure.measure_sample
    monkeypatch.setattr(
        au_measure, "measure_sample", lambda s, **k: calls.append(s) or real(s, **k)
    )
    res = _run("--data", "samm", "--root", samm, "--out", out)
    assert res.exit_code == 0, res.output
    assert len(calls) == 2
    rows = _lines(out / "results.jsonl")
    assert len(rows) == 4 and len({r["id"] for r in rows}) == 4
    assert all(r["mode"] == "clip" and r["au_basis"] == "measured" for r in rows)
    for name in ("failures.jsonl", "metrics.json", "au_table.md", "au_table.csv", "au_f1.png",
                 "config.json"):  # fmt: skip
        assert (out / name).is_file(), name
    m = json.loads((out / "metrics.json").read_text())
    assert m["n"] == 4 and m["failed"] == 0 and m["label_set"] == "labels"
    assert m["pooling"] == "pooled over all samples" and m["au_basis"] == "measured"
    assert set(m["per_au"]) == {str(a) for a in m["aus"]}
    assert 0 <= m["mean_f1"] <= 1 and m["mean_icc"] is not None  # SAMM codes intensity letters
    printed = json.loads(res.output)
    assert printed["mean_f1"] == pytest.approx(m["mean_f1"], abs=1e-4)
    # a third run measures nothing and gives the same numbers
    calls.clear()
    assert _run("--data", "samm", "--root", samm, "--out", out).exit_code == 0 and not calls
    # a given label set rescores without measuring again
    res = _run("--data", "samm", "--root", samm, "--out", out, "--aus", "1,2,4")
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["aus"] == [1, 2, 4] and not calls
    assert json.loads((out / "metrics.json").read_text())["label_set"] == "given"


def test_changed_settings_are_refused_and_overwrite_starts_over(tmp_path, samm):
    out = tmp_path / "out"
    assert _run("--data", "samm", "--root", samm, "--out", out, "--limit", 1).exit_code == 0
    res = _run("--data", "samm", "--root", samm, "--out", out, "--mode", "still", "--limit", 1)
    assert res.exit_code != 0 and "mode" in res.output and "'auto' → 'still'" in res.output
    res = _run("--data", "samm", "--root", samm, "--out", out, "--mode", "still", "--limit", 1,
               "--overwrite")  # fmt: skip
    assert res.exit_code == 0, res.output
    (row,) = _lines(out / "results.jsonl")
    assert row["mode"] == "still"


def test_a_corrupt_file_is_recorded_alone(tmp_path, samm):
    from facscope.data import load_dataset

    root = tmp_path / "samm"
    shutil.copytree(samm, root)
    bad = load_dataset("samm", root).samples[1]
    onset = next(p for p in bad.frames_dir.iterdir() if p.stem.endswith(f"{bad.onset:05d}"))
    onset.write_bytes(b"not a jpeg")
    out = tmp_path / "out"
    res = _run("--data", "samm", "--root", root, "--out", out)
    assert res.exit_code == 0, res.output
    (fail,) = _lines(out / "failures.jsonl")
    assert fail["id"] == bad.sample_id and fail["status"] == "failed" and fail["error"]
    assert len(_lines(out / "results.jsonl")) == 3
    assert json.loads((out / "metrics.json").read_text())["failed"] == 1
    assert "1 failed samples" in (out / "au_table.md").read_text()
    # the file mended, --retry-errors measures it (and only it): it now counts as measured
    shutil.copy(samm / onset.relative_to(root), onset)
    res = _run("--data", "samm", "--root", root, "--out", out, "--retry-errors")
    assert res.exit_code == 0, res.output
    assert [r["id"] for r in _lines(out / "results.jsonl")][-1] == bad.sample_id
    assert len(_lines(out / "results.jsonl")) == 4
    assert json.loads((out / "metrics.json").read_text())["failed"] == 0


def test_bad_aus_option_is_one_clear_line(tmp_path, samm):
    res = _run("--data", "samm", "--root", samm, "--out", tmp_path / "o", "--aus", "1,x")
    assert res.exit_code != 0 and "--aus" in res.output


def test_a_csv_manifest_of_images_is_measured_in_still_mode(tmp_path):
    from facscope.embedded import default_image
    from facscope.io import save_image

    save_image(tmp_path / "astronaut.png", default_image())
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,subject,label,aus\nastronaut.png,s1,happiness,6+12\n")
    out = tmp_path / "out"
    res = _run("--data", "csv", "--root", manifest, "--out", out)
    assert res.exit_code == 0, res.output
    (row,) = _lines(out / "results.jsonl")
    assert row["mode"] == "still" and row["aus_true_code"] == "6+12"
    m = json.loads((out / "metrics.json").read_text())
    assert m["aus"] == [6, 12] and m["per_au"]["12"]["f1"] == 1.0  # the smile reads AU12 (docs)
