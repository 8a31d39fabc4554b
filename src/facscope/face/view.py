"""Zooming: a new view of a region or box, resampled from the full-resolution source.

A zoom never resamples an already-resampled view: it composes transforms and renders straight
from the source image, so a zoom of a zoom of a zoom is as sharp as one zoom and maps back to
source pixels exactly (up to floating point).
"""

from __future__ import annotations

from collections.abc import Sequence

from facscope.errors import ConfigError
from facscope.face.align import warp
from facscope.face.regions import region_box
from facscope.types import BBox, View, invert, scale_translate

__all__ = ["as_box", "zoom"]


def as_box(value: BBox | Sequence[float]) -> BBox:
    """A :class:`BBox` from a box or an ``[x1, y1, x2, y2]`` sequence, with a clear error."""
    if isinstance(value, BBox):
        return value
    try:
        vals = [float(v) for v in value]
    except (TypeError, ValueError):
        raise ConfigError(f"a box must be [x1, y1, x2, y2] numbers; got {value!r}") from None
    if len(vals) != 4:
        raise ConfigError(f"a box must have 4 numbers [x1, y1, x2, y2]; got {len(vals)}: {value!r}")
    return BBox(*vals)


def zoom(
    view: View,
    target: str | BBox | Sequence[float],
    *,
    scale: float = 1.0,
    size: int = 224,
    frame: str = "source",
) -> View:
    """Zoom into a named region or a box of ``view``.

    Args:
        view: the view to zoom from (an original image's :meth:`View.of`, an aligned face, or
            an earlier zoom).
        target: a canonical region name (needs a view derived from an alignment) or a box
            ``[x1, y1, x2, y2]``.
        scale: context factor: the box is grown (> 1) or shrunk (< 1) about its centre.
        size: pixels along the longer side of the returned view.
        frame: whether a box is in ``"source"`` (original-image) pixels — the default, as the
            agent sees boxes — or in this ``"view"``'s pixels.

    The crop is axis-aligned in ``view``'s frame: a source-pixel box on a rotated (aligned)
    view becomes the view-frame rectangle that covers it.
    """
    if not 0.05 <= scale <= 20:
        raise ConfigError(f"zoom scale must be between 0.05 and 20; got {scale}")
    if not 8 <= int(size) <= 4096:
        raise ConfigError(f"zoom size must be between 8 and 4096 pixels; got {size}")
    if frame not in ("source", "view"):
        raise ConfigError(f"frame must be 'source' or 'view'; got {frame!r}")
    if isinstance(target, str):
        box, label = region_box(target, view), target
    else:
        box = as_box(target)
        label = "box"
        if frame == "source":
            box = box.transformed(invert(view.to_source))
    box = box.scaled(scale)
    _check_overlaps_source(view, box, target)
    bw, bh = box.width, box.height
    out_w = max(1, round(size * bw / max(bw, bh)))
    out_h = max(1, round(size * bh / max(bw, bh)))
    crop_to_view = scale_translate(bw / out_w, bh / out_h, box.x1, box.y1)
    to_source = view.to_source @ crop_to_view
    canonical = None if view.canonical is None else invert(crop_to_view) @ view.canonical
    image = warp(view.source, to_source, (out_w, out_h))
    return View(
        image=image,
        to_source=to_source,
        source=view.source,
        canonical=canonical,
        name=f"zoom:{label}",
    )


def _check_overlaps_source(view: View, box: BBox, target: object) -> None:
    h, w = view.source.shape[:2]
    src = box.transformed(view.to_source)
    if src.x2 <= 0 or src.y2 <= 0 or src.x1 >= w or src.y1 >= h:
        raise ConfigError(
            f"zoom target {target!r} lies outside the {w}×{h} image "
            f"(at [{src.x1:.0f}, {src.y1:.0f}, {src.x2:.0f}, {src.y2:.0f}] in image pixels)"
        )
    if min(src.width, src.height) < 1.0:
        raise ConfigError(
            f"zoom target {target!r} is smaller than one image pixel; choose a larger box"
        )
