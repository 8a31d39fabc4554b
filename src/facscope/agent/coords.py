"""Box coordinates as a model writes them, and the original-image pixels the tools work in.

Every box the agent records is in **original-image pixels**. Models differ in how they write
boxes: Qwen3-VL uses coordinates relative to the image scaled to 0–1000, Qwen2.5-VL absolute
pixels of the image it was fed (after the processor's resize), GPT-style APIs usually the
original pixels. A :class:`BoxFrame` converts both ways, so the tools read the model's boxes
and report boxes back in the model's own convention.
"""

from __future__ import annotations

from dataclasses import dataclass

from facscope.errors import ConfigError
from facscope.vlm.backends.base import COORDINATE_SYSTEMS

__all__ = ["COORDINATE_SYSTEMS", "BoxFrame"]


@dataclass(frozen=True, kw_only=True)
class BoxFrame:
    """How a model writes boxes for one image.

    Attributes:
        system: one of :data:`COORDINATE_SYSTEMS`.
        image_size: (width, height) of the original image.
        model_size: (width, height) of the image the model saw, for ``resized``.
    """

    system: str = "pixels"
    image_size: tuple[int, int] = (1, 1)
    model_size: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.system not in COORDINATE_SYSTEMS:
            raise ConfigError(
                f"coordinate system must be one of {COORDINATE_SYSTEMS}; got {self.system!r}"
            )
        if min(self.image_size) <= 0:
            raise ConfigError(f"image_size must be positive; got {self.image_size}")
        if self.system == "resized" and (self.model_size is None or min(self.model_size) <= 0):
            raise ConfigError(
                f"the 'resized' coordinate system needs model_size (w, h); got {self.model_size}"
            )

    def _scale(self) -> tuple[float, float]:
        """Original pixels per model unit along x and y."""
        w, h = self.image_size
        if self.system == "pixels":
            return 1.0, 1.0
        if self.system == "relative-1000":
            return w / 1000.0, h / 1000.0
        mw, mh = self.model_size  # type: ignore[misc]
        return w / mw, h / mh

    def to_pixels(self, box: list[float]) -> list[float]:
        """A model-frame box ``[x1, y1, x2, y2]`` in original-image pixels."""
        sx, sy = self._scale()
        x1, y1, x2, y2 = (float(v) for v in box)
        return [x1 * sx, y1 * sy, x2 * sx, y2 * sy]

    def from_pixels(self, box: list[float]) -> list[float]:
        """An original-pixel box in the model's frame (rounded to whole units)."""
        sx, sy = self._scale()
        x1, y1, x2, y2 = (float(v) for v in box)
        return [round(x1 / sx), round(y1 / sy), round(x2 / sx), round(y2 / sy)]

    def describe(self) -> str:
        """One sentence for the prompt saying how to write boxes."""
        w, h = self.image_size
        if self.system == "pixels":
            return (
                f"Boxes are [x1, y1, x2, y2] in pixels of the original image ({w}×{h}), "
                "x to the right, y down."
            )
        if self.system == "relative-1000":
            return (
                "Boxes are [x1, y1, x2, y2] relative to the original image, scaled to 0–1000 on "
                "each axis (0 = left/top edge, 1000 = right/bottom edge)."
            )
        mw, mh = self.model_size  # type: ignore[misc]
        return f"Boxes are [x1, y1, x2, y2] in pixels of the image as you see it ({mw}×{mh})."
