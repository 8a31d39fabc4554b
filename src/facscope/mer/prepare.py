"""What a run trains on: the prepared dataset (labelled clips with cache entries), the model's
input, the protocol's folds, and the seeds derived from ``(seed, fold, epoch)``.

Used by :mod:`facscope.mer.train` (one run) and :mod:`facscope.mer.fold` (one fold of it).
"""

from __future__ import annotations

import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError, FacscopeDataWarning
from facscope.mer.config import TrainConfig

__all__ = [
    "FoldSplit",
    "PreparedData",
    "derive_seed",
    "fold_weights",
    "load_data",
    "make_folds",
    "prepare_data",
    "resolve_spec",
]


def derive_seed(*parts: int) -> int:
    """A 31-bit seed derived from integers (seed, fold, epoch, …)."""
    return int(np.random.SeedSequence([int(p) for p in parts]).generate_state(1)[0] & 0x7FFFFFFF)


@dataclass(frozen=True)
class PreparedData:
    """A dataset ready for training: samples with cache entries and class ids."""

    samples: tuple[Any, ...]
    entries: tuple[Path, ...]
    labels: np.ndarray
    classes: tuple[str, ...]
    spec: Any  # ModelInput
    dataset: Any  # facscope.data.Dataset
    skipped: tuple[str, ...]


def resolve_spec(config: TrainConfig) -> tuple[Any, dict[str, Any]]:
    """The model's input (a ``ModelInput``) and its model options, with the config's frames and
    size applied (for a flow model, ``size`` is the flow stack's side)."""
    from facscope.mer.models import model_input

    kw = dict(config.model_options)
    base = model_input(config.model, **kw)
    if base.kind == "flow":
        if config.size is not None and config.size != base.size:
            kw["input_size"] = int(config.size)
        return model_input(config.model, **kw), kw
    return base.resolve(frames=config.frames, size=config.size), kw


def load_data(config: TrainConfig) -> Any:
    """The configured dataset with the configured target."""
    import facscope.motion.apex  # noqa: F401  (registers the apex='max-motion' finder)
    from facscope.data import load_dataset

    if config.root is None:
        raise ConfigError("no dataset root: set 'root' (for --data csv, the manifest file)")
    ds = load_dataset(config.data, config.root, **config.data_options)
    if ds.target != config.target:
        ds = ds.with_target(config.target)
    return ds


def prepare_data(
    config: TrainConfig, *, dataset: Any = None, progress: bool = True, accelerator: Any = None
) -> PreparedData:
    """Load the dataset, keep the labelled clips, and build their cache entries.

    Samples with no class in ``classes`` and samples whose cache entry failed are dropped with
    one :class:`FacscopeDataWarning` each (and listed in ``cache_failures.json``).
    """
    from facscope.mer.cache import CacheSpec, build_cache

    ds = dataset if dataset is not None else load_data(config)
    classes = tuple(config.classes) if config.classes else tuple(ds.classes)
    if len(classes) < 2:
        raise ConfigError(f"need at least two classes to train; the dataset has {classes}")
    index = {c: i for i, c in enumerate(classes)}
    labels_all = ds.labels()
    spec, _ = resolve_spec(config)
    readable = _reads(spec.kind)
    keep = [i for i, lab in enumerate(labels_all) if lab in index and readable(ds[i])]
    if len(keep) < len(ds):
        warnings.warn(
            _left_out_message(ds, keep, classes, spec.kind), FacscopeDataWarning, stacklevel=2
        )
    ds = ds[keep] if len(keep) < len(ds) else ds
    cspec = CacheSpec(
        root=config.cache_path,
        kind=spec.kind,
        size=spec.size,
        face=config.face,
        detector=config.detector,
        fps=config.cache_fps,
        flow=config.flow,
        flow_size=config.flow_size,
        channels=spec.channels,
    )
    samples = list(ds)
    if accelerator is not None:
        with accelerator.main_process_first():
            built = build_cache(samples, cspec, progress=progress and accelerator.is_main_process)
    else:
        built = build_cache(samples, cspec, progress=progress)
    if spec.kind == "flow":
        from facscope.mer.flowinput import check_flow_entries

        check_flow_entries(samples, built.entries, spec.size)
    ok = [i for i, e in enumerate(built.entries) if e is not None]
    skipped = tuple(f"{f['sample_id']}: {f['error']}" for f in built.failures)
    if built.failures:
        warnings.warn(
            f"{len(built.failures)} sample(s) could not be cached and are left out (first: "
            f"{skipped[0]}); see cache_failures.json",
            FacscopeDataWarning,
            stacklevel=2,
        )
    ds = ds[ok] if len(ok) < len(ds) else ds
    labels = np.array([index[lab] for lab in ds.labels()], dtype=np.int64)
    entries = tuple(built.entries[i] for i in ok)  # type: ignore[misc]
    return PreparedData(tuple(ds), entries, labels, classes, spec, ds, skipped)


def _reads(kind: str) -> Any:
    """Which samples a model of input ``kind`` reads: clips (its cache builds the input), and
    for a flow model also precomputed flow files."""
    if kind == "flow":
        return lambda s: s.is_clip or s.is_flow
    return lambda s: s.is_clip


def _left_out_message(ds: Any, keep: list[int], classes: tuple[str, ...], kind: str) -> str:
    kinds = Counter(ds[i].kind for i in sorted(set(range(len(ds))) - set(keep)))
    what = "clips" if kind == "clip" else "clips or flow files"
    msg = (
        f"{len(ds) - len(keep)} of {len(ds)} samples have no class in {list(classes)} or "
        f"are not {what}; they are left out (kinds left out: {dict(kinds)})"
    )
    if kind == "flow" and kinds.get("image"):
        msg += (
            "; images that are precomputed flow (apex-flow PNGs) are read as such with "
            "data_options: {kind: flow} (--set data_options.kind=flow)"
        )
    if kind == "clip" and kinds.get("flow"):
        msg += "; flow files are read by the flow models (ststnet, off_apexnet)"
    return msg


@dataclass(frozen=True)
class FoldSplit:
    """One fold: dataset indices of its training, validation and test samples."""

    index: int
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def make_folds(config: TrainConfig, data: PreparedData) -> list[FoldSplit]:
    """The protocol's folds over the prepared samples; validation subjects come from each fold's
    training subjects only (``selection="val"``)."""
    from facscope.eval.protocols import split_dataset

    folds = []
    for k, (tr, va, te) in enumerate(
        split_dataset(
            data.dataset,
            config.protocol,
            labels=data.labels,
            seed=config.seed,
            val=config.val_subjects if config.selection == "val" else 0.0,
            **config.protocol_options,
        )
    ):
        tr, va, te = (np.asarray(a, dtype=np.int64) for a in (tr, va, te))
        groups = {data.samples[i].group for i in te}
        if groups & {data.samples[i].group for i in np.concatenate([tr, va])}:
            raise ConfigError(f"fold {k}: a test subject also appears in training/validation")
        folds.append(FoldSplit(k, tr, va, te))
    if config.folds is not None:
        wanted = set(config.folds)
        folds = [f for f in folds if f.index in wanted]
    if not folds:
        raise ConfigError(f"protocol {config.protocol!r} gave no folds to run")
    return folds


def fold_weights(config: TrainConfig, data: PreparedData, fold: FoldSplit) -> str | None:
    """The fold's checkpoint: ``weights`` itself, or its pattern filled in with the fold's test
    subject (``{subject}``, ``{dataset}``, ``{group}``) and index (``{fold}``)."""
    pattern = config.weights
    if pattern is None or "{" not in pattern:
        return pattern
    groups = sorted({data.samples[i].group for i in fold.test})
    needs_subject = any(f"{{{k}}}" in pattern for k in ("subject", "dataset", "group"))
    if needs_subject and len(groups) != 1:
        raise ConfigError(
            f"weights pattern {pattern!r} names the fold's test subject, but fold {fold.index} "
            f"tests {len(groups)} subjects; use {{fold}} or a leave-one-subject-out protocol"
        )
    first = data.samples[int(fold.test[0])] if len(fold.test) else None
    values = {"fold": fold.index, "group": groups[0] if groups else ""}
    if first is not None:
        values |= {"subject": first.subject, "dataset": first.dataset}
    try:
        return pattern.format(**values)
    except (KeyError, IndexError, ValueError) as exc:
        raise ConfigError(
            f"weights pattern {pattern!r}: {exc}; use {{subject}}, {{dataset}}, {{group}} or "
            "{fold}"
        ) from None
