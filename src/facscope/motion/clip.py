"""A clip: frames from a folder, a video or memory, loaded lazily, plus its onset alignment.

Frames are addressed two ways: by **position** (0-based index into the clip, ``clip[i]``) and by
**frame number** (the number annotation files use: the last integer in a frame file's name, or
``first_number + position`` for a video). :meth:`Clip.index_of` converts one to the other.

A micro-expression's motion is sub-pixel to a few pixels, smaller than the jitter of detecting
the face again in every frame, so the face is detected and aligned once, on the onset frame, and
that one transform (:class:`ClipAlignment`) crops every frame of the clip.
"""

from __future__ import annotations

import itertools
import os
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError, FaceNotFoundError, FacscopeDataWarning, InputFileError
from facscope.types import Face, invert, scale_translate

__all__ = ["Clip", "ClipAlignment", "align_frame", "open_clip", "sample_clip"]

FACE_MODES = ("detect", "full")


class Clip:
    """An ordered sequence of RGB ``uint8`` frames with a frame rate, read on demand.

    Build one with :meth:`from_folder`, :meth:`from_video`, :meth:`from_frames` or
    :func:`open_clip`. Recently read frames are kept in a small cache.

    Attributes:
        numbers: the frame number of each position (sorted, unique).
        fps: frames per second, or None when unknown.
        source: where the frames come from (a folder, a video file, or ``"<memory>"``).
        paths: the frame files of a folder clip, by position (None otherwise).
        gaps: missing runs of frame numbers, as inclusive (first, last) pairs.
    """

    def __init__(
        self,
        *,
        numbers: Sequence[int],
        loader: Callable[[list[int]], dict[int, np.ndarray]],
        fps: float | None,
        source: str,
        paths: Sequence[Path] | None = None,
        cache_size: int = 16,
        streamer: Callable[[int, int], Iterator[tuple[int, np.ndarray]]] | None = None,
    ) -> None:
        from facscope.io import frame_gaps

        nums = tuple(int(n) for n in numbers)
        if not nums:
            raise ConfigError(f"{source}: a clip needs at least one frame")
        if any(b <= a for a, b in itertools.pairwise(nums)):
            raise ConfigError(f"{source}: frame numbers must be strictly increasing")
        if fps is not None and not (np.isfinite(fps) and fps > 0):
            raise ConfigError(f"{source}: fps must be a positive number; got {fps}")
        self.numbers = nums
        self.fps = None if fps is None else float(fps)
        self.source = source
        self.paths = None if paths is None else list(paths)
        self.gaps = frame_gaps(list(nums))
        self._loader = loader
        self._streamer = streamer
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._cache_size = max(1, int(cache_size))
        self._pos = {n: i for i, n in enumerate(nums)}

    # -- constructors -----------------------------------------------------------------------

    @classmethod
    def from_folder(
        cls, folder: str | os.PathLike[str], *, fps: float | None = None, strict: bool = False
    ) -> Clip:
        """Frames in ``folder`` ordered by the last integer in their names.

        Missing frame numbers (gaps) are reported with a :class:`FacscopeDataWarning` and the
        clip keeps the frames it has; ``strict=True`` raises :class:`ConfigError` instead.
        """
        from facscope.io import frame_number, list_frames, load_image

        paths = list_frames(folder)
        numbers = [frame_number(p) for p in paths]

        def load(positions: list[int]) -> dict[int, np.ndarray]:
            return {i: load_image(paths[i]) for i in positions}

        clip = cls(numbers=numbers, loader=load, fps=fps, source=str(folder), paths=paths)
        clip._report_gaps(strict)
        return clip

    @classmethod
    def from_video(
        cls, path: str | os.PathLike[str], *, fps: float | None = None, first_number: int = 0
    ) -> Clip:
        """Frames of a video file (PyAV). ``fps`` overrides the container's frame rate; frame
        numbers are ``first_number + position`` (0-based by default)."""
        from facscope.io import VideoReader

        reader = VideoReader(path)
        rate = fps if fps is not None else reader.fps
        numbers = range(int(first_number), int(first_number) + len(reader))
        return cls(
            numbers=numbers,
            loader=reader.read,
            fps=rate,
            source=str(path),
            streamer=reader.iter_range,
        )

    @classmethod
    def from_frames(
        cls,
        frames: Sequence[np.ndarray],
        *,
        fps: float | None = None,
        numbers: Sequence[int] | None = None,
    ) -> Clip:
        """A clip over frames already in memory (converted to RGB ``uint8``)."""
        from facscope.io import to_rgb_uint8

        imgs = [to_rgb_uint8(f) for f in frames]
        nums = list(range(len(imgs))) if numbers is None else list(numbers)
        if len(nums) != len(imgs):
            raise ConfigError(f"got {len(imgs)} frames but {len(nums)} frame numbers")

        def load(positions: list[int]) -> dict[int, np.ndarray]:
            return {i: imgs[i] for i in positions}

        return cls(numbers=nums, loader=load, fps=fps, source="<memory>", cache_size=1)

    def _report_gaps(self, strict: bool) -> None:
        if not self.gaps:
            return
        runs = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in self.gaps[:8])
        more = f" and {len(self.gaps) - 8} more" if len(self.gaps) > 8 else ""
        msg = (
            f"{self.source}: frame numbers {runs}{more} are missing; the clip keeps the "
            f"{len(self)} frames it has (positions skip the gaps)"
        )
        if strict:
            raise ConfigError(msg)
        warnings.warn(msg, FacscopeDataWarning, stacklevel=3)

    # -- access -----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.numbers)

    def __repr__(self) -> str:
        return f"Clip({self.source!r}, frames={len(self)}, fps={self.fps})"

    @property
    def duration(self) -> float | None:
        """Seconds spanned by the frame numbers (None when fps is unknown)."""
        return None if self.fps is None else (self.numbers[-1] - self.numbers[0] + 1) / self.fps

    def position(self, i: int) -> int:
        """``i`` as a position in [0, len), negative counting from the end."""
        n = len(self)
        j = int(i) + n if int(i) < 0 else int(i)
        if not 0 <= j < n:
            raise ConfigError(f"{self.source}: frame position {i} is outside [0, {n - 1}]")
        return j

    def __getitem__(self, i: int) -> np.ndarray:
        return self.load([i])[0]

    def load(self, positions: Sequence[int]) -> list[np.ndarray]:
        """The frames at ``positions`` (RGB ``uint8``), reading the uncached ones in one pass."""
        pos = [self.position(i) for i in positions]
        missing = sorted({p for p in pos if p not in self._cache})
        fresh = self._loader(missing) if missing else {}
        out = []
        for p in pos:
            img = self._cache.get(p)
            if img is None:
                img = fresh[p]
                img.setflags(write=False)
                self._cache[p] = img
            self._cache.move_to_end(p)
            out.append(img)
        while len(self._cache) > max(self._cache_size, len(set(pos))):
            self._cache.popitem(last=False)
        return out

    def iter_range(self, start: int, stop: int) -> Iterator[np.ndarray]:
        """The frames at positions ``start ≤ p < stop`` one at a time, without keeping them
        (videos decode in one pass), for clips too long to hold in memory."""
        a = self.position(start)
        b = min(len(self), max(a, int(stop)))
        if self._streamer is not None:
            for _, img in self._streamer(a, b):
                yield img
            return
        for p in range(a, b):
            img = self._cache.get(p)
            yield img if img is not None else self._loader([p])[p]

    def frame(self, number: int) -> np.ndarray:
        """The frame whose frame number is ``number``."""
        return self[self.index_of(number, strict=True)]

    def index_of(self, number: int, *, strict: bool = False) -> int:
        """Position of frame ``number``.

        A number that falls in a gap is moved to the nearest existing frame (the earlier one on
        a tie) with a :class:`FacscopeDataWarning`; ``strict=True`` raises instead. Numbers
        outside the clip always raise :class:`ConfigError`.
        """
        number = int(number)
        if number in self._pos:
            return self._pos[number]
        lo, hi = self.numbers[0], self.numbers[-1]
        if not lo <= number <= hi:
            raise ConfigError(
                f"{self.source}: frame number {number} is outside the clip's frames {lo}..{hi}"
            )
        nums = np.asarray(self.numbers)
        j = int(np.argmin(np.abs(nums - number)))
        msg = f"{self.source}: frame {number} is missing (a gap); using the nearest frame {nums[j]}"
        if strict:
            raise ConfigError(msg)
        warnings.warn(msg, FacscopeDataWarning, stacklevel=2)
        return j

    def seconds_to_frames(self, seconds: float) -> int:
        """A duration in seconds as a whole number of frames at this clip's rate (at least 1)."""
        if self.fps is None:
            raise ConfigError(
                f"{self.source}: the frame rate is unknown, so {seconds} s cannot be converted "
                "to frames; give the clip's fps (--fps)"
            )
        return max(1, round(seconds * self.fps))

    def align(self, onset: int = 0, **options: object) -> ClipAlignment:
        """Detect and align the face on the frame at position ``onset``; see :func:`align_frame`
        (a missing face is reported with this clip's source and the frame number)."""
        try:
            return align_frame(self[onset], **options)  # type: ignore[arg-type]
        except FaceNotFoundError as exc:
            raise FaceNotFoundError(f"{self.source}, frame {self.numbers[onset]}: {exc}") from None


def open_clip(
    path: str | os.PathLike[str], *, fps: float | None = None, strict: bool = False
) -> Clip:
    """A :class:`Clip` from a frame folder or a video file."""
    p = Path(path)
    if p.is_dir():
        return Clip.from_folder(p, fps=fps, strict=strict)
    if p.is_file():
        return Clip.from_video(p, fps=fps)
    raise InputFileError(f"{p}: no such frame folder or video file")


def sample_clip(sample: Any) -> tuple[Clip, int, int]:
    """A dataset clip sample's clip, onset and apex frame numbers: the annotated ones, else the
    first frame and the middle of onset..offset (or of the clip)."""
    clip = open_clip(sample.frames_dir or sample.video, fps=sample.fps)
    onset = sample.onset if sample.onset is not None else clip.numbers[0]
    apex = sample.apex
    if apex is None:
        offset = sample.offset if sample.offset is not None else clip.numbers[-1]
        apex = (onset + offset) // 2
    return clip, onset, apex


# --------------------------------------------------------------------------------------------
# Alignment shared by every frame of a clip


@dataclass(frozen=True, eq=False)
class ClipAlignment:
    """One transform from source-frame pixels to a ``size`` × ``size`` face crop.

    ``forward`` maps source pixels to crop pixels (continuous coordinates, see
    :mod:`facscope.types`). In ``"detect"`` mode the crop is the canonical aligned face, so the
    canonical regions and the template nose tip are where :mod:`facscope.face.regions` says; in
    ``"full"`` mode the whole frame is resized to the square (for clips that are already face
    crops) and the regions are only as good as that crop's framing.
    """

    forward: np.ndarray
    size: int
    mode: str = "detect"
    face: Face | None = None
    approximate: bool = False

    @property
    def inverse(self) -> np.ndarray:
        return invert(self.forward)

    @property
    def nose_tip(self) -> tuple[float, float]:
        """The template nose tip in crop pixels (``TEMPLATE[2] * size``)."""
        from facscope.face import TEMPLATE

        x, y = TEMPLATE[2] * self.size
        return float(x), float(y)

    @property
    def scale(self) -> float:
        """Crop pixels per source pixel (geometric mean of the two axes)."""
        return float(abs(np.linalg.det(self.forward[:2, :2])) ** 0.5)

    def crop(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` rendered through the alignment: RGB ``uint8`` (size, size, 3)."""
        from facscope.face.align import warp

        return warp(frame, self.inverse, (self.size, self.size))

    def crop_gray(self, frame: np.ndarray) -> np.ndarray:
        """The aligned crop as grayscale ``uint8`` (size, size)."""
        import cv2

        return cv2.cvtColor(self.crop(frame), cv2.COLOR_RGB2GRAY)

    def vectors_to_source(self, flow: np.ndarray) -> np.ndarray:
        """Displacements measured in crop pixels expressed in source pixels.

        Vectors rotate and scale with the alignment (its linear part), they do not translate:
        ``d_source = A⁻¹ · d_crop``. Positions stay those of the crop grid.
        """
        a_inv = np.linalg.inv(self.forward[:2, :2])
        return (np.asarray(flow, dtype=np.float32) @ a_inv.T.astype(np.float32)).astype(np.float32)

    def vectors_from_source(self, flow: np.ndarray) -> np.ndarray:
        """Displacements in source pixels expressed in crop pixels (``A · d``)."""
        a = self.forward[:2, :2].astype(np.float32)
        return (np.asarray(flow, dtype=np.float32) @ a.T).astype(np.float32)

    def sample_source_field(self, field: np.ndarray) -> np.ndarray:
        """Values of a per-pixel source-frame field (H, W[, C]) at the crop's pixel centres.

        Exact bilinear interpolation in floating point (edge values outside), with no smoothing
        (unlike :meth:`crop`, which low-passes when it shrinks), so a flow field can be compared
        point by point; vectors are not transformed (see :meth:`vectors_from_source`).
        """
        from scipy.ndimage import map_coordinates

        f = np.asarray(field, dtype=np.float64)
        n = self.size
        cc = np.arange(n, dtype=np.float64) + 0.5
        gx, gy = np.meshgrid(cc, cc)
        inv = self.inverse
        sx = inv[0, 0] * gx + inv[0, 1] * gy + inv[0, 2] - 0.5  # pixel-index coordinates
        sy = inv[1, 0] * gx + inv[1, 1] * gy + inv[1, 2] - 0.5
        chans = f[..., None] if f.ndim == 2 else f
        out = np.stack(
            [
                map_coordinates(chans[..., c], [sy, sx], order=1, mode="nearest")
                for c in range(chans.shape[2])
            ],
            axis=-1,
        )
        return (out[..., 0] if f.ndim == 2 else out).astype(np.float32)

    def to_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "size": self.size,
            "approximate": self.approximate,
            "forward": np.round(self.forward, 6).tolist(),
            "face": None if self.face is None else self.face.to_dict(),
        }


def align_frame(
    frame: np.ndarray,
    *,
    size: int = 256,
    face: str | Face = "detect",
    detector: str = "mtcnn",
    detect_max_side: int | None = 640,
) -> ClipAlignment:
    """The alignment of the (largest) face in ``frame``, to apply to every frame of its clip.

    Args:
        frame: the onset frame, RGB ``uint8``.
        size: side of the square face crop in pixels.
        face: ``"detect"`` (detect, then fit the five-point template), ``"full"`` (resize the
            whole frame to the square: for clips that are already face crops), or a
            :class:`~facscope.types.Face` found elsewhere.
        detector: face detector name (see :func:`facscope.face.list_detectors`).
        detect_max_side: the frame is downscaled to this longest side for detection only
            (landmarks are mapped back to full resolution); None never downscales.

    Raises:
        FaceNotFoundError: ``face="detect"`` and no face is found.
    """
    if not 16 <= int(size) <= 4096:
        raise ConfigError(f"crop size must be between 16 and 4096 pixels; got {size}")
    size = int(size)
    h, w = frame.shape[:2]
    if isinstance(face, str):
        if face not in FACE_MODES:
            raise ConfigError(f"face must be one of {FACE_MODES} or a Face; got {face!r}")
        if face == "full":
            return ClipAlignment(
                forward=scale_translate(size / w, size / h), size=size, mode="full"
            )
        from facscope.face import detect_faces

        faces = detect_faces(frame, detector=detector, max_side=detect_max_side)
        if not faces:
            raise FaceNotFoundError(
                f"no face found on the onset frame ({w}×{h}) with the {detector!r} detector; "
                "try another detector, or face='full' if the frames are already face crops"
            )
        found = faces[0]
    else:
        found = face
    from facscope.face import align_face

    aligned = align_face(frame, found, size=size)
    return ClipAlignment(
        forward=aligned.forward,
        size=size,
        mode="detect",
        face=found,
        approximate=aligned.approximate,
    )
