"""Batch preprocessing: CSV input, per-sample errors, skip on re-run, kill -9 and resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.motion.pipeline import OUTPUT_FILES, MotionConfig
from facscope.motion.preprocess import (
    ClipItem,
    read_clip_csv,
    read_manifest,
    run_preprocess,
    sample_folder,
)


@pytest.fixture(scope="module")
def clip_dir(tmp_path_factory, small_demo, write_frames) -> Path:
    """One frame folder (img1 … img5, apex at 3) that every test clip points to."""
    folder = tmp_path_factory.mktemp("frames") / "clip"
    write_frames(folder, small_demo.frames, start=1)
    return folder


def write_csv(path: Path, rows: list[tuple]) -> Path:
    lines = ["id,path,onset,apex,offset,fps"] + [",".join(map(str, r)) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_complete(folder: Path) -> None:
    assert sorted(p.name for p in folder.iterdir()) == sorted(OUTPUT_FILES), folder
    json.loads((folder / "meta.json").read_text())
    assert np.load(folder / "flow.npy").shape == (256, 256, 2)


def test_read_clip_csv(tmp_path, clip_dir):
    csv = write_csv(
        tmp_path / "clips.csv",
        [
            ("a", clip_dir, 1, 3, 5, 200),
            ("sub01/b", os.path.relpath(clip_dir, tmp_path), 1, "", 5, ""),
        ],
    )
    a, b = read_clip_csv(csv)
    assert (a.id, a.onset, a.apex, a.offset, a.fps) == ("a", 1, 3, 5, 200.0)
    assert b.path == tmp_path / os.path.relpath(clip_dir, tmp_path) and b.apex is None
    assert b.fps is None
    bad = tmp_path / "bad.csv"
    bad.write_text("name,path\nx,y\n")
    with pytest.raises(ConfigError, match=r"missing column\(s\) \['id'\]"):
        read_clip_csv(bad)
    write_csv(bad, [("x", clip_dir, "one", "", 5, "")])
    with pytest.raises(ConfigError, match="row 2: onset must be a frame number; got 'one'"):
        read_clip_csv(bad)


def test_sample_folders_are_safe():
    assert sample_folder("sub01/EP02_01f") == Path("sub01/EP02_01f")
    assert sample_folder("../../etc/passwd") == Path("etc/passwd")
    assert sample_folder("a b:c") == Path("a_b_c")
    with pytest.raises(ConfigError):
        sample_folder("../..")


def test_bad_samples_are_recorded_and_reruns_skip_finished_ones(tmp_path, clip_dir):
    blank = tmp_path / "blank"
    blank.mkdir()
    from facscope.io import save_image

    for i in (1, 2, 3):
        save_image(blank / f"f{i}.png", np.full((64, 64, 3), 120, np.uint8))
    items = [
        ClipItem(id="s/1", path=clip_dir, onset=1, apex=3, offset=5),
        ClipItem(id="s/2", path=clip_dir, onset=1, offset=4, fps=200),  # apex spotted
        ClipItem(id="missing", path=tmp_path / "nope", onset=1, apex=2, offset=3),
        ClipItem(id="noface", path=blank, onset=1, apex=2, offset=3),
    ]
    cfg = MotionConfig(flow="dis")
    out = tmp_path / "out"
    rep = run_preprocess(items, out, config=cfg, progress=False)
    assert (rep.ok, rep.errors, rep.skipped) == (2, 2, 0)
    assert sorted(rep.failed) == ["missing", "noface"]
    latest = read_manifest(out)
    assert (
        latest["missing"]["status"] == "error"
        and "no such frame folder" in latest["missing"]["error"]
    )
    assert "FaceNotFoundError" in latest["noface"]["error"]
    assert latest["s/2"]["apex_rule"] == "max-motion" and latest["s/2"]["apex"] == 3
    assert latest["s/1"]["apex_rule"] == "annotated"
    for sid in ("s/1", "s/2"):
        assert_complete(out / sid)
    meta = json.loads((out / "s/2/meta.json").read_text())
    assert meta["frames"] == {"onset": 1, "apex": 3, "offset": 4, "apex_rule": "max-motion"}
    assert not (out / ".partial").exists() and not (out / "missing").exists()

    before = (out / "s/1/meta.json").stat().st_mtime_ns
    rep2 = run_preprocess(items, out, config=cfg, progress=False)
    assert (rep2.ok, rep2.errors, rep2.skipped) == (0, 2, 2)  # failures are retried
    assert (out / "s/1/meta.json").stat().st_mtime_ns == before
    assert read_manifest(out)["s/1"]["status"] == "skipped"

    with pytest.raises(ConfigError, match=r"different motion config \(differs in \['flow'\]\)"):
        run_preprocess(items, out, config=MotionConfig(flow="farneback"), progress=False)
    rep3 = run_preprocess(
        items[:1], out, config=MotionConfig(flow="farneback"), overwrite=True, progress=False
    )
    assert rep3.ok == 1
    assert json.loads((out / "s/1/meta.json").read_text())["config"]["flow"] == "farneback"


def test_duplicate_output_folders_are_refused(tmp_path, clip_dir):
    items = [ClipItem(id="a/b", path=clip_dir), ClipItem(id="a//b", path=clip_dir)]
    with pytest.raises(ConfigError, match="same output folder"):
        run_preprocess(items, tmp_path / "out", progress=False)


def test_two_workers_and_a_video(tmp_path, small_demo):
    from facscope.io import write_video

    video = write_video(tmp_path / "clip.mkv", small_demo.frames, fps=200)
    items = [ClipItem(id=f"v{i}", path=video, onset=0, apex=2, offset=4) for i in range(3)]
    rep = run_preprocess(
        items, tmp_path / "out", config=MotionConfig(flow="dis"), workers=2, progress=False
    )
    assert rep.ok == 3, read_manifest(tmp_path / "out")
    for i in range(3):
        assert_complete(tmp_path / "out" / f"v{i}")
    meta = json.loads((tmp_path / "out/v0/meta.json").read_text())
    assert meta["fps"] == pytest.approx(200) and meta["frames"]["apex"] == 2


def run_cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "facscope.cli", "preprocess", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_kill_9_mid_run_then_resume(tmp_path, clip_dir):
    """SIGKILL the real command once some samples are done; the re-run finishes the rest, and
    at no point does a sample folder exist half-written."""
    n = 8
    csv = write_csv(tmp_path / "clips.csv", [(f"c{i}", clip_dir, 1, 3, 5, 200) for i in range(n)])
    out = tmp_path / "out"
    args = (str(csv), "-o", str(out), "--no-progress", "--flow", "tvl1")
    proc = run_cli(*args)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and proc.poll() is None:
        if sum(r["status"] == "ok" for r in read_manifest(out).values()) >= 2:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the run ended before it could be killed: {proc.communicate()}"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    done = sorted(p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith("."))
    assert 2 <= len(done) < n
    for name in done:  # every folder present is complete
        assert_complete(out / name)

    proc = run_cli(*args)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert f"{n} sample(s): {n - len(done)} done, {len(done)} already done, 0 failed" in stdout
    for i in range(n):
        assert_complete(out / f"c{i}")
    assert not (out / ".partial").exists()
    latest = read_manifest(out)
    assert all(latest[f"c{i}"]["status"] in ("ok", "skipped") for i in range(n))
    assert sum(latest[f"c{i}"]["status"] == "skipped" for i in range(n)) == len(done)


def test_preprocess_a_dataset_by_name(tmp_path):
    """A synthetic CASME II release read back by the casme2 adapter and preprocessed by name."""
    from click.testing import CliRunner

    from facscope.cli.main import cli
    from facscope.synth.dataset import write_dataset

    root = tmp_path / "casme2"
    write_dataset(
        root, "casme2", subjects=1, clips_per_subject=2, frame_size=(320, 240), progress=False
    )
    r = CliRunner().invoke(
        cli,
        [
            "preprocess",
            "--data",
            "casme2",
            "--root",
            str(root),
            "-o",
            str(tmp_path / "out"),
            "--flow",
            "dis",
            "--no-progress",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "2 sample(s): 2 done" in r.output
    truth = json.loads((root / "truth.json").read_text())["samples"]
    assert len(truth) == 2
    for t in truth:
        meta = json.loads((tmp_path / "out" / "casme2" / t["sample_id"] / "meta.json").read_text())
        assert meta["sample"]["dataset"] == "casme2" and meta["fps"] == 200
        assert meta["frames"] == {
            "onset": t["onset"],
            "apex": t["apex"],
            "offset": t["offset"],
            "apex_rule": "annotated",
        }
