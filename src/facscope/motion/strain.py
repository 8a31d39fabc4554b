"""Optical strain and STSTNet-style (u, v, strain) input stacks.

Optical strain measures how much a flow field deforms the skin rather than moving it rigidly:

    strain = sqrt(ux² + vy² + ½ (uy + vx)²)

with the partial derivatives taken by 3 × 3 Sobel filters scaled by 1/8, so a field that grows
by one pixel per pixel has derivative 1 (the strain of a pure translation is 0).
"""

from __future__ import annotations

import numpy as np

from facscope.errors import ConfigError

__all__ = ["flow_derivatives", "minmax", "optical_strain", "ststnet_stack"]


def flow_derivatives(flow: np.ndarray) -> tuple[np.ndarray, ...]:
    """(ux, uy, vx, vy): Sobel derivatives of the flow components, per pixel (float32)."""
    import cv2

    f = np.asarray(flow, dtype=np.float32)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ConfigError(f"a flow field must have shape (H, W, 2); got {f.shape}")
    u, v = np.ascontiguousarray(f[..., 0]), np.ascontiguousarray(f[..., 1])

    def d(a: np.ndarray, dx: int, dy: int) -> np.ndarray:
        return cv2.Sobel(
            a, cv2.CV_32F, dx, dy, ksize=3, scale=1 / 8, borderType=cv2.BORDER_REPLICATE
        )

    return d(u, 1, 0), d(u, 0, 1), d(v, 1, 0), d(v, 0, 1)


def optical_strain(flow: np.ndarray) -> np.ndarray:
    """Optical strain magnitude of ``flow`` (H, W) ``float32``; see the module docstring."""
    ux, uy, vx, vy = flow_derivatives(flow)
    return np.sqrt(ux**2 + vy**2 + 0.5 * (uy + vx) ** 2).astype(np.float32)


def minmax(channel: np.ndarray) -> np.ndarray:
    """``channel`` linearly rescaled to [0, 1]; a constant channel becomes all zeros."""
    a = np.asarray(channel, dtype=np.float32)
    lo, hi = float(a.min()), float(a.max())
    if hi - lo <= 1e-12:
        return np.zeros_like(a)
    return ((a - lo) / (hi - lo)).astype(np.float32)


def ststnet_stack(
    flow: np.ndarray, size: int | tuple[int, int] = 28, *, strain: np.ndarray | None = None
) -> np.ndarray:
    """The (u, v, strain) stack STSTNet-style networks take: (size, size, 3) ``float32``.

    Each channel is resized (area interpolation) and then min-max normalised to [0, 1], so
    both ends of the range are reached in every non-constant channel.

    Args:
        flow: (H, W, 2) field.
        size: output side (28 for STSTNet; 42, 112, 128, 224 are also common) or (w, h).
        strain: a precomputed :func:`optical_strain` of ``flow``.
    """
    import cv2

    w, h = (size, size) if isinstance(size, int) else size
    if not (1 <= int(w) <= 4096 and 1 <= int(h) <= 4096):
        raise ConfigError(f"stack size must be between 1 and 4096 pixels; got {size}")
    f = np.asarray(flow, dtype=np.float32)
    s = optical_strain(f) if strain is None else np.asarray(strain, dtype=np.float32)
    chans = [np.ascontiguousarray(f[..., 0]), np.ascontiguousarray(f[..., 1]), s]
    out = [minmax(cv2.resize(c, (int(w), int(h)), interpolation=cv2.INTER_AREA)) for c in chans]
    return np.stack(out, axis=-1)
