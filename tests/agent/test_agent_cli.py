"""``facscope analyze`` and ``facscope eval agent`` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
from click.testing import CliRunner

from facscope.cli.main import cli
from facscope.io import save_image


def test_analyze_with_no_arguments_works_offline(tmp_path, require_fer):
    res = subprocess.run(
        [sys.executable, "-m", "facscope.cli", "analyze"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert (
        "emotion: happiness" in res.stdout
        and "AU6 Cheek Raiser" in res.stdout  # measured with the landmarks extra, else inferred
        and "AU12 Lip Corner Puller" in res.stdout
    )
    out = tmp_path / "astronaut_agent"
    trace = json.loads((out / "trace.json").read_text())
    assert trace["answer"]["emotion"] == "happiness" and trace["answer"]["status"] == "ok"
    page = (out / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and page.count("src='data:image/") >= 5
    assert (out / "images" / "00_input.png").exists()


def test_analyze_json_and_clip_folder(tmp_path, stub_classifier, monkeypatch):
    import pytest

    synth = pytest.importorskip("facscope.synth.clips")
    clip = synth.synth_clip(
        emotion="happiness", amplitude=2.0, frame_size=(240, 180), fps=30, rise=0.1, fall=0.1
    )
    folder = tmp_path / "clip"
    for i, frame in enumerate(clip.frames):
        save_image(folder / f"img{i + 1}.png", frame)
    # the expert's classifier is swapped for a stub so the test does not need the fer weights
    import facscope.agent.backends.expert as expert

    monkeypatch.setattr(expert, "_default_classifier", lambda: stub_classifier("neutral"))
    res = CliRunner().invoke(
        cli, ["analyze", str(folder), "--onset", "1", "--apex", str(clip.apex + 1), "--json",
              "--out", str(tmp_path / "out")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output)
    assert summary["au_basis"] == "measured" and 12 in summary["aus"]
    trace = json.loads((tmp_path / "out" / "trace.json").read_text())
    assert trace["input"]["kind"] == "clip"
    assert "motion_map" in [r["name"] for r in trace["tool_records"]]


def test_analyze_bad_backend_options_are_one_clear_line(tmp_path):
    res = CliRunner().invoke(cli, ["analyze", "--backend", "openai"], env={"OPENAI_BASE_URL": ""})
    assert res.exit_code == 1 and "needs base_url" in res.output
    res = CliRunner().invoke(cli, ["analyze", "--backend", "nope"])
    assert res.exit_code == 1 and "must be one of" in res.output


def test_eval_agent_on_a_folder_dataset_resumes(tmp_path, astronaut, noise_image, require_fer):
    root = tmp_path / "data"
    save_image(root / "happy" / "astro.png", astronaut)
    save_image(root / "neutral" / "wall.png", noise_image)
    save_image(root / "sad" / "astro_flip.png", np.ascontiguousarray(astronaut[:, ::-1]))
    out = tmp_path / "eval"
    args = [
        "eval",
        "agent",
        "--data",
        "folder",
        "--root",
        str(root),
        "--out",
        str(out),
        "--no-progress",
    ]
    res = CliRunner().invoke(cli, [*args, "--limit", "2"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["n"] == 2
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n"] == 3 and metrics["scored"] == 3 and metrics["classes"][-1] == "neutral"
    assert metrics["per_class"]["happiness"]["support"] == 1
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and {r["label"] for r in rows} == {"happiness", "neutral", "sadness"}
    config = json.loads((out / "config.json").read_text())
    assert config["backend"]["name"] == "expert" and config["classes"][0] == "anger"


def test_eval_agent_refuses_to_mix_settings_and_an_empty_dataset(tmp_path):
    root = tmp_path / "data"
    (root / "happiness").mkdir(parents=True)
    save_image(root / "happiness" / "a.png", np.zeros((32, 32, 3), np.uint8))
    out = tmp_path / "out"
    base = [
        "eval",
        "agent",
        "--data",
        "folder",
        "--root",
        str(root),
        "--out",
        str(out),
        "--no-progress",
    ]
    assert CliRunner().invoke(cli, base).exit_code == 0
    res = CliRunner().invoke(cli, [*base, "--max-zooms", "1"])
    assert res.exit_code == 1 and "other settings" in res.output and "agent.max_zooms" in res.output
    res = CliRunner().invoke(cli, [*base, "--max-zooms", "1", "--overwrite"])
    assert res.exit_code == 0, res.output
    empty = tmp_path / "empty"
    empty.mkdir()
    res = CliRunner().invoke(cli, ["eval", "agent", "--data", "folder", "--root", str(empty),
                                   "--out", str(tmp_path / "o2"), "--no-progress"])  # fmt: skip
    assert res.exit_code == 1 and "no samples" in res.output
