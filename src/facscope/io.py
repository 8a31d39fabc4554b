"""Reading and writing images, safely.

Every reader returns RGB ``uint8`` arrays of shape (H, W, 3) whatever the file holds (grayscale,
palette, RGBA, 16-bit, CMYK, EXIF-rotated), and turns every failure into one clear
:class:`~facscope.errors.FacscopeError` naming the file and the problem. Writers are atomic: a
killed process leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError, ImageDecodeError, InputFileError

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "atomic_path",
    "frame_gaps",
    "frame_number",
    "list_frames",
    "load_image",
    "save_image",
    "to_rgb_uint8",
    "write_json",
    "write_text",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
#: Images above this many pixels are refused rather than exhausting memory (about 16k × 16k).
MAX_IMAGE_PIXELS = 268_435_456


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


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    A crash or kill leaves no partial file at ``path`` (rename is atomic on POSIX).
    """
    dest = Path(path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{dest.name}.", suffix=f".tmp{dest.suffix}", dir=dest.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, dest)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


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


def write_json(path: str | os.PathLike[str], obj: Any, *, indent: int | None = 2) -> Path:
    """Write JSON atomically (UTF-8, keys in insertion order, NaN refused)."""
    return write_text(
        path, json.dumps(obj, indent=indent, ensure_ascii=False, allow_nan=False) + "\n"
    )


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
