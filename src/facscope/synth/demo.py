"""A small embedded synthetic clip with known motion, and warping an image by a known flow.

:func:`demo_clip` moves the embedded astronaut portrait's brows up (AU1+2) and lip corners up
and out (AU12) with smooth, localised displacements, onset → apex → offset, so the ``motion``
command has something to show with no input and tests have exact ground truth. The full
generator (every AU, emotion prototypes, many subjects, dataset layouts) is
``facscope.synth.clips``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from facscope.errors import ConfigError
from facscope.synth.truth import ClipTruth

__all__ = ["DemoClip", "demo_clip", "gaussian_field", "warp_by_flow"]

#: Demo motions in the aligned unit square: (centre x, centre y, sigma, dx, dy) per blob,
#: directions in image coordinates (y down). Mirrored blobs are listed for both sides.
DEMO_BLOBS: dict[str, tuple[tuple[float, float, float, float, float], ...]] = {
    "brows_up": ((0.33, 0.33, 0.06, 0.0, -1.0), (0.67, 0.33, 0.06, 0.0, -1.0)),
    "lip_corners_up_out": ((0.39, 0.69, 0.045, -0.6, -0.8), (0.61, 0.69, 0.045, 0.6, -0.8)),
}


def gaussian_field(
    blobs: tuple[tuple[float, float, float, float, float], ...], points: np.ndarray
) -> np.ndarray:
    """Sum of Gaussian-windowed constant displacements at unit-square ``points`` (N, 2).

    Each blob's direction ``(dx, dy)`` is normalised and its peak is 1.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out = np.zeros_like(pts)
    for cx, cy, s, dx, dy in blobs:
        w = np.exp(-((pts[:, 0] - cx) ** 2 + (pts[:, 1] - cy) ** 2) / (2 * s * s))
        out += w[:, None] * (np.array([dx, dy]) / np.hypot(dx, dy))
    return out


def warp_by_flow(image: np.ndarray, flow: np.ndarray, *, iterations: int = 4) -> np.ndarray:
    """The image ``next`` whose flow from ``image`` is ``flow`` (OpenCV convention).

    The content at pixel ``p`` moves to ``p + flow(p)``: ``next(q) = image(p)`` where
    ``p + flow(p) = q``, solved for ``p`` by fixed-point iteration (exact in the limit for
    fields whose gradient is below 1, as every facial motion's is).
    """
    import cv2

    f = np.asarray(flow, dtype=np.float32)
    h, w = image.shape[:2]
    if f.shape != (h, w, 2):
        raise ConfigError(f"flow must have shape {(h, w, 2)}; got {f.shape}")
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    px, py = gx.copy(), gy.copy()
    for _ in range(iterations):
        d = cv2.remap(f, px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        px, py = gx - d[..., 0], gy - d[..., 1]
    return cv2.remap(image, px, py, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT101)


@dataclass(frozen=True, eq=False)
class DemoClip(ClipTruth):
    """A synthetic clip: RGB frames and its ground truth (0-based frame indices).

    ``flow`` is the true onset → apex flow in frame pixels (OpenCV convention).
    """

    aus: str = "1+2+12"
    emotion: str = "happiness"
    face_forward: np.ndarray | None = field(default=None, repr=False)


@functools.lru_cache(maxsize=4)
def _placed_face(frame_size: tuple[int, int] | None) -> tuple[np.ndarray, np.ndarray]:
    """The astronaut resized into ``frame_size`` (w, h) and its face's unit-square transform."""
    import cv2

    from facscope.embedded import default_image
    from facscope.face import align_face, detect_faces

    img = default_image()
    if frame_size is not None:
        w, h = frame_size
        side = min(w, h)
        face = cv2.resize(img, (side, side), interpolation=cv2.INTER_CUBIC)
        x0, y0 = (w - side) // 2, (h - side) // 2
        img = cv2.copyMakeBorder(face, y0, h - side - y0, x0, w - side - x0, cv2.BORDER_REFLECT101)
    faces = detect_faces(img)
    if not faces:  # pragma: no cover - the astronaut is always found
        raise ConfigError("the embedded portrait's face was not found")
    forward = align_face(img, faces[0], size=256).forward
    img.setflags(write=False)
    return img, forward


def demo_clip(
    *,
    fps: float = 200.0,
    frames: int = 41,
    apex: int = 17,
    amplitude: float = 1.5,
    noise: float = 0.0,
    frame_size: tuple[int, int] | None = None,
    motions: tuple[str, ...] = ("brows_up", "lip_corners_up_out"),
    seed: int = 0,
) -> DemoClip:
    """The embedded astronaut with known, smooth facial motion.

    Args:
        fps: frame rate recorded in the clip.
        frames: number of frames; onset is frame 0 and offset the last.
        apex: index of the apex frame.
        amplitude: peak displacement at the apex, in pixels of a 256-px aligned face.
        noise: standard deviation of Gaussian sensor noise, in gray levels (independent per
            frame, so the onset is noisy too).
        frame_size: (w, h) of the frames; the portrait is scaled to the shorter side and the
            rest filled by reflection. None keeps the 512 × 512 original.
        motions: names from :data:`DEMO_BLOBS`.
        seed: noise seed.
    """
    if frames < 3 or not 0 < apex < frames - 1:
        raise ConfigError(f"need frames >= 3 and 0 < apex < frames - 1; got {frames}, {apex}")
    unknown = [m for m in motions if m not in DEMO_BLOBS]
    if unknown:
        raise ConfigError(f"motions must be among {sorted(DEMO_BLOBS)}; got {unknown}")
    base, forward = _placed_face(None if frame_size is None else tuple(frame_size))
    h, w = base.shape[:2]
    gx, gy = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    a = forward[:2, :2]
    crop = np.stack([gx, gy], -1).reshape(-1, 2) @ a.T + forward[:2, 2]
    blobs = tuple(b for m in motions for b in DEMO_BLOBS[m])
    d256 = gaussian_field(blobs, crop / 256.0) * amplitude  # 256-px aligned pixels
    truth = (d256 @ np.linalg.inv(a).T).reshape(h, w, 2).astype(np.float32)
    rng = np.random.default_rng(seed)
    out = []
    for t in range(frames):
        s = t / apex if t <= apex else (frames - 1 - t) / (frames - 1 - apex)
        s = 0.5 - 0.5 * np.cos(np.pi * s)  # smooth rise and fall
        img = base if s == 0 else warp_by_flow(base, truth * np.float32(s))
        if noise > 0:
            img = np.clip(img + rng.normal(0, noise, img.shape), 0, 255).astype(np.uint8)
        out.append(np.ascontiguousarray(img))
    return DemoClip(
        frames=out,
        fps=float(fps),
        onset=0,
        apex=int(apex),
        offset=frames - 1,
        flow=truth,
        face_forward=forward,
    )
