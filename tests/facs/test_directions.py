"""One direction vocabulary: the compass of measured motion and the face terms of the catalogue."""

from __future__ import annotations

import pytest

from facscope.errors import ConfigError
from facscope.facs import (
    AU_CATALOGUE,
    COMPASS,
    DIRECTIONS,
    DOWNWARD,
    FACE_DIRECTIONS,
    NO_DIRECTION,
    NO_MOTION,
    UPWARD,
    compass_of,
    normalize_compass,
    outward_compass,
)


def test_compass_is_eight_names_counter_clockwise_from_right():
    assert COMPASS == (
        "right",
        "up-right",
        "up",
        "up-left",
        "left",
        "down-left",
        "down",
        "down-right",
    )
    assert [compass_of(45.0 * k) for k in range(8)] == list(COMPASS)
    assert compass_of(22.0) == "right" and compass_of(23.0) == "up-right"
    assert compass_of(359.0) == "right" and compass_of(-90.0) == "down"
    assert set(UPWARD) | set(DOWNWARD) <= set(COMPASS) and not set(UPWARD) & set(DOWNWARD)


def test_outward_is_away_from_the_subjects_midline():
    assert outward_compass("right") == "left" and outward_compass("left") == "right"
    with pytest.raises(ConfigError, match="side"):
        outward_compass("L")


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("up-right", "up-right"),
        ("Up_Right", "up-right"),
        ("north", "up"),
        ("SW", "down-left"),
        ("No Significant Motion", NO_MOTION),
        ("no-clear-dominant-direction", NO_DIRECTION),
        (None, NO_DIRECTION),
    ],
)
def test_normalize_compass(raw, name):
    assert normalize_compass(raw) == name


def test_normalize_compass_refuses_other_words():
    with pytest.raises(ConfigError, match="direction"):
        normalize_compass("sideways")


def test_every_user_of_directions_shares_the_vocabulary():
    from facscope.agent.motion import MOTION_RULES
    from facscope.mellm.regions import DIRECTIONS8
    from facscope.mellm.templates import DIRECTION_WORDS
    from facscope.motion import stats
    from facscope.motion.colormap import LEGEND

    assert stats.COMPASS is COMPASS and DIRECTIONS8 is COMPASS
    assert (stats.NO_MOTION, stats.NO_DIRECTION) == (NO_MOTION, NO_DIRECTION)
    assert {d for d, _, _ in LEGEND} == set(COMPASS) == set(DIRECTION_WORDS)
    used = {d for rules in MOTION_RULES.values() for dirs, _, _ in rules for d in dirs}
    assert used <= set(COMPASS)
    assert DIRECTIONS is FACE_DIRECTIONS
    assert {au.direction for au in AU_CATALOGUE.values()} <= set(FACE_DIRECTIONS)
