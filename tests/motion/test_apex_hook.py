"""facscope.motion.apex fills the data layer's max-motion hook (data never imports motion)."""

from __future__ import annotations

from facscope.data.clips import APEX_FINDERS


def test_motion_apex_registers_max_motion():
    from facscope.motion.apex import max_motion_apex

    assert APEX_FINDERS.get("max_motion") is max_motion_apex
