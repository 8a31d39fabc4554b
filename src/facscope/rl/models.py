"""Loading the policy VLM and its processor for training, offline by default.

Models load through :func:`facscope.vlm.loading.load_vlm`. Only Qwen-family VLMs (Qwen2-VL,
Qwen2.5-VL, Qwen3-VL) are supported for tool training: TRL 1.16.0 feeds tool-returned images
back only for Qwen-style image placeholders. Qwen2.5-VL's stock chat template renders neither
tools nor tool images, so ``chat_template: trl:qwen3_vl`` swaps in the tool-capable Qwen3-VL
template that ships inside TRL (Qwen3-VL's own template is that template already).
"""

from __future__ import annotations

from typing import Any

from facscope.errors import ConfigError
from facscope.vlm.loading import TINY_ALIASES
from facscope.vlm.lora import lora_config
from facscope.vlm.templates import read_chat_template
from facscope.vlm.tiny import RANDOM_MODELS

__all__ = ["RANDOM_MODELS", "TINY_MODELS", "load_model", "lora_config", "read_chat_template"]

#: The deprecated ``model.name`` spellings of the tiny models → their ``tiny:<family>`` names.
TINY_MODELS = TINY_ALIASES


def load_model(spec: Any, *, seed: int = 0) -> tuple[Any, Any]:
    """``(model, processor)`` for a :class:`facscope.rl.recipe.ModelSpec`.

    Nothing is downloaded unless ``spec.allow_download`` is True.
    """
    from facscope.vlm.loading import load_vlm, tiny_family

    keys = ("allow_download", "dtype", "attn_implementation", "tiny", "min_pixels", "max_pixels")
    model, processor = load_vlm(spec.name, seed=seed, **{k: getattr(spec, k) for k in keys})
    if tiny_family(spec.name) is not None:
        model.train()
    if spec.chat_template:
        processor.chat_template = read_chat_template(spec.chat_template)
    family = getattr(model.config, "model_type", "")
    if not str(family).startswith(("qwen2_vl", "qwen2_5_vl", "qwen3_vl")):
        raise ConfigError(
            f"model type {family!r} is not a Qwen VLM; TRL 1.16.0 returns tool images to the "
            "model only for Qwen-style image placeholders (Qwen2-VL, Qwen2.5-VL, Qwen3-VL)"
        )
    return model, processor
