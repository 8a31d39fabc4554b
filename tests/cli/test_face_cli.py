"""The face commands, run as a user runs them: in a subprocess, on the embedded default and on bad files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from facscope.cli.main import cli


def run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "facscope.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def test_detect_json_on_embedded_default():
    res = run("detect", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["image"].startswith("astronaut")
    (face,) = out["faces"]
    assert len(face["box"]) == 4 and face["score"] > 0.99
    assert np.array(face["landmarks"]).shape == (5, 2)


def test_detect_no_face_is_empty_list(tmp_path):
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(tmp_path / "wall.png")
    res = CliRunner().invoke(cli, ["detect", str(tmp_path / "wall.png"), "--json"])
    assert res.exit_code == 0
    assert json.loads(res.output)["faces"] == []


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "file is empty"),
        (lambda p: p.write_text("not an image"), "not a recognised image format"),
        (lambda p: p.mkdir(), "is a directory"),
    ],
)
def test_bad_input_gives_one_clear_line(tmp_path, make, message):
    p = tmp_path / "input.jpg"
    make(p)
    res = run("detect", str(p))
    assert res.returncode == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr  # no traceback
    assert str(p) in lines[0] and message in lines[0]


def test_align_regions_zoom_write_images(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["align", "-o", str(tmp_path / "a.png")])
    assert res.exit_code == 0, res.output
    assert Image.open(tmp_path / "a.png").size == (256, 256)

    res = runner.invoke(cli, ["regions", "-o", str(tmp_path / "r.png")])
    assert res.exit_code == 0 and Image.open(tmp_path / "r.png").size == (512, 512)

    res = runner.invoke(
        cli,
        ["zoom", "--region", "mouth", "--scale", "1.5", "-o", str(tmp_path / "z.png"), "--json"],
    )
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    x1, y1, x2, y2 = info["box"]
    assert 180 < x1 < x2 < 270 and 110 < y1 < y2 < 180  # the mouth, in original pixels
    assert max(Image.open(tmp_path / "z.png").size) == 224


def test_zoom_box_and_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(
        cli, ["zoom", "--box", "100,100,200,150", "-o", str(tmp_path / "b.png"), "--json"]
    )
    assert res.exit_code == 0 and json.loads(res.output)["box"] == [100, 100, 200, 150]
    res = runner.invoke(cli, ["zoom", "--region", "elbow", "-o", str(tmp_path / "e.png")])
    assert res.exit_code == 1 and "region must be one of" in res.output
    res = runner.invoke(cli, ["zoom", "-o", str(tmp_path / "e.png")])
    assert res.exit_code == 1 and "exactly one of --region" in res.output
    res = runner.invoke(cli, ["zoom", "--list-regions"])
    assert "left_lip_corner" in res.output


def test_align_without_a_face_fails_clearly(tmp_path):
    Image.fromarray(np.full((120, 160, 3), 90, np.uint8)).save(tmp_path / "wall.png")
    res = CliRunner().invoke(
        cli, ["align", str(tmp_path / "wall.png"), "-o", str(tmp_path / "x.png")]
    )
    assert res.exit_code == 1 and "wall.png: no face found" in res.output


def test_import_facscope_is_light():
    code = "import sys, facscope; bad = {'cv2', 'torch', 'transformers', 'trl', 'skimage'} & set(sys.modules); print(sorted(bad))"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert res.stdout.strip() == "[]"
