"""Per-region statistics: the concentration rule, math-coordinate angles, JSON and text."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.face import REGIONS
from facscope.motion.stats import (
    MELLM_REGIONS,
    dominant_direction,
    region_stats,
    stats_json,
    stats_text,
)


@pytest.mark.parametrize(
    ("u", "v", "name", "angle"),
    [
        (1.0, 0.0, "right", 0),
        (0.0, -1.0, "up", 90),  # image y down: v < 0 is up
        (-1.0, -1.0, "up-left", 135),
        (0.0, 1.0, "down", 270),
        (0.3, 0.5, "down-right", 301),
        (1.0, -0.2, "right", 11),  # nearest of eight: 11° is still "right"
        (1.0, -0.5, "up-right", 27),  # 27° rounds to 45°
    ],
)
def test_direction_in_math_coordinates(u, v, name, angle):
    d, a, r = dominant_direction(np.full(10, u), np.full(10, v))
    assert (d, a) == (name, angle) and r == pytest.approx(1.0)


def test_concentration_rule():
    # opposing vectors cancel: R = 0.1 < 0.15
    u = np.array([1.0, -1.0, 1.0, -1.0, 0.25])
    v = np.zeros(5)
    d, a, r = dominant_direction(u, v)
    assert d == "no clear dominant direction" and a is None and r == pytest.approx(0.25 / 4.25)
    # tiny motion: mean magnitude below 1e-4
    assert dominant_direction(np.full(9, 5e-5), np.zeros(9))[0] == "no significant motion"
    # just above the concentration threshold
    u2 = np.array([1.0, -1.0, 0.4])  # R = 0.4 / 2.4 = 0.167
    assert dominant_direction(u2, np.zeros(3))[0] == "right"


def test_regions_see_motion_where_it_is_and_respect_laterality():
    """Motion only in the subject's left brow (viewer's right) shows there and nowhere else."""
    size = 128
    flow = np.zeros((size, size, 2), np.float32)
    b = REGIONS["left_brow"]
    assert b.x1 > 0.5  # subject's left is on the viewer's right
    flow[int(b.y1 * size) + 1 : int(b.y2 * size), int(b.x1 * size) + 1 : int(b.x2 * size)] = (
        0.0,
        -0.8,
    )
    stats = {s.region: s for s in region_stats(flow)}
    assert set(stats) == set(REGIONS)
    assert stats["left_brow"].direction == "up" and stats["left_brow"].angle == 90
    assert stats["left_brow"].max == pytest.approx(0.8)
    assert stats["right_brow"].direction == "no significant motion"
    assert stats["chin"].mean == 0.0


def test_json_is_valid_and_text_is_readable():
    flow = np.zeros((64, 64, 2), np.float32)
    flow[40:52, 20:30] = (-0.5, -0.5)
    stats = region_stats(flow)
    data = json.loads(stats_json(stats))
    assert [r["region"] for r in data["regions"]] == list(REGIONS)
    rec = data["regions"][0]
    assert set(rec) == {"region", "mean", "max", "direction", "angle", "concentration", "pixels"}
    assert all(isinstance(r["mean"], float) for r in data["regions"])
    text = stats_text(stats)
    assert "subject's own" in text and "right lip corner: mean" in text
    moving = stats_text(stats, only_moving=True).splitlines()
    assert 1 < len(moving) < len(stats) + 1
    assert all("no significant motion" not in line for line in moving)


def test_mellm29_approximation():
    assert len(MELLM_REGIONS) == 29
    names = list(MELLM_REGIONS)
    assert sum("eyelid" in n for n in names) == 12 and sum("brow" in n for n in names) == 4
    assert sum("lip" in n for n in names) == 8 and sum("cheek" in n for n in names) == 2
    for n, b in MELLM_REGIONS.items():  # subject's left on the viewer's right
        if n.startswith("left_"):
            assert b.center[0] > 0.5, n
        if n.startswith("right_"):
            assert b.center[0] < 0.5, n
        assert 0 < b.x1 < b.x2 < 1 and 0 < b.y1 < b.y2 < 1
    stats = region_stats(np.zeros((256, 256, 2), np.float32), region_set="mellm29")
    assert len(stats) == 29 and all(s.pixels >= 49 for s in stats)
    with pytest.raises(ConfigError, match="region_set"):
        region_stats(np.zeros((8, 8, 2), np.float32), region_set="dense68")


def test_region_motion_is_the_one_typed_record():
    from facscope.motion.stats import RegionMotion

    rec = region_stats(np.zeros((64, 64, 2), np.float32))[0]
    assert rec.still and rec.compass is None
    assert RegionMotion.from_dict(json.loads(json.dumps(rec.to_dict()))) == rec
    moving = RegionMotion(region="chin", mean=1, max=2, direction="up", angle=90)
    assert moving.compass == "up" and not moving.still
    mixed = RegionMotion.from_dict({"mean": 1, "max": 2, "direction": None}, region="mouth")
    assert mixed.direction == "no clear dominant direction" and mixed.compass is None
    assert not mixed.still and mixed.concentration is None and mixed.pixels is None
    assert RegionMotion.from_dict({"region": "nose", "mean": 1, "max": 1, "direction": "NE"})
    with pytest.raises(ConfigError, match="mean"):
        RegionMotion.from_dict({"region": "mouth", "direction": "up"})
    with pytest.raises(ConfigError, match="region name"):
        RegionMotion.from_dict({"mean": 1, "max": 1, "direction": "up"})
