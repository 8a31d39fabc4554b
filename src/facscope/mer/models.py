"""Micro-expression classifiers behind a registry, each declaring the input it expects.

>>> from facscope.mer.models import create_model, list_models, model_input
>>> list_models()
['mc3_18', 'off_apexnet', 'r2plus1d_18', 'r3d_18', 's3d', 'ststnet']
>>> model_input("ststnet").shape()
(3, 28, 28)

Video models (torchvision R3D-18, MC3-18, R(2+1)D-18, S3D) read clips ``(3, T, H, W)``
normalised with the Kinetics mean/std; they are always built with ``weights=None`` (nothing is
downloaded). A local checkpoint may be given as ``weights=PATH``: it is read with
``torch.load(weights_only=True)`` and must match the architecture, except for the classification
head, which is left freshly initialised when its class count differs (a Kinetics-400 file on a
7-class task). Apex-flow baselines (:mod:`facscope.mer.flownets`) read (u, v[, strain]) stacks.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, FacscopeDataWarning, InputFileError
from facscope.registry import Registry

__all__ = [
    "KINETICS_MEAN",
    "KINETICS_STD",
    "MODELS",
    "ModelInput",
    "create_model",
    "list_models",
    "load_weights",
    "model_input",
]

KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)

MODELS: Registry[Any] = Registry("model")
_INPUTS: dict[str, Callable[..., ModelInput]] = {}
_HEADS: dict[str, tuple[str, ...]] = {}


@dataclass(frozen=True, kw_only=True)
class ModelInput:
    """What a model reads.

    Attributes:
        kind: ``"clip"`` (frames, tensor ``(3, T, H, W)``) or ``"flow"`` (onset→apex flow stack,
            tensor ``(C, H, W)``).
        channels: channel names (``r, g, b`` or ``u, v, strain``).
        size: default side of the square input in pixels.
        frames: default number of frames (clips only).
        min_size / min_frames: the smallest input the architecture accepts.
        mean / std: per-channel normalisation applied to clips scaled to [0, 1].
    """

    kind: str
    channels: tuple[str, ...]
    size: int
    frames: int | None = None
    min_size: int = 1
    min_frames: int = 1
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("clip", "flow"):
            raise ConfigError(f"model input kind must be 'clip' or 'flow'; got {self.kind!r}")
        if self.kind == "clip" and self.frames is None:
            raise ConfigError("a clip model must declare its default number of frames")

    def resolve(self, *, frames: int | None = None, size: int | None = None) -> ModelInput:
        """This input with ``frames``/``size`` overridden, checked against the minimums."""
        f = self.frames if frames is None or self.kind == "flow" else int(frames)
        s = self.size if size is None else int(size)
        if self.kind == "flow" and s != self.size:
            raise ConfigError(
                f"this flow model was built for {self.size} px inputs; got size {s}; build it "
                f"with the model option input_size={s} instead"
            )
        if s < self.min_size:
            raise ConfigError(
                f"input size {s} px is below this model's minimum of {self.min_size} px; "
                f"use size >= {self.min_size}"
            )
        if f is not None and f < self.min_frames:
            raise ConfigError(
                f"{f} frames is below this model's minimum of {self.min_frames}; "
                f"use frames >= {self.min_frames}"
            )
        return ModelInput(
            kind=self.kind,
            channels=self.channels,
            size=s,
            frames=f,
            min_size=self.min_size,
            min_frames=self.min_frames,
            mean=self.mean,
            std=self.std,
        )

    def shape(self) -> tuple[int, ...]:
        """The per-sample tensor shape: ``(C, T, H, W)`` for clips, ``(C, H, W)`` for flow."""
        c = len(self.channels)
        if self.kind == "clip":
            return (c, int(self.frames or 0), self.size, self.size)
        return (c, self.size, self.size)


def register_model(
    name: str, input: ModelInput | Callable[..., ModelInput], *, head: tuple[str, ...]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a model factory ``f(num_classes, **kw)`` with its input and head parameters."""

    def deco(factory: Callable[..., Any]) -> Callable[..., Any]:
        MODELS.register(name)(factory)
        _INPUTS[name] = input if callable(input) else (lambda **_: input)
        _HEADS[name] = head
        return factory

    return deco


def list_models() -> list[str]:
    """Names of the registered models."""
    return MODELS.names()


def model_input(name: str, **model_kw: Any) -> ModelInput:
    """The input model ``name`` expects (``model_kw`` as given to :func:`create_model`)."""
    MODELS.get(name)
    return _INPUTS[name.lower()](**model_kw)


def create_model(
    name: str,
    num_classes: int,
    *,
    weights: str | os.PathLike[str] | None = None,
    **kw: Any,
) -> Any:
    """Build model ``name`` for ``num_classes`` classes (randomly initialised).

    Args:
        name: one of :func:`list_models`.
        num_classes: number of output classes (>= 2).
        weights: optional local checkpoint (a ``state_dict`` or a dict holding one under
            ``"model"`` / ``"state_dict"``), loaded safely; see :func:`load_weights`.
        **kw: options of the architecture (``dropout``, ``adaptive_pool`` for S3D, …).

    Returns:
        A ``torch.nn.Module`` with an ``input_spec`` attribute (:class:`ModelInput`).
    """
    if int(num_classes) < 2:
        raise ConfigError(f"num_classes must be >= 2; got {num_classes}")
    factory = MODELS.get(name)
    try:
        model = factory(int(num_classes), **kw)
    except TypeError as exc:
        raise ConfigError(f"model {name!r} does not accept options {sorted(kw)}: {exc}") from None
    model.input_spec = model_input(name, **kw)
    if weights is not None:
        load_weights(model, weights, head=_HEADS[name.lower()])
    return model


def load_weights(model: Any, path: str | os.PathLike[str], *, head: tuple[str, ...] = ()) -> Any:
    """Load a local checkpoint into ``model`` with ``torch.load(weights_only=True)``.

    Keys may carry a ``module.`` prefix (DataParallel/DDP files). Head parameters (names starting
    with one of ``head``) whose shape differs are skipped with a :class:`FacscopeDataWarning`
    and keep their fresh initialisation. Any other missing, unexpected or mis-shaped key is an
    error naming the first few offenders.

    Raises:
        InputFileError: the file is missing or not a torch checkpoint.
        ConfigError: the checkpoint does not match the architecture.
    """
    import torch

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such checkpoint file; give a local .pt/.pth path")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise InputFileError(
            f"{p}: cannot be read as a torch checkpoint with weights_only=True ({exc}); "
            "save a plain state_dict with torch.save(model.state_dict(), path)"
        ) from None
    state = obj
    if isinstance(obj, dict):
        for key in ("model", "state_dict", "model_state_dict"):
            if key in obj and isinstance(obj[key], dict):
                state = obj[key]
                break
    if not isinstance(state, dict) or not all(isinstance(k, str) for k in state):
        raise ConfigError(f"{p}: holds no state_dict (a mapping of parameter names to tensors)")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    state = map_public_keys(model, state)
    own = model.state_dict()
    skipped = [
        k
        for k, v in state.items()
        if k in own and k.startswith(head) and tuple(v.shape) != tuple(own[k].shape)
    ]
    for k in skipped:
        del state[k]
    bad_shape = [
        f"{k}: file {tuple(v.shape)} vs model {tuple(own[k].shape)}"
        for k, v in state.items()
        if k in own and tuple(v.shape) != tuple(own[k].shape)
    ]
    missing = sorted(set(own) - set(state) - set(skipped))
    unexpected = sorted(set(state) - set(own))
    if bad_shape or missing or unexpected:
        parts = []
        if bad_shape:
            parts.append(f"shape mismatches {bad_shape[:3]}")
        if missing:
            parts.append(f"{len(missing)} missing keys (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected keys (e.g. {unexpected[:3]})")
        raise ConfigError(
            f"{p}: checkpoint does not match {type(model).__name__}: {'; '.join(parts)}; "
            "check that the file was saved from the same architecture"
        )
    if skipped:
        warnings.warn(
            f"{p}: classification head {skipped} has a different class count; it keeps its "
            "fresh initialisation",
            FacscopeDataWarning,
            stacklevel=2,
        )
    model.load_state_dict(state, strict=False)
    return model


#: The public STSTNet release's state_dict names (``conv1/2/3``, ``bn1/2/3``, ``fc``) →
#: facscope's (each stream ``streams.i`` is conv ``.0``, ReLU, batch norm ``.2``, pools).
STSTNET_PUBLIC_KEYS = {
    **{f"conv{i + 1}.": f"streams.{i}.0." for i in range(3)},
    **{f"bn{i + 1}.": f"streams.{i}.2." for i in range(3)},
    "fc.": "fc.",
}


def map_public_keys(model: Any, state: dict[str, Any]) -> dict[str, Any]:
    """A state_dict in a published layout renamed to ``model``'s keys; others unchanged.

    Known layouts: STSTNet's public release (Liong et al.; ``conv1/2/3``, ``bn1/2/3``, ``fc``:
    the same layers and shapes as :class:`facscope.mer.flownets.STSTNet`). No public
    OFF-ApexNet state_dict layout is known to facscope.
    """
    from facscope.mer.flownets import STSTNet

    if not isinstance(model, STSTNet) or not any(k.startswith("conv1.") for k in state):
        return state
    out = {}
    for key, value in state.items():
        prefix = next((p for p in STSTNET_PUBLIC_KEYS if key.startswith(p)), None)
        out[STSTNET_PUBLIC_KEYS[prefix] + key[len(prefix) :] if prefix else key] = value
    return out


# --------------------------------------------------------------------------------------------
# Registered models

_CLIP = {"kind": "clip", "channels": ("r", "g", "b"), "mean": KINETICS_MEAN, "std": KINETICS_STD}
_RESNET_INPUT = ModelInput(**_CLIP, frames=16, size=112, min_size=16, min_frames=1)


def _video_resnet(builder_name: str, num_classes: int, dropout: float = 0.0) -> Any:
    import torchvision.models.video as tvv
    from torch import nn

    model = getattr(tvv, builder_name)(weights=None, num_classes=num_classes)
    if dropout > 0:
        model.fc = nn.Sequential(nn.Dropout(dropout), model.fc)
    return model


@register_model("r3d_18", _RESNET_INPUT, head=("fc.",))
def r3d_18(num_classes: int, *, dropout: float = 0.0) -> Any:
    """torchvision R3D-18: 3D ResNet-18 with full 3×3×3 convolutions."""
    return _video_resnet("r3d_18", num_classes, dropout)


@register_model("mc3_18", _RESNET_INPUT, head=("fc.",))
def mc3_18(num_classes: int, *, dropout: float = 0.0) -> Any:
    """torchvision MC3-18: mixed convolutions (3D early, 2D in later stages)."""
    return _video_resnet("mc3_18", num_classes, dropout)


@register_model("r2plus1d_18", _RESNET_INPUT, head=("fc.",))
def r2plus1d_18(num_classes: int, *, dropout: float = 0.0) -> Any:
    """torchvision R(2+1)D-18: 3D convolutions factored into spatial and temporal parts."""
    return _video_resnet("r2plus1d_18", num_classes, dropout)


def _s3d_input(*, adaptive_pool: bool = False, **_: Any) -> ModelInput:
    if adaptive_pool:
        return ModelInput(**_CLIP, frames=16, size=112, min_size=32, min_frames=8)
    return ModelInput(**_CLIP, frames=16, size=224, min_size=224, min_frames=14)


@register_model("s3d", _s3d_input, head=("classifier.",))
def s3d(
    num_classes: int,
    *,
    dropout: float = 0.2,
    adaptive_pool: bool = False,
    bn_momentum: float = 0.1,
) -> Any:
    """torchvision S3D: separable 3D Inception (needs >= 224 px and >= 14 frames).

    ``adaptive_pool=True`` replaces the fixed 2×7×7 final pooling by global average pooling so
    smaller inputs (>= 32 px, >= 8 frames) work; that is a reduced variant, say so when you
    report it. Batch-norm momentum is 0.1 (PyTorch's default) instead of torchvision's 0.001:
    that value suits fine-tuning from Kinetics, but after a short from-scratch run it leaves
    the running statistics near their initial values and evaluation collapses to a few
    classes. Pass ``bn_momentum=0.001`` for torchvision's value.
    """
    import torchvision.models.video as tvv
    from torch import nn

    if not 0.0 < bn_momentum <= 1.0:
        raise ConfigError(f"bn_momentum must be in (0, 1]; got {bn_momentum}")
    model = tvv.s3d(weights=None, num_classes=num_classes, dropout=dropout)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm3d):
            m.momentum = float(bn_momentum)
    if adaptive_pool:
        model.avgpool = nn.AdaptiveAvgPool3d(1)
    return model


def _flow_input(channels: tuple[str, ...]) -> Callable[..., ModelInput]:
    def make(*, input_size: int = 28, **_: Any) -> ModelInput:
        return ModelInput(kind="flow", channels=channels, size=int(input_size), min_size=8)

    return make


@register_model("ststnet", _flow_input(("u", "v", "strain")), head=("fc.",))
def ststnet(
    num_classes: int,
    *,
    dropout: float = 0.5,
    widths: tuple[int, ...] = (3, 5, 8),
    input_size: int = 28,
    dropout_position: str = "head",
) -> Any:
    """STSTNet-style shallow triple-stream CNN on (u, v, strain) apex flow at 28×28."""
    from facscope.mer.flownets import STSTNet

    return STSTNet(
        num_classes,
        widths=tuple(widths),
        dropout=dropout,
        input_size=input_size,
        dropout_position=dropout_position,
    )


@register_model("off_apexnet", _flow_input(("u", "v")), head=("fc.",))
def off_apexnet(
    num_classes: int, *, dropout: float = 0.5, hidden: int = 1024, input_size: int = 28
) -> Any:
    """OFF-ApexNet-style two-stream CNN on (u, v) apex flow at 28×28."""
    from facscope.mer.flownets import OffApexNet

    return OffApexNet(num_classes, hidden=hidden, dropout=dropout, input_size=input_size)
