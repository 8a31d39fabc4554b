"""The agent loop: generate, stop after a tool call, run the tool, show the result, repeat.

Episodes of a batch advance in lockstep: each round sends every unfinished conversation to the
backend at once (one padded batch for a local model, concurrent requests for an HTTP endpoint),
then runs the tool calls and appends their results — images included — to each conversation.
A turn without a tool call is the final answer. Caps end runaway loops: after ``max_turns``
turns the episode ends (the last turn is told to answer), and ``max_zooms`` limits zooms.

The **passive** mode (ablation) shows the aligned face once, offers no tools and reads one
answer.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from facscope.agent.coords import BoxFrame
from facscope.agent.parse import ParsedAnswer, parse_answer, parse_tool_calls
from facscope.agent.prompts import FINAL_TURN_NOTICE, system_prompt, task_prompt
from facscope.agent.schema import tool_schemas
from facscope.agent.tools import (
    FaceTools,
    ToolRecord,
    ToolsConfig,
    call_tool,
    error_blocks,
    tool_methods,
)
from facscope.agent.trace import Episode, Turn, measured_present
from facscope.errors import ConfigError
from facscope.facs import EMOTIONS
from facscope.vlm.backends.base import TOOL_STOP, Backend, GenerationRequest

__all__ = ["MODES", "Agent", "AgentConfig", "AgentInput"]

MODES = ("active", "passive")


@dataclass(frozen=True, kw_only=True)
class AgentConfig:
    """Options of the agent loop.

    Attributes:
        mode: ``active`` (tools) or ``passive`` (one pass on the aligned face, no tools).
        max_turns: model turns per episode, the final answer included.
        max_zooms: successful zooms per episode.
        max_calls_per_turn: tool calls executed from one turn (extra calls get an error).
        max_new_tokens: token budget per turn.
        emotions: the closed answer set.
        require_answer_tags: an answer without ``<answer>`` tags fails (as the RL format reward
            requires); False reads a bare JSON object as a repair.
        final_turn_notice: tell the model on its last turn to answer now.
        tools: options of the face tools (``max_zooms`` above overrides its own).
        require_face: when the detector finds no plausible face, end the episode before the
            model is asked, with the status ``no_face`` and no emotion or AUs (False lets the
            model judge the whole image, as an ablation).
    """

    mode: str = "active"
    max_turns: int = 6
    max_zooms: int = 3
    max_calls_per_turn: int = 4
    max_new_tokens: int = 1024
    emotions: tuple[str, ...] = EMOTIONS
    require_answer_tags: bool = True
    final_turn_notice: bool = True
    tools: ToolsConfig = field(default_factory=ToolsConfig)
    require_face: bool = True

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ConfigError(f"agent mode must be one of {MODES}; got {self.mode!r}")
        if not 1 <= self.max_turns <= 64:
            raise ConfigError(f"max_turns must be in 1..64; got {self.max_turns}")
        if self.max_zooms < 0:
            raise ConfigError(f"max_zooms must be >= 0; got {self.max_zooms}")
        if self.max_calls_per_turn < 1:
            raise ConfigError(f"max_calls_per_turn must be >= 1; got {self.max_calls_per_turn}")
        if self.max_new_tokens < 1:
            raise ConfigError(f"max_new_tokens must be >= 1; got {self.max_new_tokens}")
        if not self.emotions:
            raise ConfigError("emotions must name at least one answer")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class AgentInput:
    """One thing to analyse: an image, or a clip (onset→apex) — plus labels kept in the trace.

    ``detections`` (the image's screened faces, :func:`facscope.face.plausibility.find_faces`)
    and ``focus`` (the index of the one face to analyse) come from
    :func:`facscope.agent.analysis.analyze`, which runs one episode per face.
    """

    image: Any = None
    clip: Any = None
    onset: int | None = None
    apex: int | None = None
    name: str = ""
    labels: dict[str, Any] = field(default_factory=dict)
    detections: Any = None
    focus: int | None = None


class _State:
    """One episode in progress."""

    def __init__(self, item: AgentInput, agent: Agent) -> None:
        cfg = agent.config
        self.tools = FaceTools(replace(cfg.tools, max_zooms=cfg.max_zooms, coords="pixels"))
        self.tools.reset(
            item.image,
            clip=item.clip,
            onset=item.onset,
            apex=item.apex,
            detections=item.detections,
            focus=item.focus,
        )
        image = self.tools.image
        h, w = image.shape[:2]
        system = agent.backend.coordinates
        size = agent.backend.model_size((w, h)) if system == "resized" else None
        self.tools.config = replace(self.tools.config, coords=system, model_size=size)
        self.tools.frame = BoxFrame(system=system, image_size=(w, h), model_size=size)
        self.episode = Episode(
            name=item.name,
            mode=cfg.mode,
            backend=agent.backend.describe(),
            image=image,
            is_clip=self.tools.is_clip,
            clip=None if self.tools.clip is None else self.tools.clip.to_dict(),
            labels=dict(item.labels),
            config=cfg.to_dict(),
        )
        self.episode.records = self.tools.records
        self.done = False
        self.noticed = False
        active = cfg.mode == "active"
        self.schemas = _schemas(self.tools) if active else []
        faces = self.tools._ensure_faces() if cfg.require_face or not active else None
        self.episode.face = _face_info(self.tools)
        shown = image if active else _passive_view(image, faces, cfg.tools)
        system = system_prompt(
            tools=active,
            clip=self.tools.is_clip,
            emotions=cfg.emotions,
            coordinates=self.tools.frame.describe() if active else None,
            max_zooms=cfg.max_zooms if active else None,
            measure=active and cfg.tools.measure_tool,
        )
        from PIL import Image

        self.messages: list[dict[str, Any]] = [
            {"role": "system", "content": system},
            {
                "role": "user",
                "content": [
                    {"type": "image", "image": Image.fromarray(shown)},
                    {
                        "type": "text",
                        "text": task_prompt(clip=self.tools.is_clip, passive=not active),
                    },
                ],
            },
        ]
        self.episode.messages = self.messages
        if cfg.require_face and not faces:
            self.episode.no_face = True
            rejected = len(self.tools.detections.rejected) if self.tools.detections else 0
            note = f"; {rejected} detection(s) rejected as not a face" if rejected else ""
            self.finish(
                ParsedAnswer(
                    status="failed",
                    reason=f"no face found (detector {cfg.tools.detector}{note})",
                ),
                "no_face",
            )

    def finish(self, answer: ParsedAnswer, reason: str) -> None:
        self.episode.answer = _checked_basis(answer, self.tools.records)
        self.episode.stop_reason = reason
        self.episode.records = self.tools.records
        self.episode.seconds = time.perf_counter() - self.episode.started
        self.done = True


def _checked_basis(answer: ParsedAnswer, records: list[Any]) -> ParsedAnswer:
    """After ``measure_aus`` calls the answer's ``au_basis`` is what they back, whatever the
    model wrote: ``measured`` when every answered AU was measured present, ``mixed`` when some
    were, ``inferred`` when none were."""
    present = measured_present(records)
    if present is None or not answer.aus:
        return answer
    backed = [a for a in answer.aus if a in present]
    basis = "measured" if len(backed) == len(answer.aus) else "mixed" if backed else "inferred"
    return replace(answer, au_basis=basis)


def _schemas(tools: FaceTools) -> list[dict[str, Any]]:
    """The tool schemas of ``tools`` (built once per class and tool set; copies are returned)."""
    import copy

    methods = tool_methods(tools)
    key = (type(tools), tuple(m.__name__ for m in methods))
    if key not in _SCHEMA_CACHE:
        _SCHEMA_CACHE[key] = tool_schemas(methods)
    return copy.deepcopy(_SCHEMA_CACHE[key])


_SCHEMA_CACHE: dict[tuple[type, tuple[str, ...]], list[dict[str, Any]]] = {}


def _passive_view(image: np.ndarray, faces: list[Any] | None, cfg: ToolsConfig) -> np.ndarray:
    """The aligned first face of the tools (the whole image when no face is found)."""
    from facscope.face import align_face

    if not faces:
        return image
    return align_face(image, faces[0], size=cfg.aligned_size).image


def _face_info(tools: FaceTools) -> dict[str, Any]:
    """What the episode records about its face: the count, the one analysed, its doubts."""
    d = tools.detections
    if d is None:
        return {}
    index = tools.focus if tools.focus is not None else (0 if d.kept else None)
    info: dict[str, Any] = {
        "faces_found": len(d.kept),
        "rejected": len(d.rejected),
        "detector": d.detector,
        "index": index,
    }
    if index is not None:
        info.update(d.kept[index].to_dict())
    return info


def _close_tool_call(text: str) -> str:
    """Cut what follows the last complete tool call, and restore a closing tag the stop
    string removed, so the conversation shows a well-formed call."""
    if "<tool_call>" not in text:
        return text
    last_open = text.rfind("<tool_call>")
    close = text.find(TOOL_STOP, last_open)
    if close < 0:
        return text.rstrip() + "\n" + TOOL_STOP
    return text[: close + len(TOOL_STOP)]


class Agent:
    """Runs episodes of a backend over images or clips.

    Args:
        backend: any :class:`~facscope.vlm.backends.base.Backend`.
        config: loop options; keyword overrides are applied on top.

    Example:
        >>> from facscope.agent import Agent, create_backend
        >>> agent = Agent(create_backend("expert"))            # doctest: +SKIP
        >>> episode = agent.run(image)                          # doctest: +SKIP
        >>> episode.answer.emotion, episode.answer.aus          # doctest: +SKIP
    """

    def __init__(
        self, backend: Backend, config: AgentConfig | None = None, **overrides: Any
    ) -> None:
        base = config or AgentConfig()
        self.config = replace(base, **overrides) if overrides else base
        self.backend = backend

    def settings(self) -> dict[str, Any]:
        """What decides this agent's answers, for the ``config.json`` beside resumable results
        (:func:`facscope.resume.claim_folder`): the backend and the loop options, without the
        concurrency or batch size, which a resumed run may change."""
        return {"backend": self.backend.settings(), "agent": self.config.to_dict()}

    def run(
        self,
        image: Any = None,
        *,
        clip: Any = None,
        onset: int | None = None,
        apex: int | None = None,
        name: str = "",
        labels: dict[str, Any] | None = None,
    ) -> Episode:
        """Analyse one image (or clip) and return its :class:`~facscope.agent.trace.Episode`."""
        item = AgentInput(image, clip, onset, apex, name, dict(labels or {}))
        return self.run_batch([item])[0]

    def run_batch(self, items: Sequence[AgentInput]) -> list[Episode]:
        """Analyse several inputs, their turns batched together; one episode each, in order."""
        states = [_State(item, self) for item in items]
        cfg = self.config
        for turn in range(cfg.max_turns):
            live = [s for s in states if not s.done]
            if not live:
                break
            last = turn == cfg.max_turns - 1
            if last and cfg.final_turn_notice and cfg.mode == "active":
                for s in live:
                    if not s.noticed and s.episode.turns:
                        s.messages.append({"role": "user", "content": FINAL_TURN_NOTICE})
                        s.noticed = True
            requests = [
                GenerationRequest(
                    messages=s.messages,
                    tools=s.schemas,
                    stop=(TOOL_STOP,) if s.schemas else (),
                    records=s.tools.records,
                    max_new_tokens=cfg.max_new_tokens,
                )
                for s in live
            ]
            started = time.perf_counter()
            try:
                generations = self.backend.generate(requests)
            except Exception as exc:  # a backend bug must not lose the batch
                message = f"backend {self.backend.name!r} raised {type(exc).__name__}: {exc}"
                for s in live:
                    s.episode.turns.append(Turn(turn, "", "error", error=message))
                    s.episode.error = message
                    s.finish(ParsedAnswer(status="failed", reason=message), "backend_error")
                continue
            elapsed = time.perf_counter() - started
            for s, gen in zip(live, generations):
                self._advance(s, turn, gen, elapsed, last)
        for s in states:
            if not s.done:  # unreachable in practice: the last turn always finishes
                s.finish(ParsedAnswer(status="failed", reason="turn limit reached"), "turn_limit")
        return [s.episode for s in states]

    def _advance(self, s: _State, index: int, gen: Any, elapsed: float, last: bool) -> None:
        cfg = self.config
        seconds = gen.seconds or elapsed
        if gen.error is not None:
            s.episode.turns.append(
                Turn(
                    index, gen.text or "", "error", seconds, gen.attempts, gen.error, info=gen.info
                )
            )
            s.episode.error = gen.error
            s.finish(
                ParsedAnswer(status="failed", reason=f"backend error: {gen.error}"), "backend_error"
            )
            return
        text = gen.text or ""
        calls = parse_tool_calls(text) if s.schemas else []
        if not calls or last:
            answer = parse_answer(text, emotions=cfg.emotions, require_tags=cfg.require_answer_tags)
            if calls and answer.status == "failed":
                answer = replace(
                    answer, reason=f"turn limit ({cfg.max_turns}) reached: {answer.reason}"
                )
            s.messages.append({"role": "assistant", "content": text})
            s.episode.turns.append(
                Turn(index, text, "answer", seconds, gen.attempts, calls=calls, info=gen.info)
            )
            s.finish(answer, "turn_limit" if calls else "answer")
            return
        text = _close_tool_call(text)
        s.messages.append({"role": "assistant", "content": text})
        turn = Turn(index, text, "tool", seconds, gen.attempts, calls=calls, info=gen.info)
        for k, call in enumerate(calls):
            before = len(s.tools.records)
            name = call.name or "?"
            if k >= cfg.max_calls_per_turn:
                blocks = _reject(
                    s.tools, call, f"at most {cfg.max_calls_per_turn} tool calls per turn"
                )
            elif not call.ok:
                blocks = _reject(s.tools, call, call.error or "malformed tool call")
            else:
                blocks = call_tool(s.tools, name, call.arguments)
            turn.records += list(range(before, len(s.tools.records)))
            s.messages.append({"role": "tool", "name": name, "content": blocks})
        s.episode.turns.append(turn)
        s.episode.records = s.tools.records


def _reject(tools: FaceTools, call: Any, message: str) -> list[dict[str, Any]]:
    tools.records.append(
        ToolRecord(
            call.name or "?",
            call.arguments or {"_raw": call.raw},
            False,
            f"Error: {message}",
            message,
        )
    )
    return error_blocks(message)
