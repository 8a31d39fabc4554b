"""MELLM's motion-enhanced colour map and its legend.

The map (first version of the MELLM paper) colours each pixel of the grayscale onset face by the
direction of its onset → apex motion and brightens it by the motion's magnitude:

1. polar form of the flow in image coordinates (y down): magnitude, and the angle
   ``deg = atan2(v, u)`` in [0, 360) — 0° is rightward, 90° downward, 270° upward;
2. angle quantised to 30° steps, ``q = (round(deg / 30) · 30) mod 360`` (12 hues; numpy's
   round, so exact ties at odd multiples of 15° go to the even step);
3. HSV in OpenCV's 8-bit convention: ``H = q / 2``, ``S = 255``, ``V`` = the magnitude min-max
   normalised over the whole image to [0, 255] (rounded); HSV → BGR;
4. per channel saturating add onto the 3-channel grayscale onset,
   ``out = min(255, gray + flow_colour)``: static pixels stay grey, moving ones turn coloured and
   brighter.

facscope images are RGB, so :func:`motion_colormap` returns the result converted from OpenCV's
BGR to **RGB** (save it with :func:`facscope.io.save_image`, which writes RGB correctly).

Because ``V`` is relative to the image's own range, a perfectly uniform field (every pixel the
same magnitude) renders grey: the map shows where motion is stronger, not how strong it is.

With y pointing down, the spec's formula gives exactly the legend the MELLM prompt states
(hue = the angle on OpenCV's 360° hue circle): right 0° red, down-right 45° orange-yellow,
down 90° yellow-green, down-left 135° green, left 180° cyan, up-left 225° blue, up 270° purple,
up-right 315° magenta/pink. ``tests/motion/test_colormap.py`` checks each one against the
rendered pixels.
"""

from __future__ import annotations

import numpy as np

from facscope.errors import ConfigError

__all__ = [
    "LEGEND",
    "direction_colour",
    "flow_colour",
    "legend_image",
    "legend_text",
    "motion_colormap",
    "quantized_angle",
]

#: (direction, colour name as the prompt says it, angle in image coordinates: atan2(v, u), y down)
LEGEND: tuple[tuple[str, str, int], ...] = (
    ("up", "purple", 270),
    ("up-right", "magenta/pink", 315),
    ("right", "red", 0),
    ("down-right", "orange-yellow", 45),
    ("down", "yellow-green", 90),
    ("down-left", "green", 135),
    ("left", "cyan", 180),
    ("up-left", "blue", 225),
)


def legend_text() -> str:
    """The legend exactly as the MELLM prompt states it to the model."""
    return ", ".join(f"{d} = {c}" for d, c, _ in LEGEND)


def _check(flow: np.ndarray) -> np.ndarray:
    f = np.asarray(flow, dtype=np.float32)
    if f.ndim != 3 or f.shape[2] != 2:
        raise ConfigError(f"a flow field must have shape (H, W, 2); got {f.shape}")
    return f


def quantized_angle(flow: np.ndarray, step: int = 30) -> np.ndarray:
    """``(round(deg / step) · step) mod 360`` of each vector's image-coordinate angle (int)."""
    f = _check(flow)
    deg = np.degrees(np.arctan2(f[..., 1].astype(np.float64), f[..., 0].astype(np.float64)))
    deg = np.mod(deg, 360.0)
    return (np.round(deg / step).astype(np.int64) * step) % 360


def flow_colour(flow: np.ndarray, *, step: int = 30) -> np.ndarray:
    """The flow's colour image before fusion: RGB ``uint8`` (H, W, 3), V min-max normalised."""
    import cv2

    if step <= 0 or 360 % step:
        raise ConfigError(f"the hue step must divide 360 degrees; got {step}")
    f = _check(flow)
    mag = np.hypot(f[..., 0].astype(np.float64), f[..., 1].astype(np.float64))
    lo, hi = float(mag.min()), float(mag.max())
    value = (
        np.zeros(mag.shape, np.uint8)
        if hi - lo <= 0
        else np.rint((mag - lo) / (hi - lo) * 255.0).astype(np.uint8)
    )
    hsv = np.empty((*mag.shape, 3), np.uint8)
    hsv[..., 0] = (quantized_angle(f, step) // 2).astype(np.uint8)
    hsv[..., 1] = 255
    hsv[..., 2] = value
    return cv2.cvtColor(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR), cv2.COLOR_BGR2RGB)


def motion_colormap(onset: np.ndarray, flow: np.ndarray, *, step: int = 30) -> np.ndarray:
    """MELLM's motion-enhanced colour map: RGB ``uint8`` (H, W, 3).

    Args:
        onset: the onset face crop (RGB or grayscale); it is shown in grayscale.
        flow: onset → apex flow (H, W, 2), head motion already removed.
        step: hue quantisation in degrees (30 in MELLM).
    """
    import cv2

    from facscope.motion.flow import to_gray

    gray = to_gray(onset)
    f = _check(flow)
    if gray.shape != f.shape[:2]:
        raise ConfigError(
            f"onset {gray.shape[::-1]} and flow {f.shape[1::-1]} must have the same size"
        )
    base = cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)
    return cv2.add(base, flow_colour(f, step=step))  # uint8 add saturates at 255


def direction_colour(angle_deg: float, *, step: int = 30) -> tuple[int, int, int]:
    """The RGB colour (full brightness) the map gives a motion at ``angle_deg`` (image
    coordinates, y down: 0 right, 90 down, 270 up)."""
    a = np.radians(angle_deg)
    field = np.array([[[np.cos(a), np.sin(a)], [0.0, 0.0]]], dtype=np.float32)
    r, g, b = flow_colour(field, step=step)[0, 0]
    return int(r), int(g), int(b)


def legend_image(size: int = 320, *, step: int = 30) -> np.ndarray:
    """The legend as a picture: RGB ``uint8`` (size, 1.6·size, 3).

    A colour wheel in which each point has the colour the map gives a motion pointing from the
    centre towards that point (so the top is "up" = purple), brightening outwards as magnitude
    does, with the eight directions labelled as the prompt names them.
    """
    import cv2

    if not 160 <= int(size) <= 2048:
        raise ConfigError(f"legend size must be between 160 and 2048 pixels; got {size}")
    h = int(size)
    w = round(1.6 * h)
    cx, cy = w / 2, h / 2
    radius = h * 0.32
    gx, gy = np.meshgrid(np.arange(w) + 0.5 - cx, np.arange(h) + 0.5 - cy)
    inside = np.hypot(gx, gy) <= radius
    field = np.stack([gx, gy], -1).astype(np.float32) / radius
    field[~inside] = 0
    field[0, 0] = (1.0, 0.0)  # pin the normalisation: the rim is full brightness
    img = np.full((h, w, 3), 40, np.uint8)
    img[inside] = cv2.add(img, flow_colour(field, step=step))[inside]
    font, scale = cv2.FONT_HERSHEY_SIMPLEX, h / 700
    for direction, name, angle in LEGEND:
        a = np.radians(angle)
        label = f"{direction}: {name}"
        (tw, th), _ = cv2.getTextSize(label, font, scale, 1)
        # anchor the label's near edge just outside the rim, on the direction's ray
        px = cx + np.cos(a) * (radius + h * 0.05)
        py = cy + np.sin(a) * (radius + h * 0.05)
        x = px - tw / 2 + np.sign(np.round(np.cos(a), 3)) * tw / 2
        y = py + th / 2 + np.sign(np.round(np.sin(a), 3)) * th / 2
        x = int(np.clip(x, 2, w - tw - 2))
        y = int(np.clip(y, th + 2, h - 4))
        cv2.putText(img, label, (x, y), font, scale, (235, 235, 235), 1, cv2.LINE_AA)
    return img
