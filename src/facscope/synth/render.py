"""Rendering of synthetic clips: backward warping of a neutral frame by a known field.

Coordinates here are OpenCV pixel indices (pixel centres at integers); facscope's continuous
coordinates (centres at +0.5) are converted where the alignment transform is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from facscope.types import Face, apply_transform, invert

if TYPE_CHECKING:
    from facscope.synth.fields import ExpressionField

__all__ = ["frame_field", "invert_displacement", "render"]

#: Fixed-point inversion stops when no pixel's source moves by more than this (pixels). OpenCV's
#: remap resolves positions to 1/32 px, which bounds the attainable accuracy anyway.
INVERSE_TOLERANCE = 0.01
INVERSE_MAX_ITER = 20


def frame_field(
    neutral_shape: tuple[int, ...], face: Face, field: ExpressionField
) -> tuple[np.ndarray, tuple[int, int]] | None:
    """The expression's displacement in frame pixels on the region where it is non-zero.

    The field lives on the unit square of the face aligned by :func:`facscope.face.align_face`;
    a frame pixel ``q`` maps to ``forward(q) / 256`` there, and the displacement (256-px aligned
    pixels) maps back through the inverse transform's linear part, so it scales with the face
    and rotates with it.

    Returns:
        ``(d, (x0, y0))``: (h, w, 2) float32 displacements of the pixels ``[y0:y0+h, x0:x0+w]``,
        or None when the field is zero.
    """
    from facscope.face.align import estimate_similarity
    from facscope.face.regions import TEMPLATE

    support = field.support()
    if support is None:
        return None
    h, w = neutral_shape[:2]
    forward = estimate_similarity(face.landmarks, TEMPLATE * 256)  # as align_face(size=256)
    inverse = invert(forward)
    corners = apply_transform(inverse, support.corners() * 256)
    margin = 3 + field.amplitude * np.sqrt(abs(np.linalg.det(inverse[:2, :2])))
    x0, y0 = (max(0, int(np.floor(v - margin))) for v in corners.min(0))
    x1, y1 = (min(n, int(np.ceil(v + margin)) + 1) for v, n in zip(corners.max(0), (w, h)))
    if x1 <= x0 or y1 <= y0:
        return None
    xs, ys = np.meshgrid(np.arange(x0, x1) + 0.5, np.arange(y0, y1) + 0.5)
    pts = np.stack([xs.ravel(), ys.ravel()], axis=1)
    unit = apply_transform(forward, pts) / 256
    d = field(unit) @ inverse[:2, :2].T
    return d.reshape(y1 - y0, x1 - x0, 2).astype(np.float32), (x0, y0)


def invert_displacement(
    rx: np.ndarray, ry: np.ndarray, a: float, d: np.ndarray, origin: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``p + a·d(p) = r`` for ``p`` by fixed-point iteration ``p ← r − a·d(p)``.

    ``d`` (h, w, 2) holds displacements of the pixels from ``origin`` (x0, y0) on, zero outside;
    it is sampled bilinearly. Converges for ``a·|∇d| < 1``, geometrically fast for smooth fields.
    """
    import cv2

    px, py = rx.astype(np.float32), ry.astype(np.float32)
    x0, y0 = origin
    for _ in range(INVERSE_MAX_ITER):
        s = cv2.remap(
            d, px - x0, py - y0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0
        )
        nx, ny = rx - a * s[..., 0], ry - a * s[..., 1]
        change = max(float(np.abs(nx - px).max()), float(np.abs(ny - py).max()))
        px, py = nx.astype(np.float32), ny.astype(np.float32)
        if change < INVERSE_TOLERANCE:
            break
    return px, py


def _is_identity(m: np.ndarray) -> bool:
    return bool(np.allclose(m, np.eye(3), atol=1e-12))


def _render_geometry(
    neutral: np.ndarray,
    a: float,
    head: np.ndarray,
    d: np.ndarray | None,
    origin: tuple[int, int],
) -> np.ndarray:
    """One frame's pixels before photometric effects."""
    import cv2

    h, w = neutral.shape[:2]
    still = _is_identity(head)
    if still:
        out = neutral.copy()
    else:
        out = cv2.warpAffine(
            neutral,
            invert(head)[:2],
            (w, h),
            flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP,
            borderMode=cv2.BORDER_REPLICATE,
        )
    if d is None or a == 0:
        return out
    x0, y0 = origin
    box = np.array(
        [
            [x0, y0],
            [x0 + d.shape[1], y0],
            [x0 + d.shape[1], y0 + d.shape[0]],
            [x0, y0 + d.shape[0]],
        ],
        dtype=np.float64,
    )
    if not still:
        box = apply_transform(head, box)
    qx0, qy0 = (max(0, int(np.floor(v)) - 2) for v in box.min(0))
    qx1, qy1 = (min(n, int(np.ceil(v)) + 3) for v, n in zip(box.max(0), (w, h)))
    if qx1 <= qx0 or qy1 <= qy0:
        return out
    qx, qy = np.meshgrid(np.arange(qx0, qx1, dtype=np.float64), np.arange(qy0, qy1))
    if still:
        rx, ry = qx, qy
    else:
        back = invert(head)
        rx = back[0, 0] * qx + back[0, 1] * qy + back[0, 2]
        ry = back[1, 0] * qx + back[1, 1] * qy + back[1, 2]
    px, py = invert_displacement(rx, ry, a, d, origin)
    out[qy0:qy1, qx0:qx1] = cv2.remap(
        neutral, px, py, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE
    )
    return out


def _photometric(frame: np.ndarray, gain: float, noise: float, gray: bool) -> np.ndarray:
    """``round(gain · frame + N(0, noise²))`` saturated to ``uint8``; gray frames get one noise
    draw shared by the three channels. Noise comes from OpenCV's RNG (seeded per clip)."""
    import cv2

    if gain == 1 and noise == 0:
        return frame
    src = np.ascontiguousarray(frame[:, :, 0]) if gray else frame
    n = np.zeros(src.shape, np.float32)
    if noise > 0:  # filled as one 2-D channel: scalar sigmas apply to channel 0 only
        cv2.randn(n.reshape(n.shape[0], -1), 0.0, float(noise))
    out = cv2.addWeighted(src, float(gain), n, 1.0, 0.0, dtype=cv2.CV_8U)
    return np.repeat(out[:, :, None], 3, axis=2) if gray else out


def render(
    neutral: np.ndarray,
    face: Face,
    field: ExpressionField,
    profile: np.ndarray,
    heads: list[np.ndarray],
    gains: np.ndarray,
    apex: int,
    rng: np.random.Generator,
    *,
    noise: float,
    grayscale: bool,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Render every frame (sensor ``noise`` sigma, ``grayscale`` frames); return ``(frames, flow,
    expression_flow)`` (see :class:`facscope.synth.clips.SynthClip`)."""
    import cv2

    cv2.setRNGSeed(int(rng.integers(2**31 - 1)))
    h, w = neutral.shape[:2]
    local = frame_field(neutral.shape, face, field)
    d, origin = local if local is not None else (None, (0, 0))
    frames = []
    for a, head, gain in zip(profile, heads, gains):
        geo = _render_geometry(neutral, float(a), head, d, origin)
        frames.append(_photometric(geo, float(gain), noise, grayscale))
    expr = np.zeros((h, w, 2), np.float32)
    if d is not None:
        x0, y0 = origin
        expr[y0 : y0 + d.shape[0], x0 : x0 + d.shape[1]] = d
    head = heads[apex]
    if _is_identity(head):
        return frames, expr.copy(), expr
    qx, qy = np.meshgrid(np.arange(w, dtype=np.float64), np.arange(h))
    mx, my = qx + expr[..., 0], qy + expr[..., 1]
    flow = np.stack(
        [
            head[0, 0] * mx + head[0, 1] * my + head[0, 2] - qx,
            head[1, 0] * mx + head[1, 1] * my + head[1, 2] - qy,
        ],
        axis=-1,
    ).astype(np.float32)
    return frames, flow, expr
