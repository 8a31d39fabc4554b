"""SMIC (HS 100 fps, VIS 25 fps, NIR 25 fps): a subject/emotion tree of clip folders.

Layout (the release, and its cropped copy ``SMIC_all_cropped``)::

    ROOT/HS/s1/micro/negative/s1_ne_01/image063433.bmp …
    ROOT/VIS/s1/micro/positive/s1_po_01/…
    ROOT/NIR/…

``ROOT`` may also be the variant folder itself (``…/HS``), and the ``micro`` level may be absent;
``non_micro`` folders are ignored. SMIC has no annotation sheet: the clips are cut at onset and
offset, so onset/offset are the first/last frame numbers on disk and the apex is the midpoint
(``apex_rule="midpoint"``; SMIC has no apex by design, so no ``apex-missing`` problem is logged).
Classes: positive, negative, surprise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from facscope.data.clips import ClipOptions, ClipSpec, clip_adapter, resolve_label
from facscope.data.common import build_clips, check_root, finish
from facscope.data.dataset import DATASETS, Dataset
from facscope.data.problems import ProblemLog
from facscope.errors import ConfigError, DatasetError

__all__ = ["SMIC_FPS", "SMIC_OPTIONS", "smic"]

SMIC_FPS = {"hs": 100.0, "vis": 25.0, "nir": 25.0}


def _dirs(folder: Path) -> list[Path]:
    return sorted(
        (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.name,
    )


def _variant_root(root: Path, variant: str) -> Path:
    for cand in (
        root / variant.upper(),
        root / variant,
        root / "SMIC_all_cropped" / variant.upper(),
        root / "SMIC" / variant.upper(),
    ):
        if cand.is_dir():
            return cand
    if root.name.lower() == variant:
        return root
    names = [p.name for p in _dirs(root)] if root.is_dir() else []
    if any(n.lower() in SMIC_FPS for n in names):
        raise DatasetError(
            f"{root}: has no {variant.upper()} folder (found {names}); pick "
            "another variant (smic.hs, smic.vis, smic.nir)"
        )
    return root  # subject folders directly under root


def _emotion_dirs(subject_dir: Path) -> list[Path]:
    micro = [p for p in _dirs(subject_dir) if p.name.lower() == "micro"]
    base = micro[0] if micro else subject_dir
    return [p for p in _dirs(base) if p.name.lower() not in ("non_micro", "nonmicro", "micro")]


#: The :class:`ClipOptions` fields SMIC takes (its frames are always scanned).
SMIC_OPTIONS = ("apex", "apex_fn", "target")


@DATASETS.register("smic")
@clip_adapter(*SMIC_OPTIONS)
def smic(
    root: str | os.PathLike[str], options: ClipOptions | None = None, *, variant: str = "hs"
) -> Dataset:
    """SMIC: variant ``hs`` (100 fps, default), ``vis`` or ``nir`` (25 fps) subject/emotion tree."""
    opts = replace(options or ClipOptions(), scan=True)
    variant = variant.lower()
    if variant not in SMIC_FPS:
        raise ConfigError(f"SMIC variant must be one of {sorted(SMIC_FPS)}; got {variant!r}")
    name = f"smic.{variant}"
    base = check_root(root, name)
    vroot = _variant_root(base, variant)
    log = ProblemLog(name, strict=opts.strict)
    specs = []
    for subject_dir in _dirs(vroot):
        for emo_dir in _emotion_dirs(subject_dir):
            clips = _dirs(emo_dir)
            if not clips:
                continue
            sid0 = f"{subject_dir.name}/{emo_dir.name}"
            ok, label = resolve_label("smic", emo_dir.name, log, sample_id=sid0, row=None)
            if not ok:
                continue
            for clip in clips:
                specs.append(
                    ClipSpec(
                        dataset="smic",
                        subject=subject_dir.name,
                        sample_id=f"{subject_dir.name}/{clip.name}",
                        frames_dir=clip,
                        fps=SMIC_FPS[variant],
                        emotion=emo_dir.name,
                        label=label,
                        meta={"variant": variant.upper()},
                        has_apex=False,
                        bounds_from_frames=True,
                    )
                )
    if not specs and not log.problems:
        raise DatasetError(f"{vroot}: no SMIC clips found (expected s1/micro/negative/s1_ne_01/…)")
    samples = build_clips(specs, log, opts)
    return finish(
        name,
        base,
        samples,
        log,
        classes=("negative", "positive", "surprise"),
        target=opts.target,
        options={"variant": variant, "apex": opts.apex},
    )


def _variant_factory(variant: str) -> Callable[..., Dataset]:
    @clip_adapter(*SMIC_OPTIONS)
    def load(root: str | os.PathLike[str], options: ClipOptions | None = None) -> Dataset:
        return smic(root, options, variant=variant)

    load.__doc__ = f"SMIC-{variant.upper()} ({SMIC_FPS[variant]:g} fps): smic, variant={variant!r}"
    return load


for _v in SMIC_FPS:
    DATASETS.register(f"smic.{_v}")(_variant_factory(_v))
