"""What a tool call leaves behind: its record, the error it returns to the model, and the
decorator that turns a perception method into a recorded tool."""

from __future__ import annotations

import functools
import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from facscope.errors import ConfigError, FacscopeError

__all__ = ["Blocks", "ToolError", "ToolRecord", "error_blocks", "recorded_tool"]

Blocks = list[dict[str, Any]]


@dataclass
class ToolRecord:
    """One tool call as executed: what was asked, what came back, and how long it took.

    ``data`` is JSON-able: every box in it is in original-image pixels. ``images`` are the
    pictures returned to the model (PIL images; not serialised by :meth:`to_dict`).
    """

    name: str
    arguments: dict[str, Any]
    ok: bool
    text: str
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    images: list[Any] = field(default_factory=list, repr=False)
    seconds: float = 0.0

    @classmethod
    def failed(
        cls, name: str, arguments: dict[str, Any], message: str, *, start: float
    ) -> ToolRecord:
        """The record of a call that failed with ``message`` (``start``: its
        ``time.perf_counter()`` when it began)."""
        seconds = time.perf_counter() - start
        return cls(name, arguments, False, f"Error: {message}", message, seconds=seconds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "arguments": self.arguments,
            "ok": self.ok,
            "error": self.error,
            "text": self.text,
            "data": self.data,
            "n_images": len(self.images),
            "seconds": round(self.seconds, 6),
        }


class ToolError(ConfigError):
    """A tool was called wrongly; the message goes back to the model."""


def error_blocks(message: str) -> Blocks:
    """The content returned to the model for a failed call."""
    return [{"type": "text", "text": f"Error: {message}"}]


def to_pil(image: np.ndarray) -> Any:
    from PIL import Image

    return Image.fromarray(np.ascontiguousarray(image))


def recorded_tool(
    method: Callable[..., tuple[str, dict[str, Any], list[np.ndarray]]],
) -> Callable[..., Blocks]:
    """Turn ``method`` (returning text, data, images) into a tool that returns content blocks,
    records the call, and turns a :class:`FacscopeError` into an error message."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Blocks:
        bound = inspect.signature(method).bind(self, *args, **kwargs)
        arguments = {k: v for k, v in bound.arguments.items() if k != "self"}
        start = time.perf_counter()
        try:
            text, data, images = method(self, *args, **kwargs)
        except (FacscopeError, ValueError, TypeError) as exc:
            message = str(exc)
            self.records.append(ToolRecord.failed(method.__name__, arguments, message, start=start))
            return error_blocks(message)
        pil = [to_pil(im) for im in images]
        self.records.append(
            ToolRecord(
                method.__name__, arguments, True, text, None, data, pil, time.perf_counter() - start
            )
        )
        return [*({"type": "image", "image": im} for im in pil), {"type": "text", "text": text}]

    return wrapper
