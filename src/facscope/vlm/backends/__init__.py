"""VLM backends behind one registry: ``openai`` (any OpenAI-compatible endpoint) and
``transformers`` (a local Hugging Face model); packages above add theirs (the agent's ``expert``).

The names are those of :mod:`facscope.vlm.backends.base` (``Backend``, ``Generation``,
``GenerationRequest``, ``BACKENDS``, ``create_backend``, ``list_backends``, ``message_images``…).
"""

from facscope.vlm.backends import openai as _openai  # noqa: F401  (registers "openai")
from facscope.vlm.backends import transformers as _transformers  # noqa: F401  (registers it)
from facscope.vlm.backends.base import *  # noqa: F403
from facscope.vlm.backends.base import __all__  # noqa: F401
