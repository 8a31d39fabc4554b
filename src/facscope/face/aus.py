"""Action Units measured from dense-landmark geometry: still images and onset → apex clips.

Each AU in :data:`AU_MEASURES` is one signed linear combination of the face-normalised
quantities of :mod:`facscope.face.au_geometry` (eye frame, inter-ocular-distance units, head
position, size and in-plane rotation factored out by the eye-line similarity), chosen so that it
grows with the appearance change FACS describes for that AU (:data:`facscope.facs.AU_CATALOGUE`
``motion``). Two modes:

* **still** (:func:`still_aus`): the value is the combination on this face minus its median over
  the reference faces (:mod:`facscope.face.au_reference`: scikit-image LFW faces 0–49, a
  population of mostly near-neutral faces); the threshold is ``k`` robust standard deviations
  of the combination over those faces.
* **clip** (:func:`clip_aus`): the value is the combination at the apex minus at the onset,
  both meshes read through the onset's crop; the threshold is tuned on synthetic clips of
  known AUs (``facscope synth`` faces of the tuning subjects, see docs/aus.md). Per-region
  optical-flow statistics (``motion_map``'s, :mod:`facscope.motion.stats`) may be given: an AU
  whose landmark value reaches :data:`FLOW_SUPPORT` of its threshold is counted present when
  the flow in its region moves in its FACS direction.

Every measurement carries its value, threshold, an intensity (FACS A–E, from the value's
multiple of the threshold) and a confidence in [0.5, 1] (how far the value lies from the
threshold in units of the noise, times the mesh's face score).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.face.au_geometry import geometry

__all__ = [
    "AU_MEASURES",
    "FLOW_SUPPORT",
    "AUMeasure",
    "AUMeasurement",
    "clip_aus",
    "combine",
    "flow_supported",
    "intensity_letter",
    "measured_aus",
    "still_aus",
]


@dataclass(frozen=True, kw_only=True)
class AUMeasure:
    """How one AU is measured: weights on :data:`~facscope.face.au_geometry.GEOMETRY`
    quantities, the FACS appearance change it tracks and the canonical regions it shows in."""

    au: int
    weights: Mapping[str, float]
    tracks: str
    regions: tuple[str, ...]
    side_max: bool = False  # use the stronger side (unilateral AUs show on one side)


def _m(au: int, weights: dict[str, float], tracks: str, *regions: str) -> AUMeasure:
    return AUMeasure(au=au, weights=weights, tracks=tracks, regions=regions)


_BROWS = ("glabella", "right_brow", "left_brow")
_EYES = ("right_eye", "left_eye")
_CORNERS = ("right_lip_corner", "left_lip_corner")
# fmt: off
AU_MEASURES: Mapping[int, AUMeasure] = {
    1: _m(1, {"inner_brow_height": 1.0}, "inner brow ends rise above the eye-corner line", *_BROWS),
    2: _m(2, {"outer_brow_height": 1.0}, "outer brow ends rise above the eye-corner line", *_BROWS[1:]),
    4: _m(4, {"inner_brow_height": -0.5, "mid_brow_height": -0.5, "brow_gap": -1.0},
          "brows lower and the inner ends draw together", *_BROWS),
    5: _m(5, {"upper_lid_height": 1.0}, "upper lid rises above the eye-corner line", *_EYES),
    6: _m(6, {"cheek_height": 1.0, "lower_lid_depth": -1.0},
          "infra-orbital cheek rises and pushes the lower lid up", "right_cheek", "left_cheek", *_EYES),
    7: _m(7, {"lower_lid_depth": -1.0, "upper_lid_height": -0.3},
          "lower lid rises and the eye opening narrows", *_EYES),
    9: _m(9, {"ala_height": 1.0, "upper_lip_to_nose": -0.3},
          "nostril wings are pulled up toward the eyes", "nose", "right_nasolabial", "left_nasolabial"),
    10: _m(10, {"upper_lip_to_nose": -1.0}, "upper lip rises toward the nose", "right_nasolabial",
           "left_nasolabial", "mouth"),
    12: _m(12, {"corner_lift": 1.0, "corner_height": 0.5}, "lip corners rise (up and out)",
           *_CORNERS, "right_cheek", "left_cheek"),
    15: _m(15, {"corner_lift": -1.0, "corner_height": -0.5}, "lip corners are pulled down",
           *_CORNERS, "chin"),
    17: _m(17, {"lower_lip_height": 1.0, "chin_drop": -1.0},
           "chin boss and lower lip are pushed up", "chin", "mouth"),
    20: _m(20, {"mouth_half_width": 1.0, "corner_lift": -0.5},
           "lip corners are stretched sideways without rising", *_CORNERS, "mouth"),
    23: _m(23, {"lip_thickness": -1.0, "mouth_half_width": -0.5},
           "red lips thin and the mouth narrows", "mouth"),
    24: _m(24, {"lip_height": -1.0}, "closed lips are pressed together (outer lip height falls)",
           "mouth"),
    25: _m(25, {"lip_gap": 1.0}, "lips part (inner lip gap opens)", "mouth"),
    26: _m(26, {"chin_drop": 1.0, "lip_gap": 0.5}, "jaw lowers: the chin moves down", "mouth", "chin"),
    27: _m(27, {"chin_drop": 1.0, "lip_gap": 1.0}, "mouth stretched wide open (large jaw drop)",
           "mouth", "chin"),
    43: _m(43, {"eye_opening": -1.0}, "eyelids close (lid-to-lid opening collapses)", *_EYES),
    45: _m(45, {"eye_opening": -1.0}, "eyelids close briefly (the opening collapses)", *_EYES),
}
# fmt: on

#: fraction of its threshold at which a clip AU counts as present when the optical flow in
#: its region moves in its FACS direction. On the tuning clips (``python benchmarks/aus.py
#: --tune-flow``) the mean F1 falls from 0.401 at 0 to 0.379 at 0.3 and 0.361 at 0.6 (as
#: without the flow); 0.3, not 0, so that the flow alone never adds an AU whose landmarks did
#: not move (at 0 a +0.000 reading next to a moving region counts). Held out: docs/aus.md
FLOW_SUPPORT = 0.3
_LETTERS = "ABCDE"


@dataclass(frozen=True, kw_only=True)
class AUMeasurement:
    """One AU read off a face (or a clip): value and threshold in IOD units."""

    au: int
    value: float
    threshold: float
    present: bool
    intensity: str | None
    confidence: float
    mode: str
    evidence: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "au": self.au,
            "value": round(self.value, 6),  # IOD units: thresholds go down to 2.5e-4
            "threshold": round(self.threshold, 6),
            "present": self.present,
            "intensity": self.intensity,
            "confidence": round(self.confidence, 3),
            "mode": self.mode,
            "evidence": self.evidence,
        }


def combine(measure: AUMeasure, geo: Mapping[str, tuple[float, float]]) -> float:
    """The AU's combination of quantities (both sides averaged; stronger side if
    ``side_max``)."""
    sides = [sum(w * geo[k][i] for k, w in measure.weights.items()) for i in (0, 1)]
    return max(sides) if measure.side_max else (sides[0] + sides[1]) / 2


def intensity_letter(ratio: float) -> str | None:
    """FACS intensity from value / threshold: < 1 none, then A (1–1.5), B (1.5–2.5),
    C (2.5–4), D (4–6), E (≥ 6)."""
    if ratio < 1:
        return None
    for letter, top in zip(_LETTERS, (1.5, 2.5, 4.0, 6.0)):
        if ratio < top:
            return letter
    return "E"


def _measurement(
    au: int, value: float, threshold: float, noise: float, score: float, mode: str, note: str
) -> AUMeasurement:
    ratio = value / threshold if threshold > 0 else 0.0
    margin = abs(value - threshold) / max(noise, 1e-9)
    confidence = (0.5 + 0.5 * math.tanh(margin / 2)) * max(0.0, min(1.0, score))
    present = ratio >= 1
    return AUMeasurement(
        au=au,
        value=float(value),
        threshold=float(threshold),
        present=present,
        intensity=intensity_letter(ratio),
        confidence=float(max(0.5 * score, confidence)),
        mode=mode,
        evidence=f"{AU_MEASURES[au].tracks}: {value:+.3f} IOD (threshold {threshold:.3f}){note}",
    )


def _reference() -> Any:
    from facscope.face import au_reference

    return au_reference


def still_aus(
    points: np.ndarray, *, score: float = 1.0, aus: Sequence[int] | None = None
) -> list[AUMeasurement]:
    """AUs of one face mesh (source pixels, (468, 2)) against the reference faces."""
    ref = _reference()
    geo = geometry(points)
    out = []
    for au in _select(aus):
        median, spread = ref.STILL_REFERENCE[au]
        value = combine(AU_MEASURES[au], geo) - median
        threshold = ref.STILL_K[au] * spread
        out.append(_measurement(au, value, threshold, spread, score, "still", ""))
    return out


def clip_aus(
    onset: np.ndarray,
    apex: np.ndarray,
    *,
    score: float = 1.0,
    flow: Sequence[Mapping[str, Any]] | None = None,
    aus: Sequence[int] | None = None,
) -> list[AUMeasurement]:
    """AUs from the onset → apex change of two meshes (source pixels, read through one crop).

    ``flow``: per-region motion statistics (dicts or objects with ``region`` and
    ``direction``, as :func:`facscope.motion.stats.region_stats` gives); an AU at or above
    :data:`FLOW_SUPPORT` of its threshold whose region moves in its FACS direction counts.
    """
    ref = _reference()
    g0, g1 = geometry(onset), geometry(apex)
    out = []
    for au in _select(aus):
        m = AU_MEASURES[au]
        value = combine(m, g1) - combine(m, g0)
        threshold, noise = ref.CLIP_THRESHOLD[au], ref.CLIP_NOISE[au]
        out.append(_measurement(au, value, threshold, noise, score, "clip", ""))
    return flow_supported(out, flow) if flow else out


def flow_supported(
    measurements: Sequence[AUMeasurement], flow: Sequence[Mapping[str, Any]]
) -> list[AUMeasurement]:
    """Clip measurements with the optical flow's support: an absent AU at or above
    :data:`FLOW_SUPPORT` of its threshold becomes present (intensity A) when the flow in one of
    its regions moves in its FACS direction; the evidence says which region agreed."""
    moving = _flow_directions(flow)
    out = []
    for meas in measurements:
        agree = [r for r in AU_MEASURES[meas.au].regions if _agrees(meas.au, moving.get(r))]
        if not meas.present and agree and meas.value >= FLOW_SUPPORT * meas.threshold:
            meas = replace(
                meas,
                present=True,
                intensity="A",
                evidence=meas.evidence + f"; flow in the {agree[0]} agrees",
            )
        out.append(meas)
    return out


def _select(aus: Sequence[int] | None) -> list[int]:
    if aus is None:
        return list(AU_MEASURES)
    bad = [a for a in aus if a not in AU_MEASURES]
    if bad:
        raise ConfigError(
            f"AU(s) {bad} cannot be measured from landmarks; measurable: {list(AU_MEASURES)}"
        )
    return list(aus)


def _flow_directions(flow: Sequence[Any]) -> dict[str, str]:
    out = {}
    for s in flow:
        get = s.get if isinstance(s, Mapping) else lambda k, s=s: getattr(s, k, None)
        region, direction = get("region"), get("direction")
        if region and direction:
            out[str(region)] = str(direction)
    return out


def _agrees(au: int, direction: str | None) -> bool:
    """Whether an image-compass ``direction`` matches the AU's FACS direction (up/down only:
    sideways directions depend on the side and are not used)."""
    if not direction:
        return False
    from facscope.facs import AU_CATALOGUE

    facs = AU_CATALOGUE[au].direction
    if facs.startswith("up"):
        return direction.startswith("up")
    if facs.startswith("down") or (facs == "closing" and au in (43, 45)):
        return direction.startswith("down")
    return False


def measured_aus(measurements: Sequence[AUMeasurement]) -> tuple[int, ...]:
    """The present AUs, ascending; AU45 is dropped where AU43 is present (same geometry),
    AU26 where AU27 is (AU27 is the stronger form of the jaw opening)."""
    present = {m.au for m in measurements if m.present}
    if 43 in present:
        present.discard(45)
    if 27 in present:
        present.discard(26)
    return tuple(sorted(present))
