"""Pictures of what the face tools found: boxes, landmarks and regions on the original image."""

from __future__ import annotations

import numpy as np

from facscope.face.align import AlignedFace
from facscope.face.regions import REGION_NAMES, REGIONS
from facscope.types import Face, apply_transform

__all__ = ["REGION_COLOURS", "draw_faces", "draw_regions"]

_PALETTE = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
    (0, 128, 128),
    (220, 190, 255),
    (170, 110, 40),
    (128, 0, 0),
    (170, 255, 195),
]
REGION_COLOURS = {n: _PALETTE[i % len(_PALETTE)] for i, n in enumerate(REGION_NAMES)}


def _thickness(image: np.ndarray) -> int:
    return max(1, round(max(image.shape[:2]) / 400))


def draw_faces(image: np.ndarray, faces: list[Face]) -> np.ndarray:
    """A copy of ``image`` with each face's box, index, score and landmarks drawn."""
    import cv2

    out = image.copy()
    t = _thickness(out)
    for i, f in enumerate(faces):
        b = f.box
        cv2.rectangle(out, (round(b.x1), round(b.y1)), (round(b.x2), round(b.y2)), (0, 200, 255), t)
        cv2.putText(
            out,
            f"{i}: {f.score:.2f}",
            (round(b.x1), max(12, round(b.y1) - 4)),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.4 * t,
            (0, 200, 255),
            t,
            cv2.LINE_AA,
        )
        if f.landmarks is not None:
            for p in f.landmarks:
                cv2.circle(out, (round(p[0]), round(p[1])), 2 * t, (255, 60, 60), -1, cv2.LINE_AA)
    return out


def draw_regions(
    image: np.ndarray, aligned: AlignedFace, names: tuple[str, ...] = REGION_NAMES
) -> np.ndarray:
    """A copy of the source ``image`` with the canonical regions of an aligned face outlined.

    Regions are drawn as the (possibly rotated) quadrilaterals they cover in the source image.
    """
    import cv2

    out = image.copy()
    t = _thickness(out)
    to_source = aligned.inverse @ np.diag([aligned.size, aligned.size, 1.0])
    for name in names:
        quad = apply_transform(to_source, REGIONS[name].corners())
        colour = REGION_COLOURS[name]
        cv2.polylines(out, [np.round(quad).astype(np.int32)], True, colour, t, cv2.LINE_AA)
        cv2.putText(
            out,
            name,
            (round(quad[0, 0]) + 1, round(quad[0, 1]) + 9 * t),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.28 * t,
            colour,
            max(1, t // 2),
            cv2.LINE_AA,
        )
    return out
