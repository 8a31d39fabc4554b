"""What every VLM backend receives and returns, and the registry that names them.

A backend turns a batch of conversations into a batch of texts. Conversations are chat messages
in the Hugging Face / TRL shape — ``{"role": ..., "content": str | [content blocks]}`` with
image blocks ``{"type": "image", "image": PIL.Image}`` and tool results as ``role="tool"``
messages — so one loop drives a local model, an HTTP endpoint or a scripted policy alike. A
backend never raises for one bad request: it returns a :class:`Generation` with ``error`` set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from facscope.registry import Registry
from facscope.vlm.toolcalls import TOOL_STOP

__all__ = [
    "BACKENDS",
    "COORDINATE_SYSTEMS",
    "TOOL_STOP",
    "Backend",
    "Generation",
    "GenerationRequest",
    "create_backend",
    "list_backends",
    "message_images",
]

#: How a model writes boxes. ``pixels``: original-image pixels; ``relative-1000``: 0–1000 over
#: each axis (Qwen3-VL); ``resized``: pixels of the image as resized for the model (Qwen2.5-VL).
COORDINATE_SYSTEMS = ("pixels", "relative-1000", "resized")


@dataclass
class GenerationRequest:
    """One conversation to continue.

    Attributes:
        messages: the conversation so far (system, user, assistant, tool messages).
        tools: OpenAI-format tool schemas offered in this episode (empty: no tools).
        stop: strings that end the generation (kept in the returned text when generated).
        records: the episode's tool calls so far as :class:`~facscope.agent.tools.ToolRecord`
            (structured results; read by policies such as the ``expert`` backend).
        max_new_tokens: token budget for this turn (None: the backend's default).
    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    stop: tuple[str, ...] = (TOOL_STOP,)
    records: list[Any] = field(default_factory=list)
    max_new_tokens: int | None = None


@dataclass
class Generation:
    """A backend's reply to one request.

    Attributes:
        text: what the model wrote (empty on error).
        error: why no text came back (transport failure, timeout, …), else None.
        seconds: wall time of this request (for a batch, the batch's time).
        attempts: HTTP attempts made (1 for local backends).
        usage: token counts when the backend reports them.
        info: backend-specific details (e.g. the expert's perception timings).
    """

    text: str
    error: str | None = None
    seconds: float = 0.0
    attempts: int = 1
    usage: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


class Backend:
    """Base class of VLM backends.

    Attributes:
        name: registry name.
        coordinates: how the model writes boxes (``pixels``, ``relative-1000``, ``resized``).
    """

    name = "base"
    coordinates = "pixels"
    #: What :meth:`describe` records after the name, in order: ``"key"`` for an attribute of
    #: that name, ``"key=attribute"`` otherwise. Never a secret (an API key).
    described: tuple[str, ...] = ("coordinates",)

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        """Continue each conversation by one assistant turn; one :class:`Generation` each."""
        raise NotImplementedError

    def model_size(self, image_size: tuple[int, int]) -> tuple[int, int] | None:
        """The size the model sees an image of ``image_size`` at (for ``resized`` boxes)."""
        return None

    def describe(self) -> dict[str, Any]:
        """What to record about this backend in a trace: its name and :attr:`described`."""
        pairs = (entry.partition("=") for entry in self.described)
        return {"name": self.name, **{k: getattr(self, a or k) for k, _, a in pairs}}

    def settings(self) -> dict[str, Any]:
        """:meth:`describe` without what only changes speed (``concurrency``, ``batch_size``):
        the part stored beside resumable results and compared when a run resumes."""
        return {k: v for k, v in self.describe().items() if k not in ("concurrency", "batch_size")}

    def close(self) -> None:
        """Release resources (threads, models)."""


#: Filled by the backend modules, which importing :mod:`facscope.vlm.backends` loads (nothing heavy);
#: packages above add their own backends when they are imported (the agent adds ``expert``).
BACKENDS: Registry[Backend] = Registry("agent backend")


def create_backend(name: str, /, **options: Any) -> Backend:
    """The backend registered as ``name`` (``openai``, ``transformers``; ``expert`` once
    :mod:`facscope.agent` is imported), built with ``options``."""
    return BACKENDS.create(name, **options)


def list_backends() -> list[str]:
    """Registered backend names, sorted (``BACKENDS.describe()`` gives one line on each)."""
    return BACKENDS.names()


def message_images(messages: Sequence[dict[str, Any]]) -> list[Any]:
    """The images of a conversation in the order a chat template renders them."""
    out = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            out += [b["image"] for b in content if isinstance(b, dict) and b.get("type") == "image"]
    return out
