"""Head/camera motion on hand-held clips: a real face moved by a known camera motion plus a known
local AU motion. After the global registration and the nose window, the still parts of the crop
(face and background) stay still and the AU region keeps the motion it has on a still camera."""

from __future__ import annotations

import numpy as np
import pytest

from facscope.motion.clip import Clip, align_frame
from facscope.motion.compensate import face_mask
from facscope.motion.pipeline import MotionConfig, analyse_clip, analyse_pair

#: Stated bound: mean residual flow (aligned-crop pixels, 256 px) where nothing moved.
STILL_RESIDUAL_PX = 0.1
#: The AU region's mean motion stays within this fraction of its still-camera measurement.
AU_KEPT = 0.2


def camera(shape: tuple[int, ...], tx: float, ty: float, deg: float, zoom: float) -> np.ndarray:
    """A 2×3 camera motion about the frame centre (continuous pixel coordinates)."""
    h, w = shape[:2]
    c = np.array([w / 2, h / 2])
    th = np.radians(deg)
    a = zoom * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    return np.hstack([a, (c + np.array([tx, ty]) - a @ c)[:, None]])


def then(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The 2×3 motion ``second ∘ first``."""
    return (np.vstack([second, [0, 0, 1]]) @ np.vstack([first, [0, 0, 1]]))[:2]


def shoot(
    image: np.ndarray, m: np.ndarray, au: np.ndarray | None = None, *, noise: float = 1.0
) -> np.ndarray:
    """What a camera moved by ``m`` sees of ``image`` whose face moved by ``au`` (frame pixels):
    content at p goes to M·(p + au(p)), rendered in one resampling, plus independent sensor
    noise (σ gray levels), so no two frames share their interpolation artefacts."""
    from facscope.synth.demo import warp_by_flow

    h, w = image.shape[:2]
    gx, gy = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    p = np.stack([gx, gy], -1)
    if au is not None:
        p = p + au
    moved = p @ m[:, :2].T + m[:, 2]
    out = warp_by_flow(image, (moved - np.stack([gx, gy], -1)).astype(np.float32))
    seed = int(abs(m).sum() * 1e4 + (0 if au is None else abs(au).sum())) % 2**32
    grain = np.random.default_rng(seed).normal(0, noise, out.shape)
    return np.clip(out + grain, 0, 255).astype(np.uint8)


def _lfw_face() -> np.ndarray:
    import cv2
    from skimage import data

    face = (data.lfw_subset()[20] * 255).astype(np.uint8)
    face = cv2.resize(face, (200, 200), interpolation=cv2.INTER_CUBIC)
    return cv2.copyMakeBorder(np.dstack([face] * 3), 60, 60, 60, 60, cv2.BORDER_REFLECT101)


def _astronaut() -> np.ndarray:
    from facscope.embedded import default_image

    return default_image()


@pytest.fixture(scope="module", params=["astronaut", "lfw"])
def scene(request):
    """(image, true AU12 flow of the image, onset camera, true AU flow in onset pixels)."""
    from facscope.face import detect_faces
    from facscope.synth.fields import ExpressionField
    from facscope.synth.render import frame_field

    img = _astronaut() if request.param == "astronaut" else _lfw_face()
    face = detect_faces(img)[0]
    d, (x0, y0) = frame_field(img.shape, face, ExpressionField(aus=(12,), amplitude=3.0))
    au = np.zeros((*img.shape[:2], 2), np.float32)
    au[y0 : y0 + d.shape[0], x0 : x0 + d.shape[1]] = d
    # the onset is a (sub-pixel) camera view too, so both frames are resampled alike
    p0 = camera(img.shape, 0.4, 0.3, 0.0, 1.0)
    import cv2

    au_onset = cv2.warpAffine(au, p0, au.shape[1::-1])  # OpenCV applies the inverse: au(P0⁻¹x)
    return img, au, p0, au_onset


#: Frame pixels from the edge a camera motion of HANDHELD can bring into view (content a
#: synthetic camera invents there is not the scene, so those crop pixels are not compared).
EDGE_PX = 24


def _regions(al, au_frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Crop masks: the AU region, the still face and the still background (scene pixels)."""
    truth = al.vectors_from_source(al.sample_source_field(au_frame))
    mag = np.hypot(truth[..., 0], truth[..., 1])
    h, w = au_frame.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    inside = np.minimum(np.minimum(xx, w - 1 - xx), np.minimum(yy, h - 1 - yy)) >= EDGE_PX
    scene = al.sample_source_field(inside.astype(np.float32)) > 0.999
    still = (mag < 0.01) & scene
    fm = face_mask(al.size)
    assert (still & ~fm).sum() > 1000  # the crop shows some background
    return mag > 0.5 * mag.max(), still & fm, still & ~fm


HANDHELD = [(5.0, -8.0, 0.0, 1.0), (3.0, -6.0, 2.0, 1.0), (4, -7, 2, 1.03)]


@pytest.mark.parametrize("motion", HANDHELD, ids=["diag", "rot2", "rot2zoom3"])
def test_still_parts_stay_still_and_the_au_keeps_its_motion(scene, motion):
    img, au, p0, au_onset = scene
    onset = shoot(img, p0)
    al = align_frame(onset, size=256)
    au_region, still_face, still_bg = _regions(al, au_onset)
    cfg = MotionConfig(global_model="similarity")  # what motion/analyze use on a video file
    still_cam = analyse_pair(onset, shoot(img, p0, au), config=cfg, alignment=al)
    reference = still_cam.flow[au_region].mean(0)
    res = analyse_pair(
        onset, shoot(img, then(p0, camera(img.shape, *motion)), au), config=cfg, alignment=al
    )
    mag = np.hypot(res.flow[..., 0], res.flow[..., 1])
    assert mag[still_face].mean() < STILL_RESIDUAL_PX
    assert mag[still_bg].mean() < STILL_RESIDUAL_PX
    kept = res.flow[au_region].mean(0)
    assert kept[1] < 0  # lip corners still move up
    assert np.linalg.norm(kept - reference) < AU_KEPT * np.linalg.norm(reference)
    assert res.compensation.registered
    # the recorded global motion is the camera's, seen in the crop: it moves the nose tip
    # by about the camera's translation times the crop scale
    m = res.compensation.global_matrix
    nose = np.array([*al.nose_tip, 1.0])
    assert np.linalg.norm(m @ nose - nose[:2]) > 0.5 * np.hypot(*motion[:2]) * al.scale


def test_the_nose_window_alone_leaves_a_handheld_frame_moving(scene):
    """Without the global model (MELLM's rule alone) the same clip is coloured everywhere."""
    img, au, p0, au_onset = scene
    onset = shoot(img, p0)
    al = align_frame(onset, size=256)
    _, _, still_bg = _regions(al, au_onset)
    apex = shoot(img, then(p0, camera(img.shape, 3.0, -6.0, 2.0, 1.0)), au)
    res = analyse_pair(
        onset, apex, config=MotionConfig(global_model=None, flow="dis"), alignment=al
    )
    mag = np.hypot(res.flow[..., 0], res.flow[..., 1])
    assert mag[still_bg].mean() > 10 * STILL_RESIDUAL_PX
    assert not res.compensation.registered
    assert res.to_dict()["compensation"]["global_matrix"] is None


def test_a_shaking_clip_keeps_its_apex_and_its_au(scene):
    """Per-frame camera shake plus an AU rising to the apex and falling: the spotted apex is
    the true one and the onset → apex field is still outside the AU."""
    img, au, p0, au_onset = scene
    rng = np.random.default_rng(0)
    gains = [0.0, 0.3, 0.6, 0.85, 1.0, 0.8, 0.5, 0.3]
    frames = [shoot(img, p0)]
    for g in gains[1:]:
        shake = camera(img.shape, *rng.uniform(-4, 4, 2), rng.uniform(-1, 1), 1.0)
        frames.append(shoot(img, then(p0, shake), au * g))
    res = analyse_clip(
        Clip.from_frames(frames, fps=30), config=MotionConfig(flow="dis", global_model="similarity")
    )
    assert (res.apex, res.apex_rule) == (4, "max-motion")
    _, still_face, still_bg = _regions(res.alignment, au_onset)
    mag = np.hypot(res.flow[..., 0], res.flow[..., 1])
    assert mag[still_face].mean() < 2 * STILL_RESIDUAL_PX  # DIS is noisier than TV-L1
    assert mag[still_bg].mean() < 2 * STILL_RESIDUAL_PX


def test_motion_registers_by_default_on_a_video_file_only(scene, tmp_path, write_frames):
    """``--global-model auto``: similarity for a video file (hand-held footage), MELLM's nose
    window alone for a frame folder (lab clips, datasets)."""
    import json

    from click.testing import CliRunner

    from facscope.cli.main import cli
    from facscope.io import write_video
    from facscope.motion.pipeline import default_global_model

    img, au, p0, _ = scene
    frames = [shoot(img, p0), shoot(img, then(p0, camera(img.shape, 3.0, -6.0, 2.0, 1.0)), au)]
    video = write_video(tmp_path / "hand.mkv", frames, fps=30)
    folder = tmp_path / "frames"
    write_frames(folder, frames)
    assert default_global_model(video) == "similarity"
    assert default_global_model(folder) is None and default_global_model("<memory>") is None
    for path, model in ((video, "similarity"), (folder, None)):
        args = ["motion", str(path), "--apex", "1" if path == video else "2", "--flow", "dis"]
        res = CliRunner().invoke(cli, [*args, "--json", "-o", str(tmp_path / "m.png")])
        assert res.exit_code == 0, res.output
        comp = json.loads(res.output)["compensation"]
        assert comp["global_model"] == model and comp["registered"] == (model is not None)
