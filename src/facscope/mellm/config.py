"""The MELLM fine-tuning configuration: a frozen dataclass loaded from YAML.

``facscope mellm train --config FILE`` reads one :class:`SFTRunConfig`. Nested sections
(``lora``, ``split``, ``tiny``) are their own frozen dataclasses; an unknown key anywhere is a
:class:`~facscope.errors.ConfigError` naming the valid keys. The resolved config (every default
filled in) is written beside the outputs as ``config.yaml``.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from facscope.config import build_config, read_yaml
from facscope.errors import ConfigError
from facscope.vlm.loading import DTYPES, canonical_model_name, tiny_family
from facscope.vlm.tiny import tiny_config

__all__ = [
    "TASKS",
    "LoraSection",
    "SFTRunConfig",
    "SplitSection",
    "load_sft_config",
    "sft_config_from_dict",
]

TASKS = ("describe", "mevqa")
PROTOCOLS = ("kfold", "loso", "none")


@dataclass(frozen=True, kw_only=True)
class LoraSection:
    """LoRA adapters (peft).

    Attributes:
        r, alpha, dropout: rank, scaling numerator and dropout of every adapter.
        target_modules: names of the linear layers that get adapters in the language model
            (and, when the vision tower is not frozen, the vision tower's ``qkv``, ``proj``
            and MLP layers too).
    """

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = (
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
        "gate_proj",
        "up_proj",
        "down_proj",
    )

    def __post_init__(self) -> None:
        if self.r < 1 or self.alpha < 1 or not 0 <= self.dropout < 1:
            raise ConfigError(
                f"lora needs r >= 1, alpha >= 1, 0 <= dropout < 1; got {self.r}, {self.alpha}, "
                f"{self.dropout}"
            )
        object.__setattr__(self, "target_modules", tuple(self.target_modules))
        if not self.target_modules:
            raise ConfigError("lora.target_modules must name at least one layer type")


@dataclass(frozen=True, kw_only=True)
class SplitSection:
    """The subject-independent split (:mod:`facscope.eval.protocols`).

    Attributes:
        protocol: ``kfold`` (subject-grouped k-fold, stratified by label; train on the other
            folds, test on ``fold``), ``loso`` (leave subject number ``fold`` out) or ``none``
            (train on everything: no test subjects).
        k: folds for ``kfold``; fold: which fold is the test part (0-based).
        val: validation subjects drawn from the training subjects (fraction or count): the
            loss on them is logged; the test subjects are never seen in training.
        seed: seeds the fold assignment and the validation draw.
    """

    protocol: str = "kfold"
    k: int = 5
    fold: int = 0
    val: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"split.protocol must be one of {PROTOCOLS}; got {self.protocol!r}")
        if self.k < 2 or self.fold < 0 or (self.protocol == "kfold" and self.fold >= self.k):
            raise ConfigError(
                f"split needs k >= 2 and 0 <= fold < k; got k={self.k}, fold={self.fold}"
            )
        if self.val < 0:
            raise ConfigError(f"split.val must be >= 0; got {self.val}")


@dataclass(frozen=True, kw_only=True)
class SFTRunConfig:
    """One MELLM supervised fine-tuning run (TRL ``SFTTrainer``, LoRA through peft).

    Data:
        data: a build folder (``facscope mellm build``; its ``records.jsonl`` and, for the
        ``mevqa`` task, ``mevqa.jsonl``); task: ``describe`` (prompt → FACS-grounded
        description) or ``mevqa`` (question → short answer); split: the subject-independent
        split (:class:`SplitSection`).
    Model:
        model: a Hugging Face model id or local directory (Qwen2.5-VL, Qwen3-VL), or
        ``tiny:qwen3_vl`` / ``tiny:qwen2_5_vl`` for a randomly initialised model built from
        ``tiny`` (the fields of :class:`facscope.vlm.tiny.TinyVLMConfig`): training from
        scratch; allow_download: let transformers fetch ``model``; dtype; attn_implementation.
    What trains:
        lora: adapters (:class:`LoraSection`), or None for full fine-tuning; freeze_vision:
        keep the vision tower (and its merger) fixed.
    Images:
        min_pixels / max_pixels: the image processor's resize bounds (tokens per image);
        None keeps the processor's.
    Optimisation:
        learning_rate, epochs, max_steps (> 0 overrides epochs), batch_size, grad_accum,
        warmup_ratio, weight_decay, lr_scheduler, max_length (tokens; None: no truncation),
        gradient_checkpointing, bf16, seed.
    Runtime and output:
        output_dir, logging_steps, save_steps (None: save only at the end), use_cpu,
        cpu_threads (torch intra-op threads; 1 is fastest for tiny models on a busy machine),
        report_to (e.g. ``[tensorboard]``), save_merged (also write the LoRA-merged model to
        ``output_dir/merged`` for serving).
    """

    data: str
    output_dir: str
    model: str
    task: str = "describe"
    split: SplitSection = field(default_factory=SplitSection)
    tiny: dict[str, Any] = field(default_factory=dict)
    allow_download: bool = False
    dtype: str = "auto"
    attn_implementation: str | None = None
    lora: LoraSection | None = field(default_factory=LoraSection)
    freeze_vision: bool = True
    min_pixels: int | None = None
    max_pixels: int | None = None
    learning_rate: float = 1e-4
    epochs: float = 1.0
    max_steps: int = -1
    batch_size: int = 1
    grad_accum: int = 1
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    lr_scheduler: str = "cosine"
    max_length: int | None = None
    gradient_checkpointing: bool = False
    bf16: bool = False
    seed: int = 0
    logging_steps: int = 10
    save_steps: int | None = None
    use_cpu: bool = False
    cpu_threads: int | None = None
    report_to: tuple[str, ...] = ()
    save_merged: bool = False

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {TASKS}; got {self.task!r}")
        if self.dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {DTYPES}; got {self.dtype!r}")
        if not self.learning_rate > 0 or self.epochs <= 0:
            raise ConfigError(
                f"learning_rate and epochs must be > 0; got {self.learning_rate}, {self.epochs}"
            )
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise ConfigError(f"cpu_threads must be >= 1 or None; got {self.cpu_threads}")
        if self.batch_size < 1 or self.grad_accum < 1 or self.logging_steps < 1:
            raise ConfigError("batch_size, grad_accum and logging_steps must be >= 1")
        if not 0 <= self.warmup_ratio < 1:
            raise ConfigError(f"warmup_ratio must be in [0, 1); got {self.warmup_ratio}")
        if self.max_steps == 0 or self.max_steps < -1:
            raise ConfigError(f"max_steps must be -1 (use epochs) or > 0; got {self.max_steps}")
        lo, hi = self.min_pixels, self.max_pixels
        if (lo is not None and lo < 1) or (hi is not None and hi < 1) or (lo and hi and lo > hi):
            raise ConfigError(f"need 0 < min_pixels <= max_pixels; got {lo}, {hi}")
        object.__setattr__(self, "model", canonical_model_name(self.model, stacklevel=3))
        family = tiny_family(self.model)
        if family is not None:
            tiny_config(self.tiny, family)  # validate the sizes now
        elif self.tiny:
            raise ConfigError("'tiny' sizes only apply to model: tiny:<family>")
        object.__setattr__(self, "report_to", tuple(self.report_to))

    def replace(self, **changes: Any) -> SFTRunConfig:
        return dataclasses.replace(self, **changes)


def sft_config_from_dict(values: Mapping[str, Any], *, where: str = "config") -> SFTRunConfig:
    """An :class:`SFTRunConfig` from a mapping; unknown keys (also nested) are errors."""
    return build_config(SFTRunConfig, values, where)


def load_sft_config(path: str | os.PathLike[str] | None = None, **overrides: Any) -> SFTRunConfig:
    """Read ``path`` (YAML) and apply ``overrides`` (None values are ignored)."""
    values = read_yaml(path) if path is not None else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    return sft_config_from_dict(values, where=str(path) if path is not None else "config")
