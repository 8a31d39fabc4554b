"""Tiny randomly initialised Qwen VLMs, an offline tokenizer, and scripted generation, for tests.

Real code paths, no downloads: :func:`build_tiny_vlm` makes a Qwen3-VL or Qwen2.5-VL model from
a config (hidden size 16–64, 2 layers, vision depth 2: tens of thousands of parameters) with a
processor whose tokenizer is a small byte-level BPE trained on the spot
(:func:`build_tokenizer`) and carries the Qwen special tokens; :func:`save_tiny_vlm` writes
both to a directory that ``from_pretrained`` (and the ``transformers`` agent backend) loads by
local path.

A random model never writes a tool call, so :class:`ScriptedGeneration` patches a model's
``generate`` to emit scripted replies as token ids — through the real tokenizer — while
recording what each call received (number of images, prompt length). The loop, chat template,
processor and decoding all run for real.

Chat templates are read from TRL's installed templates: the Qwen3-VL one (tool-capable) for
Qwen3-VL, the stock Qwen2.5-VL one (no tools, as real checkpoints ship it) for Qwen2.5-VL.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError

__all__ = [
    "FAMILIES",
    "SPECIAL_TOKENS",
    "TOOL_TOKENS",
    "ScriptedGeneration",
    "TinyVLMConfig",
    "build_tiny_vlm",
    "build_tokenizer",
    "save_tiny_vlm",
    "tiny_config",
    "tokenizer_corpus",
]

FAMILIES = ("qwen3_vl", "qwen2_5_vl")
#: Special tokens of the Qwen-VL vocabulary (decoding with skip_special_tokens drops them).
SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
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
    """Text the tiny tokenizer is trained on: the agent's prompts, tool schemas and answers."""
    from facscope.agent.prompts import au_guide, render_tool_section, system_prompt, task_prompt
    from facscope.agent.schema import tool_schemas
    from facscope.agent.tools import FaceTools, tool_methods
    from facscope.facs import EMOTIONS

    tools = FaceTools()
    tools.onset = object()  # type: ignore[assignment]  # expose motion_map's schema too
    schemas = tool_schemas(tool_methods(tools))
    texts = [
        system_prompt(tools=True, clip=True),
        system_prompt(tools=False),
        task_prompt(),
        au_guide(),
        render_tool_section(schemas),
        " ".join(EMOTIONS),
        '<answer>{"aus": [1, 2, 4, 5, 6, 7, 9, 10, 12, 15, 17, 20, 23, 25, 26], "emotion": "happiness"}</answer>',
        '{"name": "zoom", "arguments": {"region": "mouth", "box": [10, 20, 30, 40], "scale": 1.5}}',
        "0123456789 .,:;!?()[]{}<>\"'+-*/=_ \n\t",
    ]
    return texts * 4


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


def _template(name: str) -> str:
    from facscope.agent.backends.transformers import tool_template

    if name == "qwen3_vl":
        text = tool_template()
    else:
        import importlib.util

        spec = importlib.util.find_spec("trl")
        roots = list(spec.submodule_search_locations or []) if spec else []
        paths = [Path(r) / "chat_templates" / "qwen2_5_vl.jinja" for r in roots]
        text = next((p.read_text(encoding="utf-8") for p in paths if p.is_file()), None)
    if text is None:
        raise ConfigError(
            "the tiny VLM's chat templates are read from TRL's installed templates; install the "
            "llm extra (pip install 'facscope[llm]')"
        )
    return text


def tiny_config(sizes: dict[str, Any], family: str = "qwen3_vl") -> TinyVLMConfig:
    """A :class:`TinyVLMConfig` from a config file's ``tiny`` sizes; an unknown key, or
    ``family`` / ``seed`` (set by the model name and the run), is a :class:`ConfigError`."""
    allowed = {f.name for f in fields(TinyVLMConfig)} - {"family", "seed"}
    unknown = sorted(set(sizes) - allowed)
    if unknown:
        raise ConfigError(f"tiny: unknown or fixed key(s) {unknown}; sizes are {sorted(allowed)}")
    return TinyVLMConfig(**sizes, family=family)


def build_tiny_vlm(config: TinyVLMConfig | None = None, **overrides: Any) -> tuple[Any, Any]:
    """A tiny random Qwen VLM and its processor: ``(model, processor)``.

    Args:
        config: sizes (:class:`TinyVLMConfig`); keyword overrides are applied on top
            (``build_tiny_vlm(family="qwen2_5_vl")``).
    """
    from dataclasses import replace

    import torch

    cfg = (
        replace(config or TinyVLMConfig(), **overrides)
        if overrides
        else (config or TinyVLMConfig())
    )
    tokenizer = build_tokenizer(cfg.vocab_size)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    h, heads = cfg.hidden_size, cfg.num_heads
    head_dim = h // heads
    quarter = head_dim // 8
    mrope = [head_dim // 2 - 2 * quarter, quarter, quarter]  # sums to head_dim / 2
    text = {
        "vocab_size": len(tokenizer),
        "hidden_size": h,
        "intermediate_size": 2 * h,
        "num_hidden_layers": cfg.num_layers,
        "num_attention_heads": heads,
        "num_key_value_heads": heads,
        "head_dim": head_dim,
        "max_position_embeddings": 4096,
        "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": mrope},
        "bos_token_id": ids["<|endoftext|>"],
        "eos_token_id": ids["<|im_end|>"],
        "pad_token_id": ids["<|endoftext|>"],
    }
    vision = {
        "depth": cfg.vision_depth,
        "hidden_size": h,
        "intermediate_size": 2 * h,
        "num_heads": heads,
        "out_hidden_size": h,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
    }
    common = {
        "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"],
        "vision_start_token_id": ids["<|vision_start|>"],
        "vision_end_token_id": ids["<|vision_end|>"],
        "tie_word_embeddings": True,
    }
    torch.manual_seed(cfg.seed)
    if cfg.family == "qwen3_vl":
        from transformers import (
            Qwen3VLConfig,
            Qwen3VLForConditionalGeneration,
            Qwen3VLProcessor,
            Qwen3VLVideoProcessor,
        )

        text["rope_parameters"]["mrope_interleaved"] = True
        vision.update(patch_size=16, num_position_embeddings=64, deepstack_visual_indexes=[0])
        model_cfg = Qwen3VLConfig(text_config=text, vision_config=vision, **common)
        model = Qwen3VLForConditionalGeneration(model_cfg)
        patch, proc_cls, video_cls = 16, Qwen3VLProcessor, Qwen3VLVideoProcessor
        mean = std = [0.5, 0.5, 0.5]
    else:
        from transformers import (
            Qwen2_5_VLConfig,
            Qwen2_5_VLForConditionalGeneration,
            Qwen2_5_VLProcessor,
            Qwen2VLVideoProcessor,
        )

        vision.update(patch_size=14, window_size=56, fullatt_block_indexes=[cfg.vision_depth - 1])
        model_cfg = Qwen2_5_VLConfig(text_config=text, vision_config=vision, **common)
        model = Qwen2_5_VLForConditionalGeneration(model_cfg)
        patch, proc_cls, video_cls = 14, Qwen2_5_VLProcessor, Qwen2VLVideoProcessor
        mean, std = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
    from transformers import Qwen2VLImageProcessor

    size = {"shortest_edge": cfg.min_pixels, "longest_edge": cfg.max_pixels}
    image_processor = Qwen2VLImageProcessor(
        patch_size=patch,
        merge_size=2,
        temporal_patch_size=2,
        size=size,
        image_mean=mean,
        image_std=std,
    )
    video_processor = video_cls(patch_size=patch, merge_size=2, temporal_patch_size=2)
    processor = proc_cls(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=_template(cfg.family),
    )
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.eval()
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


Reply = str | Callable[[dict[str, Any]], str]


@dataclass
class ScriptedGeneration:
    """Patch ``model.generate`` to emit scripted replies (token ids via the real tokenizer).

    Replies are consumed in order, one per batch row per call; a callable reply receives the
    call record (see below) and returns the text. When the script runs out, ``default`` is used.
    Each call is recorded in :attr:`calls` as ``{"batch": B, "prompt_len": T, "images": N,
    "image_grid_thw": [[t, h, w], ...]}`` — ``images`` counts the images the processor encoded.

    Use as a context manager (restores ``generate``) or call :meth:`install`.

    Example:
        >>> with ScriptedGeneration(model, processor, ['<tool_call>{"name": "detect_faces", '
        ...     '"arguments": {}}</tool_call>', '<answer>{"aus": [], "emotion": "neutral"}</answer>'])
        ...     as script:                                                   # doctest: +SKIP
        ...     agent.run(image)                                             # doctest: +SKIP
    """

    model: Any
    processor: Any
    replies: Sequence[Reply] = ()
    default: str = '<answer>{"aus": [], "emotion": "neutral"}</answer>'
    calls: list[dict[str, Any]] = field(default_factory=list)
    _queue: list[Reply] = field(default_factory=list, repr=False)
    _original: Any = field(default=None, repr=False)

    def install(self) -> ScriptedGeneration:
        self._queue = list(self.replies)
        self._original = self.model.generate
        self.model.generate = self._generate
        return self

    def restore(self) -> None:
        if self._original is not None:
            self.model.generate = self._original
            self._original = None

    def __enter__(self) -> ScriptedGeneration:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.restore()

    def _generate(self, input_ids: Any = None, **kwargs: Any) -> Any:
        import torch

        grid = kwargs.get("image_grid_thw")
        record = {
            "batch": int(input_ids.shape[0]),
            "prompt_len": int(input_ids.shape[1]),
            "images": 0 if grid is None else int(grid.shape[0]),
            "image_grid_thw": [] if grid is None else grid.tolist(),
            "max_new_tokens": kwargs.get("max_new_tokens"),
            "stop_strings": kwargs.get("stop_strings"),
        }
        self.calls.append(record)
        tok = self.processor.tokenizer
        rows = []
        for _ in range(record["batch"]):
            reply = self._queue.pop(0) if self._queue else self.default
            text = reply(record) if callable(reply) else reply
            ids = [
                *tok.encode(text, add_special_tokens=False),
                tok.convert_tokens_to_ids("<|im_end|>"),
            ]
            rows.append(ids)
        width = max(len(r) for r in rows)
        pad = tok.pad_token_id
        new = torch.tensor([r + [pad] * (width - len(r)) for r in rows], dtype=input_ids.dtype)
        return torch.cat([input_ids, new.to(input_ids.device)], dim=1)
