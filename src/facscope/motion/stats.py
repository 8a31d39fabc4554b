"""Per-region motion statistics (MELLM's second version), as valid JSON and as prompt text.

For each region of an aligned face crop's flow field:

- mean and max flow magnitude in pixels, rounded to 3 decimals;
- a dominant direction from the resultant vector in **math coordinates** ``(u, −v)`` (y up, so
  90° is upward, angles counter-clockwise from rightward) and its concentration
  ``R = |Σ vᵢ| / Σ |vᵢ|``: mean magnitude below 1e-4 px → ``"no significant motion"``;
  ``R < 0.15`` → ``"no clear dominant direction"``; otherwise the nearest of eight directions
  (``right``, ``up-right``, ``up``, … the colour legend's names) and the rounded angle.

Two region sets:

- ``canonical``: :data:`facscope.face.REGIONS` (brows, eyes, cheeks, nose, mouth, chin, …);
- ``mellm29``: an **approximation** of MELLM's 29 small square regions (12 eyelid boxes,
  4 brow boxes, 2 nostril wings, 8 mouth boxes, chin, 2 cheeks). MELLM places them from dense
  (68/98-point) landmarks; facscope has five, so the boxes sit at fixed places in the aligned
  unit square derived from the five-point template (eye centres, nose tip, mouth corners) and
  typical facial proportions. They follow the real eyelids and lips only as well as a
  similarity alignment does, which is a few pixels at 256 px.

Left and right are the subject's own (FACS): ``left_*`` is on the viewer's right.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.facs.directions import (
    COMPASS,
    NO_DIRECTION,
    NO_MOTION,
    compass_of,
    normalize_compass,
)
from facscope.types import BBox

__all__ = [
    "COMPASS",
    "MELLM_REGIONS",
    "REGION_SETS",
    "RegionMotion",
    "dominant_direction",
    "region_stats",
    "stats_json",
    "stats_text",
    "strong_regions",
]

MIN_MEAN = 1e-4
MIN_CONCENTRATION = 0.15


def _square(cx: float, cy: float, side: float) -> BBox:
    return BBox(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)


def _mellm_regions() -> dict[str, BBox]:
    """MELLM's 29 regions placed from the five-point template (see the module docstring)."""
    from facscope.face import TEMPLATE

    boxes: dict[str, BBox] = {}
    (rex, rey), (lex, ley), (nx, ny), (rmx, rmy), (lmx, lmy) = TEMPLATE
    iod = lex - rex  # inter-ocular distance, 0.25 of the square
    # subject's right eye is the image-left one: its inner corner is towards +x
    for side, ex, ey, inward in (("right", rex, rey, 1.0), ("left", lex, ley, -1.0)):
        for lid, dy in (("upper", -0.09 * iod), ("lower", 0.09 * iod)):
            for part, dx in (("inner", 0.15 * iod), ("middle", 0.0), ("outer", -0.15 * iod)):
                boxes[f"{side}_eyelid_{lid}_{part}"] = _square(
                    ex + inward * dx, ey + dy, 0.14 * iod
                )
        brow_y = ey - 0.30 * iod
        boxes[f"{side}_brow_inner"] = _square(ex + inward * 0.22 * iod, brow_y, 0.2 * iod)
        boxes[f"{side}_brow_outer"] = _square(ex - inward * 0.26 * iod, brow_y, 0.2 * iod)
    for side, sx in (("right", -1.0), ("left", 1.0)):
        boxes[f"{side}_nostril_wing"] = _square(nx + sx * 0.22 * iod, ny + 0.03 * iod, 0.16 * iod)
    mouth_y = (rmy + lmy) / 2
    mid_x = (rmx + lmx) / 2
    half = (lmx - rmx) / 2
    boxes["right_lip_corner"] = _square(rmx, rmy, 0.16 * iod)
    boxes["left_lip_corner"] = _square(lmx, lmy, 0.16 * iod)
    for lip, dy in (("upper", -0.12 * iod), ("lower", 0.14 * iod)):
        for part, dx in (("right", -0.5 * half), ("middle", 0.0), ("left", 0.5 * half)):
            boxes[f"{lip}_lip_{part}"] = _square(mid_x + dx, mouth_y + dy, 0.16 * iod)
    boxes["chin"] = _square(mid_x, mouth_y + 0.68 * iod, 0.32 * iod)
    boxes["right_cheek"] = _square(rex - 0.2 * iod, ny, 0.32 * iod)
    boxes["left_cheek"] = _square(lex + 0.2 * iod, ny, 0.32 * iod)
    return boxes


#: MELLM's 29-region set, approximated from the five-point template (unit-square boxes).
MELLM_REGIONS: Mapping[str, BBox] = MappingProxyType(_mellm_regions())


def _region_sets() -> dict[str, Mapping[str, BBox]]:
    from facscope.face import REGIONS

    return {"canonical": REGIONS, "mellm29": MELLM_REGIONS}


REGION_SETS = ("canonical", "mellm29")


@dataclass(frozen=True)
class RegionMotion:
    """Motion statistics of one region (magnitudes in the field's pixels).

    Attributes:
        region: region name (``left_lip_corner``; left/right are the subject's own).
        mean, max: mean and largest flow magnitude in the region.
        direction: a :data:`~facscope.facs.directions.COMPASS` name, ``NO_MOTION`` or
            ``NO_DIRECTION`` (:mod:`facscope.facs.directions`).
        angle: the resultant's angle in degrees, counter-clockwise from rightward (90 = up), or
            None when there is no direction.
        concentration: ``R = |Σ vᵢ| / Σ |vᵢ|``; None when the record came without it.
        pixels: how many pixels the region covers; None when the record came without it.
    """

    region: str
    mean: float
    max: float
    direction: str
    angle: int | None = None
    concentration: float | None = None
    pixels: int | None = None

    @property
    def still(self) -> bool:
        """True when the statistics report no significant motion."""
        return self.direction == NO_MOTION

    @property
    def compass(self) -> str | None:
        """The dominant compass direction, or None when there is none (or no motion at all)."""
        return self.direction if self.direction in COMPASS else None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], *, region: str | None = None) -> RegionMotion:
        """The record of :meth:`to_dict` (or its JSON) back; ``region`` names it when ``d`` does
        not. ``mean`` and ``max`` are required; the direction is normalised
        (:func:`~facscope.facs.directions.normalize_compass`)."""
        name = region if region is not None else d.get("region", d.get("name"))
        if not name:
            raise ConfigError(f"region statistics record without a region name: {dict(d)}")
        try:
            mean, peak = float(d["mean"]), float(d["max"])
        except (KeyError, TypeError, ValueError):
            raise ConfigError(
                f"region {name!r}: statistics need numeric 'mean' and 'max'; got {dict(d)}"
            ) from None
        angle, concentration, pixels = d.get("angle"), d.get("concentration"), d.get("pixels")
        return cls(
            region=str(name),
            mean=mean,
            max=peak,
            direction=normalize_compass(d.get("direction")),
            angle=None if angle is None else int(angle),
            concentration=None if concentration is None else float(concentration),
            pixels=None if pixels is None else int(pixels),
        )

    def describe(self) -> str:
        """One readable line for a prompt."""
        name = self.region.replace("_", " ")
        if self.direction in (NO_MOTION, NO_DIRECTION):
            where = self.direction
        else:
            where = f"moves {self.direction} ({self.angle}°)"
        return f"{name}: mean {self.mean:.3f} px, max {self.max:.3f} px, {where}"


def dominant_direction(u: np.ndarray, v: np.ndarray) -> tuple[str, int | None, float]:
    """(direction, angle, R) of vectors given in image coordinates (``v`` down).

    The resultant is taken in math coordinates ``(u, −v)``; see the module docstring for the
    rule. ``angle`` is counter-clockwise from rightward in [0, 360), None when no direction.
    """
    uu = np.asarray(u, dtype=np.float64).ravel()
    vv = -np.asarray(v, dtype=np.float64).ravel()
    mags = np.hypot(uu, vv)
    total = float(mags.sum())
    if uu.size == 0 or total / uu.size < MIN_MEAN:
        return NO_MOTION, None, 0.0
    sx, sy = float(uu.sum()), float(vv.sum())
    r = float(np.hypot(sx, sy) / total)
    if r < MIN_CONCENTRATION:
        return NO_DIRECTION, None, r
    angle = float(np.degrees(np.arctan2(sy, sx))) % 360.0
    return compass_of(angle), round(angle) % 360, r


def _pixel_slice(box: BBox, width: int, height: int) -> tuple[slice, slice]:
    """Rows/columns of the pixels whose centres fall in ``box`` (at least one pixel)."""
    x1 = int(np.clip(np.ceil(box.x1 - 0.5), 0, width - 1))
    y1 = int(np.clip(np.ceil(box.y1 - 0.5), 0, height - 1))
    x2 = int(np.clip(np.floor(box.x2 - 0.5), x1, width - 1))
    y2 = int(np.clip(np.floor(box.y2 - 0.5), y1, height - 1))
    return slice(y1, y2 + 1), slice(x1, x2 + 1)


def region_stats(
    flow: np.ndarray,
    *,
    region_set: str = "canonical",
    regions: Mapping[str, BBox] | None = None,
) -> list[RegionMotion]:
    """Statistics of an aligned face crop's flow field in each region.

    Args:
        flow: (H, W, 2) field over the aligned crop (regions are placed in its unit square, so
            a non-square crop stretches them).
        region_set: ``"canonical"`` or ``"mellm29"`` (see the module docstring).
        regions: name → unit-square box, overriding ``region_set``.
    """
    f = np.asarray(flow, dtype=np.float32)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ConfigError(f"a flow field must have shape (H, W, 2); got {f.shape}")
    if regions is None:
        sets = _region_sets()
        if region_set not in sets:
            raise ConfigError(f"region_set must be one of {REGION_SETS}; got {region_set!r}")
        regions = sets[region_set]
    h, w = f.shape[:2]
    out = []
    for name, unit in regions.items():
        box = BBox(unit.x1 * w, unit.y1 * h, unit.x2 * w, unit.y2 * h)
        rows, cols = _pixel_slice(box, w, h)
        patch = f[rows, cols].reshape(-1, 2)
        mags = np.hypot(patch[:, 0], patch[:, 1])
        direction, angle, r = dominant_direction(patch[:, 0], patch[:, 1])
        out.append(
            RegionMotion(
                region=name,
                mean=round(float(mags.mean()), 3),
                max=round(float(mags.max()), 3),
                direction=direction,
                angle=angle,
                concentration=round(r, 3),
                pixels=len(patch),
            )
        )
    return out


def strong_regions(
    stats: Sequence[RegionMotion | Mapping[str, Any]],
    *,
    min_mean: float = 0.1,
    relative: float = 0.35,
) -> list[dict[str, Any]]:
    """The regions that move strongly, strongest first, as dicts: mean magnitude at least
    ``min_mean`` pixels (of the aligned face) and at least ``relative`` times the strongest
    region's mean. The agent's rule (:func:`facscope.agent.motion.motion_aus`, and the regions
    whose flow supports a clip's mesh AUs, :func:`facscope.face.aus.flow_supported`); MELLM's
    descriptions use a rule with a noise floor instead
    (:func:`facscope.mellm.regions.moving_regions`)."""
    rows = [s.to_dict() if isinstance(s, RegionMotion) else dict(s) for s in stats]
    if not rows:
        return []
    peak = max(float(s.get("mean", 0.0)) for s in rows)
    threshold = max(min_mean, relative * peak)
    rows = [s for s in rows if float(s.get("mean", 0.0)) >= threshold]
    return sorted(rows, key=lambda s: -float(s.get("mean", 0.0)))


def stats_json(stats: list[RegionMotion], *, indent: int | None = None) -> str:
    """The statistics as one valid JSON object ``{"regions": [...]}`` (no NaN)."""
    return json.dumps(
        {"regions": [s.to_dict() for s in stats]},
        indent=indent,
        ensure_ascii=False,
        allow_nan=False,
    )


def stats_text(stats: list[RegionMotion], *, only_moving: bool = False) -> str:
    """Readable lines for an LLM prompt, one per region (subject's left/right)."""
    lines = [
        "Facial motion from onset to apex per region (left/right are the subject's own; "
        "angles counter-clockwise from rightward, 90° = up):"
    ]
    for s in stats:
        if only_moving and s.direction in (NO_MOTION, NO_DIRECTION):
            continue
        lines.append(f"- {s.describe()}")
    return "\n".join(lines)
