"""Face-normalised geometry of a dense face mesh: the quantities AU measurement reads.

A mesh (:class:`facscope.face.landmarks.Landmarks`, MediaPipe's 468-point topology) is put in
the **eye frame**: the similarity that sends the two eye centres (means of each eye's two
corners, mesh points 33/133 and 362/263) to (−0.5, 0) and (0.5, 0). Units are inter-ocular
distances (IOD), x to the viewer's right, y *down*; in-plane head rotation, scale and position
are factored out. Every quantity below is written so that *larger* means more of the motion
its name says, and each is the mean of the face's two sides unless it is a midline quantity.
"""

from __future__ import annotations

import numpy as np

from facscope.errors import ConfigError

__all__ = ["GEOMETRY", "eye_frame", "geometry", "normalised_points"]

# mesh indices, (viewer-left side, viewer-right side)
_EYE_OUTER, _EYE_INNER = (33, 263), (133, 362)
_EYE_TOP = ((159, 158, 160), (386, 385, 387))
_EYE_BOTTOM = ((145, 153, 144), (374, 380, 373))
_BROW_INNER = ((107, 55), (336, 285))
_BROW_MID = ((105, 66), (334, 296))
_BROW_OUTER = ((70, 46), (300, 276))
_CHEEK = ((205, 50, 101), (425, 280, 330))
_ALA = ((129, 98), (358, 327))
_CORNER = (61, 291)
_LIP_TOP, _LIP_IN_TOP, _LIP_IN_BOTTOM, _LIP_BOTTOM = 0, 13, 14, 17
_SUBNASALE, _CHIN, _NOSE_TIP = 2, 152, 1

#: quantity → what it measures (eye frame, IOD units, y down; larger = more of the name)
GEOMETRY: dict[str, str] = {
    "inner_brow_height": "height of the inner brow ends above the eye-corner line",
    "outer_brow_height": "height of the outer brow ends above the eye-corner line",
    "mid_brow_height": "height of the brow middles above the eye-corner line",
    "brow_gap": "distance between the two inner brow ends",
    "upper_lid_height": "height of the upper lid (mid) above the line through the eye corners",
    "lower_lid_depth": "depth of the lower lid (mid) below the line through the eye corners",
    "eye_opening": "upper lid to lower lid distance",
    "cheek_height": "height of the infra-orbital cheek points above the mouth-corner level "
    "(negated y of the points)",
    "ala_height": "height of the nostril wings (negated y)",
    "upper_lip_to_nose": "vertical distance from the subnasale to the top of the upper lip",
    "corner_height": "height of the lip corners (negated y) relative to the eye line",
    "corner_lift": "height of the lip corners above the mid-point of the lips' meeting line",
    "mouth_half_width": "half the distance between the lip corners",
    "lip_thickness": "upper plus lower red-lip height (outer minus inner contour, midline)",
    "lip_height": "outer upper-lip top to outer lower-lip bottom, midline",
    "lip_gap": "inner upper lip to inner lower lip, midline",
    "lower_lip_height": "height of the outer lower lip (negated y)",
    "chin_drop": "eye line to the chin point",
}


def eye_frame(points: np.ndarray) -> np.ndarray:
    """3×3 similarity mapping image pixels to the eye frame (eye centres at (∓0.5, 0))."""
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] < 468 or p.shape[1] != 2:
        raise ConfigError(f"need a 468-point face mesh (N, 2); got shape {p.shape}")
    left = (p[_EYE_OUTER[0]] + p[_EYE_INNER[0]]) / 2
    right = (p[_EYE_OUTER[1]] + p[_EYE_INNER[1]]) / 2
    d = right - left
    iod = float(np.hypot(*d))
    if iod < 1e-6:
        raise ConfigError("the mesh's eyes coincide; cannot normalise the face")
    c, s = d / iod
    rot = np.array([[c, s], [-s, c]]) / iod
    m = np.eye(3)
    m[:2, :2] = rot
    m[:2, 2] = -rot @ ((left + right) / 2)
    return m


def normalised_points(points: np.ndarray) -> np.ndarray:
    """The mesh in the eye frame (N, 2)."""
    m = eye_frame(points)
    p = np.asarray(points, dtype=np.float64)
    return p @ m[:2, :2].T + m[:2, 2]


def _mean(q: np.ndarray, idx: int | tuple[int, ...]) -> np.ndarray:
    return q[list(idx) if isinstance(idx, tuple) else [idx]].mean(0)


def _sides(q: np.ndarray, pair: tuple) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[type-arg]
    return _mean(q, pair[0]), _mean(q, pair[1])


def _side_values(q: np.ndarray) -> dict[str, tuple[float, float]]:
    """Per-side quantities: name → (viewer-left value, viewer-right value)."""
    out: dict[str, list[float]] = {k: [] for k in GEOMETRY}
    lip_line = (q[_LIP_IN_TOP, 1] + q[_LIP_IN_BOTTOM, 1]) / 2
    for side in (0, 1):
        outer, inner = q[_EYE_OUTER[side]], q[_EYE_INNER[side]]
        line_y = (outer[1] + inner[1]) / 2
        out["inner_brow_height"].append(inner[1] - _mean(q, _BROW_INNER[side])[1])
        out["outer_brow_height"].append(outer[1] - _mean(q, _BROW_OUTER[side])[1])
        out["mid_brow_height"].append(line_y - _mean(q, _BROW_MID[side])[1])
        top, bottom = _mean(q, _EYE_TOP[side])[1], _mean(q, _EYE_BOTTOM[side])[1]
        out["upper_lid_height"].append(line_y - top)
        out["lower_lid_depth"].append(bottom - line_y)
        out["eye_opening"].append(bottom - top)
        out["cheek_height"].append(-_mean(q, _CHEEK[side])[1])
        out["ala_height"].append(-_mean(q, _ALA[side])[1])
        corner = q[_CORNER[side]]
        out["corner_height"].append(-corner[1])
        out["corner_lift"].append(lip_line - corner[1])
        out["mouth_half_width"].append(abs(corner[0] - q[_LIP_TOP, 0]))
    gap = float(np.hypot(*(_mean(q, _BROW_INNER[0]) - _mean(q, _BROW_INNER[1]))))
    midline = {
        "brow_gap": gap,
        "upper_lip_to_nose": q[_LIP_TOP, 1] - q[_SUBNASALE, 1],
        "lip_thickness": (q[_LIP_IN_TOP, 1] - q[_LIP_TOP, 1])
        + (q[_LIP_BOTTOM, 1] - q[_LIP_IN_BOTTOM, 1]),
        "lip_height": q[_LIP_BOTTOM, 1] - q[_LIP_TOP, 1],
        "lip_gap": max(0.0, q[_LIP_IN_BOTTOM, 1] - q[_LIP_IN_TOP, 1]),
        "lower_lip_height": -q[_LIP_BOTTOM, 1],
        "chin_drop": q[_CHIN, 1],
    }
    res = {k: (float(v[0]), float(v[1])) for k, v in out.items() if v}
    res.update({k: (float(v), float(v)) for k, v in midline.items()})
    return res


def geometry(points: np.ndarray) -> dict[str, tuple[float, float]]:
    """Every :data:`GEOMETRY` quantity of a mesh: name → (viewer-left, viewer-right) values.

    Midline quantities give the same value twice.
    """
    return _side_values(normalised_points(points))
