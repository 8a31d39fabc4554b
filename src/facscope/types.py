"""Small value types shared by every layer: boxes, faces and views.

Coordinates are continuous pixel coordinates in (x, y) order with y pointing down: pixel ``(i, j)``
(row ``j``, column ``i``) covers ``[i, i+1) × [j, j+1)``, so its centre is ``(i + 0.5, j + 0.5)``
and an image of width ``W`` spans ``x ∈ [0, W]``.  Transforms are 3×3 homogeneous matrices acting
on column vectors ``(x, y, 1)``.

Left and right of a *face* follow FACS: the subject's own left and right. In a frontal image the
subject's left side appears on the viewer's right. Landmark arrays are ordered as the viewer sees
them: image-left eye, image-right eye, nose tip, image-left mouth corner, image-right mouth corner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from facscope.errors import ConfigError

__all__ = ["BBox", "Face", "View", "apply_transform", "invert", "scale_translate"]

LANDMARK_NAMES = (
    "eye_image_left",
    "eye_image_right",
    "nose",
    "mouth_image_left",
    "mouth_image_right",
)


@dataclass(frozen=True)
class BBox:
    """An axis-aligned box ``[x1, x2) × [y1, y2)`` in continuous pixel coordinates."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        vals = (self.x1, self.y1, self.x2, self.y2)
        if not all(np.isfinite(v) for v in vals):
            raise ConfigError(f"box coordinates must be finite; got {vals}")
        if self.x2 <= self.x1 or self.y2 <= self.y1:
            raise ConfigError(
                f"box must have x2 > x1 and y2 > y1; got [{self.x1}, {self.y1}, {self.x2}, {self.y2}]"
            )

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float) -> BBox:
        return cls(float(x), float(y), float(x) + float(w), float(y) + float(h))

    @classmethod
    def from_points(cls, points: np.ndarray) -> BBox:
        """Smallest box containing ``points`` (N×2)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return cls(*map(float, pts.min(0)), *map(float, pts.max(0)))

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2)

    def scaled(self, factor: float) -> BBox:
        """The box grown (``factor`` > 1) or shrunk about its centre."""
        if factor <= 0:
            raise ConfigError(f"box scale must be > 0; got {factor}")
        cx, cy = self.center
        hw, hh = self.width * factor / 2, self.height * factor / 2
        return BBox(cx - hw, cy - hh, cx + hw, cy + hh)

    def clipped(self, width: float, height: float) -> BBox:
        """The part of the box inside an image of ``width`` × ``height``."""
        x1, y1 = min(max(self.x1, 0.0), width), min(max(self.y1, 0.0), height)
        x2, y2 = min(max(self.x2, 0.0), width), min(max(self.y2, 0.0), height)
        if x2 <= x1 or y2 <= y1:
            raise ConfigError(
                f"box [{self.x1:.1f}, {self.y1:.1f}, {self.x2:.1f}, {self.y2:.1f}] lies outside the "
                f"{width:g}×{height:g} image"
            )
        return BBox(x1, y1, x2, y2)

    def corners(self) -> np.ndarray:
        """The four corners (4×2), clockwise from top-left."""
        return np.array(
            [[self.x1, self.y1], [self.x2, self.y1], [self.x2, self.y2], [self.x1, self.y2]],
            dtype=np.float64,
        )

    def iou(self, other: BBox) -> float:
        ix = max(0.0, min(self.x2, other.x2) - max(self.x1, other.x1))
        iy = max(0.0, min(self.y2, other.y2) - max(self.y1, other.y1))
        inter = ix * iy
        return inter / (self.area + other.area - inter)

    def transformed(self, matrix: np.ndarray) -> BBox:
        """Bounding box of this box's corners mapped through ``matrix`` (3×3)."""
        return BBox.from_points(apply_transform(matrix, self.corners()))

    def to_list(self, ndigits: int | None = 2) -> list[float]:
        vals = [self.x1, self.y1, self.x2, self.y2]
        return [round(v, ndigits) for v in vals] if ndigits is not None else vals


@dataclass(frozen=True)
class Face:
    """A detected face: box, confidence and, when the detector gives them, five landmarks."""

    box: BBox
    score: float
    landmarks: np.ndarray | None = None  # (5, 2) float, order LANDMARK_NAMES

    def __post_init__(self) -> None:
        if self.landmarks is not None:
            lm = np.asarray(self.landmarks, dtype=np.float64)
            if lm.shape != (5, 2):
                raise ConfigError(f"face landmarks must have shape (5, 2); got {lm.shape}")
            lm.setflags(write=False)
            object.__setattr__(self, "landmarks", lm)

    def to_dict(self) -> dict[str, object]:
        return {
            "box": self.box.to_list(),
            "score": round(float(self.score), 4),
            "landmarks": None if self.landmarks is None else np.round(self.landmarks, 2).tolist(),
        }

    def mapped(self, matrix: np.ndarray) -> Face:
        """This face with box and landmarks mapped through ``matrix`` (a scale/translation)."""
        lm = None if self.landmarks is None else apply_transform(matrix, self.landmarks)
        return Face(self.box.transformed(matrix), self.score, lm)


@dataclass(frozen=True, eq=False)
class View:
    """An image derived from a source image, and the exact map back to that source.

    ``to_source`` maps this view's pixel coordinates to the source image's (3×3). ``canonical``,
    when known, maps canonical face coordinates (the unit square of the aligned template, see
    :mod:`facscope.face.regions`) to this view's pixels, so named facial regions can be found in
    any view derived from an alignment.
    """

    image: np.ndarray
    to_source: np.ndarray
    source: np.ndarray = field(repr=False)
    canonical: np.ndarray | None = None
    name: str = "view"

    @classmethod
    def of(cls, image: np.ndarray, name: str = "original") -> View:
        """The identity view of an image (the image is its own source)."""
        return cls(image=image, to_source=np.eye(3), source=image, name=name)

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.image.shape[1]), int(self.image.shape[0])

    def to_source_points(self, points: np.ndarray) -> np.ndarray:
        return apply_transform(self.to_source, points)

    def from_source_points(self, points: np.ndarray) -> np.ndarray:
        return apply_transform(invert(self.to_source), points)

    def corners_in_source(self) -> np.ndarray:
        """The four corners of this view in source pixels (4×2); a rotated quad in general."""
        w, h = self.size
        return self.to_source_points(BBox(0, 0, w, h).corners())

    def box_in_source(self) -> BBox:
        """Axis-aligned box in source pixels covering this view."""
        return BBox.from_points(self.corners_in_source())


def apply_transform(
    matrix: np.ndarray, points: np.ndarray | Sequence[Sequence[float]]
) -> np.ndarray:
    """Map N×2 points through a 3×3 homogeneous transform."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    m = np.asarray(matrix, dtype=np.float64)
    out = pts @ m[:2, :2].T + m[:2, 2]
    if m.shape == (3, 3) and not np.allclose(m[2], (0, 0, 1)):  # projective
        out /= (pts @ m[2, :2] + m[2, 2])[:, None]
    return out


def invert(matrix: np.ndarray) -> np.ndarray:
    """Inverse of a 3×3 transform."""
    return np.linalg.inv(np.asarray(matrix, dtype=np.float64))


def scale_translate(sx: float, sy: float, tx: float = 0.0, ty: float = 0.0) -> np.ndarray:
    """The 3×3 matrix ``p ↦ (sx·x + tx, sy·y + ty)``."""
    return np.array([[sx, 0.0, tx], [0.0, sy, ty], [0.0, 0.0, 1.0]])
