"""Canonical facial regions, defined once in the aligned face's unit square.

The aligned face (see :mod:`facscope.face.align`) puts the five landmarks at
:data:`TEMPLATE` — fractions of the output side, x to the right, y down — so a region is a
fixed box in that square whatever the output size. Region names follow FACS laterality: ``left``
is the subject's left, which is on the *viewer's right* of a frontal image (x > 0.5).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from facscope.errors import ConfigError
from facscope.types import BBox, View

__all__ = [
    "AU_REGIONS",
    "REGIONS",
    "REGION_NAMES",
    "TEMPLATE",
    "region_box",
    "regions_for_au",
]

#: Five landmarks of a frontal face in the unit square (image-left eye, image-right eye, nose tip,
#: image-left mouth corner, image-right mouth corner). Proportions are the median MTCNN landmark
#: geometry of scikit-image's LFW faces (nose 0.58 and mouth 1.09 inter-ocular distances below
#: the eyes, mouth 0.84 inter-ocular distances wide), made symmetric and scaled to an inter-ocular
#: distance of 0.25 so that forehead and chin fit in the square.
TEMPLATE = np.array(
    [
        [0.375, 0.420],
        [0.625, 0.420],
        [0.500, 0.565],
        [0.395, 0.692],
        [0.605, 0.692],
    ]
)
TEMPLATE.setflags(write=False)

_R = {
    # name: (x1, y1, x2, y2) in the unit square
    "forehead": (0.27, 0.13, 0.73, 0.29),
    "right_brow": (0.24, 0.27, 0.46, 0.37),
    "left_brow": (0.54, 0.27, 0.76, 0.37),
    "glabella": (0.42, 0.29, 0.58, 0.42),
    "right_eye": (0.29, 0.365, 0.46, 0.475),
    "left_eye": (0.54, 0.365, 0.71, 0.475),
    "nose": (0.41, 0.42, 0.59, 0.615),
    "right_cheek": (0.22, 0.48, 0.40, 0.64),
    "left_cheek": (0.60, 0.48, 0.78, 0.64),
    "right_nasolabial": (0.32, 0.56, 0.43, 0.70),
    "left_nasolabial": (0.57, 0.56, 0.68, 0.70),
    "mouth": (0.34, 0.63, 0.66, 0.80),
    "right_lip_corner": (0.33, 0.655, 0.45, 0.765),
    "left_lip_corner": (0.55, 0.655, 0.67, 0.765),
    "chin": (0.37, 0.79, 0.63, 0.93),
}
#: Region name → box in the aligned unit square. ``right_*`` lies on the viewer's left.
REGIONS: Mapping[str, BBox] = MappingProxyType({k: BBox(*v) for k, v in _R.items()})
REGION_NAMES: tuple[str, ...] = tuple(_R)

_BROWS = ("right_brow", "left_brow")
_EYES = ("right_eye", "left_eye")
_CHEEKS = ("right_cheek", "left_cheek")
_NASOLABIAL = ("right_nasolabial", "left_nasolabial")
_CORNERS = ("right_lip_corner", "left_lip_corner")

#: AU number → canonical regions where its motion shows (most telling first).
AU_REGIONS: Mapping[int, tuple[str, ...]] = MappingProxyType(
    {
        1: ("glabella", *_BROWS, "forehead"),
        2: (*_BROWS, "forehead"),
        4: ("glabella", *_BROWS),
        5: _EYES,
        6: (*_CHEEKS, *_EYES),
        7: _EYES,
        9: ("nose", "glabella", *_NASOLABIAL),
        10: (*_NASOLABIAL, "mouth"),
        11: (*_NASOLABIAL, "mouth"),
        12: (*_CORNERS, *_CHEEKS),
        13: (*_CHEEKS, *_CORNERS),
        14: (*_CORNERS,),
        15: (*_CORNERS, "chin"),
        16: ("mouth", "chin"),
        17: ("chin", "mouth"),
        18: ("mouth",),
        20: (*_CORNERS, "mouth"),
        22: ("mouth",),
        23: ("mouth",),
        24: ("mouth",),
        25: ("mouth",),
        26: ("mouth", "chin"),
        27: ("mouth", "chin"),
        28: ("mouth",),
        38: ("nose",),
        39: ("nose",),
        43: _EYES,
        45: _EYES,
        46: _EYES,
    }
)


def regions_for_au(au: int, side: str | None = None) -> tuple[str, ...]:
    """Regions where ``au`` shows; ``side`` ``"L"``/``"R"`` keeps only that side's regions."""
    if au not in AU_REGIONS:
        raise ConfigError(f"no facial regions are defined for AU {au}; known: {sorted(AU_REGIONS)}")
    names = AU_REGIONS[au]
    if side in ("L", "R"):
        drop = "right_" if side == "L" else "left_"
        names = tuple(n for n in names if not n.startswith(drop))
    return names


def region_box(name: str, view: View | None = None, *, size: int | None = None) -> BBox:
    """The region ``name`` in a view's pixels, or in an aligned face of side ``size``.

    With a view derived from an alignment (``view.canonical`` set) the box is the region's
    bounding box in that view; with ``size`` it is the region in an aligned ``size``-pixel face;
    with neither, the unit-square box.
    """
    try:
        unit = REGIONS[name]
    except KeyError:
        raise ConfigError(f"region must be one of {list(REGION_NAMES)}; got {name!r}") from None
    if view is not None:
        if view.canonical is None:
            raise ConfigError(
                f"region {name!r} needs an aligned view: align the face first (align_face) or pass a box"
            )
        return unit.transformed(view.canonical)
    if size is not None:
        return BBox(unit.x1 * size, unit.y1 * size, unit.x2 * size, unit.y2 * size)
    return unit
