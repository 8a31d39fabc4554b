"""The agent's backends: the VLM backends of :mod:`facscope.vlm.backends` (``openai``,
``transformers``) and the agent's own ``expert`` policy, which importing this package registers in
the same :data:`BACKENDS` registry."""

from facscope.agent.backends import expert as _expert  # noqa: F401  (registers "expert")
from facscope.vlm.backends import (
    BACKENDS,
    Backend,
    Generation,
    GenerationRequest,
    create_backend,
    list_backends,
    message_images,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "Generation",
    "GenerationRequest",
    "create_backend",
    "list_backends",
    "message_images",
]
