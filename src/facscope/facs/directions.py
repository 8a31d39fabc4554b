"""Directions of facial motion: the one vocabulary every part of facscope uses.

Two closed sets of names, for two frames of reference:

* **Face terms** (:data:`FACE_DIRECTIONS`): how FACS describes an Action Unit's motion on a
  frontal face (``up``, ``inward`` toward the midline, ``forward`` toward the camera, ``closing``
  an aperture…); the catalogue's :attr:`~facscope.facs.ActionUnit.direction`.
* **Image compass** (:data:`COMPASS`): the eight directions measured optical flow is reported
  in (``right``, ``up-right``, ``up``, … 45° apart, counter-clockwise from rightward in math
  coordinates, so ``up`` is toward the top of the picture and ``right`` the viewer's right),
  plus the two verdicts of a region with no direction: :data:`NO_MOTION` and
  :data:`NO_DIRECTION`. These are the names of the region statistics, the colour-map legend, the
  agent's motion rules and the MELLM descriptions.

The subject's right side is on the viewer's left, so "outward" (away from the midline) is the
compass ``left`` for a ``right_*`` region and ``right`` for a ``left_*`` one
(:func:`outward_compass`).
"""

from __future__ import annotations

from facscope.errors import ConfigError

__all__ = [
    "COMPASS",
    "DOWNWARD",
    "FACE_DIRECTIONS",
    "NO_DIRECTION",
    "NO_MOTION",
    "UPWARD",
    "compass_of",
    "normalize_compass",
    "outward_compass",
]

FACE_DIRECTIONS: tuple[str, ...] = (
    "up",
    "down",
    "inward",  # toward the face midline
    "outward",  # away from the face midline
    "up-outward",
    "up-inward",
    "down-outward",
    "down-inward",
    "forward",  # toward the camera (lips pushed out)
    "backward",  # away from the camera, into the face (lip corners or lips drawn in)
    "closing",  # an aperture (eye, lips) narrows or shuts
    "opening",  # an aperture widens
    "none-visible",
)
"""Closed vocabulary of an AU's motion in face terms, in image coordinates of a frontal face."""

#: Eight directions, counter-clockwise from rightward in math coordinates (45° apart).
COMPASS: tuple[str, ...] = (
    "right",
    "up-right",
    "up",
    "up-left",
    "left",
    "down-left",
    "down",
    "down-right",
)
#: A region whose mean motion is below the noise floor.
NO_MOTION = "no significant motion"
#: A region that moves but whose vectors do not agree on one direction.
NO_DIRECTION = "no clear dominant direction"
#: The compass directions with an upward (downward) component.
UPWARD: tuple[str, ...] = ("up", "up-left", "up-right")
DOWNWARD: tuple[str, ...] = ("down", "down-left", "down-right")

_COMPASS_ALIASES = {
    "north": "up",
    "n": "up",
    "north-east": "up-right",
    "northeast": "up-right",
    "ne": "up-right",
    "east": "right",
    "e": "right",
    "south-east": "down-right",
    "southeast": "down-right",
    "se": "down-right",
    "south": "down",
    "s": "down",
    "south-west": "down-left",
    "southwest": "down-left",
    "sw": "down-left",
    "west": "left",
    "w": "left",
    "north-west": "up-left",
    "northwest": "up-left",
    "nw": "up-left",
}


def compass_of(angle: float) -> str:
    """The nearest :data:`COMPASS` name of an angle in degrees (math coordinates, 90 = up)."""
    return COMPASS[round(angle / 45.0) % 8]


def outward_compass(side: str) -> str:
    """The compass name of "away from the midline" for a region on the subject's ``side``."""
    if side not in ("left", "right"):
        raise ConfigError(f"side must be 'left' or 'right' (the subject's own); got {side!r}")
    return "left" if side == "right" else "right"


def normalize_compass(value: object) -> str:
    """A region direction as one canonical name: a :data:`COMPASS` name, :data:`NO_MOTION` or
    :data:`NO_DIRECTION` (None, a missing direction, counts as no dominant direction).

    Case, ``_`` or spaces for ``-`` and compass-rose names (``north``, ``ne``) are accepted.
    """
    if value is None:
        return NO_DIRECTION
    text = str(value).strip().lower().replace("_", "-").replace(" ", "-")
    for verdict in (NO_MOTION, NO_DIRECTION):
        if text == verdict.replace(" ", "-"):
            return verdict
    text = _COMPASS_ALIASES.get(text, text)
    if text not in COMPASS:
        raise ConfigError(
            f"region direction must be one of {COMPASS}, {NO_MOTION!r} or "
            f"{NO_DIRECTION!r}; got {value!r}"
        )
    return text
