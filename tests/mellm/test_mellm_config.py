"""The SFT run config: YAML loading, unknown keys, checks, the shipped recipes."""

from __future__ import annotations

from pathlib import Path

import pytest

from facscope.errors import ConfigError
from facscope.mellm.config import (
    LoraSection,
    SplitSection,
    load_sft_config,
    sft_config_from_dict,
)

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_yaml_with_nested_sections(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text(
        "data: build\noutput_dir: out\nmodel: tiny:qwen2_5_vl\ntiny: {hidden_size: 32}\n"
        "lora: {r: 4, target_modules: [q_proj, v_proj]}\nsplit: {protocol: loso, fold: 1}\n"
        "min_pixels: 1024\nmax_pixels: 4096\nlearning_rate: 0.001\n"
    )
    cfg = load_sft_config(path, max_steps=5)
    assert cfg.lora == LoraSection(r=4, target_modules=("q_proj", "v_proj"))
    assert cfg.split == SplitSection(protocol="loso", fold=1)
    assert (cfg.max_steps, cfg.min_pixels, cfg.learning_rate) == (5, 1024, 0.001)
    full = sft_config_from_dict({"data": "b", "output_dir": "o", "model": "m", "lora": None})
    assert full.lora is None  # full fine-tuning


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"data": "b", "output_dir": "o", "model": "m", "epoch": 1}, "unknown key.*epoch"),
        (
            {"data": "b", "output_dir": "o", "model": "m", "lora": {"rank": 4}},
            r"config\.lora: unknown key.*rank",
        ),
        (
            {"data": "b", "output_dir": "o", "model": "m", "split": {"folds": 3}},
            r"config\.split: unknown key.*folds",
        ),
        ({"data": "b", "output_dir": "o", "model": "m", "task": "chat"}, "task"),
        (
            {"data": "b", "output_dir": "o", "model": "m", "min_pixels": 10, "max_pixels": 5},
            "min_pixels",
        ),
        ({"data": "b", "output_dir": "o", "model": "tiny:llava"}, "family"),
        ({"data": "b", "output_dir": "o", "model": "m", "tiny": {"hidden_size": 4}}, "tiny"),
        (
            {"data": "b", "output_dir": "o", "model": "tiny:qwen3_vl", "tiny": {"hidden_size": 4}},
            "hidden_size",
        ),
        (
            {"data": "b", "output_dir": "o", "model": "tiny:qwen3_vl", "tiny": {"hiden_size": 64}},
            "hiden_size",
        ),
        (
            {
                "data": "b",
                "output_dir": "o",
                "model": "m",
                "split": {"protocol": "kfold", "k": 3, "fold": 3},
            },
            "fold",
        ),
        ({"data": "b", "output_dir": "o", "model": "m", "warmup_ratio": 2}, "warmup"),
        ({"output_dir": "o", "model": "m"}, "data"),
        ({"data": "b", "output_dir": "o"}, "model"),
    ],
)
def test_bad_configs_are_errors(values, match):
    with pytest.raises(ConfigError, match=match):
        sft_config_from_dict(values)


@pytest.mark.parametrize("name", ["mellm-cpu-tiny.yaml", "mellm-1gpu.yaml", "mellm-multi-gpu.yaml"])
def test_shipped_recipes_load(name):
    cfg = load_sft_config(CONFIGS / name)
    assert cfg.split.protocol in ("kfold", "loso")  # every recipe holds out test subjects


@pytest.mark.parametrize("name", ["mellm-synth-experiment.yaml", "mellm-synth-experiment-cpu.yaml"])
def test_shipped_experiments_load(name):
    from facscope.mellm.experiment import load_experiment

    out, synth, _build, _pred, cfg = load_experiment(CONFIGS / name)
    assert cfg.model.startswith("tiny:") and cfg.lora is None  # trained from scratch
    assert cfg.split.protocol == "kfold" and synth["subjects"] >= 8
    assert cfg.data == str(out / "build")


def test_experiment_config_rejects_unknown_keys():
    from facscope.mellm.experiment import load_experiment

    with pytest.raises(ConfigError, match="subject"):
        load_experiment({"output_dir": "x", "synth": {"subject": 3}, "train": {"model": "m"}})
    with pytest.raises(ConfigError, match="unknown key"):
        load_experiment({"output_dir": "x", "trian": {}})


def test_a_finished_build_is_reused_without_the_frames(tmp_path):
    """A build made elsewhere (only truth.json beside it) is used as is when its options match;
    with other options the dataset would have to be written again, and the folder refuses."""
    import json

    from facscope.mellm.build import BuildConfig
    from facscope.mellm.experiment import prepare_data
    from facscope.motion.pipeline import MotionConfig

    build = {"mode": "colormap", "size": 128, "image_size": 64, "flow": "tvl1", "seed": 0}
    done = BuildConfig(mode="colormap", seed=0, image_size=64,
                       motion=MotionConfig(size=128, flow="tvl1", face="detect"))  # fmt: skip
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "truth.json").write_text("{}")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "mevqa.jsonl").write_text("")
    counts = {"records": 7, "computed": 0, "cached": 7, "failed": 1, "skipped": 0}
    (tmp_path / "build" / "build.json").write_text(
        json.dumps({"config": done.to_dict(), "counts": counts})
    )
    synth = {"layout": "casme2", "subjects": 2, "clips_per_subject": 1}
    assert prepare_data(tmp_path, synth, build, progress=False) == {"records": 7, "failed": 1}
    with pytest.raises(ConfigError, match="holds no synthetic dataset"):
        prepare_data(tmp_path, synth, {**build, "seed": 1}, progress=False)
