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


def upscale_gray(face: np.ndarray, side: int = 160) -> np.ndarray:
    """An LFW-subset crop (25×25 grey uint8) upscaled to ``side`` pixels, as RGB."""
    import cv2

    g = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC)
    return np.ascontiguousarray(np.stack([g] * 3, axis=-1))


#: LFW-subset faces MTCNN finds once upscaled (indices into the first, face half).
LFW_FACES = (0, 7, 14, 21)


@pytest.fixture(scope="session")
def lfw_composite() -> np.ndarray:
    """Four different LFW faces side by side on grey (800×220): a group photo made of real
    public-domain faces, largest first at known places (0, 7, 14, 21 at 30 + 190 k px)."""
    from facscope.embedded import lfw_faces

    lfw = lfw_faces()
    canvas = np.full((220, 4 * 190 + 40, 3), 128, np.uint8)
    for k, i in enumerate(LFW_FACES):
        canvas[30:190, 30 + k * 190 : 190 + k * 190] = upscale_gray(lfw[i])
    canvas.setflags(write=False)
    return canvas
