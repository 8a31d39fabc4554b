"""VLM backends behind one registry: ``openai`` (any OpenAI-compatible endpoint) and
``transformers`` (a local Hugging Face model); packages above add theirs (the agent's ``expert``)."""

from facscope.vlm.backends.base import (
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
