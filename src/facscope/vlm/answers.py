"""Reading a model's final ``<answer>`` block (tool calls: :mod:`facscope.vlm.toolcalls`).

Shared by every consumer that reads model output: the agent, the RL rewards and MELLM.

The answer format is reasoning, then ``<answer>{"aus": [...], "emotion": "..."}</answer>``. The
parser is lenient where a reader would be (AU numbers or FACS names, emotion synonyms, single
quotes, trailing commas, a missing closing brace or tag, code fences) and says so: every
:class:`ParsedAnswer` carries a status — ``ok``, ``repaired`` (with the repairs made) or
``failed`` (with the reason) — and never raises.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from facscope.errors import AUParseError
from facscope.facs import AU_CATALOGUE, EMOTIONS, au_from_name, normalize_emotion, parse_aus
from facscope.vlm.toolcalls import loads_lenient, strip_tool_calls

__all__ = ["PARSE_STATUSES", "ParsedAnswer", "format_answer", "parse_answer"]

PARSE_STATUSES = ("ok", "repaired", "failed")
_ANSWER_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_ANSWER_CLOSE = re.compile(r"</answer>", re.IGNORECASE)
_AU_KEYS = ("aus", "au", "action_units", "action units", "actionunits", "au_list")
_EMOTION_KEYS = ("emotion", "label", "expression", "emotion_label")


# --------------------------------------------------------------------------- answers


@dataclass(frozen=True)
class ParsedAnswer:
    """A model's final answer, read leniently.

    Attributes:
        status: ``ok``, ``repaired`` or ``failed`` (see :data:`PARSE_STATUSES`).
        emotion: canonical emotion name, None when failed.
        aus: sorted AU numbers (catalogue AUs only), None when failed.
        reasoning: the text before the answer block.
        reason: why parsing failed (None otherwise).
        repairs: what was fixed to read the answer.
        au_basis: the answer's own ``au_basis`` field (``"measured"`` / ``"inferred"``), if given.
        raw: the text inside the answer tags.
        fields: the parsed JSON object (whatever was read, even on failure).
    """

    status: str
    emotion: str | None = None
    aus: tuple[int, ...] | None = None
    reasoning: str = ""
    reason: str | None = None
    repairs: tuple[str, ...] = ()
    au_basis: str | None = None
    raw: str = ""
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True unless parsing failed."""
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {
            "emotion": self.emotion,
            "aus": None if self.aus is None else list(self.aus),
            "status": self.status,
            "reason": self.reason,
            "repairs": list(self.repairs),
            "au_basis": self.au_basis,
            "reasoning": self.reasoning,
            "raw": self.raw,
        }


def _failed(
    reason: str,
    reasoning: str = "",
    raw: str = "",
    fields: dict | None = None,
    repairs: Sequence[str] = (),
) -> ParsedAnswer:
    return ParsedAnswer(
        status="failed",
        reason=reason,
        reasoning=reasoning,
        raw=raw,
        fields=dict(fields or {}),
        repairs=tuple(repairs),
    )


def _lookup(obj: dict[str, Any], keys: Sequence[str]) -> tuple[bool, Any]:
    norm = {re.sub(r"[\s_-]+", "_", str(k).strip().lower()): v for k, v in obj.items()}
    for k in keys:
        key = re.sub(r"[\s_-]+", "_", k)
        if key in norm:
            return True, norm[key]
    return False, None


def _au_number(item: Any) -> int:
    """One AU from an answer item: 12, 12.0, "AU12", "12", "lip corner puller", {"au": 12}."""
    if isinstance(item, dict):
        for key in ("au", "number", "id", "code", "name"):
            if key in item:
                return _au_number(item[key])
        raise AUParseError(f"AU entry {item!r} has no 'au' or 'name' field")
    if isinstance(item, bool):
        raise AUParseError(f"{item!r} is not an AU")
    if isinstance(item, (int, float)):
        if float(item).is_integer():
            return int(item)
        raise AUParseError(f"AU {item!r} is not a whole number")
    if not isinstance(item, str):
        raise AUParseError(f"{item!r} is not an AU")
    text = item.strip()
    try:
        return au_from_name(text)
    except AUParseError:
        pass
    head = re.match(r"^\s*AU\s*(\d{1,3})\b", text, re.IGNORECASE)
    if head:  # "AU12 (lip corner puller)"
        return int(head.group(1))
    name = re.sub(r"\(.*?\)|AU\s*\d+\s*[-:]?", "", text, flags=re.IGNORECASE).strip(" -:")
    if name and name != text:
        return au_from_name(name)
    parsed = parse_aus(text)  # "L12A", "12(?)"
    if len(parsed) == 1:
        return parsed[0].number
    raise AUParseError(f"{item!r} is not one AU")


def _read_aus(value: Any) -> tuple[int, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return ()
        pieces = re.split(r"\s*[+,;]\s*", text) if re.search(r"[+,;]", text) else [text]
        numbers = [_au_number(p) for p in pieces if p]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        numbers = [_au_number(value)]
    elif isinstance(value, (list, tuple)):
        numbers = [_au_number(v) for v in value]
    else:
        raise AUParseError(f"aus must be a list of AUs; got {value!r}")
    unknown = sorted({n for n in numbers if n not in AU_CATALOGUE})
    if unknown:
        raise AUParseError(
            f"AU {', '.join(map(str, unknown))} is not a FACS Action Unit of the catalogue"
        )
    return tuple(sorted(set(numbers)))


def parse_answer(
    text: str, *, emotions: Sequence[str] = EMOTIONS, require_tags: bool = True
) -> ParsedAnswer:
    """Read the final answer from a model's text; never raises.

    Args:
        text: the model's whole final message.
        emotions: canonical emotion names accepted as an answer (synonyms are normalised first).
        require_tags: without ``<answer>`` tags the answer fails; ``False`` reads the last
            JSON object in the text instead (a repair).

    Returns:
        A :class:`ParsedAnswer`; check ``status``.
    """
    if not isinstance(text, str):
        return _failed(f"model output is not text: {type(text).__name__}")
    repairs: list[str] = []
    opens = list(_ANSWER_OPEN.finditer(text))
    if opens:
        start = opens[-1]
        reasoning = text[: start.start()]
        rest = text[start.end() :]
        close = _ANSWER_CLOSE.search(rest)
        if close:
            raw = rest[: close.start()]
        else:
            raw = rest
            repairs.append("missing </answer>")
    else:
        if require_tags:
            reason = "no <answer> tag in the model output"
            if "<tool_call>" in text:
                reason += " (it called a tool instead of answering)"
            return _failed(reason, reasoning=strip_tool_calls(text))
        brace = text.rfind("{")
        if brace < 0:
            return _failed("no <answer> tag and no JSON object in the model output", reasoning=text)
        reasoning, raw = text[:brace], text[brace:]
        repairs.append("no <answer> tags")
    reasoning = strip_tool_calls(reasoning).strip()
    raw = raw.strip()
    if not raw:
        return _failed("the <answer> block is empty", reasoning, raw, repairs=repairs)
    try:
        obj, fixes = loads_lenient(raw)
    except ValueError as exc:
        return _failed(f"the answer is not JSON: {exc}", reasoning, raw, repairs=repairs)
    repairs += fixes
    if not isinstance(obj, dict):
        return _failed(
            f"the answer must be a JSON object; got {type(obj).__name__}",
            reasoning,
            raw,
            repairs=repairs,
        )
    has_emotion, emotion_value = _lookup(obj, _EMOTION_KEYS)
    if not has_emotion:
        return _failed('the answer has no "emotion" field', reasoning, raw, obj, repairs)
    emotion = normalize_emotion(emotion_value) if isinstance(emotion_value, str) else None
    allowed = tuple(emotions)
    if emotion is None or emotion not in allowed:
        return _failed(
            f"unknown emotion {emotion_value!r}; expected one of {list(allowed)}",
            reasoning,
            raw,
            obj,
            repairs,
        )
    if emotion_value.strip().lower() != emotion:
        repairs.append(f"emotion synonym {emotion_value!r} → {emotion!r}")
    has_aus, au_value = _lookup(obj, _AU_KEYS)
    if not has_aus:
        return _failed('the answer has no "aus" field', reasoning, raw, obj, repairs)
    try:
        aus = _read_aus(au_value)
    except AUParseError as exc:
        return _failed(f"bad AU list: {exc}", reasoning, raw, obj, repairs)
    basis = obj.get("au_basis")
    return ParsedAnswer(
        status="repaired" if repairs else "ok",
        emotion=emotion,
        aus=aus,
        reasoning=reasoning,
        repairs=tuple(repairs),
        au_basis=basis if isinstance(basis, str) else None,
        raw=raw,
        fields=obj,
    )


def format_answer(emotion: str, aus: Sequence[int], **extra: Any) -> str:
    """The canonical answer block for ``emotion`` and ``aus`` (extra fields are appended)."""
    body = {"aus": [int(a) for a in aus], "emotion": emotion, **extra}
    return f"<answer>{json.dumps(body, ensure_ascii=False)}</answer>"
