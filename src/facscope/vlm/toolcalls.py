"""The Qwen tool-calling protocol: ``<tool_call>`` blocks, lenient JSON, the tool section.

A model calls a tool by writing ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``;
:func:`parse_tool_calls` reads those blocks (leniently, see :func:`loads_lenient`) and
:func:`render_tool_section` writes the tool list into a system prompt for chat templates and
endpoints that cannot render ``tools`` themselves. Shared by every backend and by the agent.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TOOL_STOP",
    "ToolCall",
    "format_tool_call",
    "loads_lenient",
    "parse_tool_calls",
    "render_tool_section",
    "strip_tool_calls",
]

#: The stop string that ends a turn after a tool call (the model must not invent the result).
TOOL_STOP = "</tool_call>"
_TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*\n?(.*?)\n?\s*```\s*$", re.DOTALL)


# --------------------------------------------------------------------------- lenient JSON


def _strip_fences(text: str) -> tuple[str, bool]:
    m = _FENCE.match(text)
    return (m.group(1), True) if m else (text, False)


def _balance(text: str) -> tuple[str, bool]:
    """Close unterminated strings, arrays and objects (outside strings), in nesting order."""
    stack: list[str] = []
    in_str, esc = False, False
    for ch in text:
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack and stack[-1] == ch:
            stack.pop()
    tail = ('"' if in_str else "") + "".join(reversed(stack))
    return (text.rstrip().rstrip(",") + tail, True) if tail else (text, False)


def _python_literals(text: str) -> str:
    return re.sub(
        r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", text))
    )


#: The repairs :func:`loads_lenient` tries, in order: (what it says it did, the rewrite).
_REPAIRS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("single quotes", lambda t: t if '"' in t else t.replace("'", '"')),
    ("Python literals", _python_literals),
    ("unquoted keys", lambda t: re.sub(r"([{,]\s*)([A-Za-z_][\w ]*?)\s*:", r'\1"\2":', t)),
    ("closed unterminated brackets", lambda t: _balance(t)[0]),
    ("trailing comma", lambda t: re.sub(r",\s*([}\]])", r"\1", t)),
)


def loads_lenient(text: str) -> tuple[Any, list[str]]:
    """Parse JSON that a language model wrote, repairing common slips.

    Returns the value and the list of repairs made (empty when the text was valid JSON).

    Raises:
        ValueError: the text could not be read even after repairs.
    """
    repairs: list[str] = []
    body, fenced = _strip_fences(text.strip())
    if fenced:
        repairs.append("removed code fence")
    body = body.strip()
    try:
        return json.loads(body), repairs
    except json.JSONDecodeError:
        pass
    start = body.find("{")
    if start > 0:
        body = body[start:]
        repairs.append("dropped text before the JSON object")
    end = body.rfind("}")
    if 0 <= end < len(body) - 1 and body[end + 1 :].strip() and body.count("{") == body.count("}"):
        body = body[: end + 1]
        repairs.append("dropped text after the JSON object")
    fixed = body
    for name, step in _REPAIRS:
        repaired = step(fixed)
        if repaired != fixed:
            fixed = repaired
            repairs.append(name)
    try:
        return json.loads(fixed), repairs
    except json.JSONDecodeError:
        pass
    try:
        value = ast.literal_eval(body)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ValueError(
            f"not valid JSON even after repairs ({', '.join(repairs) or 'none'})"
        ) from None
    return value, [*repairs, "Python literal syntax"]


# --------------------------------------------------------------------------- tool calls


@dataclass(frozen=True)
class ToolCall:
    """One ``<tool_call>`` block: the tool's name and arguments, or why it could not be read."""

    name: str | None
    arguments: dict[str, Any] | None
    raw: str
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def parse_tool_calls(text: str) -> list[ToolCall]:
    """Every ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` in ``text``, in order.

    A final block without its closing tag (the stop string cut it) is read too. Also accepted:
    ``"parameters"`` for ``"arguments"``, arguments given as a JSON string, and the OpenAI shape
    ``{"function": {"name": ..., "arguments": ...}}``.
    """
    calls = []
    for m in _TOOL_CALL.finditer(text):
        raw = m.group(1).strip()
        try:
            obj, _ = loads_lenient(raw)
        except ValueError as exc:
            calls.append(ToolCall(None, None, raw, f"the tool call is not valid JSON: {exc}"))
            continue
        if isinstance(obj, dict) and isinstance(obj.get("function"), dict):
            obj = obj["function"]
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"]:
            calls.append(
                ToolCall(
                    None, None, raw, 'a tool call must be {"name": "<tool>", "arguments": {...}}'
                )
            )
            continue
        args = obj.get("arguments", obj.get("parameters", {}))
        if isinstance(args, str):
            try:
                args, _ = loads_lenient(args) if args.strip() else ({}, [])
            except ValueError:
                calls.append(
                    ToolCall(obj["name"], None, raw, "the tool call's arguments are not valid JSON")
                )
                continue
        if args is None:
            args = {}
        if not isinstance(args, dict):
            calls.append(
                ToolCall(obj["name"], None, raw, "the tool call's arguments must be a JSON object")
            )
            continue
        calls.append(ToolCall(obj["name"].strip(), args, raw))
    return calls


def format_tool_call(name: str, **arguments: Any) -> str:
    """A Qwen-style tool call block, as a model writes it."""
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


def strip_tool_calls(text: str) -> str:
    """``text`` without its tool-call blocks."""
    return _TOOL_CALL.sub("", text).strip()


# --------------------------------------------------------------------------- tool section


def render_tool_section(schemas: Sequence[dict[str, Any]]) -> str:
    """The tool list and calling convention, as text appended to the system prompt.

    Used where the chat template cannot render ``tools`` itself (OpenAI-compatible endpoints
    in text mode, templates without tool support). It mirrors the Qwen tool-calling format, so
    a Qwen model sees what it was trained on.
    """
    listed = "\n".join(json.dumps(s, ensure_ascii=False) for s in schemas)
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{listed}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n'
        "Tool results come back inside <tool_response></tool_response> tags."
    )
