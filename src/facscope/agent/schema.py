"""Tool schemas from Python signatures and Google-style docstrings (OpenAI tools format).

A tool is a typed function (or bound method); its docstring is what the model reads. This module
turns one into the JSON schema chat APIs expect::

    {"type": "function",
     "function": {"name": ..., "description": ..., "parameters": {"type": "object",
                  "properties": {...}, "required": [...]}}}

The output follows the conventions of ``transformers.utils.get_json_schema`` (``nullable`` for
``X | None``, ``(choices: [...])`` in an argument's description becomes ``enum``), so a model
sees the same schema whether the loop here or TRL's trainer renders the tools — without needing
transformers installed.
"""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from collections.abc import Callable
from typing import Any

from facscope.errors import ConfigError

__all__ = ["parse_google_docstring", "tool_schema", "tool_schemas"]

_SECTION = re.compile(r"^\s*(Args|Arguments|Returns|Raises|Yields|Examples?|Notes?):\s*$")
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")
_CHOICES = re.compile(r"\(choices:\s*(\[.*?\])\)\s*$", re.DOTALL)


def parse_google_docstring(doc: str | None) -> tuple[str, dict[str, str], str | None]:
    """Split a Google-style docstring into (description, {arg: description}, returns).

    Continuation lines are joined with single spaces; the description keeps its paragraphs.
    """
    text = inspect.cleandoc(doc or "")
    lines = text.splitlines()
    desc_lines: list[str] = []
    args: dict[str, str] = {}
    returns: list[str] = []
    section: str | None = None
    current: str | None = None
    arg_indent: int | None = None
    for line in lines:
        head = _SECTION.match(line)
        if head:
            section, current, arg_indent = head.group(1), None, None
            continue
        if section is None:
            desc_lines.append(line)
        elif section in ("Args", "Arguments"):
            if not line.strip():
                continue
            indent = len(line) - len(line.lstrip())
            match = _ARG_LINE.match(line)
            if match and (arg_indent is None or indent <= arg_indent):
                arg_indent = indent
                current = match.group(1).lstrip("*")
                args[current] = match.group(3).strip()
            elif current is not None:
                args[current] = f"{args[current]} {line.strip()}".strip()
        elif section == "Returns" and line.strip():
            returns.append(line.strip())
    description = "\n".join(desc_lines).strip()
    return description, args, (" ".join(returns) or None)


def _json_type(annotation: Any) -> dict[str, Any]:
    """JSON schema of a Python type hint (the subset tools use)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        schema = (
            _json_type(inner[0])
            if len(inner) == 1
            else {"type": [_json_type(a)["type"] for a in inner]}
        )
        if len(inner) < len(args):
            schema["nullable"] = True
        return schema
    if origin is typing.Literal:
        values = list(args)
        base = _json_type(type(values[0]))
        return {**base, "enum": values}
    if origin in (list, tuple, set, frozenset) or annotation in (list, tuple):
        schema: dict[str, Any] = {"type": "array"}
        if (args and origin is not tuple) or (
            args and origin is tuple and len(args) == 2 and args[1] is Ellipsis
        ):
            schema["items"] = _json_type(args[0])
        return schema
    if origin is dict or annotation is dict:
        return {"type": "object"}
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", type(None): "null"}
    if annotation in simple:
        return {"type": simple[annotation]}
    if annotation is Any:
        return {}
    raise ConfigError(
        f"tool argument type {annotation!r} has no JSON schema; use str, int, float, bool, "
        "list[...] or X | None"
    )


def tool_schema(func: Callable[..., Any]) -> dict[str, Any]:
    """The OpenAI-format schema of one tool (a typed function or bound method).

    Raises:
        ConfigError: an argument has no type hint, no docstring entry, or an unsupported type.
    """
    name = getattr(func, "__name__", None)
    if not name:
        raise ConfigError(f"a tool must be a named function; got {func!r}")
    description, arg_docs, _ = parse_google_docstring(inspect.getdoc(func))
    if not description:
        raise ConfigError(f"tool {name!r} has no docstring; the docstring is what the model reads")
    hints = typing.get_type_hints(func)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for pname, param in inspect.signature(func).parameters.items():
        if pname in ("self", "cls") or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if pname not in hints:
            raise ConfigError(f"tool {name!r}: argument {pname!r} has no type hint")
        if pname not in arg_docs:
            raise ConfigError(
                f"tool {name!r}: argument {pname!r} is not described under 'Args:' in its docstring"
            )
        schema = _json_type(hints[pname])
        text = arg_docs[pname]
        choices = _CHOICES.search(text)
        if choices:
            schema["enum"] = json.loads(choices.group(1))
            text = text[: choices.start()].strip()
        schema["description"] = text
        properties[pname] = schema
        if param.default is inspect.Parameter.empty:
            required.append(pname)
    parameters: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return {
        "type": "function",
        "function": {"name": name, "description": description, "parameters": parameters},
    }


def tool_schemas(funcs: list[Callable[..., Any]]) -> list[dict[str, Any]]:
    """Schemas of several tools, in order."""
    return [tool_schema(f) for f in funcs]
