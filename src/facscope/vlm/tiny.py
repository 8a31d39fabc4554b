"""Tiny randomly initialised Qwen VLMs and an offline tokenizer: real code paths, no downloads.

:func:`build_tiny_vlm` makes a Qwen3-VL or Qwen2.5-VL model from a config (hidden size 16–64,
2 layers, vision depth 2: tens of thousands of parameters) with a processor whose tokenizer is a
small byte-level BPE trained on the spot (:func:`build_tokenizer`) and carries the Qwen special
tokens; :func:`save_tiny_vlm` writes both to a directory that ``from_pretrained`` (and the
``transformers`` backend) loads by local path. ``mellm train`` and ``rl train`` train such models
from scratch (``model: tiny:qwen3_vl``, see :func:`facscope.vlm.loading.load_vlm`), and the
tests run every model path on them. :func:`build_random_vlm` builds random Qwen3-VL models of
realistic size (:data:`RANDOM_MODELS`) for GPU speed and memory measurements.

Chat templates are read from TRL's installed templates: the Qwen3-VL one (tool-capable) for
Qwen3-VL, the stock Qwen2.5-VL one (no tools, as real checkpoints ship it) for Qwen2.5-VL.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError

__all__ = [
    "FAMILIES",
    "RANDOM_MODELS",
    "SPECIAL_TOKENS",
    "TOOL_TOKENS",
    "TinyVLMConfig",
    "build_random_vlm",
    "build_tiny_vlm",
    "build_tokenizer",
    "save_tiny_vlm",
    "tiny_config",
    "tokenizer_corpus",
]

FAMILIES = ("qwen3_vl", "qwen2_5_vl")
#: Special tokens of the Qwen-VL vocabulary (decoding with skip_special_tokens drops them).
_TEXT_SPECIAL = ("endoftext", "im_start", "im_end")
_VISION_SPECIAL = ("vision_start", "vision_end", "image_pad", "video_pad")
SPECIAL_TOKENS = tuple(f"<|{name}|>" for name in (*_TEXT_SPECIAL, *_VISION_SPECIAL))
#: Added but NOT special: decoding must keep them, or tool calls could never be parsed.
TOOL_TOKENS = ("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>")


@dataclass(frozen=True, kw_only=True)
class TinyVLMConfig:
    """Sizes of a tiny Qwen VLM.

    Attributes:
        family: ``qwen3_vl`` or ``qwen2_5_vl``.
        hidden_size: text hidden size (16–256); the vision tower uses the same.
        num_layers: text decoder layers.
        num_heads: attention heads (text and vision); must divide ``hidden_size``.
        vision_depth: vision transformer blocks.
        vocab_size: BPE vocabulary size before the special tokens.
        min_pixels / max_pixels: the image processor's resize bounds (keep images a few
            patches large so tests stay fast).
        seed: torch seed for the random weights.
    """

    family: str = "qwen3_vl"
    hidden_size: int = 32
    num_layers: int = 2
    num_heads: int = 2
    vision_depth: int = 2
    vocab_size: int = 512
    min_pixels: int = 32 * 32
    max_pixels: int = 64 * 64
    seed: int = 0

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ConfigError(f"family must be one of {FAMILIES}; got {self.family!r}")
        if not 16 <= self.hidden_size <= 256 or self.hidden_size % (2 * self.num_heads):
            raise ConfigError(
                f"hidden_size must be in 16..256 and divisible by 2·num_heads; got "
                f"{self.hidden_size} with {self.num_heads} heads"
            )
        if (self.hidden_size // self.num_heads) % 8:
            raise ConfigError(
                f"head dim hidden_size/num_heads must be a multiple of 8 (for the 3-axis rotary "
                f"embedding); got {self.hidden_size // self.num_heads}"
            )
        if not 1 <= self.num_layers <= 8 or not 1 <= self.vision_depth <= 8:
            raise ConfigError("num_layers and vision_depth must be in 1..8")
        if not 300 <= self.vocab_size <= 20000:
            raise ConfigError(f"vocab_size must be in 300..20000; got {self.vocab_size}")


def tokenizer_corpus() -> list[str]:
    """Text the tiny tokenizer is trained on: the agent's prompts, tool schemas and answers
    (a fixed snapshot, :data:`facscope.vlm.corpus.TINY_CORPUS`)."""
    from facscope.vlm.corpus import TINY_CORPUS

    return list(TINY_CORPUS) * 4


def build_tokenizer(vocab_size: int = 512, corpus: Iterable[str] | None = None) -> Any:
    """A byte-level BPE tokenizer with the Qwen special tokens, as a transformers tokenizer.

    Byte-level BPE encodes any text, so scripted replies round-trip exactly through
    encode/decode. Special tokens (:data:`SPECIAL_TOKENS`) are dropped by
    ``skip_special_tokens``; the tool tags (:data:`TOOL_TOKENS`) are added tokens that decoding
    keeps.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=int(vocab_size),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        special_tokens=list(SPECIAL_TOKENS),
        show_progress=False,
    )
    tok.train_from_iterator(list(corpus if corpus is not None else tokenizer_corpus()), trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in TOOL_TOKENS])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        clean_up_tokenization_spaces=False,
    )


def tiny_config(sizes: dict[str, Any], family: str = "qwen3_vl") -> TinyVLMConfig:
    """A :class:`TinyVLMConfig` from a config file's ``tiny`` sizes; an unknown key, or
    ``family`` / ``seed`` (set by the model name and the run), is a :class:`ConfigError`."""
    allowed = {f.name for f in fields(TinyVLMConfig)} - {"family", "seed"}
    unknown = sorted(set(sizes) - allowed)
    if unknown:
        raise ConfigError(f"tiny: unknown or fixed key(s) {unknown}; sizes are {sorted(allowed)}")
    return TinyVLMConfig(**sizes, family=family)


@dataclass(frozen=True)
class _Family:
    """What differs between the Qwen families: the transformers class prefix, the video
    processor, the patch size and the pixel normalisation."""

    prefix: str
    video_processor: str
    patch: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def cls(self, suffix: str) -> Any:
        import transformers

        return getattr(transformers, self.prefix + suffix)


_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
_FAMILIES = {
    "qwen3_vl": _Family("Qwen3VL", "Qwen3VLVideoProcessor", 16, (0.5,) * 3, (0.5,) * 3),
    "qwen2_5_vl": _Family("Qwen2_5_VL", "Qwen2VLVideoProcessor", 14, _CLIP_MEAN, _CLIP_STD),
}


def _chat_template(family: str) -> str:
    """The family's chat template: the tool-capable Qwen3-VL one, or stock Qwen2.5-VL (no
    tools, as real checkpoints ship it), both read from TRL's installed templates."""
    from facscope.vlm.templates import trl_template

    text = trl_template(family)
    if text is None:
        raise ConfigError(
            "the tiny VLM's chat templates are read from TRL's installed templates; install the "
            "llm extra (pip install 'facscope[llm]')"
        )
    return text


def _token_ids(tokenizer: Any) -> dict[str, int]:
    return {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}


def _vision_token_ids(ids: dict[str, int]) -> dict[str, Any]:
    """The model config's image/video token ids (shared by every Qwen VLM built here)."""
    return {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "tie_word_embeddings": True,
    }


def _text_config(cfg: TinyVLMConfig, vocab: int, ids: dict[str, int]) -> dict[str, Any]:
    h, heads = cfg.hidden_size, cfg.num_heads
    head_dim = h // heads
    quarter = head_dim // 8
    mrope = [head_dim // 2 - 2 * quarter, quarter, quarter]  # sums to head_dim / 2
    rope: dict[str, Any] = {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope}
    if cfg.family == "qwen3_vl":
        rope["mrope_interleaved"] = True
    return {
        "vocab_size": vocab,
        "hidden_size": h,
        "intermediate_size": 2 * h,
        "num_hidden_layers": cfg.num_layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "head_dim": head_dim,
        "max_position_embeddings": 4096,
        "rope_parameters": rope,
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }


def _vision_config(cfg: TinyVLMConfig) -> dict[str, Any]:
    h = cfg.hidden_size
    vision: dict[str, Any] = {
        "depth": cfg.vision_depth,
        "hidden_size": h,
        "intermediate_size": 2 * h,
        "num_heads": cfg.num_heads,
        "out_hidden_size": h,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    if cfg.family == "qwen3_vl":
        vision.update(patch_size=16, num_position_embeddings=64, deepstack_visual_indexes=[0])
    else:
        vision.update(patch_size=14, window_size=56, fullatt_block_indexes=[cfg.vision_depth - 1])
    return vision


def _processor(family: str, tokenizer: Any, min_pixels: int, max_pixels: int) -> Any:
    """A real Qwen processor around ``tokenizer`` with the given resize bounds."""
    import transformers

    fam = _FAMILIES[family]
    image_processor = transformers.Qwen2VLImageProcessor(
        patch_size=fam.patch,
        merge_size=2,
        temporal_patch_size=2,
        size={"shortest_edge": min_pixels, "longest_edge": max_pixels},
        image_mean=list(fam.mean),
        image_std=list(fam.std),
    )
    video_cls = getattr(transformers, fam.video_processor)
    return fam.cls("Processor")(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_cls(patch_size=fam.patch, merge_size=2, temporal_patch_size=2),
        chat_template=_chat_template(family),
    )


def _set_generation_ids(model: Any, ids: dict[str, int]) -> None:
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]


def build_tiny_vlm(config: TinyVLMConfig | None = None, **overrides: Any) -> tuple[Any, Any]:
    """A tiny random Qwen VLM and its processor: ``(model, processor)``.

    Args:
        config: sizes (:class:`TinyVLMConfig`); keyword overrides are applied on top
            (``build_tiny_vlm(family="qwen2_5_vl")``).
    """
    import torch

    cfg = replace(config or TinyVLMConfig(), **overrides)
    fam = _FAMILIES[cfg.family]
    tokenizer = build_tokenizer(cfg.vocab_size)
    ids = _token_ids(tokenizer)
    model_cfg = fam.cls("Config")(
        text_config=_text_config(cfg, len(tokenizer), ids),
        vision_config=_vision_config(cfg),
        **_vision_token_ids(ids),
    )
    torch.manual_seed(cfg.seed)
    model = fam.cls("ForConditionalGeneration")(model_cfg)
    processor = _processor(cfg.family, tokenizer, cfg.min_pixels, cfg.max_pixels)
    _set_generation_ids(model, ids)
    model.eval()
    return model, processor


#: Randomly initialised Qwen3-VL models of realistic size (the published layer shapes of
#: Qwen3-VL-2B / -4B, full 151,936-token output layer) for speed and memory measurements on a
#: GPU without downloading weights; their tokenizer is the tiny offline one.
RANDOM_MODELS: dict[str, dict[str, int]] = {
    "random-qwen3-vl-2b": {"hidden": 2048, "layers": 28, "heads": 16, "kv": 8, "ffn": 6144},
    "random-qwen3-vl-4b": {"hidden": 2560, "layers": 36, "heads": 32, "kv": 8, "ffn": 9728},
}


def _random_text_config(shape: dict[str, int], ids: dict[str, int]) -> dict[str, Any]:
    return {
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


def _random_vision_config(shape: dict[str, int]) -> dict[str, Any]:
    return {
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


def build_random_vlm(
    name: str,
    *,
    seed: int = 0,
    dtype: Any = "auto",
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> tuple[Any, Any]:
    """A randomly initialised Qwen3-VL of a :data:`RANDOM_MODELS` shape, on the GPU when there is
    one, with the tiny tokenizer: ``(model, processor)``."""
    import torch
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration

    shape = RANDOM_MODELS[name]
    tokenizer = build_tokenizer()
    ids = _token_ids(tokenizer)
    config = Qwen3VLConfig(
        text_config=_random_text_config(shape, ids),
        vision_config=_random_vision_config(shape),
        **_vision_token_ids(ids),
    )
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = Qwen3VLForConditionalGeneration._from_config(config, dtype=dtype)
    processor = _processor("qwen3_vl", tokenizer, min_pixels or 64 * 64, max_pixels or 448 * 448)
    _set_generation_ids(model, ids)
    return model, processor


def save_tiny_vlm(
    directory: str | os.PathLike[str], config: TinyVLMConfig | None = None, **overrides: Any
) -> Path:
    """Build a tiny VLM and save model + processor to ``directory`` (loadable by local path)."""
    model, processor = build_tiny_vlm(config, **overrides)
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out
