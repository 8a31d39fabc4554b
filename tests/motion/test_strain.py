"""Optical strain and STSTNet stacks against fields whose derivatives are known."""

from __future__ import annotations

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.motion.strain import minmax, optical_strain, ststnet_stack


def grid(h: int = 40, w: int = 50) -> tuple[np.ndarray, np.ndarray]:
    return np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))


def test_translation_has_no_strain():
    flow = np.zeros((40, 50, 2), np.float32)
    flow[...] = (1.3, -0.4)
    assert np.abs(optical_strain(flow)).max() < 1e-6


@pytest.mark.parametrize(
    ("u", "v", "expected"),
    [
        (lambda x, y: 0.1 * x, lambda x, y: 0 * x, 0.1),  # ux = 0.1
        (lambda x, y: 0 * x, lambda x, y: -0.2 * y, 0.2),  # vy = -0.2
        (lambda x, y: 0.2 * y, lambda x, y: 0 * x, np.sqrt(0.5 * 0.04)),  # shear uy = 0.2
        (lambda x, y: 0.1 * x, lambda x, y: 0.1 * y, np.sqrt(0.02)),  # expansion
        (lambda x, y: -0.1 * y, lambda x, y: 0.1 * x, 0.0),  # rotation: uy + vx = 0
    ],
)
def test_linear_fields_have_the_formula_strain(u, v, expected):
    x, y = grid()
    flow = np.stack([u(x, y), v(x, y)], -1).astype(np.float32)
    s = optical_strain(flow)[3:-3, 3:-3]  # away from the replicated border
    assert np.allclose(s, expected, atol=1e-5)


def test_stack_shape_range_and_channels():
    x, y = grid(64, 64)
    flow = np.stack([0.01 * x, -0.02 * y], -1).astype(np.float32)
    stack = ststnet_stack(flow)
    assert stack.shape == (28, 28, 3) and stack.dtype == np.float32
    for c in range(2):  # u grows to the right, v shrinks downward
        assert stack[..., c].min() == 0.0 and stack[..., c].max() == 1.0
    assert np.all(np.diff(stack[0, :, 0]) > 0) and np.all(np.diff(stack[:, 0, 1]) < 0)
    assert ststnet_stack(flow, 42).shape == (42, 42, 3)
    assert ststnet_stack(flow, (20, 10)).shape == (10, 20, 3)


def test_constant_channel_and_bad_input():
    assert np.array_equal(minmax(np.full((3, 3), 7.0)), np.zeros((3, 3)))
    with pytest.raises(ConfigError, match="stack size"):
        ststnet_stack(np.zeros((8, 8, 2), np.float32), 0)
    with pytest.raises(ConfigError, match=r"\(H, W, 2\)"):
        optical_strain(np.zeros((8, 8, 3)))
