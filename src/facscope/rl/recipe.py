"""YAML recipes for ``facscope rl sft`` and ``facscope rl train``.

A recipe has five sections; an unknown key anywhere is an error::

    model:    {name, dtype, chat_template, min_pixels, max_pixels, attn_implementation,
               allow_download, tiny}
    data:     {source, root, limit, split, passive, system_prompt, synthetic: {...}}
    tools:    options of facscope.agent.tools.ToolsConfig (view_size, max_zooms, detector, ...)
    lora:     {r, alpha, dropout, target_modules}, or absent for full fine-tuning
    trainer:  UCGRPOConfig fields (train) or trl.SFTConfig fields (sft), passed through

``model.name`` is a Hugging Face model id, a local directory (e.g. the output of
``facscope rl sft``), or ``tiny:qwen3_vl`` / ``tiny:qwen2_5_vl`` for a tiny randomly
initialised Qwen VLM built offline (CPU smoke runs; the old names ``tiny-random`` /
``tiny-random-qwen2_5_vl`` still work, with a warning). ``data.source`` is ``synthetic`` (the
active-perception task of :mod:`facscope.rl.synthetic`, options under ``data.synthetic``) or a
dataset name of :func:`facscope.data.load_dataset` read from ``data.root``.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facscope.config import build_config, read_yaml
from facscope.errors import ConfigError, FacscopeDeprecationWarning, InputFileError
from facscope.vlm.loading import DTYPES

__all__ = ["DataSpec", "LoraSpec", "ModelSpec", "Recipe", "load_recipe", "recipe_from_dict"]


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """Which model and processor to load, and how (:func:`facscope.vlm.loading.load_vlm`).

    A recipe's former key ``local_files_only`` is read as ``allow_download = not
    local_files_only`` (:func:`recipe_from_dict`, with a
    :class:`~facscope.errors.FacscopeDeprecationWarning`); former tiny names (``tiny-random``)
    are replaced by their ``tiny:<family>`` names the same way.
    """

    name: str = "tiny:qwen3_vl"
    dtype: str = "float32"
    chat_template: str | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    attn_implementation: str | None = None
    allow_download: bool = False
    #: Sizes of a ``tiny:<family>`` model (fields of :class:`facscope.vlm.tiny.TinyVLMConfig`,
    #: e.g. ``{hidden_size: 256, num_layers: 6}``): a small VLM trained from scratch.
    tiny: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from facscope.vlm.loading import canonical_model_name, tiny_family

        if not self.name:
            raise ConfigError("model.name must name a model id, a directory or 'tiny:qwen3_vl'")
        object.__setattr__(self, "name", canonical_model_name(self.name, stacklevel=3))
        family = tiny_family(self.name)
        if self.tiny:
            from facscope.vlm.tiny import tiny_config

            if family is None:
                raise ConfigError("model.tiny sizes apply to model.name: tiny:<family> only")
            tiny_config(self.tiny, family)  # validate the sizes now
        if self.dtype not in DTYPES:
            raise ConfigError(f"model.dtype must be one of {DTYPES}; got {self.dtype!r}")
        for key in ("min_pixels", "max_pixels"):
            value = getattr(self, key)
            if value is not None and value < 16 * 16:
                raise ConfigError(f"model.{key} must be at least 256 pixels; got {value}")


@dataclass(frozen=True, kw_only=True)
class DataSpec:
    """Where the training images and labels come from."""

    source: str = "synthetic"
    root: str | None = None
    limit: int | None = None
    split: str | None = None
    passive: bool = False
    system_prompt: str | None = None
    synthetic: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.source != "synthetic" and not self.root:
            raise ConfigError(f"data.root is required for data.source={self.source!r}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"data.limit must be >= 1; got {self.limit}")
        if self.source == "synthetic":
            self.synthetic_config()  # validates

    def synthetic_config(self) -> Any:
        """The :class:`facscope.rl.synthetic.SyntheticConfig` of ``synthetic``."""
        from facscope.rl.synthetic import SyntheticConfig

        return build_config(SyntheticConfig, self.synthetic, "data.synthetic")


@dataclass(frozen=True, kw_only=True)
class LoraSpec:
    """A LoRA adapter on the language model's attention projections."""

    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")

    def __post_init__(self) -> None:
        if self.r < 1 or self.alpha < 1:
            raise ConfigError(f"lora.r and lora.alpha must be >= 1; got {self.r}, {self.alpha}")
        if not 0 <= self.dropout < 1:
            raise ConfigError(f"lora.dropout must be in [0, 1); got {self.dropout}")
        object.__setattr__(self, "target_modules", tuple(self.target_modules))


@dataclass(frozen=True, kw_only=True)
class Recipe:
    """A whole recipe; ``kind`` is ``rl`` or ``sft``."""

    kind: str
    model: ModelSpec = field(default_factory=ModelSpec)
    data: DataSpec = field(default_factory=DataSpec)
    tools: dict[str, Any] = field(default_factory=dict)
    lora: LoraSpec | None = None
    trainer: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in ("rl", "sft"):
            raise ConfigError(f"recipe kind must be 'rl' or 'sft'; got {self.kind!r}")
        self.tools_config()  # validates
        if "output_dir" not in self.trainer:
            raise ConfigError("trainer.output_dir is required (or pass --output-dir)")

    def tools_config(self) -> Any:
        from facscope.agent.tools import ToolsConfig

        return build_config(ToolsConfig, self.tools, "tools")

    @property
    def output_dir(self) -> Path:
        return Path(self.trainer["output_dir"])

    def to_dict(self) -> dict[str, Any]:
        """The resolved recipe, JSON-able (written beside every run's outputs)."""
        return dataclasses.asdict(self)


_SECTIONS = {"model", "data", "tools", "lora", "trainer"}


def _model_options(raw: Any) -> dict[str, Any]:
    """The ``model:`` section, its former key ``local_files_only`` mapped to ``allow_download``."""
    options = dict(raw or {})
    if "local_files_only" in options:
        local = options.pop("local_files_only")
        warnings.warn(
            f"model.local_files_only is deprecated; use model.allow_download (= {not local})",
            FacscopeDeprecationWarning,
            stacklevel=4,
        )
        options.setdefault("allow_download", not local)
    return options


def recipe_from_dict(
    raw: dict[str, Any], *, kind: str, output_dir: str | os.PathLike[str] | None = None
) -> Recipe:
    """Build a :class:`Recipe` from parsed YAML; ``output_dir`` overrides ``trainer.output_dir``."""
    if not isinstance(raw, dict):
        raise ConfigError(f"a recipe must be a mapping of sections {sorted(_SECTIONS)}")
    unknown = sorted(set(raw) - _SECTIONS)
    if unknown:
        raise ConfigError(f"unknown recipe section(s) {unknown}; known: {sorted(_SECTIONS)}")
    trainer = dict(raw.get("trainer") or {})
    if output_dir is not None:
        trainer["output_dir"] = str(output_dir)
    lora = raw.get("lora")
    data = dict(raw.get("data") or {})
    return Recipe(
        kind=kind,
        model=build_config(ModelSpec, _model_options(raw.get("model")), "model"),
        data=build_config(DataSpec, data, "data"),
        tools=dict(raw.get("tools") or {}),
        lora=None if lora is None else build_config(LoraSpec, dict(lora), "lora"),
        trainer=trainer,
    )


def load_recipe(
    path: str | os.PathLike[str], *, kind: str, output_dir: str | os.PathLike[str] | None = None
) -> Recipe:
    """Read a YAML recipe file (see the module docstring)."""
    if not Path(path).is_file():
        raise InputFileError(f"{path}: no such recipe file; see configs/rl-*.yaml for examples")
    return recipe_from_dict(read_yaml(path), kind=kind, output_dir=output_dir)
