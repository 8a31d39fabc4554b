"""Run configurations: one frozen dataclass per training run and one per experiment grid.

Both load from YAML (an unknown key is an error) and from keyword overrides (CLI flags), and
are written back resolved (every default filled in) beside the outputs they produced.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facscope.config import build_config as _build
from facscope.config import config_to_dict, read_yaml
from facscope.data.sample import TARGETS
from facscope.errors import ConfigError
from facscope.motion.clip import FACE_MODES

__all__ = [
    "GridConfig",
    "TrainConfig",
    "config_to_dict",
    "grid_config",
    "load_config",
    "read_yaml",
]


SELECTIONS = ("last", "val")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULERS = ("cosine", "none")
PRECISIONS = ("no", "fp16", "bf16")
#: How a batched LOSO computes the stream layer (:mod:`facscope.mer.fused`).
BATCHED_KERNELS = ("auto", "fused", "torch")

CLIP_INPUTS = ("frames", "onset_diff")


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """One training/evaluation run: data, model, sampling, imbalance, protocol, optimisation.

    Data:
        data: dataset adapter name (``csv``, ``casme2``, ``dfme``, …); root: its root (for
        ``csv``, the manifest file); data_options: adapter options; target: ``label`` (the
        emotion) or ``megc3``; classes: the class order (None: the dataset's own).
    Model:
        model: a registered model (``facscope mer list``); model_options: its options;
        weights: a local checkpoint to start from, or a per-fold pattern
        (``ckpts/{subject}.pth``: ``{subject}``, ``{dataset}``, ``{group}`` name the fold's one
        test subject, ``{fold}`` its index); eval_only: score those weights on their own test
        folds without training (``facscope mer eval``); frames / size: clip frames and input side
        (None: the model's default; for flow models ``size`` is the flow stack side).
    Key frames (video models):
        sampling: a sampling strategy; window: its window in seconds (``apex_window``);
        jitter: random temporal jitter in seconds applied to training clips only;
        clip_input: ``frames`` (Kinetics-normalised RGB) or ``onset_diff`` (each frame minus the
        first sampled frame, times ``diff_gain``; see :func:`facscope.mer.loader.to_model_input`).
    Imbalance:
        imbalance: a class-imbalance method; imbalance_options: its options (``gamma``, …).
    Protocol and selection:
        protocol / protocol_options: a protocol of :mod:`facscope.eval.protocols`;
        selection: ``last`` (fixed epoch budget) or ``val`` (best validation UF1 on the fold's
        validation subjects, drawn from the training subjects only; never the test fold);
        val_subjects: fraction of each fold's training subjects held out for ``val``.
    Optimisation:
        epochs, batch_size, lr, weight_decay, optimizer (adamw/adam/sgd), momentum,
        scheduler (cosine/none), hflip (random horizontal flip of training inputs), seed.
    Runtime:
        mixed_precision (no/fp16/bf16; None: what ``accelerate launch``/``accelerate config``
        set, else no), cpu (force CPU), num_workers (DataLoader workers),
        folds (run only these fold indices; None: all), max_steps (stop the run after this
        many optimiser steps in total, leaving its checkpoint: for interruption tests; a
        batched step counts once for all its folds), batched_folds (train this many folds at
        once as one stacked model, :mod:`facscope.mer.batched`; None: the per-fold loop),
        batched_kernel (``auto``: the fused native stream layer where a C++ compiler is found,
        else torch operations; ``fused`` or ``torch`` to insist).
    Cache:
        cache_dir (None: ``<output_dir>/cache``), face (``detect`` aligns on the onset frame,
        ``full`` resizes whole frames that are already face crops), detector, cache_fps
        (frame rate kept in the clip cache; None: every frame), flow (flow method for flow
        models), flow_size (side of the aligned crop the flow is computed on).
    Output:
        output_dir, resume (continue from checkpoints and skip finished folds),
        checkpoint_every (save a fold's checkpoint every this many epochs, and after its last).
    """

    data: str = "csv"
    root: str | None = None
    data_options: dict[str, Any] = field(default_factory=dict)
    target: str = "label"
    classes: tuple[str, ...] | None = None

    model: str = "ststnet"
    model_options: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    eval_only: bool = False
    frames: int | None = None
    size: int | None = None

    sampling: str = "uniform"
    window: float = 0.1
    jitter: float = 0.0
    clip_input: str = "frames"
    diff_gain: float = 10.0

    imbalance: str = "ce"
    imbalance_options: dict[str, Any] = field(default_factory=dict)

    protocol: str = "loso"
    protocol_options: dict[str, Any] = field(default_factory=dict)
    selection: str = "last"
    val_subjects: float = 0.2

    epochs: int = 30
    batch_size: int = 16
    lr: float = 1e-3
    weight_decay: float = 1e-4
    optimizer: str = "adamw"
    momentum: float = 0.9
    scheduler: str = "cosine"
    hflip: bool = False
    seed: int = 0

    mixed_precision: str | None = None
    cpu: bool = False
    num_workers: int = 0
    folds: tuple[int, ...] | None = None
    max_steps: int | None = None
    batched_folds: int | None = None
    batched_kernel: str = "auto"

    cache_dir: str | None = None
    face: str = "detect"
    detector: str = "mtcnn"
    cache_fps: float | None = 200.0
    flow: str = "tvl1"
    flow_size: int = 128

    output_dir: str = "runs/mer"
    resume: bool = True
    checkpoint_every: int = 1

    def __post_init__(self) -> None:
        from facscope.mer.imbalance import IMBALANCE
        from facscope.mer.models import MODELS
        from facscope.mer.sampling import SAMPLERS

        MODELS.get(self.model)
        SAMPLERS.get(self.sampling)
        IMBALANCE.get(self.imbalance)
        _choice("target", self.target, TARGETS)
        _choice("selection", self.selection, SELECTIONS)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("scheduler", self.scheduler, SCHEDULERS)
        if self.mixed_precision is not None:
            _choice("mixed_precision", self.mixed_precision, PRECISIONS)
        _choice("face", self.face, FACE_MODES)
        _choice("clip_input", self.clip_input, CLIP_INPUTS)
        _choice("batched_kernel", self.batched_kernel, BATCHED_KERNELS)
        if not self.diff_gain > 0:
            raise ConfigError(f"diff_gain must be > 0; got {self.diff_gain}")
        for name in ("epochs", "batch_size", "checkpoint_every"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"{name} must be >= 1; got {getattr(self, name)}")
        for name in ("frames", "size", "max_steps", "batched_folds"):
            v = getattr(self, name)
            if v is not None and int(v) < 1:
                raise ConfigError(f"{name} must be >= 1 or unset; got {v}")
        if not self.lr > 0 or self.weight_decay < 0:
            raise ConfigError(
                f"lr must be > 0 and weight_decay >= 0; got {self.lr}, {self.weight_decay}"
            )
        if self.window < 0 or self.jitter < 0:
            raise ConfigError(
                f"window and jitter are seconds >= 0; got {self.window}, {self.jitter}"
            )
        if not 0.0 < self.val_subjects < 1.0:
            raise ConfigError(f"val_subjects must be a fraction in (0, 1); got {self.val_subjects}")
        if self.num_workers < 0:
            raise ConfigError(f"num_workers must be >= 0; got {self.num_workers}")
        if self.cache_fps is not None and not self.cache_fps > 0:
            raise ConfigError(f"cache_fps must be > 0 or unset; got {self.cache_fps}")
        if self.flow_size < 16:
            raise ConfigError(f"flow_size must be >= 16 pixels; got {self.flow_size}")
        if self.eval_only and not self.weights:
            raise ConfigError("eval_only scores given weights: set weights (a file or a pattern)")
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
            if len(set(self.classes)) != len(self.classes) or len(self.classes) < 2:
                raise ConfigError(f"classes must be >= 2 distinct names; got {self.classes}")
        if self.folds is not None:
            object.__setattr__(self, "folds", tuple(int(f) for f in self.folds))

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some fields changed (checked again)."""
        return _build(TrainConfig, {**config_to_dict(self), **changes}, "train config")

    @property
    def cache_path(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else Path(self.output_dir) / "cache"


@dataclass(frozen=True, kw_only=True)
class GridConfig:
    """An experiment grid: ``models × samplings × imbalances × seeds`` over one base run.

    Attributes:
        train: the base :class:`TrainConfig` (its model/sampling/imbalance/seed/output_dir
            are set per run).
        models, samplings, imbalances, seeds: the axes.
        overrides: per-model changes to the base config (``{s3d: {size: 224}}``).
        output_dir: where ``runs/<name>/`` and the tables go.
        title: heading of the Markdown table.
    """

    train: TrainConfig = field(default_factory=TrainConfig)
    models: tuple[str, ...] = ("ststnet",)
    samplings: tuple[str, ...] = ("uniform",)
    imbalances: tuple[str, ...] = ("ce",)
    seeds: tuple[int, ...] = (0,)
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    output_dir: str = "runs/grid"
    title: str = "Micro-expression recognition"

    def __post_init__(self) -> None:
        from facscope.mer.imbalance import IMBALANCE
        from facscope.mer.models import MODELS
        from facscope.mer.sampling import SAMPLERS

        for attr, reg in (("models", MODELS), ("samplings", SAMPLERS), ("imbalances", IMBALANCE)):
            vals = tuple(str(v) for v in getattr(self, attr))
            if not vals:
                raise ConfigError(f"grid axis {attr} is empty; list at least one value")
            for v in vals:
                reg.get(v)
            object.__setattr__(self, attr, vals)
        object.__setattr__(self, "seeds", tuple(int(s) for s in self.seeds))
        if not self.seeds:
            raise ConfigError("grid axis seeds is empty; list at least one seed")
        for model, changes in self.overrides.items():
            # a registered model left out of `models` keeps its overrides unused, so a grid is
            # cut to a subset by editing `models` alone; an unknown name is a typo
            if model not in MODELS.names():
                raise ConfigError(
                    f"overrides names model {model!r}, which is not a registered model "
                    f"({', '.join(MODELS.names())})"
                )
            self.train.replace(**changes)  # check the keys and values now, not mid-grid


def _choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {list(allowed)}; got {value!r}")


def load_config(
    path: str | os.PathLike[str] | None = None, *, kind: str = "train", **overrides: Any
) -> Any:
    """Build a :class:`TrainConfig` (``kind="train"``) or :class:`GridConfig` (``"grid"``).

    Values come from the YAML file at ``path`` (if given), then from ``overrides`` (keys whose
    value is None are ignored, so unset CLI flags keep the file's value). Unknown keys raise
    :class:`ConfigError`. For a grid, ``overrides`` apply to its base ``train`` section except
    the grid's own keys.
    """
    values = read_yaml(path) if path is not None else {}
    where = str(path) if path is not None else "config"
    given = {k: v for k, v in overrides.items() if v is not None}
    if kind == "train":
        return _build(TrainConfig, {**values, **given}, where)
    if kind != "grid":
        raise ConfigError(f"kind must be 'train' or 'grid'; got {kind!r}")
    grid_keys = {f.name for f in dataclasses.fields(GridConfig)} - {"train"}
    train_values = values.pop("train", None) or {}
    if not isinstance(train_values, dict):
        raise ConfigError(f"{where}: 'train' must be a mapping of TrainConfig keys")
    values = {**values, **{k: v for k, v in given.items() if k in grid_keys}}
    values["train"] = {**train_values, **{k: v for k, v in given.items() if k not in grid_keys}}
    return grid_config(values, where=where)


def grid_config(values: Mapping[str, Any], *, where: str = "grid config") -> GridConfig:
    """A :class:`GridConfig` from a mapping whose ``train`` key holds the base run's keys."""
    vals = dict(values)
    train_values = vals.pop("train", None) or {}
    if not isinstance(train_values, Mapping):
        raise ConfigError(f"{where}: 'train' must be a mapping of TrainConfig keys")
    train = _build(TrainConfig, train_values, f"{where} (train section)")
    return _build(GridConfig, {**vals, "train": train}, where)
