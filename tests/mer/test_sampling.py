"""Key-frame sampling: every strategy in seconds, so mixed frame rates agree."""

from __future__ import annotations

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.mer.sampling import gather_frames, list_samplers, sample_frames

FPS = (500, 300, 200)


def event(fps: int, onset: int = 11) -> dict:
    """An ME lasting 0.3 s with its apex at 0.1 s, recorded at ``fps``."""
    return {
        "onset": onset,
        "apex": onset + round(0.1 * fps),
        "offset": onset + round(0.3 * fps),
        "fps": fps,
        "available": range(onset - 3, onset + round(0.3 * fps) + 4),
    }


def test_registry_lists_the_five_strategies():
    assert list_samplers() == ["apex_window", "interpolate", "onset_apex", "triplet", "uniform"]


@pytest.mark.parametrize(
    ("strategy", "n", "expected"),
    [
        ("uniform", 7, [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]),
        ("onset_apex", 6, [0.0, 0.02, 0.04, 0.06, 0.08, 0.1]),
        ("apex_window", 5, [0.08, 0.09, 0.1, 0.11, 0.12]),
        ("interpolate", 4, [0.0, 0.1, 0.2, 0.3]),
        ("triplet", 3, [0.0, 0.1, 0.3]),
    ],
)
def test_mixed_fps_give_the_same_time_points(strategy, n, expected):
    seen = []
    for fps in FPS:
        ev = event(fps)
        sel = sample_frames(strategy, n=n, window=0.04, **ev)
        assert len(sel) == n
        assert np.allclose(sel.times, expected, atol=1e-12)
        # the frames read are the ones at those times (exactly: 5 ms multiples at every rate)
        assert [(f - ev["onset"]) / fps for f in sel.frames] == pytest.approx(expected, abs=1e-9)
        seen.append(sel.times)
    assert seen[0] == seen[1] == seen[2]


def test_non_grid_times_pick_the_nearest_frame():
    for fps in FPS:
        ev = event(fps)
        sel = sample_frames("onset_apex", n=7, **ev)  # 1/60 s steps: not on every frame grid
        got = (np.asarray(sel.frames) - ev["onset"]) / fps
        assert np.all(np.abs(got - np.asarray(sel.times)) <= 0.5 / fps + 1e-12)


def test_uniform_repeats_frames_of_a_short_clip_and_interpolate_blends():
    ev = {"onset": 1, "apex": 2, "offset": 3, "fps": 30.0, "available": [1, 2, 3]}
    sel = sample_frames("uniform", n=5, **ev)
    assert sel.frames == (1, 1, 2, 2, 3)  # ties go to the earlier frame
    interp = sample_frames("interpolate", n=5, **ev)
    assert interp.frames == (1, 1, 2, 2, 3)
    assert interp.upper == (1, 2, 2, 3, 3)
    assert interp.weights == pytest.approx((0.0, 0.5, 0.0, 0.5, 0.0))
    frames = np.stack([np.full((2, 2, 3), v, np.uint8) for v in (10, 20, 40)])
    out = gather_frames(frames, [1, 2, 3], interp)
    assert out.dtype == np.uint8
    assert out[:, 0, 0, 0].tolist() == [10, 15, 20, 30, 40]


def test_gaps_are_bridged_by_the_nearest_available_frame():
    ev = {"onset": 0, "apex": 5, "offset": 10, "fps": 100.0, "available": [0, 1, 2, 8, 9, 10]}
    sel = sample_frames("uniform", n=11, **ev)
    assert sel.frames == (0, 1, 2, 2, 2, 2, 8, 8, 8, 9, 10)  # 5 is equidistant: earlier wins


def test_apex_window_moves_inside_the_clip_without_shrinking():
    ev = {"onset": 0, "apex": 1, "offset": 20, "fps": 100.0, "available": range(0, 21)}
    sel = sample_frames("apex_window", n=3, window=0.1, **ev)
    assert sel.frames == (0, 5, 10)


def test_triplet_fills_longer_inputs_with_consecutive_thirds():
    ev = {"onset": 0, "apex": 6, "offset": 20, "fps": 100.0, "available": range(0, 21)}
    assert sample_frames("triplet", n=7, **ev).frames == (0, 0, 0, 6, 6, 20, 20)
    assert sample_frames("triplet", n=6, **ev).frames == (0, 0, 6, 6, 20, 20)


def test_missing_apex_uses_the_midpoint_and_outside_apex_is_clipped():
    ev = {"onset": 0, "offset": 20, "fps": 100.0, "available": range(0, 21)}
    assert sample_frames("triplet", apex=None, n=3, **ev).frames == (0, 10, 20)
    assert sample_frames("triplet", apex=50, n=3, **ev).frames == (0, 20, 20)


def test_jitter_is_seeded_bounded_and_ordered():
    ev = event(200)
    a = sample_frames("uniform", n=9, jitter=0.02, rng=np.random.default_rng(5), **ev)
    b = sample_frames("uniform", n=9, jitter=0.02, rng=np.random.default_rng(5), **ev)
    c = sample_frames("uniform", n=9, jitter=0.02, rng=np.random.default_rng(6), **ev)
    plain = sample_frames("uniform", n=9, **ev)
    assert a == b and a != c
    assert list(a.times) == sorted(a.times)
    assert np.all(np.abs(np.sort(a.times) - np.sort(plain.times)) <= 0.02 * 9)
    lo, hi = (ev["available"][0] - ev["onset"]) / 200, (ev["available"][-1] - ev["onset"]) / 200
    assert min(a.times) >= lo and max(a.times) <= hi
    assert a.times != plain.times


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"strategy": "nope"}, "sampling strategy must be one of"),
        ({"n": 0}, "number of frames"),
        ({"fps": 0}, "fps"),
        ({"offset": 0}, "before onset"),
        ({"available": []}, "no frame numbers"),
        ({"strategy": "triplet", "n": 2}, "n >= 3"),
        ({"strategy": "apex_window", "window": None}, "window"),
        ({"jitter": -1.0}, "jitter"),
    ],
)
def test_bad_arguments_raise_config_errors(kwargs, match):
    args = {"strategy": "uniform", "n": 4, **event(200), "window": 0.1}
    args.update(kwargs)
    strategy = args.pop("strategy")
    with pytest.raises(ConfigError, match=match):
        sample_frames(strategy, **args)


def test_gather_refuses_frames_it_was_not_given():
    sel = sample_frames("uniform", n=2, onset=0, apex=1, offset=2, fps=10.0, available=[0, 2])
    with pytest.raises(ConfigError, match="not among"):
        gather_frames(np.zeros((1, 2, 2, 3), np.uint8), [0], sel)
