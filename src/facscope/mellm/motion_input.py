"""The motion a description is grounded in, from :mod:`facscope.motion`'s pipeline.

For one sample (a clip with onset and apex) :func:`sample_motion` runs
:func:`facscope.motion.pipeline.analyse_clip`: the face is detected and aligned on the
**onset** frame, onset and apex are cropped with that one transform, the onset → apex flow is
computed (TV-L1 with OpenCV's defaults by default), head motion is removed with MELLM's 11 × 11
nose-tip window, and the motion-enhanced colour map and per-region statistics are made on the
crop. :func:`preprocessed_motion` reads the same outputs from a ``facscope preprocess`` folder
instead of recomputing them.

The descriptions name canonical regions (:data:`facscope.face.REGIONS`), so the statistics must
use the ``canonical`` region set. A sample without an apex gets one by the pipeline's apex rule
(max-motion by default) with a :class:`~facscope.errors.FacscopeDataWarning`; ``strict=True``
makes that an error.
"""

from __future__ import annotations

import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import AnnotationError, ConfigError, FacscopeDataWarning, InputFileError

__all__ = ["MotionInput", "frames_motion", "preprocessed_motion", "sample_motion"]


@dataclass(frozen=True, eq=False)
class MotionInput:
    """The measured motion of one sample.

    Attributes:
        onset, apex: aligned RGB crops.
        colormap: MELLM's motion-enhanced colour map (RGB).
        stats: the canonical regions' statistics as dicts
            (:meth:`facscope.motion.stats.RegionMotion.to_dict`).
        info: how they were measured (apex frame and rule, flow method, compensation,
            alignment) — the pipeline's record without the statistics.
    """

    onset: np.ndarray = field(repr=False)
    apex: np.ndarray = field(repr=False)
    colormap: np.ndarray = field(repr=False)
    stats: list[dict[str, Any]]
    info: dict[str, Any]


def check_config(config: Any) -> Any:
    """A :class:`facscope.motion.pipeline.MotionConfig` usable for descriptions (canonical
    regions); the default one when ``config`` is None."""
    from facscope.motion.pipeline import MotionConfig

    cfg = config or MotionConfig()
    if cfg.region_set != "canonical":
        raise ConfigError(
            f"instruction targets name canonical regions; set the motion region_set to "
            f"'canonical', not {cfg.region_set!r}"
        )
    return cfg


def _from_result(result: Any, **info: Any) -> MotionInput:
    record = result.to_dict()
    stats = record.pop("regions")
    return MotionInput(
        onset=result.onset_rgb,
        apex=result.apex_rgb,
        colormap=result.colormap,
        stats=stats,
        info={**record, **info},
    )


def frames_motion(
    onset: np.ndarray, apex: np.ndarray, *, config: Any = None, alignment: Any = None
) -> MotionInput:
    """Motion between an onset and an apex frame (aligned on the onset; ``alignment`` reuses a
    known :class:`~facscope.motion.clip.ClipAlignment` instead of detecting the face)."""
    from facscope.motion.pipeline import analyse_pair

    result = analyse_pair(onset, apex, config=check_config(config), alignment=alignment)
    return _from_result(result)


def sample_motion(sample: Any, *, config: Any = None, strict: bool = False) -> MotionInput:
    """Motion of a dataset sample (:class:`facscope.data.sample.Sample`) from onset to apex.

    Raises:
        AnnotationError: the sample is a still image, has no apex under ``strict``, or its apex
            is its onset.
    """
    from facscope.motion.clip import open_clip
    from facscope.motion.pipeline import analyse_clip

    cfg = check_config(config)
    if not getattr(sample, "is_clip", False):
        raise AnnotationError(
            f"sample {sample.sample_id!r} is a still image; MELLM inputs need a clip "
            "(onset and apex frames)"
        )
    clip = open_clip(sample.frames_dir or sample.video, fps=sample.fps)
    onset = clip.index_of(sample.onset) if sample.onset is not None else 0
    offset = clip.index_of(sample.offset) if sample.offset is not None else None
    apex = clip.index_of(sample.apex) if sample.apex is not None else None
    if apex is None:
        msg = f"sample {sample.sample_id!r} has no apex"
        if strict:
            raise AnnotationError(f"{msg}; annotate it, or pass strict=False to spot it")
        warnings.warn(f"{msg}; spotting it ({cfg.apex_rule})", FacscopeDataWarning, stacklevel=2)
    elif apex == onset:
        raise AnnotationError(
            f"sample {sample.sample_id!r}: apex and onset are the same frame "
            f"({clip.numbers[onset]}); there is no motion to measure"
        )
    result = analyse_clip(clip, onset=onset, apex=apex, offset=offset, config=cfg)
    return _from_result(
        result,
        onset_frame=clip.numbers[result.onset],
        apex_frame=clip.numbers[result.apex],
    )


def preprocessed_motion(folder: str | os.PathLike[str]) -> MotionInput:
    """The motion of one sample read from its ``facscope preprocess`` output folder."""
    from facscope.io import load_image

    d = Path(folder)
    meta_path = d / "meta.json"
    if not meta_path.is_file():
        raise InputFileError(f"{d}: no finished preprocess output (meta.json is missing)")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    record = dict(meta.get("result") or {})
    region_set = record.get("region_set", (meta.get("config") or {}).get("region_set"))
    if region_set != "canonical":
        raise ConfigError(
            f"{d}: preprocessed with region_set {region_set!r}; instruction targets need "
            "'canonical' (rerun facscope preprocess with the canonical region set)"
        )
    stats = record.pop("regions", None)
    if stats is None:
        stats = json.loads((d / "regions.json").read_text(encoding="utf-8"))["regions"]
    return MotionInput(
        onset=load_image(d / "onset.png"),
        apex=load_image(d / "apex.png"),
        colormap=load_image(d / "colormap.png"),
        stats=stats,
        info={**record, "preprocessed": str(d), "config": meta.get("config")},
    )
