from __future__ import annotations

import cv2
import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.face import TEMPLATE, align_face, detect_faces
from facscope.face.align import estimate_similarity
from facscope.types import BBox, Face, apply_transform


def test_aligned_landmarks_sit_on_the_template(aligned):
    assert aligned.image.shape == (256, 256, 3)
    err = np.linalg.norm(aligned.landmarks() - TEMPLATE * 256, axis=1)
    assert err[:2].max() < 5.0  # eyes
    assert err[3:].max() < 12.0  # a broad smile pulls the mouth corners up and out


def test_lfw_faces_align_to_the_template():
    """Median landmark error over real LFW faces is a few pixels at 256 px."""
    from facscope.embedded import lfw_faces

    errs = []
    for crop in lfw_faces()[:100:4]:
        g = cv2.copyMakeBorder(
            cv2.resize(crop, (100, 100), interpolation=cv2.INTER_CUBIC),
            20,
            20,
            20,
            20,
            cv2.BORDER_REPLICATE,
        )
        faces = detect_faces(g)
        if faces:
            errs.append(
                np.linalg.norm(align_face(g, faces[0]).landmarks() - TEMPLATE * 256, axis=1)
            )
    med = np.median(np.array(errs), axis=0)
    assert len(errs) >= 22
    assert med[[0, 1, 3, 4]].max() < 5.0  # eyes and mouth corners


def test_forward_and_inverse_are_inverse(aligned):
    assert np.allclose(aligned.forward @ aligned.inverse, np.eye(3))
    assert np.allclose(aligned.view.to_source, aligned.inverse)


def test_redetection_on_aligned_face_matches_template(aligned):
    """The eyes and mouth a detector finds in the aligned face sit at the template positions."""
    faces = detect_faces(aligned.image)
    assert len(faces) == 1
    err = np.linalg.norm(faces[0].landmarks - TEMPLATE * 256, axis=1)
    assert err[:2].max() < 5.0 and err[3:].max() < 12.0  # smile: see the test above


def test_rotation_is_undone(astronaut, astronaut_face):
    h, w = astronaut.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 25, 1.0)
    turned = cv2.warpAffine(astronaut, rot, (w, h), borderMode=cv2.BORDER_REFLECT)
    face = detect_faces(turned)[0]
    al = align_face(turned, face)
    eyes = al.landmarks()[:2]
    assert abs(eyes[0, 1] - eyes[1, 1]) < 3  # eyes level again


def test_similarity_estimate_recovers_known_transform():
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 100, (5, 2))
    ang, s, t = 0.4, 1.7, np.array([12.0, -5.0])
    r = s * np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    dst = src @ r.T + t
    m = estimate_similarity(src, dst)
    assert np.allclose(apply_transform(m, src), dst, atol=1e-9)
    with pytest.raises(ConfigError, match="degenerate"):
        estimate_similarity(np.ones((5, 2)), dst)


def test_box_only_face_aligns_approximately(astronaut, astronaut_face):
    box_only = Face(astronaut_face.box, 0.9)
    al = align_face(astronaut, box_only)
    assert al.approximate and al.landmarks() is None
    # the approximate alignment still lands the true eyes near the template eyes
    eyes = apply_transform(al.forward, astronaut_face.landmarks[:2])
    assert np.linalg.norm(eyes - TEMPLATE[:2] * 256, axis=1).max() < 25


def test_align_size_checked(astronaut, astronaut_face):
    with pytest.raises(ConfigError, match="aligned size"):
        align_face(astronaut, astronaut_face, size=4)
    assert align_face(astronaut, astronaut_face, size=112).image.shape == (112, 112, 3)


def test_alignment_of_large_source_matches_small(astronaut, astronaut_face):
    """Rendering from a 4× larger source gives the same face (area-style shrinking, no aliasing)."""
    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_CUBIC)
    lm = astronaut_face.landmarks * 4
    f4 = Face(BBox(*(np.array(astronaut_face.box.to_list(None)) * 4)), 1.0, lm)
    small = align_face(astronaut, astronaut_face).image.astype(float)
    large = align_face(big, f4).image.astype(float)
    assert np.abs(small - large).mean() < 6
