"""Apex spotting on synthetic clips with sensor noise at 200 fps, and the midpoint rule."""

from __future__ import annotations

import pytest

from facscope.errors import ConfigError
from facscope.motion.apex import APEX_SIGNALS, face_mask, max_motion_apex, spot_apex
from facscope.motion.clip import Clip


def synth(**kw):
    from facscope.synth.clips import synth_clip

    return synth_clip(fps=200, noise=2.0, frame_size=(320, 240), rise=0.15, fall=0.1, **kw)


@pytest.mark.parametrize(
    ("emotion", "amplitude", "seed", "head"),
    [
        ("happiness", 0.5, 0, 0.0),
        ("disgust", 0.25, 2, 0.0),
        ("sadness", 1.0, 3, 0.5),  # head motion too: the default stabilisation handles it
    ],
)
def test_max_motion_apex_within_three_frames_at_200fps_with_noise(emotion, amplitude, seed, head):
    sc = synth(emotion=emotion, amplitude=amplitude, seed=seed, head_motion=head)
    clip = Clip.from_frames(sc.frames, fps=sc.fps)
    res = spot_apex(clip, onset=sc.onset, offset=sc.offset)
    assert res.rule == "max-motion" and res.signal == "diff"
    assert abs(res.index - sc.apex) <= 3, (res.index, sc.apex)
    assert len(res.curve) == sc.offset - sc.onset + 1 and res.curve[0] == 0


def test_every_signal_finds_a_clear_apex(small_demo):
    clip = Clip.from_frames(small_demo.frames, fps=200)
    al = clip.align(0)
    for signal in APEX_SIGNALS:
        assert spot_apex(clip, alignment=al, signal=signal).index == small_demo.apex, signal


def test_midpoint_rule_and_degenerate_ranges(small_demo):
    clip = Clip.from_frames(small_demo.frames, fps=200)
    assert spot_apex(clip, rule="midpoint").index == 2
    res = spot_apex(clip, onset=1, offset=4, rule="midpoint")
    assert (res.index, res.rule, res.signal) == (2, "midpoint", None)
    assert spot_apex(clip, onset=3, offset=3).index == 3
    with pytest.raises(ConfigError, match="must not come before"):
        spot_apex(clip, onset=3, offset=1)
    with pytest.raises(ConfigError, match="apex rule must be one of"):
        spot_apex(clip, rule="peak")
    with pytest.raises(ConfigError, match="apex signal must be one of"):
        spot_apex(clip, signal="optical", alignment=clip.align(0, face="full"))


def test_frame_folder_hook_returns_a_frame_number(tmp_path, small_demo, write_frames):
    """The dataset adapters' hook: sorted frame files and frame numbers in, a frame number out."""
    files = write_frames(tmp_path, small_demo.frames, start=101, step=2)  # 101, 103, …, 109
    assert max_motion_apex(files, 101, 109, fps=200) == 101 + 2 * small_demo.apex
    assert max_motion_apex(files, 101, 109) == 101 + 2 * small_demo.apex  # fps unknown


def test_face_mask_covers_the_regions():
    m = face_mask(256)
    assert m.dtype == bool and 0.3 < m.mean() < 0.7
    assert m[150, 128] and not m[5, 5]
