"""Motion evidence for clips: the MELLM colour map of a face (or region) and AUs read off motion.

:class:`ClipFrames` is a clip input of the agent: its onset and apex frames (the apex spotted by
``motion``'s own rule when not given, frames without the face skipped) and the **onset**
alignment. :func:`motion_evidence` is what the ``motion_map`` tool shows: it runs
:func:`facscope.motion.pipeline.analyse_pair` on those frames with that alignment and a
:class:`~facscope.motion.pipeline.MotionConfig` of the same defaults, so ``analyze`` and
``motion`` report the same region statistics for the same frames (head motion registered away,
then the nose window), and shows MELLM's motion-enhanced colour map. :func:`motion_aus` is the expert
policy's reading of those statistics: an AU is *measured* when the region where it shows moves
in its direction (lip corners up and outward → AU12), by the rule table :data:`MOTION_RULES`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.facs.directions import DOWNWARD, UPWARD, outward_compass
from facscope.motion.stats import RegionMotion, strong_regions

__all__ = ["MOTION_RULES", "ClipFrames", "motion_aus", "motion_evidence"]

_UP, _DOWN = UPWARD, DOWNWARD


def _lip_corner(side: str) -> tuple[tuple[tuple[str, ...], tuple[int, ...], str], ...]:
    out = outward_compass(side)
    return (
        (("up", f"up-{out}"), (12,), "lip corner pulled up and out"),
        (_DOWN, (15,), "lip corner pulled down"),
        ((out,), (20,), "lip corner stretched outward"),
    )


#: region → ((directions, AUs, evidence), ...). Directions are the statistics' compass names in
#: image space (:data:`facscope.facs.directions.COMPASS`: ``up`` is up; ``left`` is the viewer's
#: left). The subject's right side is on the viewer's left, so "outward" is ``left`` for
#: ``right_*`` regions and ``right`` for ``left_*`` (:func:`~facscope.facs.outward_compass`).
MOTION_RULES: Mapping[str, tuple[tuple[tuple[str, ...], tuple[int, ...], str], ...]] = {
    "glabella": ((_UP, (1,), "inner brows rise"), (_DOWN, (4,), "brows pulled down")),
    "right_brow": ((_UP, (1, 2), "brow rises"), (_DOWN, (4,), "brow lowered")),
    "left_brow": ((_UP, (1, 2), "brow rises"), (_DOWN, (4,), "brow lowered")),
    "right_eye": ((("up",), (5,), "upper lid rises"), (_DOWN, (7,), "eye narrows")),
    "left_eye": ((("up",), (5,), "upper lid rises"), (_DOWN, (7,), "eye narrows")),
    "right_cheek": ((_UP, (6,), "cheek rises"),),
    "left_cheek": ((_UP, (6,), "cheek rises"),),
    "nose": ((_UP, (9,), "nose wrinkles upward"),),
    "right_nasolabial": ((("up",), (10,), "upper lip raised straight up"),),
    "left_nasolabial": ((("up",), (10,), "upper lip raised straight up"),),
    "right_lip_corner": _lip_corner("right"),
    "left_lip_corner": _lip_corner("left"),
    "chin": ((_UP, (17,), "chin pushed up"), (_DOWN, (26,), "jaw drops")),
}


def motion_aus(
    stats: Sequence[RegionMotion | Mapping[str, Any]],
    *,
    min_mean: float = 0.1,
    relative: float = 0.35,
) -> tuple[tuple[int, ...], list[str]]:
    """AUs measured from per-region motion statistics, and one line of evidence per region used.

    A region counts as moving when its mean magnitude is at least ``min_mean`` pixels (of the
    aligned face) and at least ``relative`` times the strongest region's mean, and it has a
    dominant direction. Its rule in :data:`MOTION_RULES` then names the AUs.

    Args:
        stats: region statistics: :class:`~facscope.motion.stats.RegionMotion` records or their
            ``to_dict()`` form as the ``motion_map`` tool returns it (``region``, ``mean`` and
            ``direction`` are read).
        min_mean: absolute motion threshold in aligned-face pixels.
        relative: threshold relative to the most moving region.
    """
    found: set[int] = set()
    evidence = []
    for s in strong_regions(stats, min_mean=min_mean, relative=relative):
        rules = MOTION_RULES.get(str(s.get("region")))
        if not rules:
            continue
        for directions, aus, what in rules:
            if s.get("direction") in directions:
                found.update(aus)
                au_text = "+".join(f"AU{a}" for a in aus)
                evidence.append(
                    f"{str(s['region']).replace('_', ' ')}: moves {s['direction']} "
                    f"({float(s['mean']):.2f} px) — {what} ({au_text})"
                )
                break
    return tuple(sorted(found)), evidence


class ClipFrames:
    """The onset and apex of a clip input and the onset alignment its motion is measured with.

    Args:
        clip: a :class:`facscope.motion.clip.Clip` (``onset``/``apex`` are frame numbers) or a
            sequence of frames (positions).
        onset: default the first frame.
        apex: default spotted between the onset and the last frame by ``motion``'s rule
            (:func:`facscope.motion.pipeline.spot_clip_apex`: max-motion, frames without the
            onset's face skipped), which needs the onset's face.
        detector, size: face detector and aligned-crop side of the onset alignment.

    ``config`` is the :class:`~facscope.motion.pipeline.MotionConfig` ``facscope motion`` would
    use on this input (the global model by
    :func:`~facscope.motion.pipeline.default_global_model`: similarity for a video file).

    Raises:
        FaceNotFoundError: the apex must be spotted and the onset (or every later frame) shows
            no face; the message names the clip and the frame.
    """

    def __init__(
        self,
        clip: Any,
        onset: int | None = None,
        apex: int | None = None,
        *,
        detector: str = "mtcnn",
        size: int = 256,
    ) -> None:
        from facscope.motion.clip import Clip
        from facscope.motion.pipeline import (
            MotionConfig,
            align_onset,
            default_global_model,
            spot_clip_apex,
        )

        if not isinstance(clip, Clip):
            clip = _frames_clip(clip, onset, apex)
        self.clip = clip
        gm = default_global_model(clip.source)  # as ``facscope motion`` chooses for this input
        self.config = MotionConfig(size=size, detector=detector, global_model=gm)
        on = clip.index_of(clip.numbers[0] if onset is None else onset)
        self._alignment = None
        self._motion: Any = None
        self.apex_rule, self.skipped = "given", ()
        if apex is None:
            self._alignment = align_onset(clip, on, self.config)
            spotted = spot_clip_apex(clip, onset=on, config=self.config, alignment=self._alignment)
            ap, self.apex_rule, self.skipped = spotted.index, spotted.rule, spotted.skipped
        else:
            ap = clip.index_of(apex)
        self.onset, self.apex = on, ap  # positions
        self.onset_frame, self.apex_frame = (np.asarray(f) for f in clip.load([on, ap]))

    @property
    def alignment(self) -> Any:
        """The onset alignment (:func:`facscope.motion.pipeline.align_onset`), made on first use."""
        if self._alignment is None:
            from facscope.motion.pipeline import align_onset

            self._alignment = align_onset(self.clip, self.onset, self.config)
        return self._alignment

    def motion(self) -> Any:
        """The onset → apex :class:`~facscope.motion.pipeline.MotionResult` (``facscope
        motion``'s pipeline with :attr:`config` and :attr:`alignment`), computed once: the
        ``motion_map`` tool shows it, and the mesh's clip AUs take the flow's support from it."""
        if self._motion is None:
            from facscope.motion.pipeline import analyse_pair

            self._motion = analyse_pair(
                self.onset_frame, self.apex_frame, config=self.config, alignment=self.alignment
            )
        return self._motion

    def to_dict(self) -> dict[str, Any]:
        """The record kept in the trace and the report: frame numbers and the apex rule."""
        nums = self.clip.numbers
        return {
            "source": self.clip.source,
            "frames": len(self.clip),
            "onset": nums[self.onset],
            "apex": nums[self.apex],
            "apex_rule": self.apex_rule,
            "frames_without_face": [nums[i] for i in self.skipped],
            "aligned_on": "onset",
        }


def _frames_clip(frames: Any, onset: int | None, apex: int | None) -> Any:
    from facscope.motion.clip import Clip

    if not isinstance(frames, (Sequence, np.ndarray)):
        raise ConfigError(
            f"clip must be a facscope Clip or a sequence of frames; got {type(frames).__name__}"
        )
    frames = list(frames)
    if len(frames) < 2:
        raise ConfigError(f"a clip needs at least 2 frames (onset and apex); got {len(frames)}")
    for name, i in (("onset", onset), ("apex", apex)):
        if i is not None and not 0 <= i < len(frames):
            raise ConfigError(f"{name} position {i} is outside the clip's {len(frames)} frames")
    return Clip.from_frames(frames)


def motion_evidence(
    onset: np.ndarray,
    apex: np.ndarray,
    alignment: Any,
    *,
    region: str | None = None,
    size: int = 224,
    flow: str = "tvl1",
    config: Any = None,
    result: Any = None,
) -> tuple[np.ndarray, list[dict[str, Any]], str]:
    """The colour map, region statistics and prompt text of onset → apex motion.

    Args:
        onset, apex: the two frames (RGB), same size.
        alignment: the onset's :class:`~facscope.motion.clip.ClipAlignment` (an
            :class:`~facscope.face.AlignedFace` is accepted too) that crops both frames.
        region: one canonical region to show (its statistics only), or None for the face.
        size: longer side of the returned picture.
        flow: optical-flow method (:func:`facscope.motion.flow.list_flows`) when no ``config``.
        config: the :class:`~facscope.motion.pipeline.MotionConfig` (``ClipFrames.config``);
            default: ``motion``'s defaults with ``flow`` at the alignment's size.
        result: the pipeline's :class:`~facscope.motion.pipeline.MotionResult` of these frames,
            when already computed (:meth:`ClipFrames.motion`); else it is computed here.

    Returns:
        (RGB picture, statistics as dicts, text for the model).
    """
    import cv2

    from facscope.face import region_box
    from facscope.motion.clip import ClipAlignment
    from facscope.motion.colormap import legend_text
    from facscope.motion.pipeline import MotionConfig, analyse_pair
    from facscope.motion.stats import stats_text

    if onset.shape != apex.shape:
        raise ConfigError(f"onset {onset.shape} and apex {apex.shape} frames differ in size")
    if not isinstance(alignment, ClipAlignment):
        alignment = ClipAlignment(
            forward=alignment.forward, size=alignment.size, face=alignment.face
        )
    if result is None:
        cfg = config or MotionConfig(size=alignment.size, flow=flow)
        result = analyse_pair(onset, apex, config=cfg, alignment=alignment)
    picture, stats = result.colormap, result.regions
    if region is not None:
        stats = [s for s in stats if s.region == region]
        box = region_box(region, size=alignment.size).scaled(1.3)
        box = box.clipped(alignment.size, alignment.size)
        picture = picture[int(box.y1) : int(np.ceil(box.y2)), int(box.x1) : int(np.ceil(box.x2))]
    h, w = picture.shape[:2]
    s = size / max(h, w)
    picture = cv2.resize(
        picture, (max(1, round(w * s)), max(1, round(h * s))),
        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
    )  # fmt: skip
    text = (
        f"Motion map of the {region.replace('_', ' ') if region else 'face'} from onset to apex "
        f"(grey = still; colour = direction: {legend_text()}; brighter = stronger).\n"
        + stats_text(stats)
    )
    return picture, [x.to_dict() for x in stats], text
