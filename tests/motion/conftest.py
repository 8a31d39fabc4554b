"""Fixtures of the motion tests: small synthetic clips with known motion, frame folders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def demo():
    """The embedded astronaut with brows up and lip corners up/out, 1.5 px at 256 px."""
    from facscope.synth.demo import demo_clip

    return demo_clip(amplitude=1.5, frames=9, apex=4)


@pytest.fixture(scope="session")
def small_demo():
    """A 256 × 256 version (fast to detect and align), 5 frames, apex at position 2."""
    from facscope.synth.demo import demo_clip

    return demo_clip(amplitude=2.0, frames=5, apex=2, frame_size=(256, 256))


def _write_frames(
    folder: Path,
    frames: list[np.ndarray],
    *,
    start: int = 1,
    step: int = 1,
    pattern: str = "img{}.png",
) -> list[Path]:
    from facscope.io import save_image

    folder.mkdir(parents=True, exist_ok=True)
    return [save_image(folder / pattern.format(start + i * step), f) for i, f in enumerate(frames)]


@pytest.fixture(scope="session")
def write_frames():
    """``write_frames(folder, frames, start=1, step=1, pattern="img{}.png")``: numbered files."""
    return _write_frames


@pytest.fixture
def textured() -> np.ndarray:
    """A smooth random texture (128 × 128 gray) that flow methods can track."""
    import cv2

    rng = np.random.default_rng(3)
    small = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    return cv2.GaussianBlur(
        cv2.resize(small, (128, 128), interpolation=cv2.INTER_CUBIC), (0, 0), 1.0
    )
