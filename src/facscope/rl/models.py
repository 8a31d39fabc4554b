"""Loading the policy VLM and its processor for training, offline by default.

Only Qwen-family VLMs (Qwen2-VL, Qwen2.5-VL, Qwen3-VL) are supported for tool training: TRL
1.16.0 feeds tool-returned images back only for Qwen-style image placeholders. Qwen2.5-VL's
stock chat template renders neither tools nor tool images, so ``chat_template: trl:qwen3_vl``
swaps in the tool-capable Qwen3-VL template that ships inside TRL (Qwen3-VL's own template is
that template already).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, InputFileError

__all__ = ["RANDOM_MODELS", "TINY_MODELS", "load_model", "lora_config", "read_chat_template"]

#: ``model.name`` values that build a tiny random Qwen VLM offline (CPU smoke runs and tests).
TINY_MODELS = {"tiny-random": "qwen3_vl", "tiny-random-qwen2_5_vl": "qwen2_5_vl"}
#: Randomly initialised Qwen3-VL models of realistic size (the published layer shapes of
#: Qwen3-VL-2B / -4B, full 151,936-token output layer) for speed and memory measurements on a
#: GPU without downloading weights; their tokenizer is the tiny offline one.
RANDOM_MODELS: dict[str, dict[str, int]] = {
    "random-qwen3-vl-2b": {"hidden": 2048, "layers": 28, "heads": 16, "kv": 8, "ffn": 6144},
    "random-qwen3-vl-4b": {"hidden": 2560, "layers": 36, "heads": 32, "kv": 8, "ffn": 9728},
}


def read_chat_template(spec: str) -> str:
    """A chat template's text: ``trl:NAME`` (a template shipped in TRL) or a ``.jinja`` file."""
    if spec.startswith("trl:"):
        import trl

        path = Path(trl.__file__).parent / "chat_templates" / f"{spec[4:]}.jinja"
        if not path.is_file():
            names = sorted(p.stem for p in path.parent.glob("*.jinja"))
            raise ConfigError(f"TRL ships no chat template {spec[4:]!r}; known: {names}")
        return path.read_text(encoding="utf-8")
    path = Path(spec)
    if not path.is_file():
        raise InputFileError(f"{path}: no such chat template file (or use 'trl:qwen3_vl')")
    return path.read_text(encoding="utf-8")


def _dtype(name: str) -> Any:
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}.get(
        name, "auto"
    )


def load_model(spec: Any, *, seed: int = 0) -> tuple[Any, Any]:
    """``(model, processor)`` for a :class:`facscope.rl.recipe.ModelSpec`.

    Nothing is downloaded unless ``spec.local_files_only`` is False.
    """
    if spec.name in RANDOM_MODELS:
        model, processor = _random_model(spec, seed)
    elif spec.name in TINY_MODELS:
        from facscope.testing.tiny_vlm import build_tiny_vlm, tiny_config

        kw: dict[str, Any] = {
            "config": tiny_config(spec.tiny, TINY_MODELS[spec.name]),
            "seed": seed,
        }
        if spec.min_pixels:
            kw["min_pixels"] = spec.min_pixels
        if spec.max_pixels:
            kw["max_pixels"] = spec.max_pixels
        model, processor = build_tiny_vlm(**kw)
        model.train()
    else:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        kwargs: dict[str, Any] = {"local_files_only": spec.local_files_only}
        processor_kwargs = dict(kwargs)
        if spec.min_pixels:
            processor_kwargs["min_pixels"] = spec.min_pixels
        if spec.max_pixels:
            processor_kwargs["max_pixels"] = spec.max_pixels
        try:
            processor = AutoProcessor.from_pretrained(spec.name, **processor_kwargs)
            model = AutoModelForImageTextToText.from_pretrained(
                spec.name,
                dtype=_dtype(spec.dtype),
                attn_implementation=spec.attn_implementation,
                **kwargs,
            )
        except OSError as exc:
            hint = (
                " (offline: set model.local_files_only: false to allow a download, or give a local directory)"
                if spec.local_files_only
                else ""
            )
            raise InputFileError(f"cannot load model {spec.name!r}: {exc}{hint}") from None
    if spec.chat_template:
        processor.chat_template = read_chat_template(spec.chat_template)
    family = getattr(model.config, "model_type", "")
    if not str(family).startswith(("qwen2_vl", "qwen2_5_vl", "qwen3_vl")):
        raise ConfigError(
            f"model type {family!r} is not a Qwen VLM; TRL 1.16.0 returns tool images to the "
            "model only for Qwen-style image placeholders (Qwen2-VL, Qwen2.5-VL, Qwen3-VL)"
        )
    return model, processor


def _random_model(spec: Any, seed: int) -> tuple[Any, Any]:
    import torch
    from transformers import (
        Qwen2VLImageProcessor,
        Qwen3VLConfig,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    from facscope.testing.tiny_vlm import SPECIAL_TOKENS, build_tokenizer

    shape = RANDOM_MODELS[spec.name]
    tokenizer = build_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text = {
        "vocab_size": 151936,
        "hidden_size": shape["hidden"],
        "intermediate_size": shape["ffn"],
        "num_hidden_layers": shape["layers"],
        "num_attention_heads": shape["heads"],
        "num_key_value_heads": shape["kv"],
        "head_dim": 128,
        "max_position_embeddings": 32768,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5000000.0,
            "mrope_section": [24, 20, 20],
            "mrope_interleaved": True,
        },
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    vision = {
        "depth": 24,
        "hidden_size": 1024,
        "intermediate_size": 4096,
        "num_heads": 16,
        "out_hidden_size": shape["hidden"],
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "num_position_embeddings": 2304,
        "deepstack_visual_indexes": [5, 11, 17],
    }
    config = Qwen3VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = Qwen3VLForConditionalGeneration._from_config(config, dtype=_dtype(spec.dtype))
    size = {
        "shortest_edge": spec.min_pixels or 64 * 64,
        "longest_edge": spec.max_pixels or 448 * 448,
    }
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            patch_size=16,
            merge_size=2,
            temporal_patch_size=2,
            size=size,
            image_mean=[0.5] * 3,
            image_std=[0.5] * 3,
        ),
        tokenizer=tokenizer,
        video_processor=Qwen3VLVideoProcessor(patch_size=16, merge_size=2, temporal_patch_size=2),
        chat_template=read_chat_template("trl:qwen3_vl"),
    )
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    return model, processor


def lora_config(spec: Any) -> Any:
    """A :class:`peft.LoraConfig` for a :class:`facscope.rl.recipe.LoraSpec` (None for None)."""
    if spec is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=list(spec.target_modules),
        task_type="CAUSAL_LM",
    )
