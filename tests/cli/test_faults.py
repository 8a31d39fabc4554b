"""Broken configs and inputs through the real CLI: exit code 1, one line that names the file or
the key, no traceback (each case raised a traceback or an unclear message before)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = {
    "motion": ["motion", "--config", "{cfg}"],
    "preprocess": ["preprocess", "x.csv", "-o", "{out}", "--config", "{cfg}"],
    "mer train": ["mer", "train", "--config", "{cfg}"],
    "mer grid": ["mer", "grid", "--config", "{cfg}"],
    "mellm train": ["mellm", "train", "--config", "{cfg}"],
    "rl train": ["rl", "train", "--config", "{cfg}"],
}
RL_TINY = Path(__file__).resolve().parents[2] / "configs" / "rl-tiny-cpu.yaml"


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "facscope.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _one_error_line(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("facscope: error:")]
    assert len(errors) == 1, proc.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_config_that_is_not_utf8_is_one_line_naming_the_file(tmp_path, command):
    cfg = tmp_path / "bad.yaml"
    cfg.write_bytes(b"model: \xff\xfe oops\n")
    (tmp_path / "x.csv").write_text("id,path,onset,apex,offset,fps\n", encoding="utf-8")
    args = [a.format(cfg=cfg, out=tmp_path / "out") for a in COMMANDS[command]]
    _one_error_line(_run(args, tmp_path), str(cfg), "UTF-8")


def test_a_wrong_type_names_its_key(tmp_path):
    cfg = tmp_path / "mer.yaml"
    cfg.write_text("data: csv\nroot: m.csv\nmodel: ststnet\nepochs: three\n", encoding="utf-8")
    _one_error_line(_run(["mer", "train", "--config", str(cfg)], tmp_path), "epochs", "three")


def test_a_wrong_type_in_an_rl_recipe_names_its_key(tmp_path):
    cfg = tmp_path / "rl.yaml"
    cfg.write_text(
        RL_TINY.read_text(encoding="utf-8").replace("max_steps: 2", "max_steps: two"),
        encoding="utf-8",
    )
    _one_error_line(_run(["rl", "train", "--config", str(cfg)], tmp_path), "max_steps", "two")


def test_a_flow_parameter_that_is_not_a_number_names_the_parameters(tmp_path):
    proc = _run(["motion", "--flow-param", "lambda_=abc", "-o", str(tmp_path / "m.png")], tmp_path)
    _one_error_line(proc, "flow method 'tvl1'", "abc", "lambda_")


def test_a_csv_that_is_not_utf8_is_one_line_naming_it(tmp_path):
    bad = tmp_path / "clips.csv"
    bad.write_bytes(b"id,path\n\xff\xfe,x\n")
    _one_error_line(_run(["preprocess", str(bad), "-o", str(tmp_path / "o")], tmp_path), str(bad))


def test_no_face_on_the_onset_names_the_image(tmp_path):
    import numpy as np

    from facscope.io import save_image

    onset, apex = tmp_path / "onset.png", tmp_path / "apex.png"
    save_image(onset, np.full((120, 120, 3), 120, np.uint8))
    save_image(apex, np.full((120, 120, 3), 121, np.uint8))
    proc = _run(["motion", str(onset), str(apex), "-o", str(tmp_path / "m.png")], tmp_path)
    _one_error_line(proc, str(onset), "no face")
