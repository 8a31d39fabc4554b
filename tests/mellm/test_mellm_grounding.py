"""The bar: on synthetic clips, the regions a target names as moving are the ones the true AUs
move (measured with real TV-L1 flow), and the target names exactly the true AUs and label."""

from __future__ import annotations

import pytest

from facscope.mellm.describe import describe
from facscope.mellm.motion_input import frames_motion
from facscope.mellm.parse import mentioned_aus
from facscope.mellm.regions import main_regions, read_region_stats
from facscope.motion.clip import align_frame
from facscope.motion.pipeline import MotionConfig
from facscope.synth.clips import synth_clip


@pytest.mark.parametrize(
    "emotion", ["happiness", "surprise", "disgust", "sadness", "anger", "contempt", "repression"]
)
def test_named_moving_regions_cover_the_true_aus_main_regions(emotion):
    clip = synth_clip("lfw:3", emotion=emotion, amplitude=2.0, frame_size=(256, 192), noise=1.0)
    onset, apex = clip.frames[clip.onset], clip.frames[clip.apex]
    # the true face on the onset frame stands in for detection (tested elsewhere)
    alignment = align_frame(onset, size=256, face=clip.face)
    motion = frames_motion(onset, apex, config=MotionConfig(size=256), alignment=alignment)
    d = describe(clip.aus, clip.emotion, read_region_stats(motion.stats), seed=emotion)
    truth = set().union(*(main_regions(a.number, a.side) for a in clip.aus))
    assert truth, "every synthetic AU here has a canonical region"
    assert truth <= set(d.moving), f"{emotion}: {sorted(truth - set(d.moving))} not named"
    assert mentioned_aus(d.text) == {a.number for a in clip.aus}
    assert d.label == clip.emotion
    # each true AU is tied to at least one moving region of its own
    assert all(d.evidence[a.number] for a in clip.aus)


def test_a_still_face_has_no_moving_region():
    clip = synth_clip("lfw:3", emotion="happiness", amplitude=0.0, frame_size=(256, 192), noise=1.0)
    onset, apex = clip.frames[clip.onset], clip.frames[clip.apex]
    alignment = align_frame(onset, size=256, face=clip.face)
    motion = frames_motion(onset, apex, config=MotionConfig(size=256), alignment=alignment)
    d = describe(clip.aus, clip.emotion, read_region_stats(motion.stats))
    assert d.moving == ()
    assert "faint" in d.steps[0] or "no region" in d.steps[0].lower() or "subtle" in d.steps[0]
