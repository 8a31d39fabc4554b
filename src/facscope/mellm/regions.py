"""Which facial regions move, read from measured per-region motion statistics.

The instruction targets describe motion that was *measured* (onset → apex optical flow,
head motion removed, summarised per region by :func:`facscope.motion.stats.region_stats`), never
motion guessed from the AU labels. This module turns those statistics into the few facts a
description needs: which regions move, in which direction, how strongly.

**The moving-region rule** (:func:`moving_regions`): a region moves when its statistics do not
say "no significant motion" and its mean flow magnitude reaches all three of

* ``relative`` × the largest regional mean of the face (default 0.2): the rule does not depend
  on the clip's amplitude;
* ``noise_factor`` × the face's noise level (default 3 ×), the noise level being the 10th
  percentile of the regional means — the quietest regions, which a micro-expression leaves
  still, measure what sensor noise and flow error alone produce;
* ``floor`` pixels (default 0.03).

On a still synthetic face (sensor noise σ 0.5–4 grey levels, 256-px crop) no region moves; on
synthetic expressions 216 of 224 main AU regions are named (see ``docs/mellm.md``). A region
whose vectors cancel out (``"no clear dominant direction"``, e.g. the whole mouth when both lip
corners move outwards) still moves; it is described as moving without one dominant direction.

**Main regions of an AU** (:func:`main_regions`): the first, most telling region that
:data:`facscope.face.AU_REGIONS` lists for the AU, together with its mirror image for a
bilateral AU (``left_lip_corner`` and ``right_lip_corner`` for AU12), restricted to the coded
side for a unilateral one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from facscope.errors import ConfigError
from facscope.facs.directions import COMPASS
from facscope.motion.stats import RegionMotion

__all__ = [
    "DIRECTIONS8",
    "main_regions",
    "moving_regions",
    "noise_level",
    "read_region_stats",
    "region_phrase",
    "regions_prose",
    "strength_word",
]

#: The eight compass directions of the colour legend and the region statistics (image terms:
#: "up" is towards the top of the picture, "right" towards the viewer's right); the one
#: vocabulary of :mod:`facscope.facs.directions`.
DIRECTIONS8 = COMPASS


def read_region_stats(stats: object) -> list[RegionMotion]:
    """Region statistics as typed :class:`~facscope.motion.stats.RegionMotion` records.

    Accepts what :mod:`facscope.motion.stats` produces: a list of ``RegionMotion`` objects, the
    parsed :func:`~facscope.motion.stats.stats_json` object
    ``{"regions": [...]}``, a list of such dicts, or a mapping ``{region: {...}}``
    (:meth:`RegionMotion.from_dict`: ``mean``, ``max`` and ``direction`` needed).
    """
    if isinstance(stats, Mapping) and "regions" in stats:
        stats = stats["regions"]
    items: Iterable[tuple[str | None, Any]]
    if isinstance(stats, Mapping):
        items = stats.items()
    elif isinstance(stats, Sequence) and not isinstance(stats, (str, bytes)):
        items = ((None, s) for s in stats)
    else:
        raise ConfigError(
            f"region statistics must be a list of records or {{'regions': [...]}}; got "
            f"{type(stats).__name__}"
        )
    out: list[RegionMotion] = []
    for key, rec in items:
        d = rec.to_dict() if isinstance(rec, RegionMotion) else rec
        if not isinstance(d, Mapping):
            raise ConfigError(f"a region statistics record must be a mapping; got {d!r}")
        out.append(RegionMotion.from_dict(d, region=key))
    return out


def noise_level(motions: Sequence[RegionMotion]) -> float:
    """The face's noise level: the 10th percentile of the regional mean magnitudes."""
    import numpy as np

    return float(np.percentile([m.mean for m in motions], 10)) if motions else 0.0


def moving_regions(
    motions: Sequence[RegionMotion],
    *,
    relative: float = 0.2,
    noise_factor: float = 3.0,
    floor: float = 0.03,
) -> list[RegionMotion]:
    """The regions that move, strongest first (see the module docstring for the rule).

    Args:
        motions: every region's statistics.
        relative: fraction of the strongest region's mean a region must reach.
        noise_factor: multiple of the face's noise level (:func:`noise_level`) it must reach.
        floor: absolute minimum mean magnitude, in the field's pixels.
    """
    if not 0 <= relative <= 1:
        raise ConfigError(f"relative must be in [0, 1]; got {relative}")
    if floor < 0 or noise_factor < 0:
        raise ConfigError(f"floor and noise_factor must be >= 0; got {floor}, {noise_factor}")
    if not motions:
        return []
    top = max(m.mean for m in motions)
    level = max(floor, relative * top, noise_factor * noise_level(motions))
    keep = [m for m in motions if not m.still and m.mean >= level]
    return sorted(keep, key=lambda m: (-m.mean, m.region))


def main_regions(au: int, side: str | None = None) -> tuple[str, ...]:
    """The canonical regions where AU ``au`` shows most (see the module docstring); ``()`` for
    an AU with no region (head and eye codes)."""
    from facscope.face import AU_REGIONS, regions_for_au

    if au not in AU_REGIONS:
        return ()
    first = regions_for_au(au, side)[0]
    if first.startswith(("left_", "right_")) and side not in ("L", "R"):
        stem = first.split("_", 1)[1]
        return (f"right_{stem}", f"left_{stem}")
    return (first,)


def strength_word(mean: float, top: float) -> str:
    """``strong`` / ``moderate`` / ``slight``: a region's mean relative to the strongest one."""
    ratio = mean / top if top > 0 else 0.0
    return "strong" if ratio >= 0.66 else "moderate" if ratio >= 0.4 else "slight"


_PROSE = {"nasolabial": "nasolabial fold"}
_PLURAL = {"nasolabial": "nasolabial folds"}


def region_phrase(name: str) -> str:
    """A region name as prose: ``left_lip_corner`` → ``left lip corner``, ``right_nasolabial`` →
    ``right nasolabial fold``."""
    side, _, stem = name.partition("_")
    if side in ("left", "right") and stem:
        return f"{side} {_PROSE.get(stem, stem.replace('_', ' '))}"
    return _PROSE.get(name, name.replace("_", " ")).strip()


def regions_prose(names: Sequence[str]) -> str:
    """Region names as a prose list with articles, a left/right pair merged:
    ``the mouth and both lip corners``."""
    names = list(dict.fromkeys(names))
    parts: list[str] = []
    for n in names:
        side, _, stem = n.partition("_")
        if side in ("left", "right") and stem:
            other = f"{'right' if side == 'left' else 'left'}_{stem}"
            if other in names:
                if names.index(other) < names.index(n):
                    continue
                parts.append(f"both {_PLURAL.get(stem, stem.replace('_', ' ') + 's')}")
                continue
        parts.append(f"the {region_phrase(n)}")
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
