"""Run and grid configs: YAML in, overrides, unknown keys refused, resolved config out."""

from __future__ import annotations

import pytest
import yaml

from facscope.errors import ConfigError, InputFileError
from facscope.mer.config import GridConfig, TrainConfig, config_to_dict, load_config


def write(tmp_path, text: str):
    p = tmp_path / "c.yaml"
    p.write_text(text)
    return p


def test_yaml_then_overrides_with_none_ignored(tmp_path):
    p = write(tmp_path, "model: off_apexnet\nepochs: 7\nclasses: [a, b]\nfolds: [0, 2]\n")
    cfg = load_config(p, epochs=3, lr=None, seed=5)
    assert cfg.model == "off_apexnet" and cfg.epochs == 3 and cfg.seed == 5
    assert cfg.lr == TrainConfig().lr  # None keeps the file/default value
    assert cfg.classes == ("a", "b") and cfg.folds == (0, 2)


def test_unknown_keys_are_errors_naming_the_valid_ones(tmp_path):
    p = write(tmp_path, "modle: ststnet\n")
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['modle'\].*valid keys"):
        load_config(p)
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(None, nope=1)


def test_config_is_frozen_and_checked():
    cfg = TrainConfig()
    with pytest.raises(AttributeError):
        cfg.epochs = 3  # type: ignore[misc]
    with pytest.raises(TypeError):
        TrainConfig("csv")  # type: ignore[misc]  # keyword-only
    for kw, match in [
        ({"model": "resnet50"}, "model must be one of"),
        ({"sampling": "random"}, "sampling strategy must be one of"),
        ({"imbalance": "smote"}, "imbalance method must be one of"),
        ({"selection": "test"}, "selection must be one of"),
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"jitter": -0.1}, "jitter"),
        ({"val_subjects": 1.5}, "val_subjects"),
        ({"classes": ("a",)}, "classes"),
        ({"mixed_precision": "fp8"}, "mixed_precision"),
    ]:
        with pytest.raises(ConfigError, match=match):
            TrainConfig(**kw)


def test_resolved_config_round_trips_through_yaml(tmp_path):
    cfg = TrainConfig(model="r3d_18", frames=8, classes=("x", "y"), data_options={"k": 1})
    text = yaml.safe_dump(config_to_dict(cfg))
    p = write(tmp_path, text)
    assert load_config(p) == cfg
    assert cfg.replace(epochs=2).epochs == 2 and cfg.replace(epochs=2).model == "r3d_18"
    with pytest.raises(ConfigError, match="unknown key"):
        cfg.replace(bogus=1)


def test_bad_files(tmp_path):
    with pytest.raises(InputFileError, match="no such config"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(write(tmp_path, "a: [1, 2"))
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, "- 1\n- 2\n"))


def test_grid_config_sections_and_overrides(tmp_path):
    p = write(
        tmp_path,
        "models: [ststnet, s3d]\nsamplings: [uniform, triplet]\nseeds: [0, 1]\n"
        "overrides: {s3d: {size: 224}}\ntrain: {epochs: 4, data: csv}\n",
    )
    g = load_config(p, kind="grid", output_dir="out", lr=0.01)
    assert isinstance(g, GridConfig)
    assert g.models == ("ststnet", "s3d") and g.seeds == (0, 1) and g.output_dir == "out"
    assert g.train.epochs == 4 and g.train.lr == 0.01
    subset = load_config(
        write(tmp_path, "models: [ststnet]\noverrides: {s3d: {size: 224}}\n"), kind="grid"
    )  # a grid cut to a subset keeps the others' overrides, unused
    assert subset.models == ("ststnet",)
    with pytest.raises(ConfigError, match="not a registered model"):
        load_config(
            write(tmp_path, "models: [ststnet]\noverrides: {s3dd: {size: 1}}\n"), kind="grid"
        )
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(
            write(tmp_path, "models: [ststnet]\noverrides: {ststnet: {sise: 1}}\n"), kind="grid"
        )
    with pytest.raises(ConfigError, match="empty"):
        load_config(write(tmp_path, "models: []\n"), kind="grid")
    with pytest.raises(ConfigError, match="unknown key"):
        load_config(write(tmp_path, "train: {epoch: 3}\n"), kind="grid")


@pytest.mark.parametrize("name", ["mer-dfme.yaml", "mer-grid-dfme.yaml", "mer-synth-cpu.yaml"])
def test_shipped_configs_load(name):
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "configs" / name
    kind = "grid" if "grid" in name or "synth" in name else "train"
    cfg = load_config(path, kind=kind)
    if kind == "grid":
        assert cfg.models and cfg.train.data == "dfme"
    else:
        assert cfg.model == "r3d_18" and cfg.selection == "val"
