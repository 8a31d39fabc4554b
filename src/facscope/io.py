"""Reading and writing images, safely.

Every reader returns RGB ``uint8`` arrays of shape (H, W, 3) whatever the file holds (grayscale,
palette, RGBA, 16-bit, CMYK, EXIF-rotated), and turns every failure into one clear
:class:`~facscope.errors.FacscopeError` naming the file and the problem. Writers are atomic: a
killed process leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from facscope.atomic import _UMASK, atomic_dir, atomic_path  # noqa: F401  (re-exported)
from facscope.errors import ConfigError, ImageDecodeError, InputFileError

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "JsonlLog",
    "atomic_dir",
    "atomic_path",
    "frame_gaps",
    "frame_number",
    "is_image",
    "is_video",
    "list_frames",
    "load_image",
    "read_json",
    "save_image",
    "to_rgb_uint8",
    "write_json",
    "write_text",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: File suffixes treated as videos (anything PyAV/FFmpeg decodes works; these are recognised
#: by name when a path could be either a video or something else). The one list every command
#: and dataset loader uses.
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".m4v", ".wmv")
#: Images above this many pixels are refused rather than exhausting memory (about 16k × 16k).
MAX_IMAGE_PIXELS = 268_435_456


def is_video(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names a video file by its suffix (case-insensitive, see VIDEO_SUFFIXES)."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def is_image(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` names an image file by its suffix (case-insensitive, see IMAGE_SUFFIXES)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def check_file(path: str | os.PathLike[str], what: str = "a file") -> Path:
    """Return ``path`` as a Path if it is a readable, non-empty regular file; raise otherwise."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: no such file; check the path")
    if p.is_dir():
        raise InputFileError(f"{p}: is a directory, expected {what}")
    if not os.access(p, os.R_OK):
        raise InputFileError(f"{p}: permission denied")
    if p.stat().st_size == 0:
        raise ImageDecodeError(f"{p}: file is empty (0 bytes)")
    return p


def load_image(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an image file as RGB ``uint8`` (H, W, 3), applying its EXIF orientation.

    Raises:
        InputFileError: the path is missing, a directory or unreadable.
        ImageDecodeError: the file is empty, truncated, too large or not an image.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = check_file(path, "an image file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise ImageDecodeError(
                        f"{p}: image is {w}×{h} = {w * h / 1e6:.0f} Mpx, above the "
                        f"{MAX_IMAGE_PIXELS / 1e6:.0f} Mpx limit; downscale it first"
                    )
                im.load()
                im = ImageOps.exif_transpose(im)
                arr = _pil_to_array(im)
    except ImageDecodeError:
        raise
    except UnidentifiedImageError:
        raise ImageDecodeError(f"{p}: not a recognised image format") from None
    except Image.DecompressionBombError as exc:
        raise ImageDecodeError(f"{p}: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageDecodeError(
            f"{p}: cannot decode image ({exc}); the file may be truncated or corrupt"
        ) from None
    return arr


def _pil_to_array(im: Any) -> np.ndarray:
    from PIL import Image

    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I"):
        a = np.asarray(im, dtype=np.float64)
        hi = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        return to_rgb_uint8(np.clip(a / hi * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if mode == "F":
        return to_rgb_uint8(np.asarray(im, dtype=np.float32))
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        bg = Image.new("RGB", im.size, (255, 255, 255))  # alpha composited over white
        bg.paste(im, mask=im.getchannel("A"))
        im = bg
    return np.ascontiguousarray(np.asarray(im.convert("RGB"), dtype=np.uint8))


def to_rgb_uint8(image: np.ndarray) -> np.ndarray:
    """Convert an array image to RGB ``uint8`` (H, W, 3).

    Accepts (H, W), (H, W, 1), (H, W, 3) and (H, W, 4) arrays of ``uint8``, ``uint16``
    (scaled by 1/257), ``bool``, or floats in [0, 1] (values outside are clipped). Four channels
    are treated as RGBA and the alpha dropped.
    """
    a = np.asarray(image)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ImageDecodeError(
            f"expected an image array of shape (H, W), (H, W, 3) or (H, W, 4); got {a.shape}"
        )
    if a.shape[0] == 0 or a.shape[1] == 0:
        raise ImageDecodeError(f"image has no pixels: shape {a.shape}")
    if a.dtype == np.uint8:
        pass
    elif a.dtype == np.uint16:
        a = ((a.astype(np.uint32) + 128) // 257).astype(np.uint8)
    elif a.dtype == bool:
        a = a.astype(np.uint8) * 255
    elif np.issubdtype(a.dtype, np.floating):
        a = np.clip(np.nan_to_num(a) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.integer):
        a = np.clip(a, 0, 255).astype(np.uint8)
    else:
        raise ImageDecodeError(f"unsupported image dtype {a.dtype}")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.shape[2] == 4:
        a = a[:, :, :3]
    return np.ascontiguousarray(a)


def save_image(path: str | os.PathLike[str], image: np.ndarray, *, quality: int = 95) -> Path:
    """Write an RGB (or grayscale) image atomically; the format follows the suffix."""
    import cv2

    dest = Path(path)
    suffix = dest.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ConfigError(
            f"{dest}: unsupported image suffix {suffix!r}; use one of {', '.join(IMAGE_SUFFIXES)}"
        )
    a = np.asarray(image)
    if a.dtype != np.uint8:
        a = to_rgb_uint8(a)
    if a.ndim == 3:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_JPEG_QUALITY, int(quality)] if suffix in (".jpg", ".jpeg") else []
    ok, buf = cv2.imencode(suffix, a, params)
    if not ok:
        raise ImageDecodeError(f"{dest}: OpenCV could not encode the image as {suffix}")
    with atomic_path(dest) as tmp:
        tmp.write_bytes(buf.tobytes())
    return dest


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write text atomically (UTF-8)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def read_json(path: str | os.PathLike[str], *, what: str = "a JSON file") -> Any:
    """The value in a JSON file; a missing, non-UTF-8 or malformed file is an
    :class:`InputFileError` naming it and ``what`` was expected there."""
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such file; expected {what}")
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputFileError(f"{p}: not UTF-8 text; expected {what}") from None
    except json.JSONDecodeError as exc:
        raise InputFileError(
            f"{p}: not valid JSON (line {exc.lineno}, column {exc.colno}); expected {what}"
        ) from None


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2) -> Path:
    """Write JSON atomically (UTF-8, keys in insertion order, NaN refused)."""
    return write_text(
        path, json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
    )


# --------------------------------------------------------------------------------------------
# Resumable JSON-lines logs


class JsonlLog:
    """An append-only JSON-lines file of records, the one format of every resumable output.

    Each :meth:`append` writes whole lines (UTF-8, one JSON object each) and flushes and fsyncs
    them before returning, so a record on disk is a finished one. A kill mid-write leaves at most
    a torn last line: the readers skip it and :meth:`repair` cuts it before a run appends again,
    so the next record starts on its own line.

    Args:
        path: the ``.jsonl`` file (created on the first append, with its folder).
        key: the field that names a record (:meth:`latest`).
    """

    def __init__(self, path: str | os.PathLike[str], *, key: str = "id") -> None:
        self.path = Path(path)
        self.key = key

    def repair(self) -> JsonlLog:
        """Cut a partial last line (no newline at the end of the file); returns ``self``."""
        if not self.path.is_file() or self.path.stat().st_size == 0:
            return self
        with self.path.open("rb+") as f:
            data = f.read()
            if not data.endswith(b"\n"):
                f.truncate(data.rfind(b"\n") + 1)
        return self

    def append(self, *records: dict[str, Any], ensure_ascii: bool = False) -> None:
        """Write ``records`` as lines, then flush and fsync (nothing is written for none).

        ``ensure_ascii`` escapes non-ASCII characters (``\\u00e9``) instead of writing UTF-8."""
        if not records:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=ensure_ascii) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def records(self) -> list[Any]:
        """Every complete line's value in file order; blank and broken lines (torn, not JSON,
        not UTF-8) are skipped."""
        if not self.path.is_file():
            return []
        out = []
        with self.path.open("rb") as f:
            for line in f:  # split at b"\n" only (not at U+2028 inside a string)
                if not line.strip():
                    continue
                try:
                    out.append(json.loads(line.decode("utf-8")))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    continue
        return out

    def latest(self) -> dict[str, dict[str, Any]]:
        """The last record of each key value (as a string); records without the key are skipped."""
        out: dict[str, dict[str, Any]] = {}
        for r in self.records():
            if isinstance(r, dict) and self.key in r:
                out[str(r[self.key])] = r
        return out


# --------------------------------------------------------------------------------------------
# Frame folders

_LAST_INT = re.compile(r"(\d+)(?!.*\d)")


def frame_number(path: str | os.PathLike[str]) -> int:
    """The frame number of a frame file: the last integer group in its name (``img12.jpg`` → 12,
    ``006_3_120.jpg`` → 120, ``reg_img007.jpg`` → 7)."""
    m = _LAST_INT.search(Path(path).stem)
    if m is None:
        raise ConfigError(
            f"{path}: frame file name has no number; frames must be numbered (img1.jpg, …)"
        )
    return int(m.group(1))


def list_frames(folder: str | os.PathLike[str]) -> list[Path]:
    """Image files in ``folder`` sorted by frame number (numerically, not lexically).

    Raises :class:`InputFileError` if the folder is missing or holds no numbered images, and
    :class:`ConfigError` if two files share a frame number.
    """
    d = Path(folder)
    if not d.is_dir():
        raise InputFileError(f"{d}: no such frame folder")
    files = [
        p for p in d.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    numbered = [(frame_number(p), p) for p in files if _LAST_INT.search(p.stem)]
    if not numbered:
        raise InputFileError(f"{d}: no numbered image frames ({', '.join(IMAGE_SUFFIXES)}) found")
    numbered.sort(key=lambda t: (t[0], t[1].name))
    for (a, pa), (b, pb) in itertools.pairwise(numbered):
        if a == b:
            raise ConfigError(f"{d}: frames {pa.name} and {pb.name} share frame number {a}")
    return [p for _, p in numbered]


def frame_gaps(numbers: list[int]) -> list[tuple[int, int]]:
    """Missing runs in sorted frame numbers, as inclusive (first_missing, last_missing) pairs."""
    return [(a + 1, b - 1) for a, b in itertools.pairwise(numbers) if b - a > 1]


# --------------------------------------------------------------------------------------------
# Videos (PyAV, the ``video`` extra)


def _import_av() -> Any:
    try:
        import av
    except ImportError:  # pragma: no cover - depends on the environment
        raise ConfigError(
            "reading videos needs PyAV; install it with: pip install 'facscope[video]'"
        ) from None
    return av


class VideoReader:
    """Random access by frame position to a video file, decoding only what is asked for.

    Positions are 0-based in decode (presentation) order. The frame count comes from the
    container header, or from counting the stream's packets when the header has none; reading
    a position the decoder never reaches raises :class:`ImageDecodeError`.

    Args:
        path: a video file FFmpeg can decode.

    Raises:
        InputFileError: the path is missing, a directory or unreadable.
        ImageDecodeError: the file is empty, not a video, or has no video stream.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        av = _import_av()
        self.path = check_file(path, "a video file")
        try:
            with av.open(str(self.path)) as container:
                if not container.streams.video:
                    raise ImageDecodeError(f"{self.path}: has no video stream")
                stream = container.streams.video[0]
                rate = stream.average_rate or stream.guessed_rate or stream.base_rate
                self.fps: float | None = float(rate) if rate else None
                self.width = int(stream.codec_context.width)
                self.height = int(stream.codec_context.height)
                count = int(stream.frames or 0)
                if count <= 0:
                    count = sum(1 for pkt in container.demux(stream) if pkt.size)
        except ImageDecodeError:
            raise
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise ImageDecodeError(f"{self.path}: cannot open as a video ({exc})") from None
        if count <= 0:
            raise ImageDecodeError(f"{self.path}: the video has no frames")
        self._len = count

    def __len__(self) -> int:
        return self._len

    def __repr__(self) -> str:
        return f"VideoReader({str(self.path)!r}, frames={self._len}, fps={self.fps})"

    def read(self, positions: list[int] | tuple[int, ...]) -> dict[int, np.ndarray]:
        """Decode the frames at ``positions`` (0-based) as RGB ``uint8``; one pass over the file."""
        av = _import_av()
        wanted = sorted({int(p) for p in positions})
        if not wanted:
            return {}
        if wanted[0] < 0 or wanted[-1] >= self._len:
            raise ConfigError(
                f"{self.path}: frame positions must be in [0, {self._len - 1}]; got {wanted}"
            )
        out: dict[int, np.ndarray] = {}
        todo = set(wanted)
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for i, frame in enumerate(container.decode(stream)):
                    if i in todo:
                        out[i] = np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                        todo.discard(i)
                        if not todo:
                            break
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise ImageDecodeError(f"{self.path}: video decoding failed ({exc})") from None
        if todo:
            raise ImageDecodeError(
                f"{self.path}: the decoder stopped before frame position(s) {sorted(todo)} "
                f"(the header promised {self._len} frames); the file may be truncated"
            )
        return out

    def iter_range(self, start: int, stop: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yield ``(position, RGB frame)`` for positions ``start ≤ p < stop`` in one decoding pass."""
        av = _import_av()
        start, stop = max(0, int(start)), min(self._len, int(stop))
        if stop <= start:
            return
        try:
            with av.open(str(self.path)) as container:
                stream = container.streams.video[0]
                stream.thread_type = "AUTO"
                for i, frame in enumerate(container.decode(stream)):
                    if i >= start:
                        yield i, np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
                    if i + 1 >= stop:
                        return
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise ImageDecodeError(f"{self.path}: video decoding failed ({exc})") from None
        raise ImageDecodeError(
            f"{self.path}: the decoder stopped before frame position {stop - 1} "
            f"(the header promised {self._len} frames); the file may be truncated"
        )


def write_video(
    path: str | os.PathLike[str],
    frames: list[np.ndarray],
    fps: float,
    *,
    codec: str = "ffv1",
) -> Path:
    """Write RGB ``uint8`` frames as a video, atomically (``ffv1`` in .mkv/.avi is lossless)."""
    from fractions import Fraction

    av = _import_av()
    if not frames:
        raise ConfigError("write_video needs at least one frame")
    if fps <= 0:
        raise ConfigError(f"fps must be > 0; got {fps}")
    first = to_rgb_uint8(frames[0])
    h, w = first.shape[:2]
    pix = {"libx264": "yuv420p", "mpeg4": "yuv420p", "mjpeg": "yuvj420p", "ffv1": "bgr0"}.get(
        codec, "rgb24"
    )
    dest = Path(path)
    with (
        atomic_path(dest) as tmp,
        av.open(str(tmp), mode="w", format=_container_format(dest)) as out,
    ):
        stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, pix
        for f in frames:
            img = to_rgb_uint8(f)
            if img.shape[:2] != (h, w):
                raise ConfigError(f"all frames must be {w}×{h}; got {img.shape[1]}×{img.shape[0]}")
            for pkt in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return dest


def _container_format(path: Path) -> str | None:
    return {".mkv": "matroska", ".avi": "avi", ".mp4": "mp4", ".mov": "mov"}.get(
        path.suffix.lower()
    )


__all__ += ["VIDEO_SUFFIXES", "VideoReader", "write_video"]
