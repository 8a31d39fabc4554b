"""Chat templates: which ones render tools, TRL's shipped templates, and aligning a processor.

Qwen2.5-VL's stock chat template renders neither a ``tools`` list nor ``role: tool`` messages,
so wherever tools are used (the ``transformers`` backend at inference, MELLM and RL training) it
is replaced by the tool-capable ``qwen3_vl.jinja`` template shipped inside TRL — the template
TRL's GRPO trainer trains with. Training and inference then render the same prompts.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, InputFileError

__all__ = [
    "align_chat_template",
    "read_chat_template",
    "supports_tools",
    "tool_template",
    "trl_template",
]


def supports_tools(template: str | None) -> bool:
    """Whether a chat template renders a ``tools`` list and ``role: tool`` messages."""
    if not template:
        return False
    return "tools" in template and ("'tool'" in template or '"tool"' in template)


def _trl_template_dirs() -> list[Path]:
    spec = importlib.util.find_spec("trl")
    roots = list(spec.submodule_search_locations or []) if spec else []
    return [Path(root) / "chat_templates" for root in roots]


def trl_template(name: str) -> str | None:
    """The text of TRL's shipped chat template ``NAME.jinja``, or None (no TRL, no template)."""
    for folder in _trl_template_dirs():
        path = folder / f"{name}.jinja"
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return None


def tool_template() -> str | None:
    """TRL's tool-capable Qwen-VL chat template (``qwen3_vl.jinja``), or None without TRL."""
    return trl_template("qwen3_vl")


def read_chat_template(spec: str) -> str:
    """A chat template's text: ``trl:NAME`` (a template shipped in TRL) or a ``.jinja`` file."""
    if spec.startswith("trl:"):
        text = trl_template(spec[4:])
        if text is None:
            names = sorted(p.stem for d in _trl_template_dirs() for p in d.glob("*.jinja"))
            raise ConfigError(f"TRL ships no chat template {spec[4:]!r}; known: {names}")
        return text
    path = Path(spec)
    if not path.is_file():
        raise InputFileError(f"{path}: no such chat template file (or use 'trl:qwen3_vl')")
    return path.read_text(encoding="utf-8")


def align_chat_template(processor: Any) -> str:
    """Give ``processor`` a chat template that renders tools, when it lacks one and TRL has one.

    Returns where the template came from: ``model`` (its own kept) or ``trl:qwen3_vl.jinja``.
    """
    if supports_tools(getattr(processor, "chat_template", None)):
        return "model"
    template = tool_template()
    if template is None:
        return "model"
    processor.chat_template = template
    return "trl:qwen3_vl.jinja"
