"""Checking and converting what the tools are given: images, clips, boxes, JSON arguments."""

from __future__ import annotations

import typing
from collections.abc import Sequence
from typing import Any

import numpy as np

from facscope.agent.coords import BoxFrame
from facscope.agent.tool_records import ToolError
from facscope.errors import ConfigError

__all__ = ["as_rgb", "check_box", "clip_box", "clip_frames", "coerce_argument", "resize_longest"]


def coerce_argument(value: Any, hint: Any) -> Any:
    """Lenient JSON → Python conversion for tool arguments (``2.0`` → 2, ``"1.5"`` → 1.5)."""
    args = typing.get_args(hint)
    if value is None:
        if type(None) in args:
            return None
        raise ToolError("must not be null")
    inner = [a for a in args if a is not type(None)] if args and type(None) in args else [hint]
    target = inner[0] if len(inner) == 1 else hint
    if target is int:
        if isinstance(value, bool):
            raise ToolError(f"must be an integer; got {value!r}")
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        if isinstance(value, int):
            return value
        raise ToolError(f"must be an integer; got {value!r}")
    if target is float:
        if isinstance(value, bool):
            raise ToolError(f"must be a number; got {value!r}")
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ToolError(f"must be a number; got {value!r}") from None
    if target is str:
        if not isinstance(value, str):
            raise ToolError(f"must be a string; got {value!r}")
        return value.strip()
    if typing.get_origin(target) is list:
        if isinstance(value, str):  # "[1, 2, 3, 4]" or "1,2,3,4"
            value = value.strip().strip("[]()").split(",")
        if not isinstance(value, (list, tuple)):
            raise ToolError(f"must be a list; got {value!r}")
        (item,) = typing.get_args(target) or (Any,)
        return [coerce_argument(v, item) if item is not Any else v for v in value]
    return value


def check_box(box: Any, frame: BoxFrame) -> list[float]:
    """A model-frame box [x1, y1, x2, y2] validated and converted to original pixels."""
    if not isinstance(box, (list, tuple)) or len(box) != 4:
        raise ToolError(f"box must be 4 numbers [x1, y1, x2, y2]; got {box!r}")
    try:
        vals = [float(v) for v in box]
    except (TypeError, ValueError):
        raise ToolError(f"box must be 4 numbers [x1, y1, x2, y2]; got {box!r}") from None
    if not all(np.isfinite(vals)):
        raise ToolError(f"box values must be finite; got {box!r}")
    if vals[2] <= vals[0] or vals[3] <= vals[1]:
        raise ToolError(f"box must have x2 > x1 and y2 > y1; got {box!r}")
    return frame.to_pixels(vals)


def clip_box(box: list[float], width: int, height: int) -> list[float] | None:
    """The part of a pixel box inside the image, or None when under 2 px remain."""
    x1, y1 = max(box[0], 0.0), max(box[1], 0.0)
    x2, y2 = min(box[2], float(width)), min(box[3], float(height))
    if x2 - x1 < 2 or y2 - y1 < 2:
        return None
    return [x1, y1, x2, y2]


def resize_longest(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` resized so that its longer side is ``side`` pixels."""
    import cv2

    h, w = image.shape[:2]
    if max(h, w) == side:
        return image
    s = side / max(h, w)
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    return cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), interpolation=interp)


def as_rgb(image: Any) -> np.ndarray:
    """An RGB uint8 array from an array, a PIL image or a path."""
    from facscope.io import load_image, to_rgb_uint8

    if isinstance(image, np.ndarray):
        return to_rgb_uint8(image)
    if hasattr(image, "convert") and hasattr(image, "size"):  # PIL
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        return load_image(image)
    raise ConfigError(f"image must be an array, a PIL image or a path; got {type(image).__name__}")


def clip_frames(clip: Any, onset: int | None, apex: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(onset frame, apex frame) of a Clip (frame numbers) or a frame sequence (positions)."""
    if hasattr(clip, "numbers") and hasattr(clip, "frame"):
        on = clip.numbers[0] if onset is None else onset
        ap = clip.numbers[len(clip) // 2] if apex is None else apex
        return as_rgb(clip[clip.index_of(on)]), as_rgb(clip[clip.index_of(ap)])
    if isinstance(clip, (Sequence, np.ndarray)):
        frames = list(clip)
        if len(frames) < 2:
            raise ConfigError(f"a clip needs at least 2 frames (onset and apex); got {len(frames)}")
        on = 0 if onset is None else onset
        ap = len(frames) // 2 if apex is None else apex
        if len(frames) == 2 and apex is None:
            ap = 1
        for name, i in (("onset", on), ("apex", ap)):
            if not 0 <= i < len(frames):
                raise ConfigError(f"{name} position {i} is outside the clip's {len(frames)} frames")
        return as_rgb(frames[on]), as_rgb(frames[ap])
    raise ConfigError(
        f"clip must be a facscope Clip or a sequence of frames; got {type(clip).__name__}"
    )
