"""Fixtures of the VLM tests: a small image for fast model runs."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="session")
def small_image() -> np.ndarray:
    """A 64×48 textured RGB image (no face): for box zooms and fast model tests."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    img.setflags(write=False)
    return img
