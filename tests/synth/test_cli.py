"""``facscope synth``: datasets, single clips, errors, and resuming after kill -9."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
from click.testing import CliRunner

from facscope.cli.main import cli
from facscope.io import list_frames


def test_synth_dataset_command(tmp_path):
    out = tmp_path / "dfme"
    args = ["synth", str(out), "--layout", "dfme", "--subjects", "2", "--clips-per-subject", "1",
            "--frame-size", "128x96", "--fps", "200", "--amplitude", "1.5", "--seed", "3"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert "2 clips" in res.output and "2 written" in res.output
    from facscope.data.tables import read_xlsx

    table = read_xlsx(out / "DFME_train_full_with_AU.xlsx", header=["Subject"])
    assert [(r.get("Subject"), r.get("Filename"), r.get("Fps")) for r in table] == [
        ("sub0001", "sub0001_01", 200),
        ("sub0002", "sub0002_01", 200),
    ]
    assert (out / "DFME_testA_full_with_AU.xlsx").is_file()
    truth = json.loads((out / "truth.json").read_text())
    assert truth["config"]["amplitude"] == 1.5
    assert all(0.9 * 1.5 * 0.75 <= s["amplitude"] <= 1.5 * 1.25 for s in truth["samples"])
    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0 and "0 written, 2 already there" in again.output


def test_synth_single_clip_command(tmp_path):
    out = tmp_path / "clip"
    args = ["synth", "--clip", str(out), "--aus", "1+2+L12", "--frame-size", "128x96",
            "--fps", "100", "--noise", "0"]  # fmt: skip
    res = CliRunner().invoke(cli, args)
    assert res.exit_code == 0, res.output
    frames = list_frames(out)
    truth = json.loads((out / "truth.json").read_text())
    assert len(frames) == truth["offset"] and truth["onset"] == 1 and truth["apex"] == 16
    assert truth["aus"] == "1+2+L12"
    flow = np.load(out / "flow.npy")
    assert flow.shape == (96, 128, 2)
    busy = CliRunner().invoke(cli, args)
    assert busy.exit_code == 1 and "not empty" in busy.output


def test_synth_argument_errors(tmp_path):
    neither = CliRunner().invoke(cli, ["synth"])
    assert neither.exit_code == 1 and "exactly one of OUT_DIR" in neither.output
    size = CliRunner().invoke(cli, ["synth", str(tmp_path / "x"), "--frame-size", "big"])
    assert size.exit_code == 1 and "WIDTHxHEIGHT" in size.output
    aus = CliRunner().invoke(cli, ["synth", str(tmp_path / "y"), "--aus", "12"])
    assert aus.exit_code == 1 and "--clip" in aus.output


def test_killed_run_resumes_without_partial_clips(tmp_path):
    """kill -9 in the middle of a run, then run again: every clip complete, none partial."""
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "facscope.cli", "synth", str(out), "--layout", "samm",
           "--subjects", "2", "--clips-per-subject", "4", "--frame-size", "160x120",
           "--fps", "300"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 60
    root = out / "SAMM"
    while time.time() < deadline and proc.poll() is None:
        clips = list(root.glob("*/*")) if root.is_dir() else []
        done = [p for p in clips if not p.name.startswith(".")]
        writing = len(done) < len(clips)  # a clip is being written under a temporary name
        if (done and writing) or len(done) >= 3:
            break
        time.sleep(0.02)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if killed:
        assert not (out / "truth.json").exists()  # written only at the end
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0, res.stderr
    truth = json.loads((out / "truth.json").read_text())
    assert len(truth["samples"]) == 8
    assert not list(root.glob("*/.*"))  # no temporary folders left
    for s in truth["samples"]:
        assert len(list_frames(out / s["frames_dir"])) == s["n_frames"]
