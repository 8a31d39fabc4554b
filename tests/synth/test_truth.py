"""Every synthetic clip carries the same ground-truth fields."""

from __future__ import annotations

import dataclasses

from facscope.synth.clips import SynthClip
from facscope.synth.demo import DemoClip
from facscope.synth.truth import ClipTruth


def test_clips_share_the_truth_fields_first():
    names = [f.name for f in dataclasses.fields(ClipTruth)]
    assert names == ["frames", "fps", "onset", "apex", "offset", "flow"]
    for cls in (SynthClip, DemoClip):
        assert issubclass(cls, ClipTruth)
        assert [f.name for f in dataclasses.fields(cls)][: len(names)] == names
