"""The RL environment (the agent's tools for TRL), GRPO rows and the synthetic task."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest

from facscope.errors import ConfigError, FacscopeDataWarning


def test_env_exposes_exactly_the_still_image_tools():
    from facscope.agent.tools import FaceTools
    from facscope.rl.env import ClipFaceEnv, FaceEnv, env_tool_names

    # TRL turns every public function of the class into a tool: nothing else may be public.
    public = sorted(
        n for n, _ in inspect.getmembers(FaceEnv, inspect.isfunction) if not n.startswith("_")
    )
    assert public == ["align_face", "detect_faces", "reset", "zoom"]
    assert env_tool_names(FaceEnv) == ["align_face", "detect_faces", "zoom"]
    assert env_tool_names(ClipFaceEnv) == ["align_face", "detect_faces", "motion_map", "zoom"]
    assert FaceEnv.zoom is FaceTools.zoom  # the agent's own tool, not a copy


def test_env_records_usage_and_uses_the_known_face(synthetic_rows):
    from facscope.rl.env import env_factory

    env = env_factory(view_size=32, max_zooms=1, detector="haar")()
    row = {"prompt": [], **synthetic_rows[0]}
    assert env.reset(**row) is None
    assert env.labels["emotion"] == "fear"
    assert not env.zoomed and env.tools_used == ()
    blocks = env.zoom(region="mouth")
    assert blocks[0]["type"] == "image" and blocks[0]["image"].size[0] <= 32
    assert env.zoomed and env.tools_used == ("zoom",)
    assert env.faces[0].box.to_list() == pytest.approx(
        row["face_box"], abs=0.01
    )  # no detection ran
    error = env.zoom(region="mouth")  # over the cap: an error message, not an exception
    assert error[0]["text"].startswith("Error:") and env.zoom_count == 1 and env.error_count == 1
    env.reset(**synthetic_rows[1])  # a new rollout forgets everything
    assert not env.zoomed and env.records == []


def test_env_rejects_bad_face_geometry(synthetic_rows):
    from facscope.rl.env import FaceEnv

    with pytest.raises(ConfigError, match="face_box"):
        FaceEnv().reset(image=synthetic_rows[0]["image"], face_box=[1, 2, 3], face_landmarks=None)


def test_rl_rows_from_dicts_and_samples(synthetic_rows, tmp_path):
    from facscope.data.sample import Sample
    from facscope.facs import parse_aus
    from facscope.rl.data import rl_dataset, rl_rows

    path = tmp_path / "face.png"
    synthetic_rows[1]["image"].save(path)
    samples = [
        Sample(
            dataset="x",
            subject="1",
            sample_id="a",
            image=path,
            aus=parse_aus("6+12"),
            label="happiness",
        ),
        Sample(dataset="x", subject="1", sample_id="b", image=path, aus=(), label=None),
        Sample(dataset="x", subject="1", sample_id="c", frames_dir=tmp_path, label="fear"),
    ]
    with pytest.warns(FacscopeDataWarning, match="clip"):
        rows = rl_rows(
            [*samples, {"image": synthetic_rows[0]["image"], "aus": "1+2", "emotion": "Scared"}]
        )
    assert len(rows) == 3  # the clip is skipped
    assert rows[0]["aus"] == [6, 12] and rows[0]["emotion"] == "happiness"
    assert rows[1]["aus"] is None and rows[1]["emotion"] is None  # not annotated
    assert rows[2]["aus"] == [1, 2] and rows[2]["emotion"] == "fear"
    assert [m["role"] for m in rows[0]["prompt"]] == ["system", "user"]
    assert "zoom" in rows[0]["prompt"][0]["content"]  # the agent's own system prompt
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ConfigError, match="clip"):
            rl_rows(samples[2:], strict=True)
    ds = rl_dataset(rows)
    assert ds[1]["aus"] is None and ds[0]["aus"] == [6, 12]
    assert ds[0]["image"].size == synthetic_rows[1]["image"].size


def test_passive_rows_show_the_aligned_face(synthetic_rows):
    from facscope.agent.tools import ToolsConfig
    from facscope.rl.data import rl_rows

    rows = rl_rows(synthetic_rows[:1], passive=True, tools_config=ToolsConfig(view_size=48))
    assert rows[0]["image"].size == (48, 48)
    assert "face_box" not in rows[0]
    assert "inspect the face" not in rows[0]["prompt"][1]["content"]  # passive task wording


def test_rl_rows_need_images():
    from facscope.rl.data import rl_rows

    with pytest.raises(ConfigError, match="image"):
        rl_rows([{"aus": [1]}])
    with pytest.raises(ConfigError, match="no usable rows"):
        rl_rows([])


# --------------------------------------------------------------------------- synthetic task


def test_synthetic_faces_are_reproducible_and_labelled():
    from facscope.facs import EMOTION_PROTOTYPES
    from facscope.rl.synthetic import SyntheticConfig, synthetic_faces

    cfg = SyntheticConfig(n=6, size=96)
    a, b = list(synthetic_faces(cfg)), list(synthetic_faces(cfg))
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))
    assert [f.emotion for f in a] == list(cfg.emotions)
    for f in a:
        assert f.image.shape == (96, 96, 3) and f.image.dtype == np.uint8
        assert set(f.aus) == EMOTION_PROTOTYPES[f.emotion][0]
        assert f.subtle == (f.emotion in cfg.subtle)
    other = next(synthetic_faces(SyntheticConfig(n=1, size=96, seed=1)))
    assert not np.array_equal(other.image, a[0].image)


def test_subtle_cues_vanish_at_the_global_view_but_not_in_a_zoom():
    """The task's premise: a subtle face differs from its neutral version at full resolution,
    hardly at the 4×-downscaled global view; an obvious one differs clearly at both."""
    import cv2

    from facscope.rl.synthetic import render_face

    def diff(aus, amplitude, fine, shrink):
        rng1, rng2 = np.random.default_rng(3), np.random.default_rng(3)
        face, _ = render_face(aus, amplitude=amplitude, fine=fine, rng=rng1)
        neutral, _ = render_face(set(), amplitude=amplitude, fine=fine, rng=rng2)
        if shrink:
            face = cv2.resize(face, (64, 64), interpolation=cv2.INTER_AREA)
            neutral = cv2.resize(neutral, (64, 64), interpolation=cv2.INTER_AREA)
        return np.abs(face.astype(float) - neutral).max()

    sad = {1, 4, 15}
    assert diff(sad, 0.2, True, shrink=False) > 2 * diff(sad, 0.2, True, shrink=True)
    assert diff(sad, 1.0, False, shrink=True) > 2 * diff(sad, 0.2, True, shrink=True)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n": 0},
        {"size": 32},
        {"emotions": ("joy",)},
        {"subtle": ("contempt",)},
        {"subtle_amplitude": 0},
    ],
)
def test_synthetic_config_checks(kwargs):
    from facscope.rl.synthetic import SyntheticConfig

    with pytest.raises(ConfigError):
        SyntheticConfig(**kwargs)


def test_synthetic_rows_have_known_geometry(synthetic_rows):
    row = synthetic_rows[0]
    x1, y1, x2, y2 = row["face_box"]
    lm = np.asarray(row["face_landmarks"])
    assert lm.shape == (5, 2)
    assert (
        (lm[:, 0] > x1).all()
        and (lm[:, 0] < x2).all()
        and (lm[:, 1] > y1).all()
        and (lm[:, 1] < y2).all()
    )
    assert lm[0, 0] < lm[1, 0]  # image-left eye first


def test_an_rl_env_never_offers_a_hidden_tool_even_when_configured():
    from facscope.agent.tools import tool_methods
    from facscope.rl.env import FaceEnv

    env = FaceEnv(measure_tool=True)
    assert [m.__name__ for m in tool_methods(env)] == ["detect_faces", "align_face", "zoom"]
