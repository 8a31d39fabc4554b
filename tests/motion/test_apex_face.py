"""The apex spotter never picks a frame without the onset's face (a cut to a title card), and
a clip whose onset shows no face is one clear error naming the clip and the frame."""

from __future__ import annotations

import numpy as np
import pytest

from facscope.errors import FaceNotFoundError
from facscope.motion.apex import motion_curve, spot_apex
from facscope.motion.clip import Clip, open_clip
from facscope.motion.pipeline import MotionConfig, analyse_clip


def _title_card(shape: tuple[int, ...]) -> np.ndarray:
    """A dark card with white text, as a video cuts to at its end."""
    import cv2

    card = np.full(shape, 20, np.uint8)
    cv2.putText(card, "THE END", (30, shape[0] // 2), cv2.FONT_HERSHEY_SIMPLEX, 2, (255,) * 3, 5)
    return card


@pytest.fixture(scope="module")
def cut_clip(small_demo):
    """The demo's 5 frames (apex at 2), then three title-card frames."""
    card = _title_card(small_demo.frames[0].shape)
    return Clip.from_frames([*small_demo.frames, card, card, card], fps=30)


def test_title_card_frames_are_skipped_and_recorded(cut_clip, small_demo):
    res = spot_apex(cut_clip)
    assert res.index == small_demo.apex
    assert res.skipped == (5, 6, 7)
    assert res.to_dict()["skipped"] == [5, 6, 7]
    # without the check the card would win by far: its difference to the onset is the largest
    energy = motion_curve(cut_clip, cut_clip.align(0), 0, 7, signal="diff-energy")
    assert int(np.argmax(energy)) >= 5
    assert spot_apex(cut_clip, signal="diff-energy").index == small_demo.apex


def test_the_pipeline_reports_the_frames_without_face(cut_clip, small_demo):
    res = analyse_clip(cut_clip, config=MotionConfig(flow="dis"))
    assert res.apex == small_demo.apex
    assert res.to_dict()["frames_without_face"] == [5, 6, 7]


def test_the_detector_check_rejects_a_faceless_apex_the_correlation_lets_through(small_demo):
    """A frame that still correlates with the onset (the face blurred beyond recognition but
    the picture kept) is caught by the detector check on the chosen apex."""
    import cv2

    frames = list(small_demo.frames)
    smeared = cv2.GaussianBlur(frames[0], (0, 0), 25)
    frames.append(smeared)
    clip = Clip.from_frames(frames, fps=30)
    res = spot_apex(clip)
    assert res.index == small_demo.apex
    assert 5 in res.skipped


def test_a_clip_without_any_face_after_the_onset_is_an_error(small_demo):
    card = _title_card(small_demo.frames[0].shape)
    clip = Clip.from_frames([small_demo.frames[0], card, card], fps=30)
    with pytest.raises(FaceNotFoundError, match=r"<memory>: no frame after the onset"):
        spot_apex(clip)


def test_an_onset_without_a_face_names_the_file_and_frame(tmp_path, small_demo, write_frames):
    card = _title_card(small_demo.frames[0].shape)
    folder = tmp_path / "clip"
    write_frames(folder, [card, *small_demo.frames[:3]], start=7)
    with pytest.raises(FaceNotFoundError, match=r"clip: frame 7 \(the onset\): no face found"):
        analyse_clip(open_clip(folder), config=MotionConfig(flow="dis"))
