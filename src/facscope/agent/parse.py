"""What the agent reads from a model: its tool calls and its final answer.

Both readers live in :mod:`facscope.vlm` (shared with ``rl`` and ``mellm``); this module keeps
the agent's names for them.
"""

from facscope.vlm.answers import PARSE_STATUSES, ParsedAnswer, format_answer, parse_answer
from facscope.vlm.toolcalls import ToolCall, loads_lenient, parse_tool_calls, strip_tool_calls

__all__ = [
    "PARSE_STATUSES",
    "ParsedAnswer",
    "ToolCall",
    "format_answer",
    "loads_lenient",
    "parse_answer",
    "parse_tool_calls",
    "strip_tool_calls",
]
