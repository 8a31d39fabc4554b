"""A synthetic active-perception task: drawn faces whose cues are obvious for some emotions and
only resolvable after zooming for others.

Each sample is a schematic face drawn at full resolution (``size`` pixels, default 256) from the
canonical five-point template (:data:`facscope.face.regions.TEMPLATE`), with a random
similarity jitter, and the main EMFACS prototype of its emotion drawn as geometry: brows raised
or lowered (AU1/2/4), lids opened or tightened (AU5/7), crow's feet and raised cheeks (AU6),
nose wrinkles (AU9), lip corners pulled up, down or sideways (AU12/15/20), lips parted or the jaw
dropped (AU25/26), and so on.

* **Obvious** emotions are drawn at full amplitude with thick strokes: the model's global view,
  which the processor shrinks to a few dozen pixels, shows them.
* **Subtle** emotions are drawn at a fifth of the amplitude with one-pixel, low-contrast
  strokes: at the global view's resolution they vanish, while a ``zoom`` (rendered from the
  full-resolution source) shows them.

So zooming should pay off for the subtle emotions and not for the obvious ones — exactly the
query- and emotion-dependent utility that UC-GRPO is meant to learn. Rows carry the known face
box and landmarks (``face_box``, ``face_landmarks``), so the tools skip detection.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.facs import EMOTION_PROTOTYPES

__all__ = ["SyntheticConfig", "SyntheticFace", "render_face", "synthetic_faces", "synthetic_rows"]


@dataclass(frozen=True, kw_only=True)
class SyntheticConfig:
    """Options of the synthetic task.

    Attributes:
        n: number of samples (emotions cycle in order, so classes are balanced).
        size: side of the full-resolution image in pixels.
        emotions: the emotions drawn (each with its main EMFACS prototype).
        subtle: the emotions whose cues are drawn faintly (resolvable only by zooming).
        subtle_amplitude: amplitude of subtle cues relative to obvious ones.
        jitter: strength of the random rotation / scale / shift of the face.
        seed: random seed; the same seed gives the same images.
    """

    n: int = 60
    size: int = 256
    emotions: tuple[str, ...] = ("happiness", "surprise", "sadness", "anger", "disgust", "fear")
    subtle: tuple[str, ...] = ("sadness", "anger", "disgust", "fear")
    subtle_amplitude: float = 0.2
    jitter: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"n must be >= 1; got {self.n}")
        if not 64 <= self.size <= 2048:
            raise ConfigError(f"size must be in 64..2048 pixels; got {self.size}")
        unknown = [e for e in self.emotions if e not in EMOTION_PROTOTYPES]
        if not self.emotions or unknown:
            raise ConfigError(
                f"emotions must be a non-empty subset of {sorted(EMOTION_PROTOTYPES)}; got {self.emotions}"
            )
        stray = [e for e in self.subtle if e not in self.emotions]
        if stray:
            raise ConfigError(f"subtle emotions {stray} are not among emotions {self.emotions}")
        if not 0 < self.subtle_amplitude <= 1:
            raise ConfigError(f"subtle_amplitude must be in (0, 1]; got {self.subtle_amplitude}")
        if not 0 <= self.jitter <= 3:
            raise ConfigError(f"jitter must be in [0, 3]; got {self.jitter}")


@dataclass(frozen=True)
class SyntheticFace:
    """One generated sample: the image (RGB uint8), its labels and the known face geometry."""

    image: np.ndarray
    emotion: str
    aus: tuple[int, ...]
    subtle: bool
    face_box: tuple[float, float, float, float]
    face_landmarks: tuple[tuple[float, float], ...]

    def row(self) -> dict[str, Any]:
        """A dataset row (the image as PIL, labels as plain lists)."""
        from PIL import Image

        return {
            "image": Image.fromarray(self.image),
            "aus": list(self.aus),
            "emotion": self.emotion,
            "subtle": self.subtle,
            "face_box": list(self.face_box),
            "face_landmarks": [list(p) for p in self.face_landmarks],
        }


def _similarity(size: int, rng: np.random.Generator, jitter: float) -> np.ndarray:
    """3×3 map from the unit square of the aligned face to image pixels, with jitter."""
    angle = math.radians(rng.uniform(-8, 8) * jitter)
    scale = size * (0.85 + rng.uniform(-0.05, 0.05) * jitter)
    cx = size / 2 + rng.uniform(-0.03, 0.03) * size * jitter
    cy = size / 2 + rng.uniform(-0.03, 0.03) * size * jitter
    c, s = math.cos(angle) * scale, math.sin(angle) * scale
    return np.array(
        [[c, -s, cx - (c * 0.5 - s * 0.5)], [s, c, cy - (s * 0.5 + c * 0.5)], [0, 0, 1.0]]
    )


def _geometry(aus: frozenset[int], a: float) -> dict[str, Any]:
    """Feature points of the face in unit-square coordinates, moved by the AUs at amplitude ``a``."""
    g: dict[str, Any] = {}
    for side, sx in (("r", -1), ("l", 1)):  # r: viewer's left (person's right)
        inner = [0.5 + sx * 0.04, 0.35]
        mid = [0.5 + sx * 0.125, 0.325]
        outer = [0.5 + sx * 0.21, 0.345]
        if 1 in aus:
            inner[1] -= 0.045 * a
            mid[1] -= 0.015 * a
        if 2 in aus:
            outer[1] -= 0.045 * a
            mid[1] -= 0.03 * a
        if 4 in aus:
            for p in (inner, mid, outer):
                p[1] += 0.03 * a
            inner[0] -= sx * 0.02 * a
        g[f"brow_{side}"] = [outer, mid, inner]
        half_h = 0.022 + (0.016 * a if 5 in aus else 0) - (0.011 * a if 7 in aus else 0)
        g[f"eye_{side}"] = ((0.5 + sx * 0.125, 0.42), (0.055, max(half_h, 0.006)))
    corner_y = 0.692 - (0.035 * a if 12 in aus else 0) + (0.035 * a if 15 in aus else 0)
    corner_dx = 0.105 + (0.012 * a if 12 in aus else 0) + (0.03 * a if 20 in aus else 0)
    opening = 0.06 * a if 26 in aus else (0.02 * a if 25 in aus else 0.0)
    g["mouth"] = {
        "left": (0.5 - corner_dx, corner_y),
        "right": (0.5 + corner_dx, corner_y),
        "upper": (0.5, 0.682 - (0.02 * a if 10 in aus else 0) - opening / 2),
        "lower": (0.5, 0.708 + (0.02 * a if 16 in aus else 0) + opening / 2),
        "thick": 0.012 * (1 - 0.6 * a) if 23 in aus else 0.012,
        "open": opening > 0,
    }
    return g


def _curve(p0: Any, p1: Any, p2: Any, n: int = 12) -> np.ndarray:
    """Quadratic curve through p0, p2 whose middle point is p1 (unit square)."""
    t = np.linspace(0, 1, n)[:, None]
    ctrl = 2 * np.asarray(p1) - (np.asarray(p0) + np.asarray(p2)) / 2
    return (1 - t) ** 2 * np.asarray(p0) + 2 * (1 - t) * t * ctrl + t**2 * np.asarray(p2)


def render_face(
    aus: frozenset[int] | set[int],
    *,
    amplitude: float,
    fine: bool,
    size: int = 256,
    rng: np.random.Generator | None = None,
    jitter: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw one face; returns the RGB image and the unit-square → pixel map (3×3).

    ``fine`` draws every cue with one-pixel, low-contrast strokes (the subtle condition);
    otherwise cue strokes scale with the image.
    """
    import cv2

    rng = rng or np.random.default_rng(0)
    m = _similarity(size, rng, jitter)
    aus = frozenset(aus)

    def px(points: Any) -> np.ndarray:
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return (pts @ m[:2, :2].T + m[:2, 2]).astype(np.float32)

    def poly(points: Any, color: tuple[int, int, int], width: int, closed: bool = False) -> None:
        pts = np.round(px(points) * 16).astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(img, [pts], closed, color, max(1, width), cv2.LINE_AA, shift=4)

    bg = rng.integers(70, 120)
    img = np.full((size, size, 3), bg, dtype=np.uint8)
    img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
    skin = tuple(int(v) for v in rng.integers(170, 215, 3))
    scale = size / 256
    oval = [
        (0.5 + 0.3 * math.cos(t), 0.55 + 0.42 * math.sin(t))
        for t in np.linspace(0, 2 * math.pi, 48)
    ]
    cv2.fillPoly(img, [np.round(px(oval) * 16).astype(np.int32)], skin, cv2.LINE_AA, shift=4)
    g = _geometry(aus, amplitude)
    dark = (40, 30, 30)
    stroke = max(1, round(3 * scale))
    cue = 1 if fine else stroke
    # lines that only a cue draws are faint in the subtle condition
    faint = tuple(int(0.55 * c + 0.45 * d) for c, d in zip(skin, dark)) if fine else dark
    for side in ("r", "l"):
        poly(_curve(*g[f"brow_{side}"]), dark, stroke)
        (ex, ey), (hw, hh) = g[f"eye_{side}"]
        ring = [
            (ex + hw * math.cos(t), ey + hh * math.sin(t)) for t in np.linspace(0, 2 * math.pi, 24)
        ]
        poly(ring, (250, 250, 250), stroke, closed=True)
        iris = px([(ex, ey)])[0]
        cv2.circle(
            img,
            (round(iris[0]), round(iris[1])),
            max(1, round(hh * m[0, 0] * 0.8)),
            dark,
            -1,
            cv2.LINE_AA,
        )
        sx = -1 if side == "r" else 1
        if 6 in aus:  # crow's feet at the outer eye corner and a raised cheek line
            ox = ex + sx * (hw + 0.01)
            for dy in (-0.015, 0.0, 0.015):
                poly(
                    [(ox, ey + dy * 0.5), (ox + sx * 0.035 * amplitude, ey + dy * 1.6)], faint, cue
                )
            poly(
                _curve(
                    (ex - 0.05, ey + 0.06),
                    (ex, ey + 0.06 - 0.025 * amplitude),
                    (ex + 0.05, ey + 0.06),
                ),
                faint,
                cue,
            )
    if 4 in aus:  # vertical furrows between the brows
        for x in (0.485, 0.515):
            poly([(x, 0.36), (x, 0.36 + 0.05 * amplitude)], faint, cue)
    poly([(0.5, 0.43), (0.49, 0.56), (0.5, 0.57)], dark, max(1, stroke - 1))
    if 9 in aus:  # nose wrinkles
        for y in (0.45, 0.47, 0.49):
            poly(
                [(0.5 - 0.03 * amplitude - 0.01, y), (0.5 + 0.03 * amplitude + 0.01, y)], faint, cue
            )
    mo = g["mouth"]
    upper = _curve(mo["left"], mo["upper"], mo["right"])
    lower = _curve(mo["left"], mo["lower"], mo["right"])
    if mo["open"]:
        hole = np.round(px(np.vstack([upper, lower[::-1]])) * 16).astype(np.int32)
        cv2.fillPoly(img, [hole], (60, 20, 30), cv2.LINE_AA, shift=4)
    lip = (150, 60, 70)
    width = max(1, round(mo["thick"] * m[0, 0] * 0.5))
    poly(upper, lip, width)
    poly(lower, lip, width)
    if 17 in aus:  # chin boss wrinkles
        poly(_curve((0.46, 0.83), (0.5, 0.83 - 0.015 * amplitude), (0.54, 0.83)), faint, cue)
    if 14 in aus:  # dimples
        for p in (mo["left"], mo["right"]):
            q = px([p])[0]
            cv2.circle(
                img, (round(q[0]), round(q[1])), max(1, round(2 * scale * amplitude)), faint, -1
            )
    return img, m


def synthetic_faces(config: SyntheticConfig | None = None) -> Iterator[SyntheticFace]:
    """Generate ``config.n`` faces, emotions in turn (reproducible from ``config.seed``)."""
    from facscope.face.regions import TEMPLATE

    cfg = config or SyntheticConfig()
    rng = np.random.default_rng(cfg.seed)
    for i in range(cfg.n):
        emotion = cfg.emotions[i % len(cfg.emotions)]
        aus = EMOTION_PROTOTYPES[emotion][0]
        subtle = emotion in cfg.subtle
        amplitude = cfg.subtle_amplitude if subtle else 1.0
        image, m = render_face(
            aus, amplitude=amplitude, fine=subtle, size=cfg.size, rng=rng, jitter=cfg.jitter
        )
        landmarks = TEMPLATE @ m[:2, :2].T + m[:2, 2]
        corners = (
            np.array([[0.18, 0.1], [0.82, 0.1], [0.82, 0.98], [0.18, 0.98]]) @ m[:2, :2].T
            + m[:2, 2]
        )
        box = (*corners.min(0).clip(0, cfg.size), *corners.max(0).clip(0, cfg.size))
        yield SyntheticFace(
            image=image,
            emotion=emotion,
            aus=tuple(sorted(aus)),
            subtle=subtle,
            face_box=tuple(round(float(v), 2) for v in box),
            face_landmarks=tuple((round(float(x), 3), round(float(y), 3)) for x, y in landmarks),
        )


def synthetic_rows(config: SyntheticConfig | None = None) -> list[dict[str, Any]]:
    """The generated faces as dataset rows (see :meth:`SyntheticFace.row`)."""
    return [face.row() for face in synthetic_faces(config)]
