"""Head-motion compensation: the nose window and the robust global fit."""

from __future__ import annotations

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.motion.compensate import (
    CompensationConfig,
    compensate,
    fit_global_motion,
    global_field,
    nose_window_mean,
)


def test_nose_window_removes_a_head_translation_and_keeps_local_motion():
    flow = np.zeros((64, 64, 2), np.float32)
    flow[...] = (0.7, -0.2)  # head moves
    flow[5:15, 40:60] += (0.0, -1.0)  # a brow rises on top of it
    out = compensate(flow, nose=(32.0, 36.0))
    assert out.head_vector == pytest.approx((0.7, -0.2), abs=1e-6)
    assert np.allclose(out.flow[30:40, 30:40], 0, atol=1e-6)
    assert np.allclose(out.flow[10, 50], (0.0, -1.0), atol=1e-6)
    assert out.to_dict()["nose_window"] == 11


def test_nose_window_is_centred_and_clipped_to_the_image():
    flow = np.zeros((20, 20, 2), np.float32)
    flow[..., 0] = np.arange(20)[None, :]  # u = column index
    # an 11-px window centred on the pixel containing x = 10.5 covers columns 5..15 → mean 10
    assert nose_window_mean(flow, (10.5, 10.5), 11)[0] == pytest.approx(10.0)
    # at the corner, only columns 0..5 remain → mean 2.5
    assert nose_window_mean(flow, (0.2, 0.2), 11)[0] == pytest.approx(2.5)
    with pytest.raises(ConfigError, match="outside"):
        nose_window_mean(flow, (50.0, 3.0), 11)


@pytest.mark.parametrize("model", ["similarity", "affine"])
def test_global_fit_recovers_head_motion_despite_local_expression(model):
    h = w = 96
    theta, s, t = np.radians(0.8), 1.01, (0.4, -0.3)
    m = np.array(
        [
            [s * np.cos(theta), -s * np.sin(theta), t[0]],
            [s * np.sin(theta), s * np.cos(theta), t[1]],
        ]
    )
    head = global_field(m, (h, w))
    flow = head.copy()
    flow[60:80, 20:45] += (-0.8, -1.2)  # a lip corner pulled up and out (outliers)
    fitted = fit_global_motion(flow, model=model)
    assert np.abs(global_field(fitted, (h, w)) - head).max() < 0.02
    out = compensate(flow, nose=None, config=CompensationConfig(nose_window=0, global_model=model))
    assert np.abs(out.flow[:50]).max() < 0.02  # head motion gone where nothing else moved
    assert np.allclose(out.flow[70, 30], (-0.8, -1.2), atol=0.03)  # expression kept


def test_config_checks():
    with pytest.raises(ConfigError, match="odd"):
        CompensationConfig(nose_window=10)
    with pytest.raises(ConfigError, match="global_model"):
        CompensationConfig(global_model="projective")
    with pytest.raises(ConfigError, match="needs the nose tip"):
        compensate(np.zeros((8, 8, 2), np.float32), nose=None)
    with pytest.raises(ConfigError, match=r"\(H, W, 2\)"):
        compensate(np.zeros((8, 8)), nose=(1, 1))
