"""Shared fixtures: real public-domain faces shipped by scikit-image and synthetic negatives."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from facscope.embedded import default_image

    img = default_image()
    img.setflags(write=False)
    return img


@pytest.fixture(scope="session")
def astronaut_face(astronaut):
    from facscope.face import detect_faces

    faces = detect_faces(astronaut)
    assert len(faces) == 1
    return faces[0]


@pytest.fixture(scope="session")
def aligned(astronaut, astronaut_face):
    from facscope.face import align_face

    return align_face(astronaut, astronaut_face)


@pytest.fixture
def noise_image() -> np.ndarray:
    """A synthetic negative: smooth random texture with no face in it."""
    import cv2

    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    return cv2.resize(small, (320, 240), interpolation=cv2.INTER_CUBIC)
