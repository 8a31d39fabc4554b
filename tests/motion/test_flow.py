"""Every registered flow method meets one contract: shape, units and OpenCV's sign convention."""

from __future__ import annotations

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.motion.flow import (
    FLOWS,
    compute_flow,
    create_flow,
    endpoint_error,
    list_flows,
    to_gray,
)
from facscope.synth.demo import warp_by_flow


def shifted(image: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """``image`` whose content moved by (dx, dy): next(p + d) = image(p)."""
    flow = np.zeros((*image.shape[:2], 2), np.float32)
    flow[...] = (dx, dy)
    return warp_by_flow(image, flow)


def test_registry_lists_the_documented_methods():
    assert {"tvl1", "dis", "farneback", "tvl1.skimage", "ilk.skimage"} <= set(list_flows())
    assert all(FLOWS.describe()[n] for n in list_flows())


@pytest.mark.parametrize("method", list_flows())
def test_subpixel_translation_recovered_with_the_right_signs(method, textured):
    """u ≠ v and both signs differ, so a swapped (v, u) order or a flipped sign fails."""
    d = (0.6, -0.35)
    nxt = shifted(textured, *d)
    flow = compute_flow(textured, nxt, method)
    assert flow.shape == (128, 128, 2) and flow.dtype == np.float32
    inner = flow[24:-24, 24:-24].reshape(-1, 2)
    assert np.allclose(np.median(inner, axis=0), d, atol=0.12), np.median(inner, axis=0)


@pytest.mark.parametrize("method", ["tvl1", "tvl1.skimage", "farneback"])
def test_smooth_local_field_error_is_small(method, textured):
    gx, gy = np.meshgrid(np.arange(128) + 0.5, np.arange(128) + 0.5)
    bump = np.exp(-((gx - 64) ** 2 + (gy - 64) ** 2) / (2 * 18.0**2))
    truth = np.stack([0.8 * bump, -0.5 * bump], -1).astype(np.float32)
    flow = compute_flow(textured, warp_by_flow(textured, truth), method)
    mask = bump > 0.3
    assert endpoint_error(flow, truth, mask) < 0.25
    # and much better than reporting no motion at all
    assert endpoint_error(flow, truth, mask) < 0.5 * endpoint_error(0 * truth, truth, mask)


def test_tvl1_defaults_are_opencvs_and_parameters_reach_it():
    p = create_flow("tvl1").params()
    assert p == {
        "tau": 0.25,
        "lambda_": 0.15,
        "theta": 0.3,
        "scales": 5,
        "warps": 5,
        "epsilon": 0.01,
        "inner_iterations": 30,
        "outer_iterations": 10,
        "scale_step": 0.8,
        "gamma": 0.0,
        "median_filtering": 5,
    }
    m = create_flow("tvl1", lambda_=0.05, warps=3)
    assert m._impl.getLambda() == pytest.approx(0.05) and m._impl.getWarpingsNumber() == 3
    assert create_flow("dis", patch_size=12)._impl.getPatchSize() == 12


def test_bad_method_params_and_sizes():
    a = np.zeros((16, 16), np.uint8)
    with pytest.raises(ConfigError, match=r"flow method must be one of \[.*'tvl1'.*\]; got 'nope'"):
        compute_flow(a, a, "nope")
    with pytest.raises(ConfigError, match="flow method 'tvl1'.*unexpected keyword"):
        create_flow("tvl1", lamda=0.1)
    with pytest.raises(ConfigError, match="same size"):
        compute_flow(a, np.zeros((16, 17), np.uint8), "dis")
    with pytest.raises(ConfigError, match="preset"):
        create_flow("dis", preset="slow")


def test_to_gray_accepts_rgb_gray_and_floats():
    rgb = np.zeros((4, 5, 3), np.uint8)
    rgb[..., 1] = 200
    g = to_gray(rgb)
    assert g.shape == (4, 5) and g.dtype == np.uint8 and 100 < g[0, 0] < 130  # 0.587 · 200
    assert to_gray(np.full((4, 5), 0.5)).max() == 128
    assert to_gray(g) is not None and np.array_equal(to_gray(g), g)


def test_endpoint_error_definition():
    a = np.zeros((3, 3, 2), np.float32)
    b = a.copy()
    b[0, 0] = (3, 4)
    assert endpoint_error(b, a) == pytest.approx(5 / 9)
    m = np.zeros((3, 3), bool)
    m[0, 0] = True
    assert endpoint_error(b, a, m) == pytest.approx(5.0)
    with pytest.raises(ConfigError, match="selects no pixels"):
        endpoint_error(a, a, ~np.ones((3, 3), bool))
