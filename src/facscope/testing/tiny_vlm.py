"""Scripted generation for a real (tiny) VLM: :class:`ScriptedGeneration`, a test double.

A random model never writes a tool call, so :class:`ScriptedGeneration` patches a model's
``generate`` to emit scripted replies as token ids — through the real tokenizer — while
recording what each call received (number of images, prompt length). The loop, chat template,
processor and decoding all run for real. The tiny models themselves live in
:mod:`facscope.vlm.tiny` (re-exported here for tests).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from facscope.vlm.tiny import (
    FAMILIES,
    SPECIAL_TOKENS,
    TOOL_TOKENS,
    TinyVLMConfig,
    build_tiny_vlm,
    build_tokenizer,
    save_tiny_vlm,
    tiny_config,
    tokenizer_corpus,
)

__all__ = [
    "FAMILIES",
    "SPECIAL_TOKENS",
    "TOOL_TOKENS",
    "ScriptedGeneration",
    "TinyVLMConfig",
    "build_tiny_vlm",
    "build_tokenizer",
    "save_tiny_vlm",
    "tiny_config",
    "tokenizer_corpus",
]

Reply = str | Callable[[dict[str, Any]], str]


@dataclass
class ScriptedGeneration:
    """Patch ``model.generate`` to emit scripted replies (token ids via the real tokenizer).

    Replies are consumed in order, one per batch row per call; a callable reply receives the
    call record (see below) and returns the text. When the script runs out, ``default`` is used.
    Each call is recorded in :attr:`calls` as ``{"batch": B, "prompt_len": T, "images": N,
    "image_grid_thw": [[t, h, w], ...]}`` — ``images`` counts the images the processor encoded.

    Use as a context manager (restores ``generate``) or call :meth:`install`.

    Example:
        >>> with ScriptedGeneration(model, processor, ['<tool_call>{"name": "detect_faces", '
        ...     '"arguments": {}}</tool_call>', '<answer>{"aus": [], "emotion": "neutral"}</answer>'])
        ...     as script:                                                   # doctest: +SKIP
        ...     agent.run(image)                                             # doctest: +SKIP
    """

    model: Any
    processor: Any
    replies: Sequence[Reply] = ()
    default: str = '<answer>{"aus": [], "emotion": "neutral"}</answer>'
    calls: list[dict[str, Any]] = field(default_factory=list)
    _queue: list[Reply] = field(default_factory=list, repr=False)
    _original: Any = field(default=None, repr=False)

    def install(self) -> ScriptedGeneration:
        self._queue = list(self.replies)
        self._original = self.model.generate
        self.model.generate = self._generate
        return self

    def restore(self) -> None:
        if self._original is not None:
            self.model.generate = self._original
            self._original = None

    def __enter__(self) -> ScriptedGeneration:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def _generate(self, input_ids: Any = None, **kwargs: Any) -> Any:
        import torch

        grid = kwargs.get("image_grid_thw")
        record = {
            "batch": int(input_ids.shape[0]),
            "prompt_len": int(input_ids.shape[1]),
            "images": 0 if grid is None else int(grid.shape[0]),
            "image_grid_thw": [] if grid is None else grid.tolist(),
            "max_new_tokens": kwargs.get("max_new_tokens"),
            "stop_strings": kwargs.get("stop_strings"),
        }
        self.calls.append(record)
        tok = self.processor.tokenizer
        rows = []
        for _ in range(record["batch"]):
            reply = self._queue.pop(0) if self._queue else self.default
            text = reply(record) if callable(reply) else reply
            ids = [
                *tok.encode(text, add_special_tokens=False),
                tok.convert_tokens_to_ids("<|im_end|>"),
            ]
            rows.append(ids)
        width = max(len(r) for r in rows)
        pad = tok.pad_token_id
        new = torch.tensor([r + [pad] * (width - len(r)) for r in rows], dtype=input_ids.dtype)
        return torch.cat([input_ids, new.to(input_ids.device)], dim=1)
