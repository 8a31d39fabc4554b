"""Whole synthetic datasets in the CASME II, SAMM and DFME release layouts.

:func:`write_dataset` plans every sample first (subjects, base faces, appearances, emotions,
AUs, timings, frame numbers: all drawn from the seed, so a plan is reproducible), then renders
and writes the clips one by one. Each clip folder is written under a temporary name and renamed
into place when complete, so a killed run leaves no partial clip and a re-run skips the clips
that exist. The annotation file and ``truth.json`` (the true AUs, emotion, apex, amplitude,
base face and appearance of every sample) are written atomically at the end.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facscope.config import check_range
from facscope.errors import ConfigError, FaceNotFoundError
from facscope.facs import AU, dataset_label, format_aus
from facscope.synth.base import LFW_FACES, Appearance, load_base, place_face
from facscope.synth.clips import SynthConfig, emotion_aus, synth_clip
from facscope.synth.layouts import (
    DFME_PARTS,
    Layout,
    format_au_string,
    get_layout,
    layout_label,
    relpath,
)

__all__ = ["DatasetConfig", "DatasetResult", "write_dataset"]

STATE_FILE = ".facscope_synth.json"
TRUTH_FILE = "truth.json"
FLOW_DIR = "synth_flow"
_TMP_MARK = ".synth-tmp-"


@dataclass(frozen=True, kw_only=True)
class DatasetConfig:
    """Options of :func:`write_dataset` (see there)."""

    layout: str = "casme2"
    subjects: int = 4
    clips_per_subject: int = 3
    amplitude: float = 1.0
    amplitude_jitter: float = 0.25
    fps: float | None = None
    seed: int = 0
    emotions: tuple[str, ...] | None = None
    frame_size: tuple[int, int] = (640, 480)
    noise: float = 1.0
    head_motion: float = 0.0
    flicker: float = 0.0
    quirks: bool = False
    save_flow: bool = False

    def __post_init__(self) -> None:
        layout = get_layout(self.layout)
        object.__setattr__(self, "layout", layout.name)
        check_range("subjects", self.subjects, 1, 10_000)
        check_range("clips_per_subject", self.clips_per_subject, 1, 1000)
        check_range("amplitude_jitter", self.amplitude_jitter, 0, 1, open_high=True)
        if self.amplitude * (1 + self.amplitude_jitter) > 5 or self.amplitude <= 0:
            raise ConfigError(
                f"amplitude must be > 0 and at most 5 px including jitter; got {self.amplitude}"
            )
        if self.emotions is not None:
            labels = tuple(layout_label(layout, e) for e in self.emotions)
            if not labels:
                raise ConfigError("emotions must not be empty; omit it to use every label")
            object.__setattr__(self, "emotions", labels)
        object.__setattr__(self, "frame_size", tuple(int(v) for v in self.frame_size))
        # the clip options are checked by SynthConfig
        SynthConfig(
            fps=self.fps or layout.fps, frame_size=self.frame_size, noise=self.noise,
            head_motion=self.head_motion, flicker=self.flicker, amplitude=self.amplitude,
        )  # fmt: skip


@dataclass
class DatasetResult:
    """What :func:`write_dataset` did.

    Attributes:
        root: the dataset root.
        annotation: the annotation file.
        truth: the ground-truth JSON.
        written: clips rendered in this run; skipped: clips already complete (resumed).
        failed: ``{"sample_id", "error"}`` for clips that could not be made (left out of the
            annotation file).
        samples: the ground-truth record of every sample in the annotation.
    """

    root: Path
    annotation: Path
    truth: Path
    written: int = 0
    skipped: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Plan:
    sample_id: str
    subject: str
    filename: str
    frames_dir: Path
    first: int
    config: SynthConfig
    base: str
    appearance: Appearance
    label: str
    emotion: str
    aus: tuple[AU, ...]
    record: dict[str, Any]
    row: dict[str, Any]


def _subject_bases(cfg: DatasetConfig) -> list[tuple[str, Appearance]]:
    """Base face and appearance of every subject: subject 0 is the astronaut as is, the others
    LFW faces in a seeded order (reused with new appearances past 100), randomly restyled."""
    order = np.random.default_rng([cfg.seed, 0]).permutation(LFW_FACES)
    out: list[tuple[str, Appearance]] = [("astronaut", Appearance())]
    k = 0
    while len(out) < cfg.subjects:
        name = f"lfw:{order[k % LFW_FACES]}"
        k += 1
        if k > 2 * LFW_FACES + cfg.subjects:
            raise FaceNotFoundError("no LFW base face could be detected; check the MTCNN install")
        try:
            load_base(name)
        except FaceNotFoundError:
            continue
        rng = np.random.default_rng([cfg.seed, 1, len(out)])
        out.append((name, Appearance.random(rng)))
    return out[: cfg.subjects]


def _plan(cfg: DatasetConfig, root: Path) -> list[_Plan]:
    layout = get_layout(cfg.layout)
    labels = cfg.emotions or layout.labels
    plans = []
    for i, (base, app) in enumerate(_subject_bases(cfg)):
        sid = layout.subject_id(i)
        _, face, _ = place_face(load_base(base), app, frame_size=cfg.frame_size, render=False)
        names = layout.clip_names(
            np.random.default_rng([cfg.seed, 3, i]), sid, cfg.clips_per_subject
        )
        part = "ABC"[i % 3]
        for j, filename in enumerate(names):
            s = i * cfg.clips_per_subject + j
            rng = np.random.default_rng([cfg.seed, 2, i, j])
            label = labels[s % len(labels)]
            emotion = dataset_label(layout.name, label) or "others"
            aus = emotion_aus(emotion, rng)
            fps = cfg.fps or (DFME_PARTS[part] if layout.name == "dfme" else layout.fps)
            amp = cfg.amplitude * (1 + rng.uniform(-cfg.amplitude_jitter, cfg.amplitude_jitter))
            clip_cfg = SynthConfig(
                aus=aus, emotion=emotion, amplitude=round(float(amp), 4), fps=fps,
                rise=round(float(rng.uniform(0.08, 0.2)), 3),
                fall=round(float(rng.uniform(0.12, 0.25)), 3),
                frame_size=cfg.frame_size, head_motion=cfg.head_motion, noise=cfg.noise,
                flicker=cfg.flicker, grayscale=layout.grayscale,
                seed=int(rng.integers(2**31 - 1)),
            )  # fmt: skip
            first = {"casme2": int(rng.integers(20, 300)), "samm": int(rng.integers(1000, 9000))}
            first_n = first.get(layout.name, 1)
            onset, apex, offset, n = clip_cfg.timing
            quirks = _quirks(cfg, s, len(aus))
            written_aus = tuple(
                AU(a.number, a.side, a.intensity, uncertain=("au-uncertain" in quirks and k == 0))
                for k, a in enumerate(aus)
            )
            au_string = format_au_string(written_aus, layout)
            if cfg.quirks and layout.name == "casme2" and au_string.isdigit():
                quirks.append("au-number")
            frames_dir = root / layout.frames_root / sid / filename
            record = {
                "sample_id": f"{sid}/{filename}", "subject": sid, "filename": filename,
                "frames_dir": relpath(frames_dir, root), "fps": float(fps), "n_frames": n,
                "first_frame": first_n, "onset": first_n + onset, "apex": first_n + apex,
                "offset": first_n + offset, "onset_index": onset, "apex_index": apex,
                "offset_index": offset, "aus": format_aus(aus),
                "au_numbers": sorted({a.number for a in aus}), "au_string": au_string,
                "emotion": emotion, "label": label, "amplitude": clip_cfg.amplitude,
                "rise": clip_cfg.rise, "fall": clip_cfg.fall, "base": base,
                "appearance": app.to_dict(), "face": face.to_dict(), "seed": clip_cfg.seed,
                "quirks": quirks, "flow": None,
            }  # fmt: skip
            if cfg.save_flow:
                record["flow"] = f"{FLOW_DIR}/{sid}/{filename}.npy"
            if layout.name == "dfme":  # the part whose rate the clip has, else the cycle's
                record["part"] = {v: k for k, v in DFME_PARTS.items()}.get(int(fps), part)
            row = layout.row(record)
            plan = _Plan(
                sample_id=record["sample_id"], subject=sid, filename=filename,
                frames_dir=frames_dir, first=first_n, config=clip_cfg, base=base,
                appearance=app, label=label, emotion=emotion, aus=aus, record=record, row=row,
            )  # fmt: skip
            plans.append(plan)
    return plans


def _quirks(cfg: DatasetConfig, s: int, n_aus: int) -> list[str]:
    """Realistic annotation quirks (only with ``quirks=True``): every 7th sample from the first
    has its apex written "/", every 7th from the fourth an AU marked "(?)"; in CASME II a lone
    AU is also stored as a number (``au-number``) and an unnamed column is added."""
    if not cfg.quirks:
        return []
    out = []
    if s % 7 == 0:
        out.append("apex-slash")
    if s % 7 == 3 and n_aus:
        out.append("au-uncertain")
    return out


def _write_clip(plan: _Plan, layout: Layout, root: Path) -> None:
    """Render one clip into a temporary folder, then rename it into place."""
    import cv2

    from facscope.io import atomic_path

    clip = synth_clip(plan.base, appearance=plan.appearance, config=plan.config)
    parent = plan.frames_dir.parent
    parent.mkdir(parents=True, exist_ok=True)
    tmp = parent / f"{_TMP_MARK}{plan.filename}-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    params = [cv2.IMWRITE_JPEG_QUALITY, 95]
    for k, frame in enumerate(clip.frames):
        img = frame[:, :, 0] if layout.grayscale else cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)
        name = layout.frame_name(plan.subject, plan.first + k)
        if not cv2.imwrite(str(tmp / name), img, params):
            raise OSError(f"{tmp / name}: OpenCV could not write the frame")
    if plan.record["flow"]:
        with atomic_path(root / plan.record["flow"]) as f:
            np.save(f, clip.flow)
    os.replace(tmp, plan.frames_dir)


def _check_root(root: Path, cfg: DatasetConfig, overwrite: bool) -> None:
    from facscope.io import write_json

    state = root / STATE_FILE
    wanted = {"facscope_synth": 1, **asdict(cfg)}
    wanted = json.loads(json.dumps(wanted))  # tuples → lists, as stored
    if state.is_file() and not overwrite:
        stored = json.loads(state.read_text(encoding="utf-8"))
        if stored != wanted:
            diff = sorted(k for k in wanted if stored.get(k) != wanted[k])
            raise ConfigError(
                f"{root} holds a synthetic dataset written with other options ({', '.join(diff)}); "
                "use a new folder, the same options, or overwrite=True (--overwrite)"
            )
    elif root.exists() and any(root.iterdir()) and not overwrite:
        raise ConfigError(
            f"{root} is not empty and holds no synthetic dataset; choose an empty or new folder"
        )
    elif overwrite and state.is_file():
        layout = get_layout(json.loads(state.read_text(encoding="utf-8"))["layout"])
        for p in (layout.frames_root, *layout.annotations, TRUTH_FILE, FLOW_DIR):
            target = root / p
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
    write_json(state, wanted)


def _remove_stale(root: Path, layout: Layout) -> None:
    frames_root = root / layout.frames_root
    if frames_root.is_dir():
        for tmp in frames_root.glob(f"*/{_TMP_MARK}*"):
            shutil.rmtree(tmp, ignore_errors=True)


def write_dataset(
    out_dir: str | os.PathLike[str],
    layout: str = "casme2",
    *,
    subjects: int = 4,
    clips_per_subject: int = 3,
    amplitude: float = 1.0,
    fps: float | None = None,
    seed: int = 0,
    emotions: Sequence[str] | None = None,
    frame_size: tuple[int, int] = (640, 480),
    noise: float = 1.0,
    head_motion: float = 0.0,
    flicker: float = 0.0,
    quirks: bool = False,
    save_flow: bool = False,
    overwrite: bool = False,
    progress: bool | Callable[[int], None] = True,
) -> DatasetResult:
    """Write a synthetic micro-expression dataset in a real dataset's release layout.

    Args:
        out_dir: the dataset root (created; must be empty, or hold a run of the same options,
            which is then resumed).
        layout: ``casme2``, ``samm`` or ``dfme`` (docs/layouts.md).
        subjects, clips_per_subject: dataset size. Subject 1 is the astronaut; the others are
            LFW faces with random appearance changes.
        amplitude: peak displacement in pixels at a 256-px aligned face; each clip draws its own
            within ±25 %.
        fps: frame rate of every clip; None uses the dataset's (200; DFME by part: A 500,
            B 300, C 200, subjects cycling through the parts).
        seed: seeds the whole plan; the same options give the same dataset.
        emotions: labels to cycle through (the dataset's own labels or canonical names); None
            uses every label of the dataset.
        frame_size, noise, head_motion, flicker: see :class:`~facscope.synth.clips.SynthConfig`.
        quirks: write some realistic annotation quirks (apex "/", an AU marked "(?)", a lone AU
            stored as a number, an unnamed column); truth.json keeps the true values.
        save_flow: also save each clip's true onset → apex flow as ``synth_flow/{id}.npy``.
        overwrite: replace a dataset written with other options.
        progress: show a tqdm bar (or a callable called with the number of finished clips).
    """
    from tqdm.auto import tqdm

    from facscope.io import write_json

    cfg = DatasetConfig(
        layout=layout, subjects=subjects, clips_per_subject=clips_per_subject,
        amplitude=amplitude, fps=fps, seed=seed,
        emotions=None if emotions is None else tuple(emotions), frame_size=frame_size,
        noise=noise, head_motion=head_motion, flicker=flicker, quirks=quirks,
        save_flow=save_flow,
    )  # fmt: skip
    lay = get_layout(cfg.layout)
    root = Path(out_dir)
    _check_root(root, cfg, overwrite)
    _remove_stale(root, lay)
    plans = _plan(cfg, root)
    result = DatasetResult(root=root, annotation=root / lay.annotation, truth=root / TRUTH_FILE)
    bar = tqdm(plans, desc=f"synth {lay.name}", unit="clip", disable=progress is not True)
    for done, plan in enumerate(bar, start=1):
        if plan.frames_dir.is_dir():
            result.skipped += 1
        else:
            try:
                _write_clip(plan, lay, root)
                result.written += 1
            except Exception as exc:  # one bad clip must not stop the dataset
                result.failed.append(
                    {"sample_id": plan.sample_id, "error": f"{type(exc).__name__}: {exc}"}
                )
        if callable(progress):
            progress(done)
    ok = [p for p in plans if p.frames_dir.is_dir()]
    lay.write_annotation(root, [p.row for p in ok], quirks=cfg.quirks)
    result.samples = [p.record for p in ok]
    write_json(
        result.truth,
        {
            "layout": lay.name,
            "annotation": lay.annotation,
            "config": json.loads(json.dumps(asdict(cfg))),
            "samples": result.samples,
            "failed": result.failed,
        },
    )
    return result
