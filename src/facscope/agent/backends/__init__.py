"""The agent's backends: the VLM backends of :mod:`facscope.vlm.backends` (``openai``,
``transformers``, with the same names: ``Backend``, ``create_backend``, …) and the agent's own
``expert`` policy, which importing this package registers in the same ``BACKENDS`` registry."""

from facscope.agent.backends import expert as _expert  # noqa: F401  (registers "expert")
from facscope.vlm.backends import *  # noqa: F403
from facscope.vlm.backends import __all__  # noqa: F401
