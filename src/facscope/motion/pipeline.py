"""The onset → apex motion pipeline: align, flow, compensate, strain, colour map, statistics.

One function per input kind: :func:`analyse_clip` (a :class:`~facscope.motion.clip.Clip`, apex
spotted when not given) and :func:`analyse_pair` (two images). Both align the face once, on the
onset, crop onset and apex with that one transform, and compute everything on the crops.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.motion.clip import FACE_MODES, Clip, ClipAlignment, align_frame
from facscope.motion.compensate import GLOBAL_MODELS, Compensation, CompensationConfig

__all__ = [
    "MotionConfig",
    "MotionResult",
    "align_onset",
    "analyse_clip",
    "analyse_pair",
    "spot_clip_apex",
]

#: Files :meth:`MotionResult.save` writes (the ``meta.json`` last).
OUTPUT_FILES = (
    "onset.png",
    "apex.png",
    "onset_gray.png",
    "apex_gray.png",
    "flow.npy",
    "strain.npy",
    "stack.npy",
    "colormap.png",
    "regions.json",
    "regions.txt",
    "meta.json",
)


@dataclass(frozen=True, kw_only=True)
class MotionConfig:
    """Every choice of the motion pipeline (written beside each output as ``meta.json``).

    Attributes:
        size: side of the aligned face crop in pixels.
        face: ``"detect"`` (detect + five-point alignment on the onset) or ``"full"`` (the
            frames are face crops already: resize them).
        detector: face detector name.
        detect_max_side: longest side the onset is downscaled to for detection only.
        flow: flow method name (:func:`facscope.motion.flow.list_flows`).
        flow_params: the method's parameters (its defaults when empty).
        nose_window: nose-tip compensation window (odd pixels; 0 = off). MELLM: 11.
        global_model: ``None`` (default: MELLM's nose window alone), ``"similarity"`` or
            ``"affine"``: the global head (or camera) motion registered away before the flow
            and the nose window (:mod:`facscope.motion.compensate`). ``motion`` and
            ``analyze`` choose by :func:`default_global_model` (similarity for video files).
        strain_size: side of the (u, v, strain) stack.
        region_set: ``"canonical"`` or ``"mellm29"`` region statistics.
        apex_rule: ``"max-motion"`` or ``"midpoint"``, used when a clip has no apex.
        apex_signal: signal of the max-motion rule (:data:`facscope.motion.apex.APEX_SIGNALS`).
        apex_smooth_s: moving-average window of the motion curve in seconds.
        apex_stabilize: remove global head motion before the diff apex signals.
        hue_step: colour-map hue quantisation in degrees (30 in MELLM).
    """

    size: int = 256
    face: str = "detect"
    detector: str = "mtcnn"
    detect_max_side: int | None = 640
    flow: str = "tvl1"
    flow_params: dict[str, Any] = field(default_factory=dict)
    nose_window: int = 11
    global_model: str | None = None
    strain_size: int = 28
    region_set: str = "canonical"
    apex_rule: str = "max-motion"
    apex_signal: str = "diff"
    apex_smooth_s: float = 0.0
    apex_stabilize: bool = True
    hue_step: int = 30

    def __post_init__(self) -> None:
        from facscope.motion.apex import APEX_SIGNALS, SPOT_RULES
        from facscope.motion.flow import FLOWS
        from facscope.motion.stats import REGION_SETS

        if not 16 <= self.size <= 4096:
            raise ConfigError(f"size must be between 16 and 4096 pixels; got {self.size}")
        if self.face not in FACE_MODES:
            raise ConfigError(f"face must be one of {FACE_MODES}; got {self.face!r}")
        FLOWS.get(self.flow)
        if not isinstance(self.flow_params, dict):
            raise ConfigError(f"flow_params must be a mapping; got {self.flow_params!r}")
        if self.global_model is not None and self.global_model not in GLOBAL_MODELS:
            raise ConfigError(
                f"global_model must be None or one of {GLOBAL_MODELS}; got {self.global_model!r}"
            )
        if self.region_set not in REGION_SETS:
            raise ConfigError(f"region_set must be one of {REGION_SETS}; got {self.region_set!r}")
        if self.apex_rule not in SPOT_RULES:
            raise ConfigError(f"apex_rule must be one of {SPOT_RULES}; got {self.apex_rule!r}")
        if self.apex_signal not in APEX_SIGNALS:
            raise ConfigError(
                f"apex_signal must be one of {APEX_SIGNALS}; got {self.apex_signal!r}"
            )
        if not 1 <= self.strain_size <= 1024:
            raise ConfigError(f"strain_size must be between 1 and 1024; got {self.strain_size}")
        self.compensation  # noqa: B018 - validates the window

    @property
    def compensation(self) -> CompensationConfig:
        return CompensationConfig(nose_window=self.nose_window, global_model=self.global_model)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> MotionConfig:
        """Build from a mapping (YAML/JSON); an unknown key is an error."""
        from facscope.config import build_config

        return build_config(cls, values, "motion config")


@dataclass(frozen=True, eq=False)
class MotionResult:
    """Everything the pipeline computed for one onset/apex pair (crop pixels throughout).

    ``onset``/``apex``/``offset`` are clip positions (0-based; None for an image pair);
    ``skipped`` the positions the apex spotter found without the onset's face.
    """

    onset_rgb: np.ndarray = field(repr=False)
    apex_rgb: np.ndarray = field(repr=False)
    flow: np.ndarray = field(repr=False)
    compensation: Compensation = field(repr=False)
    strain: np.ndarray = field(repr=False)
    stack: np.ndarray = field(repr=False)
    colormap: np.ndarray = field(repr=False)
    regions: list[Any] = field(repr=False)
    alignment: ClipAlignment
    config: MotionConfig
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    apex_rule: str = "annotated"
    apex_signal: str | None = None
    flow_params: dict[str, Any] = field(default_factory=dict)
    skipped: tuple[int, ...] = ()

    @property
    def onset_gray(self) -> np.ndarray:
        from facscope.motion.flow import to_gray

        return to_gray(self.onset_rgb)

    @property
    def apex_gray(self) -> np.ndarray:
        from facscope.motion.flow import to_gray

        return to_gray(self.apex_rgb)

    def regions_text(self) -> str:
        from facscope.motion.stats import stats_text

        return stats_text(self.regions)

    def to_dict(self) -> dict[str, Any]:
        """The JSON record: apex used and its rule, flow method, compensation, statistics."""
        return {
            "onset": self.onset,
            "apex": self.apex,
            "offset": self.offset,
            "apex_rule": self.apex_rule,
            "apex_signal": self.apex_signal,
            "frames_without_face": list(self.skipped),
            "flow": {"method": self.config.flow, "params": self.flow_params},
            "compensation": self.compensation.to_dict(),
            "alignment": self.alignment.to_dict(),
            "region_set": self.config.region_set,
            "regions": [r.to_dict() for r in self.regions],
        }

    def save(self, folder: str | os.PathLike[str], *, extra: dict[str, Any] | None = None) -> Path:
        """Write :data:`OUTPUT_FILES` into ``folder`` (each file atomically; ``meta.json`` last).

        ``extra`` is merged into ``meta.json`` (sample id, source, …).
        """
        from facscope.io import atomic_path, save_image, write_json, write_text
        from facscope.motion.stats import stats_json

        out = Path(folder)
        out.mkdir(parents=True, exist_ok=True)
        save_image(out / "onset.png", self.onset_rgb)
        save_image(out / "apex.png", self.apex_rgb)
        save_image(out / "onset_gray.png", self.onset_gray)
        save_image(out / "apex_gray.png", self.apex_gray)
        for name, arr in (("flow", self.flow), ("strain", self.strain), ("stack", self.stack)):
            with atomic_path(out / f"{name}.npy") as tmp, open(tmp, "wb") as fh:
                np.save(fh, np.asarray(arr, dtype=np.float32))
        save_image(out / "colormap.png", self.colormap)
        write_text(out / "regions.json", stats_json(self.regions, indent=2) + "\n")
        write_text(out / "regions.txt", self.regions_text() + "\n")
        meta = {**(extra or {}), "result": self.to_dict(), "config": self.config.to_dict()}
        write_json(out / "meta.json", meta)
        return out


def _registered(alignment: ClipAlignment, matrix: np.ndarray) -> ClipAlignment:
    """``alignment`` followed by undoing the crop-space motion ``matrix`` (onset → apex): its
    crop of the apex frame is the apex registered to the onset, rendered from the source frame
    (no replicated borders)."""
    m = np.vstack([np.asarray(matrix, np.float64)[:2], [0, 0, 1]])
    return dataclasses.replace(alignment, forward=np.linalg.inv(m) @ alignment.forward)


def _register(
    onset_rgb: np.ndarray, apex_frame: np.ndarray, alignment: ClipAlignment, config: MotionConfig
) -> tuple[np.ndarray, np.ndarray | None]:
    """The apex crop, registered to the onset by the global model when one is set."""
    if config.global_model is None:
        return alignment.crop(apex_frame), None
    from facscope.motion.compensate import face_mask, register_global
    from facscope.motion.flow import to_gray

    matrix = register_global(
        to_gray(onset_rgb),
        lambda m: _registered(alignment, m).crop_gray(apex_frame),
        mask=face_mask(alignment.size),
        model=config.global_model,
    )
    return _registered(alignment, matrix).crop(apex_frame), matrix


def _from_frames(
    onset_frame: np.ndarray,
    apex_frame: np.ndarray,
    alignment: ClipAlignment,
    config: MotionConfig,
    **positions: Any,
) -> MotionResult:
    """Crop both frames through the onset alignment (the apex registered to the onset first
    when a global model is set), then flow, compensation, strain, colour map and statistics."""
    from facscope.motion.colormap import motion_colormap
    from facscope.motion.compensate import compensate, face_mask
    from facscope.motion.flow import compute_flow, create_flow
    from facscope.motion.stats import region_stats
    from facscope.motion.strain import optical_strain, ststnet_stack

    onset_rgb = alignment.crop(onset_frame)
    apex_rgb, registered = _register(onset_rgb, apex_frame, alignment, config)
    method = create_flow(config.flow, **config.flow_params)
    raw = compute_flow(onset_rgb, apex_rgb, method)
    mask = None if config.global_model is None else face_mask(alignment.size)
    comp = compensate(
        raw,
        nose=alignment.nose_tip,
        config=config.compensation,
        mask=mask,
        registered=registered,
    )
    strain = optical_strain(comp.flow)
    return MotionResult(
        onset_rgb=onset_rgb,
        apex_rgb=apex_rgb,
        flow=comp.flow,
        compensation=comp,
        strain=strain,
        stack=ststnet_stack(comp.flow, config.strain_size, strain=strain),
        colormap=motion_colormap(onset_rgb, comp.flow, step=config.hue_step),
        regions=region_stats(comp.flow, region_set=config.region_set),
        alignment=alignment,
        config=config,
        flow_params=method.params(),
        **positions,
    )


def _align(frame: np.ndarray, config: MotionConfig) -> ClipAlignment:
    return align_frame(
        frame,
        size=config.size,
        face=config.face,
        detector=config.detector,
        detect_max_side=config.detect_max_side,
    )


def default_global_model(source: str | os.PathLike[str] | None) -> str | None:
    """The global model ``motion`` and ``analyze`` use for an input: ``"similarity"`` for a
    video file (hand-held footage: the camera moves), None (MELLM's nose window alone) for
    frame folders, image pairs and in-memory clips (lab recordings, datasets), where the
    registration costs grounding recall on the synthetic benchmark (docs/motion.md)."""
    from facscope.io import is_video

    if source is None or str(source).startswith("<"):
        return None
    p = Path(source)
    return "similarity" if p.is_file() and is_video(p) else None


def align_onset(clip: Clip, onset: int, config: MotionConfig | None = None) -> ClipAlignment:
    """The alignment of ``clip``'s onset frame (position) that every frame is cropped with.

    Raises:
        FaceNotFoundError: no face on the onset frame; the message names the clip and frame.
    """
    from facscope.errors import FaceNotFoundError

    cfg = config or MotionConfig()
    try:
        return _align(clip[onset], cfg)
    except FaceNotFoundError as exc:
        raise FaceNotFoundError(
            f"{clip.source}: frame {clip.numbers[onset]} (the onset): {exc}; give --onset "
            "a frame that shows the face"
        ) from None


def analyse_pair(
    onset: np.ndarray,
    apex: np.ndarray,
    *,
    config: MotionConfig | None = None,
    alignment: ClipAlignment | None = None,
) -> MotionResult:
    """The pipeline on two images of the same size (the face is aligned on ``onset``)."""
    cfg = config or MotionConfig()
    if onset.shape[:2] != apex.shape[:2]:
        raise ConfigError(
            f"onset and apex images must have the same size; got {onset.shape[1::-1]} and "
            f"{apex.shape[1::-1]}"
        )
    al = alignment or _align(onset, cfg)
    return _from_frames(onset, apex, al, cfg)


def spot_clip_apex(
    clip: Clip,
    *,
    onset: int,
    offset: int | None = None,
    config: MotionConfig | None = None,
    alignment: ClipAlignment | None = None,
) -> Any:
    """The apex of ``clip`` between positions ``onset`` and ``offset`` by ``config``'s rule,
    signal and detector (an :class:`~facscope.motion.apex.ApexResult`); the one apex rule of
    ``motion`` and ``analyze``."""
    from facscope.motion.apex import spot_apex

    cfg = config or MotionConfig()
    return spot_apex(
        clip,
        onset=onset,
        offset=offset,
        rule=cfg.apex_rule,
        signal=cfg.apex_signal,
        alignment=alignment if alignment is not None else align_onset(clip, onset, cfg),
        smooth_s=cfg.apex_smooth_s,
        stabilize=cfg.apex_stabilize,
        nose_window=cfg.nose_window,
        detector=cfg.detector if cfg.face == "detect" else None,
    )


def analyse_clip(
    clip: Clip,
    *,
    onset: int = 0,
    apex: int | None = None,
    offset: int | None = None,
    config: MotionConfig | None = None,
    alignment: ClipAlignment | None = None,
) -> MotionResult:
    """The pipeline on a clip; positions are 0-based (use :meth:`Clip.index_of` for numbers).

    Without ``apex`` the apex is spotted between ``onset`` and ``offset`` (default: the last
    frame) by ``config.apex_rule``; the result records which rule produced it.
    """
    cfg = config or MotionConfig()
    onset = clip.position(onset)
    offset = clip.position(len(clip) - 1 if offset is None else offset)
    al = alignment or align_onset(clip, onset, cfg)
    rule, signal, skipped = "annotated", None, ()
    if apex is None:
        spotted = spot_clip_apex(clip, onset=onset, offset=offset, config=cfg, alignment=al)
        apex, rule, signal, skipped = spotted.index, spotted.rule, spotted.signal, spotted.skipped
    apex = clip.position(apex)
    on_img, apex_img = clip.load([onset, apex])
    return _from_frames(
        on_img,
        apex_img,
        al,
        cfg,
        onset=onset,
        apex=apex,
        offset=offset,
        apex_rule=rule,
        apex_signal=signal,
        skipped=skipped,
    )
