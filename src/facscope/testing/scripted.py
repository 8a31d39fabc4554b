"""A scripted backend: replies from a list or a function, for loop and reward tests."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

from facscope.vlm.backends.base import Backend, Generation, GenerationRequest, message_images
from facscope.vlm.toolcalls import format_tool_call as tool_call

__all__ = ["ScriptedBackend", "tool_call"]


class ScriptedBackend(Backend):
    """Answers each request from a script, as a fake model.

    Args:
        replies: texts in order, shared by all episodes (one per request); when used up,
            ``default``. Items may also be :class:`Generation` objects (to script errors) or
            exceptions (raised from :meth:`generate`, to test the loop's guard).
        respond: ``f(request, index) -> str | Generation`` instead of a fixed script.
        coordinates: the coordinate system the fake model writes boxes in.

    Attributes:
        requests: every request received, in order (with a snapshot of its conversation).
        n_images: number of images in each request's conversation at the time it was made.
        batches: the size of each ``generate`` call.
    """

    name = "scripted"

    def __init__(
        self,
        replies: Sequence[str | Generation | BaseException] = (),
        *,
        respond: Callable[[GenerationRequest, int], str | Generation] | None = None,
        default: str = '<answer>{"aus": [], "emotion": "neutral"}</answer>',
        coordinates: str = "pixels",
    ) -> None:
        self._script = list(replies)
        self._respond = respond
        self.default = default
        self.coordinates = coordinates
        self.requests: list[GenerationRequest] = []
        self.n_images: list[int] = []
        self.batches: list[int] = []

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        self.batches.append(len(requests))
        out = []
        for req in requests:
            index = len(self.requests)
            self.requests.append(
                replace(req, messages=list(req.messages), records=list(req.records))
            )
            self.n_images.append(len(message_images(req.messages)))
            if self._respond is not None:
                reply: Any = self._respond(req, index)
            else:
                reply = self._script.pop(0) if self._script else self.default
            if isinstance(reply, BaseException):
                raise reply
            out.append(reply if isinstance(reply, Generation) else Generation(str(reply)))
        return out
