"""Detections are screened: non-face texture rejected with a readable reason, real faces kept,
doubtful ones marked. Negatives and positives are generated from scikit-image's public-domain
images (its landscapes and textures, its LFW subset) and noise."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data
from tests.conftest import LFW_FACES, upscale_gray

from facscope.embedded import default_image, lfw_faces
from facscope.face.plausibility import PlausibilityConfig, check_face, find_faces
from facscope.types import BBox, Face


def _negatives() -> dict[str, np.ndarray]:
    import cv2

    out = {}
    for name in ("coffee", "chelsea", "rocket", "brick", "grass", "gravel"):
        img = getattr(data, name)()
        out[name] = np.ascontiguousarray(np.stack([img] * 3, -1) if img.ndim == 2 else img[..., :3])
    rng = np.random.default_rng(0)
    out["noise"] = rng.integers(0, 256, (480, 640, 3), dtype=np.uint8)
    out["smooth noise"] = cv2.resize(
        rng.integers(0, 256, (24, 32, 3), dtype=np.uint8), (320, 240), interpolation=cv2.INTER_CUBIC
    )
    out["1x1"] = np.zeros((1, 1, 3), np.uint8)
    lfw = lfw_faces()
    for i in range(100, 200):  # the subset's 100 non-face crops
        out[f"lfw non-face {i}"] = upscale_gray(lfw[i])
    return out


NEGATIVES = _negatives()


@pytest.mark.parametrize(
    "detector,options",
    [("mtcnn", {}), ("haar", {}), ("haar", {"min_neighbors": 1, "min_face_size": 20})],
    ids=["mtcnn", "haar", "haar-loose"],
)
def test_no_face_is_kept_on_any_negative(detector, options):
    from facscope.face import detect_faces

    raw = kept = 0
    for name, image in NEGATIVES.items():
        raw += len(detect_faces(image, detector=detector, **options))
        found = find_faces(image, detector=detector, **options)
        assert not found.kept, f"{name}: {found.to_dict()}"
        kept += len(found.kept)
        assert all(c.problems for c in found.rejected)  # every rejection says why
    if options:  # the loose cascade boxes texture, and every such box is rejected
        assert raw >= 10 and kept == 0


def test_real_faces_still_pass():
    lfw = lfw_faces()
    astro = find_faces(default_image())
    assert len(astro.kept) == 1 and not astro.kept[0].doubts and not astro.rejected
    kept = sum(bool(find_faces(upscale_gray(lfw[i])).kept) for i in range(100))
    assert kept >= 97  # measured 99 of 100 (one is missed by MTCNN itself, not by the check)
    haar = sum(bool(find_faces(upscale_gray(lfw[i]), detector="haar").kept) for i in range(100))
    assert haar >= 75  # measured 80 (Haar alone finds 83); confirmed boxes are "boxes only"


def test_every_face_of_a_composite_is_found(lfw_composite):
    found = find_faces(lfw_composite)
    assert len(found.kept) == len(LFW_FACES) and not found.rejected
    centres = sorted((c.face.box.x1 + c.face.box.x2) / 2 for c in found.kept)
    assert [round((x - 30) / 190) for x in centres] == [0, 1, 2, 3]


def _face(landmarks, box=(100, 100, 200, 220), score=0.99):
    return Face(BBox(*box), score, np.asarray(landmarks, dtype=float))


GOOD = [[130, 150], [170, 150], [150, 175], [133, 195], [167, 195]]


@pytest.mark.parametrize(
    "landmarks,problem",
    [
        ([[130, 195], [170, 195], [150, 175], [133, 150], [167, 150]], "nose not below the eyes"),
        ([[130, 150], [170, 150], [150, 200], [133, 180], [167, 180]], "mouth not below the nose"),
        ([[140, 150], [150, 150], [150, 175], [133, 195], [167, 195]], "eye distance"),
        ([[130, 150], [170, 150], [150, 175], [183, 195], [217, 195]], "mouth not under the eyes"),
        ([[130, 150], [170, 150], [150, 175], [148, 195], [152, 195]], "mouth width"),
        ([[130, 150], [150, 195], [150, 175], [133, 195], [167, 195]], "tilted"),
    ],
    ids=["upside-down", "mouth-above-nose", "eyes-too-close", "mouth-aside", "no-mouth", "roll"],
)
def test_implausible_geometry_is_rejected_with_the_rule(landmarks, problem):
    check = check_face(_face(landmarks))
    assert not check.plausible and any(problem in p for p in check.problems), check.problems


def test_doubts_are_marked_but_kept():
    assert check_face(_face(GOOD)).plausible and not check_face(_face(GOOD)).doubts
    small = check_face(_face(np.asarray(GOOD) / 4, box=(25, 25, 50, 55), score=0.91))
    assert small.plausible and small.doubts == ("tiny (25 px)", "low score (0.91)")
    profile = check_face(_face([[130, 150], [170, 150], [180, 175], [140, 195], [172, 195]]))
    assert profile.plausible and "near-profile" in profile.doubts
    boxes = check_face(Face(BBox(0, 0, 100, 100), 0.99))
    assert boxes.plausible and boxes.doubts == ("boxes only",)
    narrow = _face([[145, 150], [155, 150], [150, 157], [147, 163], [153, 163]])
    assert not check_face(narrow).plausible  # eyes 0.1 of the box width apart
    assert check_face(narrow, PlausibilityConfig(eye_box_ratio=(0.05, 0.9))).plausible
