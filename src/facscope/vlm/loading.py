"""Loading a VLM and its processor: the one way every consumer does it, offline by default.

:func:`load_vlm` takes a Hugging Face model id, a local directory, ``tiny:<family>`` (a tiny
random Qwen VLM built offline, :mod:`facscope.vlm.tiny`: ``tiny:qwen3_vl``, ``tiny:qwen2_5_vl``)
or a :data:`~facscope.vlm.tiny.RANDOM_MODELS` name (a random model of realistic size). Nothing
is downloaded unless ``allow_download=True``: a model missing from the local Hugging Face cache
is an :class:`~facscope.errors.InputFileError` that says how to get it.

The old tiny spellings ``tiny-random`` and ``tiny-random-qwen2_5_vl`` still work and emit a
:class:`~facscope.errors.FacscopeDeprecationWarning` (:data:`TINY_ALIASES`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, FacscopeDeprecationWarning, InputFileError
from facscope.vlm.tiny import FAMILIES, RANDOM_MODELS

__all__ = [
    "DTYPES",
    "TINY_ALIASES",
    "TINY_PREFIX",
    "canonical_model_name",
    "load_model",
    "load_processor",
    "load_vlm",
    "tiny_family",
    "torch_dtype",
]

DTYPES = ("auto", "float32", "bfloat16", "float16")
TINY_PREFIX = "tiny:"
#: Deprecated spellings of the tiny models → their ``tiny:<family>`` names.
TINY_ALIASES = {"tiny-random": "tiny:qwen3_vl", "tiny-random-qwen2_5_vl": "tiny:qwen2_5_vl"}


def canonical_model_name(name: str, *, stacklevel: int = 2) -> str:
    """``name``, with a deprecated tiny spelling (:data:`TINY_ALIASES`) replaced by its
    ``tiny:<family>`` name and a :class:`~facscope.errors.FacscopeDeprecationWarning`."""
    new = TINY_ALIASES.get(str(name))
    if new is None:
        return str(name)
    warnings.warn(
        f"model name {name!r} is deprecated; use {new!r}",
        FacscopeDeprecationWarning,
        stacklevel=stacklevel + 1,
    )
    return new


def tiny_family(name: str) -> str | None:
    """The family of a ``tiny:<family>`` name (None for any other name); an unknown family is a
    :class:`ConfigError`."""
    if not str(name).startswith(TINY_PREFIX):
        return None
    family = str(name)[len(TINY_PREFIX) :]
    if family not in FAMILIES:
        raise ConfigError(f"tiny model family must be one of {FAMILIES}; got {family!r}")
    return family


def torch_dtype(name: str) -> Any:
    """The torch dtype called ``name`` (``auto`` stays ``"auto"``)."""
    if name not in DTYPES:
        raise ConfigError(f"dtype must be one of {DTYPES}; got {name!r}")
    if name == "auto":
        return "auto"
    import torch

    return getattr(torch, name)


def _source(name: str | Path) -> str:
    local = Path(name).expanduser()
    if str(name).startswith((".", "/", "~")) and not local.exists():
        raise InputFileError(f"{name}: no such model directory")
    return str(local) if local.exists() else str(name)


def _load_error(name: Any, allow_download: bool, exc: OSError) -> InputFileError:
    hint = (
        "it is not in the local Hugging Face cache; download it once with "
        "`huggingface-cli download` or pass allow_download=True (--allow-download, or "
        "allow_download: true in a config)"
        if not allow_download
        else "check the model id and your network"
    )
    return InputFileError(f"cannot load model {name!r}: {hint} ({exc})")


def load_model(
    name: str | Path, *, allow_download: bool = False, dtype: str = "auto", **options: Any
) -> Any:
    """The model weights alone (no processor) of a model id or directory; ``options``
    (``device_map``, ``attn_implementation``) go to ``from_pretrained`` when set. See
    :func:`load_vlm`."""
    from transformers import AutoModelForImageTextToText

    kwargs: dict[str, Any] = {"local_files_only": not allow_download, "dtype": torch_dtype(dtype)}
    kwargs.update({key: value for key, value in options.items() if value})
    try:
        return AutoModelForImageTextToText.from_pretrained(_source(name), **kwargs)
    except OSError as exc:
        raise _load_error(name, allow_download, exc) from None


def load_processor(name: str | Path, *, allow_download: bool = False, **pixels: int) -> Any:
    """The processor alone of a model id or directory (``min_pixels`` / ``max_pixels`` are passed
    on); see :func:`load_vlm`."""
    from transformers import AutoProcessor

    try:
        return AutoProcessor.from_pretrained(
            _source(name), local_files_only=not allow_download, **pixels
        )
    except OSError as exc:
        raise _load_error(name, allow_download, exc) from None


def load_vlm(
    name: str | Path,
    *,
    allow_download: bool = False,
    dtype: str = "auto",
    device_map: str | dict[str, Any] | None = None,
    attn_implementation: str | None = None,
    tiny: dict[str, Any] | None = None,
    seed: int = 0,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> tuple[Any, Any]:
    """``(model, processor)`` of a model id, a local directory or an offline name.

    Args:
        name: a Hugging Face id or directory, ``tiny:<family>``, or a ``RANDOM_MODELS`` name.
        allow_download: let transformers fetch ``name`` from the Hub (off: local files only).
        dtype: ``auto``, ``float32``, ``bfloat16`` or ``float16`` (tiny models stay float32).
        device_map: passed to ``from_pretrained``; None leaves the model where it was built.
        attn_implementation: e.g. ``sdpa`` or ``flash_attention_2``.
        tiny: sizes of a ``tiny:`` model (fields of :class:`~facscope.vlm.tiny.TinyVLMConfig`).
        seed: seeds the random weights of a ``tiny:`` or random model.
        min_pixels / max_pixels: the image processor's resize bounds (None: its own).
    """
    name = canonical_model_name(str(name)) if str(name) in TINY_ALIASES else name
    pixels = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v}
    family = tiny_family(str(name))
    if family is not None:
        from facscope.vlm.tiny import build_tiny_vlm, tiny_config

        return build_tiny_vlm(config=tiny_config(tiny or {}, family), seed=seed, **pixels)
    if tiny:
        raise ConfigError(f"'tiny' sizes only apply to model: {TINY_PREFIX}<family>")
    if str(name) in RANDOM_MODELS:
        from facscope.vlm.tiny import build_random_vlm

        return build_random_vlm(str(name), seed=seed, dtype=torch_dtype(dtype), **pixels)
    processor = load_processor(name, allow_download=allow_download, **pixels)
    model = load_model(
        name,
        allow_download=allow_download,
        dtype=dtype,
        device_map=device_map,
        attn_implementation=attn_implementation,
    )
    return model, processor
