"""Building instruction records from a dataset: resumable, atomic, one failure never stops it.

Layout of a build folder::

    OUT/
      motion/<slug>/colormap.png onset.png apex.png   written once per sample, atomically
      motion/<slug>/motion.json                        region statistics + how they were measured
                                                       (written last: its presence marks the
                                                       sample finished)
      records.jsonl        one InstructionRecord per built sample (input to every format)
      failures.json        samples that failed, with the error (retried by the next run)
      build.json           the resolved BuildConfig and the counts

The expensive part (alignment, flow) is cached per sample under ``motion/``; records (prompt and
target) are cheap and rebuilt from the cache on every run, so changing the input mode or the
seed never recomputes flow. Samples without a label are skipped with a
:class:`~facscope.errors.FacscopeDataWarning` (there is no target to write); so are ``others``
when ``drop_others`` is set.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, FacscopeDataWarning, InputFileError
from facscope.mellm.describe import INPUT_MODES, DescribeOptions, describe
from facscope.mellm.motion_input import check_config, preprocessed_motion, sample_motion
from facscope.mellm.records import InstructionRecord, record_slug, write_records

__all__ = ["BuildConfig", "BuildResult", "build_records", "make_record"]

_IMAGES = {"colormap": ("colormap.png",), "frames": ("onset.png", "apex.png"), "stats": ()}


@dataclass(frozen=True, kw_only=True)
class BuildConfig:
    """How instruction records are built.

    Attributes:
        mode: the model's input: ``colormap`` (MELLM v1), ``frames`` (onset + apex) or
            ``stats`` (region statistics as text, MELLM v2, for text-only LLMs).
        seed: picks the phrasings (combined with each sample's id).
        motion: how motion is measured, a :class:`facscope.motion.pipeline.MotionConfig`
            (flow method, crop size, face mode, compensation; canonical regions). The crop size
            sets how finely motion is measured: 256 px (the default) names 95–97 % of the true
            AUs' main regions on synthetic data, 64 px only about half (``docs/mellm.md``).
        image_size: side of the saved images (colour map, onset, apex) when the model should
            see them smaller than the crop the flow was measured on; None keeps the crop size.
        preprocessed: a ``facscope preprocess`` output folder to read each sample's motion from
            (``<folder>/<dataset>/<sample id>/``) instead of computing it; samples missing there
            are computed.
        describe: the moving-region rule and description options (``mode`` is overridden by
            ``mode`` above).
        drop_others: skip samples labelled ``others`` (outside the MEGC three classes).
        emotions: the fine-grained labels the prompt offers; None uses the labels present.
        strict: doubtful annotations (no apex) raise instead of warning.
    """

    mode: str = "colormap"
    seed: int = 0
    motion: Any = None
    image_size: int | None = None
    preprocessed: str | None = None
    describe: DescribeOptions = field(default_factory=DescribeOptions)
    drop_others: bool = False
    emotions: tuple[str, ...] | None = None
    strict: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "motion", check_config(self.motion))
        if self.mode not in INPUT_MODES:
            raise ConfigError(f"mode must be one of {INPUT_MODES}; got {self.mode!r}")
        if self.describe.mode != self.mode:
            opts = {**asdict(self.describe), "mode": self.mode}
            object.__setattr__(self, "describe", DescribeOptions(**opts))
        if self.emotions is not None:
            object.__setattr__(self, "emotions", tuple(self.emotions))
        if self.image_size is not None and not 16 <= self.image_size <= 2048:
            raise ConfigError(f"image_size must be in 16..2048 or None; got {self.image_size}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["motion"] = self.motion.to_dict()
        d["emotions"] = None if self.emotions is None else list(self.emotions)
        return d


@dataclass
class BuildResult:
    """What a build produced: the records in sample order, failures and skips."""

    root: Path
    records: list[InstructionRecord]
    failures: list[dict[str, Any]]
    skipped: list[dict[str, Any]]
    computed: int = 0
    cached: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            "records": len(self.records),
            "computed": self.computed,
            "cached": self.cached,
            "failed": len(self.failures),
            "skipped": len(self.skipped),
        }


def make_record(
    sample: Any,
    stats: list[dict[str, Any]],
    *,
    slug: str,
    config: BuildConfig,
    info: dict[str, Any] | None = None,
    emotions: tuple[str, ...] | None = None,
) -> InstructionRecord:
    """The instruction record of one sample from its measured region statistics."""
    from facscope.facs import format_aus
    from facscope.mellm.prompt import instruction_prompt
    from facscope.mellm.regions import read_region_stats
    from facscope.motion.stats import stats_text

    record_id = f"{sample.dataset}/{sample.sample_id}"
    motions = read_region_stats(stats)
    desc = describe(
        sample.aus,
        sample.label,
        motions,
        options=config.describe,
        seed=f"{config.seed}:{record_id}",
    )
    text = stats_text(motions) if config.mode == "stats" else None
    prompt = instruction_prompt(config.mode, stats_text=text, emotions=emotions)
    return InstructionRecord(
        id=record_id,
        dataset=sample.dataset,
        subject=str(sample.subject),
        sample_id=sample.sample_id,
        group=f"{sample.dataset}/{sample.subject}",
        mode=config.mode,
        images=tuple(f"motion/{slug}/{name}" for name in _IMAGES[config.mode]),
        prompt=prompt,
        target=desc.text,
        aus=format_aus(sample.aus),
        label=desc.label,
        coarse=desc.coarse,
        moving=desc.moving,
        stats=list(stats),
        info=dict(info or {}),
    )


def check_preprocessed(folder: str | os.PathLike[str], motion: Any) -> None:
    """Refuse a ``facscope preprocess`` folder whose motion settings differ from ``motion`` (its
    statistics would not be the ones this build describes), or that is no such folder."""
    from facscope.io import read_json

    path = Path(folder) / "config.json"
    what = "the config.json of a 'facscope preprocess' output folder (--preprocessed)"
    if not path.is_file():
        raise InputFileError(f"{folder}: not a 'facscope preprocess' output (no config.json)")
    theirs = read_json(path, what=what)
    ours = json.loads(json.dumps(motion.to_dict()))
    if not isinstance(theirs, dict):
        raise InputFileError(f"{path}: not a motion config; expected {what}")
    changed = sorted(k for k in set(theirs) | set(ours) if theirs.get(k) != ours.get(k))
    if changed:
        diffs = "; ".join(f"{k}: {theirs.get(k)!r} there, {ours.get(k)!r} here" for k in changed)
        raise ConfigError(
            f"{folder} was preprocessed with other motion settings ({diffs}); build with the "
            "same settings (e.g. --size, --flow) or preprocess again"
        )


def _cached_motion(
    sample: Any, folder: Path, config: BuildConfig
) -> tuple[list[dict[str, Any]], dict[str, Any], bool]:
    """(stats, info, computed?) of a sample, from ``folder`` or computed and saved there."""
    from facscope.io import save_image, write_json

    marker = folder / "motion.json"
    key = {**config.motion.to_dict(), "image_size": config.image_size}
    if marker.is_file():
        data = json.loads(marker.read_text(encoding="utf-8"))
        if data.get("motion") == key:
            return data["stats"], data["info"], False
    m = None
    if config.preprocessed is not None:
        from facscope.motion.preprocess import sample_folder

        done = Path(config.preprocessed) / sample_folder(f"{sample.dataset}/{sample.sample_id}")
        if (done / "meta.json").is_file():
            m = preprocessed_motion(done)
            key = {**key, "preprocessed": str(done)}
    if m is None:
        m = sample_motion(sample, config=config.motion, strict=config.strict)
    for name, image in (("colormap", m.colormap), ("onset", m.onset), ("apex", m.apex)):
        save_image(folder / f"{name}.png", _resized(image, config.image_size))
    write_json(marker, {"motion": key, "stats": m.stats, "info": m.info})
    return m.stats, m.info, True


def _resized(image: Any, side: int | None) -> Any:
    if side is None or image.shape[0] == side:
        return image
    import cv2

    shrink = side < image.shape[0]
    return cv2.resize(
        image, (side, side), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
    )


def build_records(
    samples: Iterable[Any],
    out_dir: str | os.PathLike[str],
    config: BuildConfig | None = None,
    *,
    progress: bool | Callable[[int], None] = True,
) -> BuildResult:
    """Build (or resume building) instruction records for ``samples`` into ``out_dir``.

    Args:
        samples: :class:`facscope.data.sample.Sample` records (a loaded dataset).
        out_dir: the build folder (see the module docstring).
        config: mode, seed, motion and description options.
        progress: a tqdm bar, or a callable told how many samples are done.

    Returns:
        The :class:`BuildResult`; ``records.jsonl``, ``failures.json`` and ``build.json`` are
        written atomically.
    """
    from facscope.io import write_json

    cfg = config or BuildConfig()
    if cfg.preprocessed is not None:
        check_preprocessed(cfg.preprocessed, cfg.motion)
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    todo: list[Any] = []
    skipped: list[dict[str, Any]] = []
    for s in samples:
        why = None
        if not s.label:
            why = "no emotion label"
        elif cfg.drop_others and s.label == "others":
            why = "label 'others' (drop_others)"
        elif not s.is_clip:
            why = "a still image, not a clip"
        if why:
            skipped.append({"id": f"{s.dataset}/{s.sample_id}", "reason": why})
        else:
            todo.append(s)
    if skipped:
        warnings.warn(
            f"{len(skipped)} sample(s) skipped: e.g. {skipped[0]['id']} ({skipped[0]['reason']}); "
            "listed in build.json",
            FacscopeDataWarning,
            stacklevel=2,
        )
    emotions = cfg.emotions or tuple(sorted({s.label for s in todo}))
    result = BuildResult(root=root, records=[], failures=[], skipped=skipped)
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc="mellm build", unit="sample")
    for i, s in enumerate(todo, 1):
        record_id = f"{s.dataset}/{s.sample_id}"
        slug = record_slug(record_id)
        try:
            stats, info, computed = _cached_motion(s, root / "motion" / slug, cfg)
            rec = make_record(s, stats, slug=slug, config=cfg, info=info, emotions=emotions)
        except Exception as exc:  # one bad sample is recorded; the build carries on
            result.failures.append(
                {"id": record_id, "error": type(exc).__name__, "message": str(exc)}
            )
        else:
            result.records.append(rec)
            result.computed += int(computed)
            result.cached += int(not computed)
        if bar is not None:
            bar.update(1)
        elif callable(progress):
            progress(i)
    if bar is not None:
        bar.close()
    write_records(root / "records.jsonl", result.records)
    write_json(root / "failures.json", result.failures)
    write_json(
        root / "build.json",
        {"config": cfg.to_dict(), "counts": result.summary(), "skipped": skipped,
         "emotions": list(emotions)},
    )  # fmt: skip
    return result
