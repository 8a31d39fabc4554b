"""Agent backends behind one registry: ``expert`` (offline default), ``openai``, ``transformers``."""

from facscope.agent.backends.base import (
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
