"""``analyze`` clip mode measures motion exactly as ``motion`` does: aligned on the onset, the
apex spotted by the same rule (frames without the face skipped), and the frames it used are
recorded in the answer, the report and trace.json."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from facscope.cli.main import cli
from facscope.io import save_image


def _title_card(shape: tuple[int, ...]) -> np.ndarray:
    import cv2

    card = np.full(shape, 20, np.uint8)
    cv2.putText(card, "THE END", (20, shape[0] // 2), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (255,) * 3, 4)
    return card


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    """A synthetic happiness clip (frames img1…) that cuts to three title-card frames."""
    synth = pytest.importorskip("facscope.synth.clips")
    sc = synth.synth_clip(
        emotion="happiness", amplitude=2.0, frame_size=(240, 180), fps=30, rise=0.1, fall=0.1
    )
    folder = tmp_path_factory.mktemp("clip") / "cut"
    frames = [*sc.frames, *[_title_card(sc.frames[0].shape)] * 3]
    for i, frame in enumerate(frames):
        save_image(folder / f"img{i + 1}.png", frame)
    return folder, sc, len(sc.frames)


@pytest.fixture
def neutral_expert(stub_classifier, monkeypatch):
    import facscope.agent.backends.expert as expert

    monkeypatch.setattr(expert, "_default_classifier", lambda: stub_classifier("neutral"))


def _analyze(folder, out, *extra):
    res = CliRunner().invoke(cli, ["analyze", str(folder), "--out", str(out), *extra])
    assert res.exit_code == 0, res.output
    return res.output, json.loads((out / "trace.json").read_text())


def test_analyze_and_motion_report_the_same_regions_for_the_same_frames(
    tmp_path, clip_folder, neutral_expert
):
    folder, sc, _ = clip_folder
    onset, apex = 1, sc.apex + 1  # frame numbers of img1…
    _, trace = _analyze(folder, tmp_path / "a", "--onset", str(onset), "--apex", str(apex))
    motion = next(r for r in trace["tool_records"] if r["name"] == "motion_map")
    res = CliRunner().invoke(
        cli, ["motion", str(folder), "--onset", str(onset), "--apex", str(apex), "--json",
              "-o", str(tmp_path / "m.png")],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output)
    assert rec["frames"]["onset"] == onset and rec["frames"]["apex"] == apex
    assert motion["data"]["stats"] == rec["regions"]
    clip = trace["input"]["clip"]
    assert (clip["onset"], clip["apex"], clip["apex_rule"]) == (onset, apex, "given")
    assert clip["aligned_on"] == "onset"


def test_the_spotted_apex_is_never_on_the_title_card_and_is_recorded(
    tmp_path, clip_folder, neutral_expert
):
    folder, sc, n = clip_folder
    text, trace = _analyze(folder, tmp_path / "a")
    clip = trace["input"]["clip"]
    assert clip["apex_rule"] == "max-motion"
    assert 1 < clip["apex"] <= n  # a face frame, not one of the cards n+1..n+3
    assert abs(clip["apex"] - (sc.apex + 1)) <= 3
    assert clip["frames_without_face"] == [n + 1, n + 2, n + 3]
    assert f"apex frame {clip['apex']} (spotted by the max-motion rule)" in text
    page = (tmp_path / "a" / "report.html").read_text()
    assert f"apex frame {clip['apex']}" in page and "frames without the face" in page
    # motion spots the same apex
    res = CliRunner().invoke(cli, ["motion", str(folder), "--json", "-o", str(tmp_path / "m.png")])
    assert json.loads(res.output)["frames"]["apex"] == clip["apex"]


def test_a_clip_whose_onset_has_no_face_is_one_error_naming_the_file(tmp_path, clip_folder):
    folder, _, n = clip_folder
    res = CliRunner().invoke(cli, ["analyze", str(folder), "--onset", str(n + 1)])
    assert res.exit_code != 0
    assert f"cut: frame {n + 1} (the onset): no face found" in res.output
    assert "Traceback" not in res.output
