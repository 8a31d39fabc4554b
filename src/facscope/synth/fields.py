"""Displacement fields of facial Action Units in canonical face coordinates.

Each supported AU is a small sum of *blobs*: a smooth, compactly supported window (the bump
``(1 - ρ²)³`` on an ellipse, exactly zero outside it) times a constant direction, placed on the
landmark or region the AU moves. Coordinates are the aligned face's unit square
(:data:`facscope.face.TEMPLATE`, :data:`facscope.face.REGIONS`): x to the right, y down, and
FACS laterality, so the subject's *left* side is the viewer's right (x > 0.5). Blobs are written
for the subject's left side and mirrored onto the right; midline blobs sit on x = 0.5.

Directions follow :data:`facscope.facs.AU_CATALOGUE` (``direction``): AU1 lifts the inner brows,
AU4 pulls the brows down and together, AU12 pulls the lip corners up and out, AU15 pulls them
down, AU17 pushes the chin up, AU20 stretches the corners sideways, AU26 drops the jaw, AU43/45
lower the upper lids. Motion toward or away from the camera (AU14 "backward") shows in a frontal
view as its in-plane part (the corners drawn sideways into the cheeks).

Each AU's field is scaled to a peak of 1 on its own; an expression sums its AUs, weighted by FACS
intensity, and :class:`ExpressionField` rescales the sum so that its largest displacement is the
requested amplitude, in pixels of a 256-pixel aligned face.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from facscope.errors import ConfigError
from facscope.facs import AU, parse_aus
from facscope.types import BBox

__all__ = [
    "AU_FIELDS",
    "INTENSITY_WEIGHTS",
    "REFERENCE_SIZE",
    "Blob",
    "ExpressionField",
    "au_field",
    "supported_aus",
    "to_aus",
]

#: Side of the aligned face at which amplitudes are given, in pixels.
REFERENCE_SIZE = 256
#: Relative weight of an AU in a combination by FACS intensity (None: not coded, read as "C").
INTENSITY_WEIGHTS = {None: 0.7, "A": 0.3, "B": 0.5, "C": 0.7, "D": 0.85, "E": 1.0}
#: Weight of a midline blob when its AU is unilateral (half the lip or chin follows one side).
_MIDLINE_UNILATERAL = 0.5


@dataclass(frozen=True)
class Blob:
    """A windowed constant displacement.

    Attributes:
        x, y: centre in the unit square; for a paired blob, the subject's-left copy (x > 0.5).
        rx, ry: half-axes of the window's ellipse (the field is zero outside it).
        dx, dy: direction (normalised on use); on the left side +x is outward.
        weight: peak size relative to the AU's other blobs.
        paired: mirrored onto the subject's right side (x → 1 − x, dx → −dx); False for a
            midline blob.
    """

    x: float
    y: float
    rx: float
    ry: float
    dx: float
    dy: float
    weight: float = 1.0
    paired: bool = True

    def mirrored(self) -> Blob:
        return Blob(1.0 - self.x, self.y, self.rx, self.ry, -self.dx, self.dy, self.weight, False)

    def evaluate(self, points: np.ndarray) -> np.ndarray:
        """Displacement (N, 2) at unit-square ``points`` (N, 2)."""
        rho2 = ((points[:, 0] - self.x) / self.rx) ** 2 + ((points[:, 1] - self.y) / self.ry) ** 2
        w = np.clip(1.0 - rho2, 0.0, None) ** 3
        norm = np.hypot(self.dx, self.dy)
        return np.outer(w, (self.weight * self.dx / norm, self.weight * self.dy / norm))

    def box(self) -> BBox:
        return BBox(self.x - self.rx, self.y - self.ry, self.x + self.rx, self.y + self.ry)


def _mid(x: float, y: float, rx: float, ry: float, dy: float, w: float = 1.0) -> Blob:
    return Blob(x, y, rx, ry, 0.0, dy, w, paired=False)


# Landmarks of TEMPLATE: eyes (0.375 | 0.625, 0.42), nose tip (0.5, 0.565), mouth corners
# (0.395 | 0.605, 0.692). Brows sit near y = 0.33, the upper lid near 0.40, the lower lid near
# 0.45, the lips' meeting line near 0.70, the chin boss near 0.83.
# fmt: off
AU_FIELDS: dict[int, tuple[Blob, ...]] = {
    1: (Blob(0.56, 0.335, 0.065, 0.055, 0.0, -1.0), _mid(0.5, 0.27, 0.09, 0.07, -1.0, 0.5)),
    2: (Blob(0.68, 0.33, 0.075, 0.06, 0.2, -1.0),),
    4: (Blob(0.58, 0.34, 0.08, 0.06, -0.6, 0.8), _mid(0.5, 0.37, 0.05, 0.05, 1.0, 0.3)),
    5: (Blob(0.625, 0.398, 0.06, 0.04, 0.0, -1.0),),
    6: (Blob(0.665, 0.52, 0.09, 0.075, -0.1, -1.0), Blob(0.63, 0.45, 0.06, 0.04, 0.0, -1.0, 0.5)),
    7: (Blob(0.625, 0.447, 0.06, 0.04, 0.0, -1.0), Blob(0.625, 0.395, 0.055, 0.04, 0.0, 1.0, 0.3)),
    9: (Blob(0.535, 0.50, 0.045, 0.065, 0.0, -1.0), _mid(0.5, 0.45, 0.045, 0.045, -1.0, 0.5),
        _mid(0.5, 0.655, 0.07, 0.04, -1.0, 0.4)),
    10: (_mid(0.5, 0.662, 0.09, 0.045, -1.0), Blob(0.565, 0.625, 0.045, 0.045, 0.2, -1.0, 0.5)),
    11: (Blob(0.575, 0.645, 0.05, 0.045, 0.4, -1.0),),
    12: (Blob(0.608, 0.69, 0.07, 0.055, 0.6, -0.8), Blob(0.665, 0.60, 0.07, 0.06, 0.5, -0.85, 0.45)),
    13: (Blob(0.60, 0.685, 0.055, 0.05, 0.15, -1.0), Blob(0.65, 0.60, 0.06, 0.055, 0.0, -1.0, 0.4)),
    14: (Blob(0.615, 0.692, 0.05, 0.045, 1.0, 0.0),),
    15: (Blob(0.605, 0.70, 0.065, 0.055, 0.15, 1.0),),
    16: (_mid(0.5, 0.735, 0.085, 0.045, 1.0), Blob(0.545, 0.74, 0.05, 0.045, 0.3, 1.0, 0.4)),
    17: (_mid(0.5, 0.825, 0.10, 0.065, -1.0), _mid(0.5, 0.745, 0.08, 0.04, -1.0, 0.6)),
    18: (Blob(0.60, 0.692, 0.06, 0.05, -1.0, 0.0),),
    20: (Blob(0.625, 0.705, 0.08, 0.055, 1.0, 0.15),),
    23: (Blob(0.60, 0.692, 0.055, 0.045, -1.0, 0.0, 0.7), _mid(0.5, 0.675, 0.08, 0.04, 1.0, 0.25),
         _mid(0.5, 0.73, 0.08, 0.04, -1.0, 0.25)),
    24: (_mid(0.5, 0.672, 0.09, 0.045, 1.0), _mid(0.5, 0.738, 0.09, 0.045, -1.0)),
    25: (_mid(0.5, 0.745, 0.09, 0.05, 1.0), _mid(0.5, 0.66, 0.08, 0.04, -1.0, 0.35)),
    26: (_mid(0.5, 0.80, 0.14, 0.09, 1.0), _mid(0.5, 0.74, 0.09, 0.045, 1.0, 0.5)),
    27: (_mid(0.5, 0.80, 0.15, 0.10, 1.0), _mid(0.5, 0.74, 0.10, 0.05, 1.0, 0.7),
         Blob(0.60, 0.70, 0.05, 0.045, -0.3, 1.0, 0.4)),
    43: (Blob(0.625, 0.40, 0.06, 0.04, 0.0, 1.0),),
    45: (Blob(0.625, 0.40, 0.06, 0.04, 0.0, 1.0),),
}
# fmt: on


def supported_aus() -> tuple[int, ...]:
    """AU numbers that have a displacement field."""
    return tuple(sorted(AU_FIELDS))


def _blobs(number: int, side: str | None) -> list[Blob]:
    """The blobs of AU ``number``; ``side`` ``"L"``/``"R"`` keeps one side (``"U"`` → ``"L"``)."""
    if number not in AU_FIELDS:
        raise ConfigError(
            f"AU {number} has no synthetic displacement field; supported AUs: {supported_aus()}"
        )
    out: list[Blob] = []
    for b in AU_FIELDS[number]:
        if not b.paired:
            w = b.weight * (_MIDLINE_UNILATERAL if side else 1.0)
            out.append(Blob(b.x, b.y, b.rx, b.ry, b.dx, b.dy, w, False))
            continue
        if side in (None, "L", "U"):
            out.append(b)
        if side in (None, "R"):
            out.append(b.mirrored())
    return out


_GRID = 129  # canonical grid on which each AU's own peak is measured


def _unit_grid(n: int) -> np.ndarray:
    """Pixel centres of an n×n aligned face, in unit-square coordinates, (n·n, 2) row-major."""
    c = (np.arange(n) + 0.5) / n
    xx, yy = np.meshgrid(c, c)
    return np.stack([xx.ravel(), yy.ravel()], axis=1)


@functools.lru_cache(maxsize=64)
def _peak(number: int) -> float:
    """Largest displacement of the bilateral, unnormalised field of AU ``number``."""
    pts = _unit_grid(_GRID)
    total = sum(b.evaluate(pts) for b in _blobs(number, None))
    return float(np.hypot(total[:, 0], total[:, 1]).max())


def au_field(au: AU | int | str, points: np.ndarray) -> np.ndarray:
    """Displacement (N, 2) of one AU at unit-square ``points`` (N, 2), bilateral peak 1.

    A unilateral AU (``L12``) moves only that side; its midline blobs move at half strength.
    """
    a = to_aus(au)[0] if not isinstance(au, AU) else au
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    total = np.zeros_like(pts)
    for b in _blobs(a.number, a.side):
        total += b.evaluate(pts)
    return total / _peak(a.number)


def to_aus(aus: str | int | AU | Iterable[AU | int | str] | None) -> tuple[AU, ...]:
    """Normalise an AU specification (``"1+2+L12"``, ``12``, AU records, a list) to AU records."""
    if aus is None:
        return ()
    if isinstance(aus, AU):
        return (aus,)
    if isinstance(aus, (str, int)):
        return parse_aus(aus)
    out: list[AU] = []
    for a in aus:
        out.extend(to_aus(a))
    return tuple(out)


@dataclass(frozen=True, eq=False)
class ExpressionField:
    """The displacement field of an AU combination, peak ``amplitude`` at 256 px.

    Calling it on unit-square points gives displacements in pixels of a
    :data:`REFERENCE_SIZE`-pixel aligned face; :meth:`grid` renders it at any aligned size.

    Attributes:
        aus: the AUs (sides and intensities honoured; alternatives ignored).
        amplitude: peak displacement in pixels at 256 px; 0 gives a zero field.
    """

    aus: tuple[AU, ...]
    amplitude: float = 1.0

    def __post_init__(self) -> None:
        aus = to_aus(self.aus)
        object.__setattr__(self, "aus", aus)
        for a in aus:
            _blobs(a.number, a.side)  # raises for an AU without a field
        if not (np.isfinite(self.amplitude) and self.amplitude >= 0):
            raise ConfigError(f"amplitude must be a finite number >= 0; got {self.amplitude}")
        raw = self._raw(_unit_grid(REFERENCE_SIZE))
        peak = float(np.hypot(raw[:, 0], raw[:, 1]).max()) if len(aus) else 0.0
        object.__setattr__(self, "_scale", self.amplitude / peak if peak > 0 else 0.0)

    def _raw(self, pts: np.ndarray) -> np.ndarray:
        total = np.zeros_like(pts)
        for a in self.aus:
            total += INTENSITY_WEIGHTS[a.intensity] * au_field(a, pts)
        return total

    def __call__(self, points: np.ndarray) -> np.ndarray:
        """Displacement (N, 2) in 256-px aligned pixels at unit-square ``points`` (N, 2)."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        return self._raw(pts) * self._scale  # type: ignore[attr-defined]

    def grid(self, size: int = REFERENCE_SIZE) -> np.ndarray:
        """The field on a ``size``-pixel aligned face: (size, size, 2) float32, in that face's
        pixels (OpenCV flow convention: the content at pixel ``p`` moves to ``p + flow[p]``)."""
        d = self(_unit_grid(int(size))) * (size / REFERENCE_SIZE)
        return d.reshape(size, size, 2).astype(np.float32)

    def support(self) -> BBox | None:
        """Unit-square box outside which the field is exactly zero (None for no motion)."""
        boxes = [b.box() for a in self.aus for b in _blobs(a.number, a.side)]
        if not boxes or self.amplitude == 0:
            return None
        return BBox(
            min(b.x1 for b in boxes),
            min(b.y1 for b in boxes),
            max(b.x2 for b in boxes),
            max(b.y2 for b in boxes),
        )
