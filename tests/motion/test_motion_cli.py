"""``facscope motion`` and ``facscope preprocess`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from click.testing import CliRunner
from PIL import Image

from facscope.cli.main import cli


def test_motion_on_the_embedded_synthetic_clip(tmp_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "facscope.cli",
            "motion",
            "--json",
            "-o",
            "map.png",
            "--legend",
            "legend.png",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["input"].startswith("synthetic clip")
    assert abs(out["apex"] - out["truth"]["apex"]) <= 3 and out["apex_rule"] == "max-motion"
    assert out["flow"]["method"] == "tvl1" and out["flow"]["params"]["lambda_"] == 0.15
    assert out["compensation"]["nose_window"] == 11
    regions = {r["region"]: r for r in out["regions"]}
    assert regions["left_lip_corner"]["direction"] in ("up-right", "up")  # AU12 (happiness)
    img = np.asarray(Image.open(tmp_path / "map.png"))
    assert img.shape == (256, 256, 3)
    assert Image.open(tmp_path / "legend.png").size == (512, 320)


def test_motion_on_two_images_and_on_a_frame_folder(tmp_path, small_demo, write_frames):
    from facscope.io import save_image

    on, ap = (
        save_image(tmp_path / "on.png", small_demo.frames[0]),
        save_image(tmp_path / "ap.png", small_demo.frames[2]),
    )
    runner = CliRunner()
    r = runner.invoke(
        cli, ["motion", str(on), str(ap), "-o", str(tmp_path / "m.png"), "--flow", "dis", "--json"]
    )
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["apex_rule"] == "annotated" and rec["flow"]["method"] == "dis"
    assert (tmp_path / "m.png").is_file()

    folder = tmp_path / "clip"
    write_frames(folder, small_demo.frames, start=10)
    r = runner.invoke(
        cli,
        [
            "motion",
            str(folder),
            "--onset",
            "10",
            "--apex",
            "12",
            "-o",
            str(tmp_path / "c.png"),
            "--flow",
            "farneback",
            "--flow-param",
            "winsize=9",
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["frames"] == {"onset": 10, "apex": 12, "offset": 14}
    assert rec["flow"]["params"]["winsize"] == 9
    r = runner.invoke(
        cli,
        [
            "motion",
            str(folder),
            "--fps",
            "200",
            "--text",
            "-o",
            str(tmp_path / "t.png"),
            "--flow",
            "dis",
            "--save-dir",
            str(tmp_path / "all"),
        ],
    )
    assert r.exit_code == 0, r.output
    assert "left brow: mean" in r.output and (tmp_path / "all" / "meta.json").is_file()


def test_motion_errors_are_one_clear_line(tmp_path):
    runner = CliRunner()
    r = runner.invoke(cli, ["motion", str(tmp_path / "nope")])
    assert r.exit_code == 1 and "no such frame folder or video file" in r.output
    r = runner.invoke(cli, ["motion", "--flow", "raft"])
    assert r.exit_code == 1 and "flow method must be one of" in r.output
    r = runner.invoke(cli, ["motion", "a.png", "b.png", "c.png"])
    assert r.exit_code == 1 and "got 3 inputs" in r.output


def test_preprocess_cli_on_a_csv(tmp_path, small_demo, write_frames):
    folder = tmp_path / "clip"
    write_frames(folder, small_demo.frames, start=1)
    csv = tmp_path / "clips.csv"
    csv.write_text(
        f"id,path,onset,apex,offset,fps\na,{folder},1,3,5,200\nb,{tmp_path}/none,1,2,3,\n"
    )
    r = CliRunner().invoke(
        cli, ["preprocess", str(csv), "-o", str(tmp_path / "out"), "--flow", "dis", "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    assert "2 sample(s): 1 done, 0 already done, 1 failed" in r.output
    assert (tmp_path / "out" / "a" / "colormap.png").is_file()
    r = CliRunner().invoke(cli, ["preprocess", "-o", str(tmp_path / "o2")])
    assert r.exit_code == 1 and "exactly one of CSV_FILE or --data" in r.output


def test_config_file_with_flag_overrides(tmp_path, small_demo):
    from facscope.io import save_image

    on = save_image(tmp_path / "on.png", small_demo.frames[0])
    ap = save_image(tmp_path / "ap.png", small_demo.frames[2])
    cfg = tmp_path / "motion.yaml"
    cfg.write_text("flow: farneback\nflow_params: {winsize: 11}\nnose_window: 5\n")
    args = [
        "motion",
        str(on),
        str(ap),
        "-o",
        str(tmp_path / "m.png"),
        "--json",
        "--config",
        str(cfg),
    ]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    rec = json.loads(r.output)
    assert rec["flow"]["method"] == "farneback" and rec["flow"]["params"]["winsize"] == 11
    assert rec["compensation"]["nose_window"] == 5
    r = CliRunner().invoke(cli, [*args, "--nose-window", "7"])
    assert json.loads(r.output)["compensation"]["nose_window"] == 7
    cfg.write_text("flow: dis\nwindow: 3\n")
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1 and "motion config: unknown key(s) ['window']" in r.output
