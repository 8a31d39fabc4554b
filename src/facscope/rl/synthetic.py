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


_DARK = (40, 30, 30)
_WHITE = (250, 250, 250)
_LIP = (150, 60, 70)
_MOUTH_HOLE = (60, 20, 30)

Color = tuple[int, ...]


@dataclass
class _Canvas:
    """An RGB image being drawn and its unit-square → pixel map ``m`` (3×3)."""

    img: np.ndarray
    m: np.ndarray

    def px(self, points: Any) -> np.ndarray:
        """Unit-square points → pixel coordinates."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return (pts @ self.m[:2, :2].T + self.m[:2, 2]).astype(np.float32)

    def _fixed(self, points: Any) -> np.ndarray:
        return np.round(self.px(points) * 16).astype(np.int32)  # 4 bits of sub-pixel precision

    def poly(self, points: Any, color: Color, width: int, closed: bool = False) -> None:
        import cv2

        pts = self._fixed(points).reshape(-1, 1, 2)
        cv2.polylines(self.img, [pts], closed, color, max(1, width), cv2.LINE_AA, shift=4)

    def fill(self, points: Any, color: Color) -> None:
        import cv2

        cv2.fillPoly(self.img, [self._fixed(points)], color, cv2.LINE_AA, shift=4)

    def disc(self, point: Any, radius: int, color: Color, *, smooth: bool) -> None:
        import cv2

        x, y = self.px([point])[0]
        kind = cv2.LINE_AA if smooth else cv2.LINE_8
        cv2.circle(self.img, (round(x), round(y)), max(1, radius), color, -1, kind)


@dataclass(frozen=True)
class _Pen:
    """Stroke widths and colours of one face: ``cue`` and ``faint`` draw the AU cues."""

    stroke: int
    cue: int
    faint: Color
    scale: float
    amplitude: float


def _pen(skin: Color, size: int, amplitude: float, fine: bool) -> _Pen:
    """Thick dark cues, or (``fine``) one-pixel cues half-way between skin and dark."""
    scale = size / 256
    stroke = max(1, round(3 * scale))
    faint = tuple(int(0.55 * c + 0.45 * d) for c, d in zip(skin, _DARK)) if fine else _DARK
    return _Pen(stroke, 1 if fine else stroke, faint, scale, amplitude)


def _blank(size: int, rng: np.random.Generator, jitter: float) -> _Canvas:
    """A noisy grey background and the jittered face placement."""
    m = _similarity(size, rng, jitter)
    img = np.full((size, size, 3), rng.integers(70, 120), dtype=np.uint8)
    img = np.clip(img + rng.normal(0, 4, img.shape), 0, 255).astype(np.uint8)
    return _Canvas(img, m)


def _ellipse(cx: float, cy: float, rx: float, ry: float, n: int) -> list[tuple[float, float]]:
    return [(cx + rx * math.cos(t), cy + ry * math.sin(t)) for t in np.linspace(0, 2 * math.pi, n)]


def _draw_eye_side(
    c: _Canvas, pen: _Pen, g: dict[str, Any], side: str, aus: frozenset[int]
) -> None:
    """Brow, eye and iris of one side; crow's feet and a raised cheek line for AU6."""
    c.poly(_curve(*g[f"brow_{side}"]), _DARK, pen.stroke)
    (ex, ey), (hw, hh) = g[f"eye_{side}"]
    c.poly(_ellipse(ex, ey, hw, hh, 24), _WHITE, pen.stroke, closed=True)
    c.disc((ex, ey), round(hh * c.m[0, 0] * 0.8), _DARK, smooth=True)
    if 6 not in aus:
        return
    a, sx = pen.amplitude, -1 if side == "r" else 1
    ox = ex + sx * (hw + 0.01)
    for dy in (-0.015, 0.0, 0.015):
        c.poly([(ox, ey + dy * 0.5), (ox + sx * 0.035 * a, ey + dy * 1.6)], pen.faint, pen.cue)
    cheek = _curve((ex - 0.05, ey + 0.06), (ex, ey + 0.06 - 0.025 * a), (ex + 0.05, ey + 0.06))
    c.poly(cheek, pen.faint, pen.cue)


def _draw_nose(c: _Canvas, pen: _Pen, aus: frozenset[int]) -> None:
    """Brow furrows (AU4), the nose line, nose wrinkles (AU9)."""
    a = pen.amplitude
    if 4 in aus:  # vertical furrows between the brows
        for x in (0.485, 0.515):
            c.poly([(x, 0.36), (x, 0.36 + 0.05 * a)], pen.faint, pen.cue)
    c.poly([(0.5, 0.43), (0.49, 0.56), (0.5, 0.57)], _DARK, max(1, pen.stroke - 1))
    if 9 in aus:
        for y in (0.45, 0.47, 0.49):
            c.poly([(0.5 - 0.03 * a - 0.01, y), (0.5 + 0.03 * a + 0.01, y)], pen.faint, pen.cue)


def _draw_mouth(c: _Canvas, pen: _Pen, mo: dict[str, Any], aus: frozenset[int]) -> None:
    """Lips (the opening filled when parted), chin boss wrinkles (AU17), dimples (AU14)."""
    upper = _curve(mo["left"], mo["upper"], mo["right"])
    lower = _curve(mo["left"], mo["lower"], mo["right"])
    if mo["open"]:
        c.fill(np.vstack([upper, lower[::-1]]), _MOUTH_HOLE)
    width = max(1, round(mo["thick"] * c.m[0, 0] * 0.5))
    c.poly(upper, _LIP, width)
    c.poly(lower, _LIP, width)
    a = pen.amplitude
    if 17 in aus:
        c.poly(_curve((0.46, 0.83), (0.5, 0.83 - 0.015 * a), (0.54, 0.83)), pen.faint, pen.cue)
    if 14 in aus:
        for p in (mo["left"], mo["right"]):
            c.disc(p, round(2 * pen.scale * a), pen.faint, smooth=False)


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
    rng = rng or np.random.default_rng(0)
    aus = frozenset(aus)
    canvas = _blank(size, rng, jitter)
    skin = tuple(int(v) for v in rng.integers(170, 215, 3))
    canvas.fill(_ellipse(0.5, 0.55, 0.3, 0.42, 48), skin)
    g = _geometry(aus, amplitude)
    pen = _pen(skin, size, amplitude, fine)
    for side in ("r", "l"):
        _draw_eye_side(canvas, pen, g, side, aus)
    _draw_nose(canvas, pen, aus)
    _draw_mouth(canvas, pen, g["mouth"], aus)
    return canvas.img, canvas.m


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
