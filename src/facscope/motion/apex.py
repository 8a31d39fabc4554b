"""Apex spotting for clips whose apex is not annotated.

Two rules, named as :data:`facscope.data.sample.APEX_RULES` names them:

- ``midpoint``: ``(onset + offset) // 2`` (positions);
- ``max-motion``: the frame of maximum motion relative to the onset inside the face (the union
  of the canonical regions of the onset-aligned crop), measured by one of four signals:

  - ``diff`` (default): the frame difference to the onset (both blurred, σ = 2 px at 256 px)
    projected onto the clip's mean difference pattern — a matched filter: linear in the amount
    of the clip's own motion and unbiased by sensor noise, which adds the same expected amount
    to every frame;
  - ``diff-energy``: the mean squared blurred difference to the onset;
  - ``flow``: the flow onset → frame (DIS by default; nose-window compensated) projected onto
    the clip's mean flow pattern;
  - ``flow-magnitude``: the mean compensated flow magnitude.

  Head motion would count as motion in the diff signals, so by default (``stabilize=True``)
  each frame first has the global similarity motion relative to the onset removed, fitted
  robustly to its DIS flow over the face (:func:`facscope.motion.compensate.fit_global_motion`;
  about 10 ms a frame at 256 px). The curve is optionally smoothed by
  a centred moving average of ``smooth_s`` seconds (converted with the clip's frame rate; 3
  frames when the rate is unknown). Its first maximum after the onset is then refined: a
  least-squares parabola through the contiguous run of samples within ``refine`` (15 %) of the
  maximum gives the vertex, rounded to a frame. An apex plateau is flat (a raised-cosine peak
  drops 1 % two frames away from the apex at 200 fps), so this averages the noise that makes a
  bare argmax wander. On synthetic clips at 200 fps with sensor noise, ``diff`` is within
  2 frames of the truth at 0.25–1 px (``tests/motion/test_apex.py``, ``docs/motion.md``).

A frame that does not show the onset's face (a cut to a title card, the face out of view) has a
huge difference to the onset and would win. So each frame's onset-aligned crop (stabilised,
blurred) is correlated with the onset's over the face; a frame under :data:`FACE_MATCH_MIN` is
*without face*: it is left out of the clip's motion pattern and cannot be the apex. The chosen
apex is then checked by the face detector (a face overlapping the onset's face box) when the
alignment was detected; a frame that fails is left out too and the next peak taken. The frames
left out are recorded (:attr:`ApexResult.skipped`); a clip with no frame left after the onset is
a :class:`~facscope.errors.FaceNotFoundError` naming the clip.

Long-video interval spotting (finding where micro-expressions occur) is out of scope.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facscope.data.clips import APEX_FINDERS
from facscope.errors import ConfigError, FaceNotFoundError
from facscope.motion.clip import Clip, ClipAlignment
from facscope.motion.compensate import face_mask

__all__ = [
    "APEX_SIGNALS",
    "FACE_MATCH_MIN",
    "SPOT_RULES",
    "ApexResult",
    "face_mask",
    "max_motion_apex",
    "motion_curve",
    "spot_apex",
]

SPOT_RULES = ("max-motion", "midpoint")
APEX_SIGNALS = ("diff", "diff-energy", "flow", "flow-magnitude")
#: Moving-average window used when the frame rate is unknown, in frames.
FALLBACK_SMOOTH_FRAMES = 3
#: Least correlation of a frame's blurred face crop with the onset's for it to show the face
#: (an expression with head motion stays above 0.8 on the synthetic and hand-held test clips;
#: a title card or another scene is near 0).
FACE_MATCH_MIN = 0.5


@dataclass(frozen=True)
class ApexResult:
    """A spotted apex: its position in the clip and how it was found.

    ``curve`` holds the smoothed motion score of positions ``onset..offset`` (``max-motion``);
    ``skipped`` the positions judged not to show the onset's face (never the apex).
    """

    index: int
    rule: str
    signal: str | None = None
    curve: tuple[float, ...] | None = None
    skipped: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, object]:
        return {
            "index": self.index,
            "rule": self.rule,
            "signal": self.signal,
            "skipped": list(self.skipped),
        }


def _stabilized(crops: list[np.ndarray], mask: np.ndarray) -> list[np.ndarray]:
    """Each crop with its global similarity motion relative to the first removed."""
    from facscope.motion.compensate import register_global, warp_by_matrix

    out = [crops[0]]
    for c in crops[1:]:
        m = register_global(crops[0], lambda m, c=c: warp_by_matrix(c, m), mask=mask, rounds=1)
        out.append(warp_by_matrix(c, m))
    return out


def _project(values: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Each row's projection onto the mean of the ``present`` rows 1.. (the clip's own motion
    pattern; frames without the face are left out of it)."""
    rows = values[1:][present[1:]]
    if not len(rows):
        return np.zeros(len(values))
    pattern = rows.mean(0)
    norm = float((pattern * pattern).sum())
    if norm <= 0:
        return np.zeros(len(values))
    return (values * pattern).reshape(len(values), -1).sum(1) / norm


def _face_match(blurred: list[np.ndarray]) -> np.ndarray:
    """Correlation of each blurred face-pixel vector with the first (the onset's)."""
    ref = blurred[0] - blurred[0].mean()
    out = np.ones(len(blurred))
    for i, b in enumerate(blurred[1:], 1):
        c = b - b.mean()
        den = float(np.sqrt((ref * ref).sum() * (c * c).sum()))
        out[i] = float((ref * c).sum()) / den if den > 1e-6 else 0.0
    return out


def motion_curve(
    clip: Clip,
    alignment: ClipAlignment,
    onset: int,
    offset: int,
    *,
    signal: str = "diff",
    flow: str = "dis",
    nose_window: int = 11,
    stabilize: bool = False,
) -> np.ndarray:
    """Raw motion score of every position ``onset..offset`` relative to the onset (onset = 0).

    See the module docstring for the signals; frames without the onset's face are left out of
    the clip's motion pattern.
    """
    return _curve_and_match(
        clip,
        alignment,
        onset,
        offset,
        signal=signal,
        flow=flow,
        nose_window=nose_window,
        stabilize=stabilize,
    )[0]


def _curve_and_match(
    clip: Clip,
    alignment: ClipAlignment,
    onset: int,
    offset: int,
    *,
    signal: str,
    flow: str,
    nose_window: int,
    stabilize: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """(raw motion curve, face match) of positions ``onset..offset``."""
    import cv2

    from facscope.motion.compensate import nose_window_mean
    from facscope.motion.flow import create_flow

    if signal not in APEX_SIGNALS:
        raise ConfigError(f"apex signal must be one of {APEX_SIGNALS}; got {signal!r}")
    mask = face_mask(alignment.size)
    crops = [alignment.crop_gray(f) for f in clip.iter_range(onset, offset + 1)]
    sigma = 2.0 * alignment.size / 256
    steady = _stabilized(crops, mask) if stabilize else crops
    blurred = [cv2.GaussianBlur(c.astype(np.float32), (0, 0), sigma)[mask] for c in steady]
    match = _face_match(blurred)
    present = match >= FACE_MATCH_MIN
    if signal.startswith("flow"):
        method = create_flow(flow)
        vecs = np.zeros((len(crops), int(mask.sum()), 2), np.float32)
        for i in range(1, len(crops)):
            f = np.asarray(method(crops[0], crops[i]), dtype=np.float32)
            if nose_window:
                f = f - np.array(nose_window_mean(f, alignment.nose_tip, nose_window), np.float32)
            vecs[i] = f[mask]
        if signal == "flow":
            return _project(vecs, present), match
        return np.hypot(vecs[..., 0], vecs[..., 1]).mean(1), match
    diffs = np.stack(blurred) - blurred[0]
    if signal == "diff":
        return _project(diffs, present), match
    return (diffs**2).mean(1), match


def _smooth(curve: np.ndarray, window: int) -> np.ndarray:
    if window <= 1 or len(curve) < 3:
        return curve
    k = window if window % 2 else window + 1  # odd, centred
    if k > len(curve):
        k = len(curve) if len(curve) % 2 else len(curve) - 1
    pad = k // 2
    padded = np.pad(curve, pad, mode="edge")
    return np.convolve(padded, np.ones(k) / k, mode="valid")


def _peak(curve: np.ndarray, refine: float) -> int:
    """Index of the curve's first maximum after index 0, refined by a parabola fit."""
    best = 1 + int(np.argmax(curve[1:]))  # never the onset itself
    top = curve[best]
    if refine <= 0 or top <= 0:
        return best
    floor = (1 - refine) * top
    lo = hi = best
    while lo > 1 and curve[lo - 1] >= floor:
        lo -= 1
    while hi < len(curve) - 1 and curve[hi + 1] >= floor:
        hi += 1
    if hi - lo < 2:
        return best
    x = np.arange(lo, hi + 1, dtype=np.float64)
    a, b, _ = np.polyfit(x - best, curve[lo : hi + 1], 2)
    if a >= 0:
        return best
    return int(np.clip(round(best - b / (2 * a)), lo, hi))


def spot_apex(
    clip: Clip,
    *,
    onset: int = 0,
    offset: int | None = None,
    rule: str = "max-motion",
    signal: str = "diff",
    alignment: ClipAlignment | None = None,
    smooth_s: float = 0.0,
    refine: float = 0.15,
    flow: str = "dis",
    nose_window: int = 11,
    stabilize: bool = True,
    detector: str | None = "mtcnn",
) -> ApexResult:
    """The apex position of ``clip`` between ``onset`` and ``offset`` (positions, inclusive).

    Args:
        clip: the clip.
        onset, offset: positions; ``offset`` defaults to the last frame.
        rule: ``"max-motion"`` or ``"midpoint"`` (see the module docstring).
        signal: one of :data:`APEX_SIGNALS` for ``max-motion``.
        alignment: the onset alignment (detected on the onset frame when None).
        smooth_s: moving-average window in seconds (0 = none).
        refine: relative depth of the peak's parabola fit (0 = the bare argmax).
        flow: flow method of the flow signals.
        nose_window: nose-window head compensation of the flow signals (0 = off).
        stabilize: remove global head motion before the diff signals.
        detector: face detector that checks the chosen apex shows the face (None: no check;
            the correlation test of the module docstring still applies).
    """
    if rule not in SPOT_RULES:
        raise ConfigError(f"apex rule must be one of {SPOT_RULES}; got {rule!r}")
    onset = clip.position(onset)
    offset = clip.position(len(clip) - 1 if offset is None else offset)
    if offset < onset:
        raise ConfigError(f"offset ({offset}) must not come before onset ({onset})")
    if smooth_s < 0:
        raise ConfigError(f"smooth_s must be >= 0 seconds; got {smooth_s}")
    if not 0 <= refine < 1:
        raise ConfigError(f"refine must be in [0, 1); got {refine}")
    if rule == "midpoint" or offset == onset:
        return ApexResult(index=(onset + offset) // 2, rule="midpoint")
    al = alignment if alignment is not None else clip.align(onset)
    options = {"signal": signal, "flow": flow, "nose_window": nose_window, "stabilize": stabilize}
    raw, match = _curve_and_match(clip, al, onset, offset, **options)
    if smooth_s == 0:
        window = 1
    elif clip.fps is None:
        window = FALLBACK_SMOOTH_FRAMES
    else:
        window = clip.seconds_to_frames(smooth_s)
    present = match >= FACE_MATCH_MIN
    present[0] = True
    while True:
        if not present[1:].any():
            raise FaceNotFoundError(
                f"{clip.source}: no frame after the onset (position {onset}) shows the onset's "
                "face, so there is no apex to spot; give --apex, or check the clip"
            )
        curve = _smooth(np.where(present, raw, 0.0), window)
        best = _peak(np.where(present, curve, -np.inf), refine)
        if _face_detected(clip[onset + best], al, detector):
            break
        present[best] = False
    return ApexResult(
        index=onset + best,
        rule="max-motion",
        signal=signal,
        curve=tuple(round(float(c), 6) for c in curve),
        skipped=tuple(onset + int(i) for i in np.flatnonzero(~present)),
    )


def _face_detected(frame: np.ndarray, alignment: ClipAlignment, detector: str | None) -> bool:
    """Whether the detector finds a face whose centre lies in the onset's face box (always True
    without a detected onset face or a detector)."""
    if detector is None or alignment.face is None:
        return True
    from facscope.face import detect_faces

    box = alignment.face.box
    for f in detect_faces(frame, detector=detector, max_side=640):
        cx, cy = (f.box.x1 + f.box.x2) / 2, (f.box.y1 + f.box.y2) / 2
        if box.x1 <= cx <= box.x2 and box.y1 <= cy <= box.y2:
            return True
    return False


def max_motion_apex(
    frames: Sequence[str | os.PathLike[str]],
    onset: int,
    offset: int,
    *,
    fps: float | None = None,
    signal: str = "diff",
    face: str = "detect",
) -> int:
    """The max-motion apex *frame number* of a frame folder's frames (dataset adapters' hook).

    Args:
        frames: the clip's frame files sorted by frame number.
        onset, offset: frame numbers (as in the file names).
        fps: frame rate for the smoothing window (3 frames when None).
        signal: one of :data:`APEX_SIGNALS`.
        face: ``"detect"`` or ``"full"`` (the frames are already face crops).
    """
    from facscope.io import frame_number, load_image

    paths = [Path(p) for p in frames]

    def load(positions: list[int]) -> dict[int, np.ndarray]:
        return {i: load_image(paths[i]) for i in positions}

    clip = Clip(
        numbers=[frame_number(p) for p in paths],
        loader=load,
        fps=fps,
        source=str(paths[0].parent) if paths else "<no frames>",
        paths=paths,
    )
    a, b = clip.index_of(onset), clip.index_of(offset)
    alignment = clip.align(a, face=face)
    res = spot_apex(clip, onset=a, offset=b, signal=signal, alignment=alignment)
    return clip.numbers[res.index]


APEX_FINDERS.register("max_motion", help="the frame of maximum motion (max_motion_apex)")(
    max_motion_apex
)
