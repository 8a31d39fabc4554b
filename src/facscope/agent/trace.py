"""The record of one agent episode: every turn, tool call, image and timing, as JSON.

An :class:`Episode` is what the loop returns. :meth:`Episode.to_dict` is the ``trace.json``
schema: the final answer under ``answer`` (``emotion``, ``aus``, ``status``, …), each turn with
the model's text and its tool calls, every image shown to the model with its box in
original-image pixels, and timings. Images themselves are written beside the trace by
:func:`write_trace` (``images/NN_role.png``) and referenced by index.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facscope.agent.parse import ParsedAnswer, ToolCall

__all__ = ["Episode", "TraceImage", "Turn", "measured_present", "write_trace"]

TRACE_VERSION = 1


def measured_present(records: list[Any]) -> set[int] | None:
    """The AUs the ``measure_aus`` calls among ``records`` found present (None: no such call)."""
    calls = [r for r in records if r.name == "measure_aus" and r.ok]
    return {int(a) for r in calls for a in r.data["present"]} if calls else None


@dataclass
class Turn:
    """One model turn: the text generated and the tool calls it made.

    ``records`` are indices into the episode's tool records (one per tool call, in order).
    """

    index: int
    text: str
    kind: str  # "tool" (called tools), "answer" (final), "error" (backend failed)
    seconds: float = 0.0
    attempts: int = 1
    error: str | None = None
    calls: list[ToolCall] = field(default_factory=list)
    records: list[int] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "kind": self.kind,
            "text": self.text,
            "seconds": round(self.seconds, 6),
            "attempts": self.attempts,
            "error": self.error,
            "tool_calls": [c.to_dict() for c in self.calls],
            "records": self.records,
            "info": self.info,
        }


@dataclass
class TraceImage:
    """An image the model was shown, with where it lies in the original image."""

    role: str  # "input", "aligned", "zoom", "motion", "passive"
    image: Any  # PIL image
    box: list[float] | None = None  # original-image pixels
    quad: list[list[float]] | None = None
    label: str = ""
    record: int | None = None

    def to_dict(self, index: int, file: str | None = None) -> dict[str, Any]:
        return {
            "index": index,
            "role": self.role,
            "label": self.label,
            "size": list(self.image.size),
            "box": self.box,
            "quad": self.quad,
            "record": self.record,
            "file": file,
        }


@dataclass
class Episode:
    """Everything about one input's run through the agent."""

    name: str
    mode: str
    backend: dict[str, Any]
    image: np.ndarray
    is_clip: bool = False
    clip: dict[str, Any] | None = None  # frames used: ClipFrames.to_dict()
    messages: list[dict[str, Any]] = field(default_factory=list)
    turns: list[Turn] = field(default_factory=list)
    records: list[Any] = field(default_factory=list)  # ToolRecord
    answer: ParsedAnswer | None = None
    stop_reason: str = ""
    error: str | None = None
    labels: dict[str, Any] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    seconds: float = 0.0
    config: dict[str, Any] = field(default_factory=dict)
    #: the face the episode is about: ``faces_found``, ``rejected``, ``index``, ``box``,
    #: ``score``, ``landmarks``, ``doubts`` (empty when detection did not run)
    face: dict[str, Any] = field(default_factory=dict)
    no_face: bool = False

    # ------------------------------------------------------------------ counters

    @property
    def aus_measured(self) -> list[int] | None:
        """The answer's AUs that a ``measure_aus`` call found present (None: it was not
        called, or there is no answer)."""
        present = measured_present(self.records)
        a = self.answer
        if present is None or a is None or a.aus is None:
            return None
        return [x for x in a.aus if x in present]

    @property
    def zooms(self) -> int:
        return sum(r.ok and r.name == "zoom" for r in self.records)

    @property
    def tool_calls(self) -> int:
        return len(self.records)

    @property
    def tool_errors(self) -> int:
        return sum(not r.ok for r in self.records)

    @property
    def generation_seconds(self) -> float:
        return sum(t.seconds for t in self.turns)

    @property
    def tool_seconds(self) -> float:
        return sum(r.seconds for r in self.records)

    def images(self) -> list[TraceImage]:
        """The input image and every image a tool returned, in the order the model saw them."""
        from PIL import Image

        first = self.messages[1]["content"][0]["image"] if len(self.messages) > 1 else None
        h, w = self.image.shape[:2]
        out = [
            TraceImage(
                "passive" if self.mode == "passive" else "input",
                first if first is not None else Image.fromarray(self.image),
                box=None if self.mode == "passive" else [0.0, 0.0, float(w), float(h)],
                label="aligned face" if self.mode == "passive" else "input",
            )
        ]
        roles = {"align_face": "aligned", "zoom": "zoom", "motion_map": "motion"}
        for i, r in enumerate(self.records):
            for im in r.images:
                label = r.data.get("target") or r.data.get("region") or r.name
                out.append(
                    TraceImage(
                        roles.get(r.name, r.name),
                        im,
                        r.data.get("box"),
                        r.data.get("quad"),
                        str(label or "face"),
                        i,
                    )
                )
        return out

    @property
    def status(self) -> str:
        """``no_face`` (nothing was analysed), else the answer's ``ok``/``repaired``/``failed``."""
        if self.no_face:
            return "no_face"
        return "failed" if self.answer is None else self.answer.status

    @property
    def probabilities(self) -> dict[str, float] | None:
        """The class probabilities behind the answer, when the backend reported them."""
        for turn in reversed(self.turns):
            probs = turn.info.get("probabilities") if turn.kind == "answer" else None
            if probs:
                return {k: round(float(v), 4) for k, v in probs.items()}
        return None

    def summary(self) -> dict[str, Any]:
        """The per-sample numbers evaluation keeps."""
        a = self.answer
        f = self.face
        return {
            "emotion": None if a is None else a.emotion,
            "aus": None if a is None or a.aus is None else list(a.aus),
            "status": self.status,
            "reason": None if a is None else a.reason,
            "au_basis": None if a is None else a.au_basis,
            "aus_measured": self.aus_measured,
            "turns": len(self.turns),
            "tool_calls": self.tool_calls,
            "tool_errors": self.tool_errors,
            "zooms": self.zooms,
            "stop_reason": self.stop_reason,
            "error": self.error,
            "seconds": round(self.seconds, 6),
            "generation_seconds": round(self.generation_seconds, 6),
            "tool_seconds": round(self.tool_seconds, 6),
            "probabilities": self.probabilities,
            "faces_found": f.get("faces_found"),
            "face": f.get("index"),
            "box": f.get("box"),
            "score": f.get("score"),
            "doubts": f.get("doubts"),
        }

    def to_dict(self, image_files: list[str] | None = None) -> dict[str, Any]:
        """The ``trace.json`` object (images referenced by index into ``images``)."""
        images = self.images()
        refs = {id(t.image): i for i, t in enumerate(images)}
        files = image_files or [None] * len(images)
        answer = (self.answer or ParsedAnswer(status="failed", reason="no answer")).to_dict()
        h, w = self.image.shape[:2]
        return {
            "version": TRACE_VERSION,
            "name": self.name,
            "input": {
                "kind": "clip" if self.is_clip else "image",
                "width": w,
                "height": h,
                "clip": self.clip,
            },
            "mode": self.mode,
            "backend": self.backend,
            "config": self.config,
            "answer": answer,
            "labels": self.labels,
            "summary": self.summary(),
            "face": self.face,
            "turns": [t.to_dict() for t in self.turns],
            "tool_records": [r.to_dict() for r in self.records],
            "images": [t.to_dict(i, files[i]) for i, t in enumerate(images)],
            "messages": [_message_dict(m, refs) for m in self.messages],
        }


def _message_dict(message: dict[str, Any], refs: dict[int, int]) -> dict[str, Any]:
    content = message.get("content")
    if isinstance(content, list):
        blocks = []
        for b in content:
            if b.get("type") == "image":
                blocks.append({"type": "image", "ref": refs.get(id(b["image"]))})
            else:
                blocks.append({k: v for k, v in b.items()})
        content = blocks
    out = {"role": message["role"], "content": content}
    if "name" in message:
        out["name"] = message["name"]
    return out


def write_trace(episode: Episode, out_dir: str | Path) -> Path:
    """Write ``trace.json`` and the images the model saw (``images/``) into ``out_dir``."""
    from facscope.io import save_image, write_json

    out = Path(out_dir)
    files = []
    for i, t in enumerate(episode.images()):
        rel = f"images/{i:02d}_{t.role}.png"
        save_image(out / rel, np.asarray(t.image.convert("RGB")))
        files.append(rel)
    return write_json(out / "trace.json", episode.to_dict(files))
