"""What every synthetic clip carries: its frames and their ground-truth timing and flow."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ClipTruth"]


@dataclass(frozen=True, eq=False)
class ClipTruth:
    """RGB ``uint8`` frames and their ground truth.

    Attributes:
        frames: RGB ``uint8`` frames (H, W, 3).
        fps: frame rate.
        onset, apex, offset: 0-based indices into ``frames``.
        flow: the true onset → apex flow in frame pixels, (H, W, 2) float32, OpenCV convention
            (``onset[y, x] ≈ apex[y + flow[..., 1], x + flow[..., 0]]``).
    """

    frames: list[np.ndarray] = field(repr=False)
    fps: float
    onset: int
    apex: int
    offset: int
    flow: np.ndarray = field(repr=False)
