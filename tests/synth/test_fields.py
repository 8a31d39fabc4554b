"""AU displacement fields: the right regions move, in the FACS direction, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.face import AU_REGIONS, REGIONS
from facscope.facs import AU, AU_CATALOGUE
from facscope.synth.fields import ExpressionField, au_field, supported_aus

REQUIRED = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26)
SIZE = 128


def _grid(size: int = SIZE) -> np.ndarray:
    c = (np.arange(size) + 0.5) / size
    xx, yy = np.meshgrid(c, c)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


def _region_mask(name: str, size: int = SIZE) -> np.ndarray:
    b = REGIONS[name]
    p = _grid(size)
    return (p[:, 0] >= b.x1) & (p[:, 0] < b.x2) & (p[:, 1] >= b.y1) & (p[:, 1] < b.y2)


def _mean_motion(d: np.ndarray, mask: np.ndarray) -> np.ndarray | None:
    """Mean displacement over the region's moving pixels (None if the region does not move)."""
    mag = np.hypot(d[:, 0], d[:, 1])
    active = mask & (mag > 0.05)
    return d[active].mean(0) if active.sum() >= 5 else None


def test_every_required_au_has_a_field():
    assert set(REQUIRED) <= set(supported_aus())
    assert {43, 45} <= set(supported_aus())


def test_au12_moves_lip_corners_up_and_out_and_nothing_far_away():
    d = au_field(12, _grid())
    for name, outward in (("left_lip_corner", 1), ("right_lip_corner", -1)):
        m = _mean_motion(d, _region_mask(name))
        assert m is not None
        assert m[1] < -0.1  # up (y points down)
        assert m[0] * outward > 0.1  # away from the midline
    for far in ("forehead", "left_brow", "right_eye", "chin"):
        assert np.abs(d[_region_mask(far)]).max() == 0.0


def _check_direction(au: int, region: str, m: np.ndarray) -> None:
    direction = AU_CATALOGUE[au].direction
    lateral = region.startswith(("left_", "right_"))
    out = (1 if region.startswith("left_") else -1) * m[0]  # + is away from the midline
    if "up" in direction:
        assert m[1] < 0, (au, region, m)
    if "down" in direction:
        assert m[1] > 0, (au, region, m)
    if direction in ("up", "down"):
        assert abs(m[1]) > abs(m[0]), (au, region, m)
    if lateral and direction.endswith("outward"):
        assert out > 0, (au, region, m)
    if lateral and direction.endswith("inward"):
        assert out < 0, (au, region, m)
    if lateral and direction == "backward":  # drawn back into the cheek: sideways in 2-D
        assert out > 0 and abs(m[0]) > abs(m[1]), (au, region, m)


@pytest.mark.parametrize("au", [n for n in supported_aus() if n in AU_CATALOGUE])
def test_each_au_moves_its_regions_in_the_facs_direction(au):
    d = au_field(au, _grid())
    regions = AU_REGIONS[au]
    moved = 0
    for region in regions:
        m = _mean_motion(d, _region_mask(region))
        if m is None:
            continue
        moved += 1
        _check_direction(au, region, m)
    assert moved >= 1
    assert _mean_motion(d, _region_mask(regions[0])) is not None  # the most telling one moves


@pytest.mark.parametrize("au", [5, 7, 24, 25, 43])
def test_apertures_open_or_close_as_facs_says(au):
    """Closing: the lower edge rises relative to the upper; opening: the reverse."""
    d = au_field(au, _grid()).reshape(SIZE, SIZE, 2)
    region = "left_eye" if au in (5, 7, 43) else "mouth"
    b = REGIONS[region]
    cols = slice(int(b.x1 * SIZE), int(b.x2 * SIZE))
    mid = (b.y1 + b.y2) / 2
    if region == "left_eye":
        mid = 0.42  # the eye's centre line (TEMPLATE)
    upper = d[int(b.y1 * SIZE) : int(mid * SIZE), cols, 1].mean()
    lower = d[int(mid * SIZE) : int(b.y2 * SIZE), cols, 1].mean()
    direction = AU_CATALOGUE[au].direction
    if direction == "closing":
        assert lower - upper < -0.02
    elif au == 5:  # upper lid raiser: the upper lid goes up, the eye widens
        assert upper < -0.05 and lower - upper > 0.02
    else:
        assert lower - upper > 0.02


def test_unilateral_au_moves_only_the_subjects_side():
    p = _grid()
    left = au_field(AU(12, side="L"), p)
    right = au_field(AU(12, side="R"), p)
    both = au_field(12, p)
    assert np.abs(left[p[:, 0] < 0.5]).max() == 0.0  # subject's left is the viewer's right
    assert np.abs(right[p[:, 0] > 0.5]).max() == 0.0
    np.testing.assert_allclose(left + right, both, atol=1e-12)
    assert np.abs(left[_region_mask("left_lip_corner")]).max() > 0.5


def test_bilateral_fields_are_mirror_symmetric():
    for au in supported_aus():
        d = au_field(au, _grid()).reshape(SIZE, SIZE, 2)
        mirrored = d[:, ::-1].copy()
        mirrored[..., 0] *= -1
        np.testing.assert_allclose(d, mirrored, atol=1e-9, err_msg=f"AU {au}")


def test_expression_peak_is_the_amplitude_and_aus_add_up():
    f = ExpressionField("6+12", amplitude=2.5)
    g = f.grid(256)
    assert np.hypot(g[..., 0], g[..., 1]).max() == pytest.approx(2.5, rel=1e-4)
    # 12 and 4 do not overlap: their sum is each field, with one common scale
    p = _grid()
    combo = ExpressionField("4+12", amplitude=1.0)(p)
    parts = au_field(4, p) + au_field(12, p)
    scale = np.abs(combo).max() / np.abs(parts).max()
    np.testing.assert_allclose(combo, parts * scale, atol=1e-9)
    # rendering at 128 px halves the pixel displacements
    assert np.abs(f.grid(128)).max() == pytest.approx(np.abs(g).max() / 2, rel=0.02)


def test_intensity_weights_the_mix():
    p = _grid()
    weak12 = ExpressionField([AU(4, intensity="E"), AU(12, intensity="A")])(p)
    strong12 = ExpressionField([AU(4, intensity="A"), AU(12, intensity="E")])(p)
    corner = _region_mask("left_lip_corner")
    assert np.abs(strong12[corner]).max() > 2 * np.abs(weak12[corner]).max()


def test_fields_are_smooth_enough_to_invert():
    """Backward warping inverts p + a·d(p) by fixed-point iteration: needs a·|∇d| < 1."""
    for au in supported_aus():
        g = ExpressionField((au,), amplitude=1.0).grid(256).astype(np.float64)
        grads = [np.gradient(g[..., c], axis=a) for c in (0, 1) for a in (0, 1)]
        assert np.sqrt(sum(x**2 for x in grads)).max() < 0.2, au


def test_support_box_bounds_the_motion_and_zero_amplitude_is_still():
    f = ExpressionField("1+2", amplitude=1.0)
    box = f.support()
    p = _grid()
    outside = (p[:, 0] < box.x1) | (p[:, 0] > box.x2) | (p[:, 1] < box.y1) | (p[:, 1] > box.y2)
    assert np.abs(f(p)[outside]).max() == 0.0
    assert np.abs(f(p)[~outside]).max() > 0.5
    assert ExpressionField("12", amplitude=0).support() is None
    assert ExpressionField((), amplitude=1).support() is None


def test_unknown_au_and_bad_amplitude_are_config_errors():
    with pytest.raises(ConfigError, match="no synthetic displacement field"):
        ExpressionField("12+61")
    with pytest.raises(ConfigError, match="amplitude"):
        ExpressionField("12", amplitude=-1)
