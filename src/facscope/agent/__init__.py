"""ActFER-style agent: face tools, a multi-turn tool loop, VLM backends, answer parsing, traces.

Importing this package loads nothing heavy; backends import torch/transformers only when built.
"""

from facscope.agent.backends import Backend, create_backend, list_backends
from facscope.agent.loop import Agent, AgentConfig, AgentInput
from facscope.agent.parse import ParsedAnswer, parse_answer, parse_tool_calls
from facscope.agent.tools import FaceTools, ToolsConfig, call_tool, tool_methods

__all__ = [
    "Agent",
    "AgentConfig",
    "AgentInput",
    "Backend",
    "FaceTools",
    "ParsedAnswer",
    "ToolsConfig",
    "call_tool",
    "create_backend",
    "list_backends",
    "parse_answer",
    "parse_tool_calls",
    "tool_methods",
]
