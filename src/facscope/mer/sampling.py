"""Key-frame sampling: which frames of a micro-expression clip a video model sees.

Every strategy works in **seconds** from the onset, so clips recorded at different frame rates
(DFME parts at 500 / 300 / 200 fps, CASME II at 200, CAS(ME)³ at 30) are sampled at the same
moments of the expression. A strategy is a pure function of the annotation (onset, apex, offset
frame numbers and fps) and of the frame numbers actually available (a clip with gaps, or a cache
holding a subset); it returns a :class:`FrameSelection`.

Strategies (:data:`SAMPLERS`):

* ``uniform`` — N time points evenly spaced over onset → offset (both included);
* ``onset_apex`` — N points evenly spaced over onset → apex;
* ``apex_window`` — N points evenly spaced over a window of ``window`` seconds centred on the
  apex (moved, without shrinking, to stay inside the available frames when it fits);
* ``interpolate`` — N points over onset → offset, each blended linearly from its two
  neighbouring frames (temporal interpolation to a fixed length);
* ``triplet`` — the onset, apex and offset frames; for N > 3 each is repeated to fill N frames
  (consecutive thirds, the earlier thirds one longer when N is not a multiple of 3), so models
  that need more frames (S3D: 14) can read it.

A time point becomes the nearest available frame (the earlier one on a tie), so short clips
repeat frames. Optional training **jitter** moves each time point independently by a uniform
amount in ``[-jitter, +jitter]`` seconds (clipped to the available frames, then re-sorted); pass
a seeded ``numpy.random.Generator`` to make it reproducible. A missing apex falls back to the
onset/offset midpoint; an apex outside [onset, offset] is clipped into it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from facscope.errors import ConfigError
from facscope.registry import Registry

__all__ = [
    "SAMPLERS",
    "FrameSelection",
    "FrameSource",
    "gather_frames",
    "list_samplers",
    "sample_frames",
]

SAMPLERS: Registry[Callable[..., np.ndarray]] = Registry("sampling strategy")


@dataclass(frozen=True)
class FrameSelection:
    """The frames a strategy picked.

    Attributes:
        times: seconds from the onset of each output frame (after jitter).
        frames: the frame number read for each output frame (for ``interpolate``: the lower
            neighbour).
        upper: for ``interpolate``, the upper neighbour of each output frame, else None.
        weights: for ``interpolate``, the weight of ``upper`` in [0, 1], else None.
    """

    times: tuple[float, ...]
    frames: tuple[int, ...]
    upper: tuple[int, ...] | None = None
    weights: tuple[float, ...] | None = None

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def needed(self) -> tuple[int, ...]:
        """Every frame number that must be read (sorted, unique)."""
        return tuple(sorted({*self.frames, *(self.upper or ())}))


@dataclass(frozen=True)
class _Event:
    onset: int
    apex: float
    offset: int
    fps: float
    avail: np.ndarray  # sorted unique frame numbers

    def t(self, frame: float) -> float:
        return (frame - self.onset) / self.fps

    @property
    def t_apex(self) -> float:
        return self.t(self.apex)

    @property
    def t_offset(self) -> float:
        return self.t(self.offset)

    @property
    def t_range(self) -> tuple[float, float]:
        return self.t(float(self.avail[0])), self.t(float(self.avail[-1]))


@SAMPLERS.register("uniform")
def _uniform(ev: _Event, n: int, window: float | None) -> np.ndarray:
    """N frames evenly spaced in time over onset → offset."""
    return np.linspace(0.0, ev.t_offset, n)


@SAMPLERS.register("onset_apex")
def _onset_apex(ev: _Event, n: int, window: float | None) -> np.ndarray:
    """N frames evenly spaced in time over onset → apex."""
    return np.linspace(0.0, ev.t_apex, n)


@SAMPLERS.register("apex_window")
def _apex_window(ev: _Event, n: int, window: float | None) -> np.ndarray:
    """N frames evenly spaced over a window of `window` seconds centred on the apex."""
    if window is None or window < 0:
        raise ConfigError(f"apex_window needs a window in seconds >= 0; got {window}")
    lo, hi = ev.t_range
    start = ev.t_apex - window / 2
    if window <= hi - lo:
        start = min(max(start, lo), hi - window)
    return start + np.linspace(0.0, window, n)


@SAMPLERS.register("interpolate")
def _interpolate(ev: _Event, n: int, window: float | None) -> np.ndarray:
    """N frames over onset → offset, each linearly interpolated from its two neighbours."""
    return np.linspace(0.0, ev.t_offset, n)


@SAMPLERS.register("triplet")
def _triplet(ev: _Event, n: int, window: float | None) -> np.ndarray:
    """The onset, apex and offset frames (each repeated to fill N >= 3 frames)."""
    if n < 3:
        raise ConfigError(f"the triplet strategy needs n >= 3 frames; got n={n}")
    reps = [len(part) for part in np.array_split(np.arange(n), 3)]
    return np.repeat([0.0, ev.t_apex, ev.t_offset], reps)


def list_samplers() -> list[str]:
    """Names of the key-frame sampling strategies."""
    return SAMPLERS.names()


def sample_frames(
    strategy: str,
    *,
    onset: int,
    apex: int | None,
    offset: int,
    fps: float,
    available: Sequence[int],
    n: int,
    window: float | None = None,
    jitter: float = 0.0,
    rng: np.random.Generator | None = None,
) -> FrameSelection:
    """Pick ``n`` frames of one clip with ``strategy`` (see the module docstring).

    Args:
        strategy: one of :func:`list_samplers`.
        onset, apex, offset: the annotation's frame numbers (apex may be None: midpoint).
        fps: the clip's frame rate.
        available: frame numbers that can be read (any order; gaps allowed).
        n: number of output frames (>= 1).
        window: window length in seconds for ``apex_window``.
        jitter: training jitter in seconds (0 disables it).
        rng: random generator for the jitter (a fixed default seed when None).

    Raises:
        ConfigError: an unknown strategy, a bad annotation (offset before onset, fps <= 0) or
            no available frame.
    """
    fn = SAMPLERS.get(strategy)
    if int(n) < 1:
        raise ConfigError(f"number of frames must be >= 1; got {n}")
    if not (np.isfinite(fps) and fps > 0):
        raise ConfigError(f"fps must be a positive number; got {fps}")
    if offset < onset:
        raise ConfigError(f"offset frame {offset} is before onset frame {onset}")
    if jitter < 0:
        raise ConfigError(f"jitter must be >= 0 seconds; got {jitter}")
    avail = np.unique(np.asarray(list(available), dtype=np.int64))
    if avail.size == 0:
        raise ConfigError("no frame numbers available to sample from")
    a = (onset + offset) / 2 if apex is None else float(min(max(apex, onset), offset))
    ev = _Event(int(onset), a, int(offset), float(fps), avail)
    times = np.asarray(fn(ev, int(n), window), dtype=np.float64)
    lo, hi = ev.t_range
    if jitter > 0:
        gen = rng if rng is not None else np.random.default_rng(0)
        times = np.sort(np.clip(times + gen.uniform(-jitter, jitter, times.size), lo, hi))
    times = np.clip(times, lo, hi)
    pos = onset + times * fps
    if SAMPLERS.get(strategy) is _interpolate:
        lower, upper, w = _neighbours(avail, pos)
        return FrameSelection(
            times=tuple(map(float, times)),
            frames=tuple(map(int, lower)),
            upper=tuple(map(int, upper)),
            weights=tuple(map(float, w)),
        )
    return FrameSelection(
        times=tuple(map(float, times)), frames=tuple(map(int, _nearest(avail, pos)))
    )


def _nearest(avail: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The available frame nearest to each position (earlier on a tie, with float slack)."""
    j = np.searchsorted(avail, pos, side="left").clip(1, len(avail) - 1)
    if len(avail) == 1:
        return np.full(pos.shape, avail[0])
    left, right = avail[j - 1], avail[j]
    take_right = (right - pos) < (pos - left) - 1e-9
    return np.where(take_right, right, left)


def _neighbours(avail: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(avail) == 1:
        return np.full(pos.shape, avail[0]), np.full(pos.shape, avail[0]), np.zeros(pos.shape)
    snapped = np.where(np.abs(pos - np.round(pos)) < 1e-9, np.round(pos), pos)
    j = np.searchsorted(avail, snapped, side="right").clip(1, len(avail) - 1)
    lower, upper = avail[j - 1], avail[j]
    w = np.clip((snapped - lower) / (upper - lower), 0.0, 1.0)
    lower = np.where(w > 1 - 1e-12, upper, lower)  # exactly on the upper frame
    exact = (w < 1e-12) | (w > 1 - 1e-12)
    return lower, np.where(exact, lower, upper), np.where(exact, 0.0, w)


class FrameSource(Protocol):
    """Frames read by position: ``source[[i, j, …]]`` → an array of those frames."""

    dtype: np.dtype

    def __getitem__(self, index: list[int], /) -> np.ndarray: ...


def gather_frames(
    frames: np.ndarray | FrameSource, numbers: Sequence[int], selection: FrameSelection
) -> np.ndarray:
    """The selected frames from ``frames`` (T, H, W, C) whose frame numbers are ``numbers``.

    ``frames`` is an array or anything that reads a list of positions into one
    (:class:`facscope.mer.cache.FrameFile` reads just those frames from disk).

    Interpolated frames are blended in float and rounded back to ``uint8``.

    Raises:
        ConfigError: a selected frame number is not in ``numbers``.
    """
    index = {int(n): i for i, n in enumerate(numbers)}
    try:
        lo = [index[f] for f in selection.frames]
        hi = [index[f] for f in selection.upper] if selection.upper is not None else None
    except KeyError as exc:
        raise ConfigError(
            f"frame {exc.args[0]} was selected but is not among the frames given"
        ) from None
    out = np.asarray(frames[lo])
    if hi is None or selection.weights is None or not any(selection.weights):
        return np.ascontiguousarray(out)
    w = np.asarray(selection.weights, dtype=np.float32).reshape(-1, *([1] * (out.ndim - 1)))
    blend = out.astype(np.float32) * (1 - w) + np.asarray(frames[hi]).astype(np.float32) * w
    return np.clip(np.rint(blend), 0, 255).astype(frames.dtype)
