"""Synthetic clips: timing, true flow, backward-warp inversion, determinism, appearance."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.face import TEMPLATE, align_face, detect_faces
from facscope.synth.base import Appearance, load_base, place_face
from facscope.synth.clips import SynthConfig, emotion_aus, synth_clip
from facscope.synth.fields import ExpressionField
from facscope.synth.render import invert_displacement

SMALL = (192, 144)


def _warp_back(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``image`` sampled at ``p + flow(p)``: the onset, if ``image`` is the apex and the flow true."""
    h, w = flow.shape[:2]
    qx, qy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(
        image.astype(np.float32),
        qx + flow[..., 0],
        qy + flow[..., 1],
        cv2.INTER_CUBIC,
        borderMode=cv2.BORDER_REPLICATE,
    )


@pytest.fixture(scope="module")
def fear() -> object:
    return synth_clip(emotion="fear", amplitude=3.0, frame_size=SMALL, fps=100)


@pytest.mark.parametrize(("fps", "apex", "offset"), [(100, 15, 35), (200, 30, 70), (500, 75, 175)])
def test_timing_follows_the_frame_rate(fps, apex, offset):
    cfg = SynthConfig(fps=fps, rise=0.15, fall=0.2)
    assert cfg.timing == (0, apex, offset, offset + 1)
    lead = SynthConfig(fps=fps, lead_in=0.05, lead_out=0.02)
    on, ap, off, n = lead.timing
    assert (on, ap - on, off - ap, n - off - 1) == (
        round(0.05 * fps),
        apex,
        offset - apex,
        round(0.02 * fps),
    )


def test_profile_rises_to_the_apex_and_returns(fear):
    a = fear.profile
    assert len(a) == len(fear.frames) == fear.offset + 1
    assert fear.onset == 0 and fear.apex == 15 and int(np.argmax(a)) == fear.apex
    assert a[fear.onset] == 0 and a[fear.apex] == 1 and a[fear.offset] == pytest.approx(0)
    assert np.all(np.diff(a[: fear.apex + 1]) > 0) and np.all(np.diff(a[fear.apex :]) < 0)
    # without noise the offset is the neutral face again, pixel for pixel
    np.testing.assert_array_equal(fear.frames[fear.offset], fear.frames[fear.onset])
    # the frame difference to the onset peaks at the apex
    energy = [np.abs(f.astype(int) - fear.frames[0]).sum() for f in fear.frames]
    assert int(np.argmax(energy)) == fear.apex


@pytest.mark.parametrize("head_motion", [0.0, 2.0])
def test_apex_is_the_onset_moved_by_the_true_flow(head_motion):
    clip = synth_clip(emotion="fear", amplitude=3.0, frame_size=(320, 240), head_motion=head_motion)
    onset = clip.frames[clip.onset].astype(np.float32)
    apex = clip.frames[clip.apex]
    moving = np.hypot(*clip.flow.transpose(2, 0, 1)) > 0.05
    b = clip.face.box
    face = np.zeros_like(moving)
    face[int(b.y1) : int(b.y2), int(b.x1) : int(b.x2)] = True
    region = moving & face
    assert region.sum() > 2000

    def err(factor: float) -> float:
        return float(np.abs(_warp_back(apex, factor * clip.flow) - onset)[region].mean())

    assert err(1.0) < 1.0  # grey levels, left by resampling twice
    assert err(1.0) < 0.15 * err(0.0)
    assert err(1.0) < 0.8 * min(err(0.9), err(1.1))  # the true length is the best one


def test_fixed_point_inversion_solves_the_forward_map():
    """p + a·d(p) = r for the backward-warp sources, d evaluated exactly (not interpolated)."""
    field = ExpressionField("1+2+4+5+7+20+26", amplitude=4.0)
    size = 200  # one 200-px aligned face filling the array: 3.1 px peak motion
    d = field.grid(size)
    rx, ry = np.meshgrid(np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64))

    def exact(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        pts = np.stack([(x.ravel() + 0.5) / size, (y.ravel() + 0.5) / size], axis=1)
        return field(pts).reshape(size, size, 2) * (size / 256)

    px, py = invert_displacement(rx, ry, 1.0, d, (0, 0))
    e = exact(px, py)
    resid = np.hypot(px + e[..., 0] - rx, py + e[..., 1] - ry)
    assert resid.max() < 0.05 and resid.mean() < 0.005
    one_step = exact(rx, ry)  # the first-order guess p = r − d(r)
    e1 = exact(rx - one_step[..., 0], ry - one_step[..., 1])
    naive = np.hypot(e1[..., 0] - one_step[..., 0], e1[..., 1] - one_step[..., 1])
    assert naive.max() > 20 * resid.max()


def test_flow_is_the_canonical_field_in_frame_pixels():
    """Displacements scale with the face and rotate with it (alignment transform)."""
    app = Appearance(rotation=20, scale=1.2)
    clip = synth_clip(aus="12", amplitude=2.0, frame_size=SMALL, appearance=app)
    aligned = align_face(clip.frames[clip.onset], clip.face, size=256)
    lin = aligned.inverse[:2, :2]
    scale = np.sqrt(abs(np.linalg.det(lin)))
    assert scale == pytest.approx(0.8 * SMALL[1] * 1.2 / 256, rel=1e-6)
    mag = np.hypot(*clip.flow.transpose(2, 0, 1))
    assert mag.max() == pytest.approx(2.0 * scale, rel=0.05)
    # at the left mouth corner, frame flow = inverse alignment applied to the canonical flow
    cx, cy = TEMPLATE[4] * 256
    canon = clip.canonical_flow[int(cy), int(cx)]
    q = aligned.inverse @ np.array([int(cx) + 0.5, int(cy) + 0.5, 1.0])
    frame_vec = clip.flow[round(q[1] - 0.5), round(q[0] - 0.5)]
    np.testing.assert_allclose(frame_vec, lin @ canon, atol=0.05 * np.abs(lin @ canon).max())
    assert np.array_equal(clip.flow, clip.expression_flow)  # no head motion


def test_same_seed_same_clip_other_seed_other_noise():
    kw = dict(emotion="surprise", frame_size=(96, 72), noise=2.0, head_motion=1.0, fps=60)
    a, b, c = synth_clip(seed=3, **kw), synth_clip(seed=3, **kw), synth_clip(seed=4, **kw)
    assert all(np.array_equal(x, y) for x, y in zip(a.frames, b.frames))
    np.testing.assert_array_equal(a.flow, b.flow)
    assert not np.array_equal(a.frames[0], c.frames[0])
    assert not np.array_equal(a.flow, c.flow)  # another head path


def test_noise_flicker_and_grayscale():
    kw = dict(aus="12", frame_size=(96, 72), fps=50)
    clean = synth_clip(**kw)
    noisy = synth_clip(noise=3.0, **kw)
    diff = noisy.frames[0].astype(float) - clean.frames[0]
    assert diff.std() == pytest.approx(3.0, rel=0.1)
    lit = synth_clip(flicker=0.05, **kw)
    means = np.array([f.mean() for f in lit.frames]) / np.array([f.mean() for f in clean.frames])
    assert 0.02 < means.max() - means.min() < 0.11
    gray = synth_clip(grayscale=True, **kw).frames[3]
    assert np.array_equal(gray[..., 0], gray[..., 1]) and np.array_equal(gray[..., 1], gray[..., 2])


def test_emotions_map_to_prototype_aus():
    clip = synth_clip(emotion="sadness", frame_size=(96, 72), fps=50)
    assert {a.number for a in clip.aus} == {1, 4, 15} and clip.emotion == "sadness"
    assert {(a.number, a.side) for a in emotion_aus("contempt")} == {(12, "R"), (14, "R")}
    assert synth_clip(aus="1+2+5+26", frame_size=(96, 72), fps=50).emotion == "surprise"
    rng = np.random.default_rng(0)
    variants = {tuple(sorted(a.number for a in emotion_aus("disgust", rng))) for _ in range(40)}
    assert len(variants) > 2 and (9, 15, 16) in variants
    assert {a.number for a in emotion_aus("repression")} <= {14, 15, 17, 24}


def test_face_on_the_onset_is_where_a_detector_finds_it():
    base = load_base("lfw:5")
    app = Appearance(mirror=True, rotation=-6, brightness=15, blur=0.8)
    frame, face, _ = place_face(base, app, frame_size=(320, 240))
    found = detect_faces(frame)
    assert found
    err = np.linalg.norm(found[0].landmarks - face.landmarks, axis=1)
    # MTCNN on a blurred, upscaled 25-px face is itself off by ~10 % of the eye distance;
    # a landmark order or mirror mistake would be off by the whole distance
    assert err.max() < 0.25 * np.linalg.norm(face.landmarks[1] - face.landmarks[0])
    assert face.landmarks[0, 0] < face.landmarks[1, 0]  # image-left eye first after the mirror


def test_bad_options_are_config_errors():
    with pytest.raises(ConfigError, match="amplitude"):
        SynthConfig(amplitude=9)
    with pytest.raises(ConfigError, match="one frame"):
        SynthConfig(fps=5, rise=0.05)
    with pytest.raises(ConfigError, match="frame_size"):
        SynthConfig(frame_size=(16, 16))
    with pytest.raises(ConfigError, match=r"AUs \[61\] have no"):
        SynthConfig(aus="12+61")
    with pytest.raises(ConfigError, match="emotion"):
        SynthConfig(emotion="boredom")
    with pytest.raises(ConfigError, match="base"):
        load_base("lfw:100")
