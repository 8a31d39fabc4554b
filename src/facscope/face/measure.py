"""One call from a detected face to its measured AUs (dense mesh + geometry), or None when the
``landmarks`` extra is not installed (callers then fall back to inferred AUs)."""

from __future__ import annotations

import numpy as np

from facscope.face.aus import AU_MEASURES, AUMeasurement, clip_aus, still_aus
from facscope.face.landmarks import create_landmarker, landmarks_available
from facscope.types import Face

__all__ = ["measure_face", "region_measurements", "within"]


def measure_face(
    image: np.ndarray,
    face: Face,
    *,
    onset: np.ndarray | None = None,
    flow: list[dict] | None = None,
) -> list[AUMeasurement] | None:
    """Measured AUs of ``face`` in ``image``; with ``onset`` (a clip's onset frame, same
    placement) the onset → apex change (clip mode, ``image`` is the apex), else still mode."""
    if not landmarks_available():
        return None
    mesh = create_landmarker()
    if onset is None:
        r = mesh.landmarks(image, face)
        return still_aus(r.points, score=r.score)
    r0 = mesh.landmarks(onset, face)
    r1 = mesh.landmarks_at(image, r0.crop)
    return clip_aus(r0.points, r1.points, score=min(r0.score, r1.score), flow=flow)


def within(region: str) -> frozenset[str]:
    """``region`` and the canonical regions inside it (box centre strictly within its box in
    the aligned template): ``mouth`` holds both lip corners, each cheek its nasolabial fold,
    the other regions only themselves."""
    from facscope.face.regions import REGIONS

    outer = REGIONS[region]
    inside = {
        name
        for name, b in REGIONS.items()
        if outer.x1 < (b.x1 + b.x2) / 2 < outer.x2 and outer.y1 < (b.y1 + b.y2) / 2 < outer.y2
    }
    return frozenset({region} | inside)


def region_measurements(measurements: list[AUMeasurement], region: str) -> list[AUMeasurement]:
    """The measurements of the AUs that show in canonical ``region`` or in a region inside it
    (:func:`within`: asking for the mouth gives the lip corners' AU12 and AU15 too)."""
    names = within(region)
    return [m for m in measurements if names & set(AU_MEASURES[m.au].regions)]
