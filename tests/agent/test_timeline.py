"""``facscope analyze VIDEO --timeline``: every sampled frame, every face, no guesses."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from facscope.agent.timeline import TIMELINE_COLUMNS, TimelineConfig, video_timeline
from facscope.cli.main import cli
from facscope.errors import ConfigError
from facscope.io import load_image, write_video
from facscope.motion.clip import Clip

FPS = 10


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    """12 frames at 10 fps: the astronaut smiling more and more (AU6+12), then a blank frame
    (no face) at position 8, then the face again. PyAV, lossless FFV1."""
    synth = pytest.importorskip("facscope.synth.clips")
    sc = synth.synth_clip(
        emotion="happiness", amplitude=4.0, frame_size=(240, 200), fps=FPS, rise=0.4, fall=0.3
    )
    picks = np.linspace(0, sc.apex, 12).round().astype(int)  # onset → apex, 12 frames
    frames = [sc.frames[i] for i in picks]
    frames[8] = np.full_like(frames[0], 128)
    path = tmp_path_factory.mktemp("video") / "smile.mkv"
    write_video(path, frames, fps=FPS)
    return path, len(frames)


class _Counting:
    """A classifier stand-in: happiness rises with the frame count; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, image, face=None, *, aligned=None):
        from types import SimpleNamespace

        assert aligned is not None and aligned.image.shape == (256, 256, 3)
        self.calls += 1
        p = min(1.0, 0.1 * self.calls)
        probs = dict.fromkeys(("anger", "disgust", "fear", "sadness", "surprise"), (1 - p) / 6) | {
            "happiness": p,
            "neutral": (1 - p) / 6,
        }
        return SimpleNamespace(label=max(probs, key=probs.get), probabilities=probs)


def test_every_frame_has_a_row_and_the_blank_frame_is_no_face(video, tmp_path):
    path, n = video
    fake = _Counting()
    tl = video_timeline(Clip.from_video(path), classifier=fake, progress=False)
    assert tl.frames == n and tl.sampled == n and tl.video_fps == FPS
    by_frame = {r.frame: r for r in tl.rows}
    assert len(tl.rows) == n  # one face per frame here
    blank = by_frame[8]
    assert blank.status == "no_face" and blank.emotion is None and not blank.probabilities
    assert fake.calls == n - 1  # the blank frame was not classified
    ok = [r for r in tl.rows if r.status == "ok"]
    assert all(r.face == 0 and r.faces == 1 and r.au_basis == "inferred" for r in ok)
    assert ok[-1].emotion == "happiness" and ok[-1].aus == (6, 12)
    assert by_frame[3].time_s == pytest.approx(0.3)
    files = tl.write(tmp_path / "out")
    rows = list(csv.DictReader(files["csv"].open()))
    assert tuple(rows[0]) == TIMELINE_COLUMNS and len(rows) == n
    assert (
        rows[8]["status"] == "no_face" and rows[8]["emotion"] == "" and rows[8]["p_happiness"] == ""
    )
    assert float(rows[11]["p_happiness"]) == pytest.approx(1.0)
    plot = load_image(files["plot"])
    assert plot.shape == (360, 960, 3)
    # the happiness line (orange) is drawn and the no-face frame is shaded
    assert ((plot[..., 0] > 240) & (plot[..., 1] > 140) & (plot[..., 1] < 180)).sum() > 100
    page = files["report"].read_text()
    assert "1 without a face" in page and "inferred from the emotion" in page


def test_sampling_at_a_lower_rate(video):
    path, n = video
    tl = video_timeline(
        Clip.from_video(path), TimelineConfig(fps=5), classifier=_Counting(), progress=False
    )
    assert [r.frame for r in tl.rows] == list(range(0, n, 2))
    with pytest.raises(ConfigError, match="frame rate is unknown"):
        video_timeline(
            Clip.from_frames([np.zeros((8, 8, 3), np.uint8)] * 2),
            TimelineConfig(fps=5),
            progress=False,
        )


def test_the_cli_writes_csv_plot_and_report(video, tmp_path, require_fer):
    path, n = video
    out = tmp_path / "tl"
    res = CliRunner().invoke(
        cli, ["analyze", str(path), "--timeline", "--fps", "5", "--out", str(out), "--json"]
    )
    assert res.exit_code == 0, res.output
    rec = json.loads(res.output[res.output.index("{") :])
    assert rec["sampled"] == n // 2 and rec["no_face"] == 1  # frames 0, 2, …, 8 (blank), 10
    rows = list(csv.DictReader((out / "timeline.csv").open()))
    ok = [r for r in rows if r["status"] == "ok"]
    assert ok and all(r["emotion"] for r in ok)
    # the real classifier's probabilities sum to one
    assert sum(float(ok[0][f"p_{e}"]) for e in ("anger", "disgust", "fear", "happiness",
                                                "sadness", "surprise", "neutral")) == pytest.approx(1, abs=1e-3)  # fmt: skip
    assert (out / "timeline.png").exists() and (out / "report.html").exists()


def test_timeline_needs_a_video_or_folder(tmp_path):
    from facscope.io import save_image

    img = save_image(tmp_path / "a.png", np.zeros((16, 16, 3), np.uint8))
    res = CliRunner().invoke(cli, ["analyze", str(img), "--timeline"])
    assert res.exit_code != 0 and "--timeline needs a video file or a frame folder" in res.output
