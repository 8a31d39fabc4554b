"""YAML recipes, the shipped configs, and ``facscope rl sft`` → ``facscope rl train`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from facscope.errors import ConfigError, InputFileError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def test_recipe_sections_and_unknown_keys(tmp_path):
    from facscope.rl.recipe import load_recipe, recipe_from_dict

    r = recipe_from_dict({"trainer": {"output_dir": "x", "method": "grpo"}}, kind="rl")
    assert r.model.name == "tiny:qwen3_vl" and r.data.source == "synthetic" and r.lora is None
    assert recipe_from_dict({"trainer": {}}, kind="rl", output_dir=tmp_path).output_dir == tmp_path
    for raw, match in [
        ({"trainer": {"output_dir": "x"}, "optimizer": {}}, "section"),
        ({"trainer": {"output_dir": "x"}, "model": {"nmae": "x"}}, "nmae"),
        ({"trainer": {"output_dir": "x"}, "tools": {"zooms": 2}}, "zooms"),
        ({"trainer": {"output_dir": "x"}, "data": {"synthetic": {"count": 3}}}, "count"),
        ({"trainer": {"output_dir": "x"}, "lora": {"rank": 3}}, "rank"),
        ({"trainer": {"output_dir": "x"}, "data": {"source": "casme2"}}, "root"),
        ({"trainer": {"output_dir": "x"}, "model": {"dtype": "int4"}}, "dtype"),
        ({"trainer": {}}, "output_dir"),
    ]:
        with pytest.raises(ConfigError, match=match):
            recipe_from_dict(raw, kind="rl")
    with pytest.raises(InputFileError):
        load_recipe(tmp_path / "missing.yaml", kind="rl")
    bad = tmp_path / "bad.yaml"
    bad.write_text("trainer: [unclosed")
    with pytest.raises(ConfigError, match="YAML"):
        load_recipe(bad, kind="rl")


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("rl-*.yaml")), ids=lambda p: p.name)
def test_shipped_recipes_parse(path):
    from facscope.rl.recipe import load_recipe

    kind = "sft" if "sft" in path.name else "rl"
    recipe = load_recipe(path, kind=kind)
    pytest.importorskip("trl")
    from trl import SFTConfig

    from facscope.rl.trainer import UCGRPOConfig

    fields = set((UCGRPOConfig if kind == "rl" else SFTConfig).__dataclass_fields__)
    assert set(recipe.trainer) <= fields, sorted(set(recipe.trainer) - fields)


def test_shipped_accelerate_configs_are_valid_yaml():
    files = sorted(CONFIGS.glob("accelerate-*.yaml"))
    assert files
    for path in files:
        cfg = yaml.safe_load(path.read_text())
        assert cfg["distributed_type"] in {"DEEPSPEED", "MULTI_GPU", "FSDP"}
        if cfg["distributed_type"] == "DEEPSPEED":
            assert cfg["deepspeed_config"]["zero_stage"] in (2, 3)


def _write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw))
    return path


def test_cli_sft_then_train(tmp_path):
    """Cold start on expert trajectories, then UC-GRPO from the saved model, through the CLI."""
    pytest.importorskip("trl")
    pytest.importorskip("torchvision")
    from click.testing import CliRunner

    from facscope.cli.main import cli

    common = {
        "data": {
            "source": "synthetic",
            "system_prompt": "Answer.",
            "synthetic": {"n": 2, "size": 64},
        },
        "tools": {"view_size": 32, "max_zooms": 1},
    }
    device = {
        "use_cpu": True,
        "bf16": False,
        "gradient_checkpointing": False,
        "logging_steps": 1,
        "save_strategy": "no",
    }
    sft = _write(
        tmp_path / "sft.yaml",
        {
            **common,
            "model": {"name": "tiny:qwen3_vl"},
            "lora": {"r": 4, "alpha": 8},
            "trainer": {**device, "max_steps": 1, "per_device_train_batch_size": 2},
        },
    )
    runner = CliRunner()
    res = runner.invoke(
        cli, ["rl", "sft", "--config", str(sft), "--output-dir", str(tmp_path / "sft")]
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sft" / "final" / "config.json").is_file()
    assert not (tmp_path / "sft" / "final" / "adapter_config.json").exists()  # LoRA merged
    assert json.loads((tmp_path / "sft" / "recipe.json").read_text())["lora"]["r"] == 4

    rl = _write(
        tmp_path / "rl.yaml",
        {
            **common,
            "model": {"name": str(tmp_path / "sft" / "final")},
            "trainer": {
                **device,
                "method": "ucgrpo",
                "max_steps": 1,
                "per_device_train_batch_size": 2,
                "num_generations": 2,
                "max_completion_length": 8,
            },
        },
    )
    res = runner.invoke(
        cli, ["rl", "train", "--config", str(rl), "--output-dir", str(tmp_path / "rl")]
    )
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "rl" / "summary.json").read_text())
    assert summary["global_step"] == 1 and summary["method"] == "ucgrpo"
    assert "ucgrpo/zoom_rate" in summary["last_log"]
    assert (tmp_path / "rl" / "final" / "config.json").is_file()


def test_cli_reports_config_errors(tmp_path):
    from click.testing import CliRunner

    from facscope.cli.main import cli

    bad = _write(tmp_path / "bad.yaml", {"trainer": {"output_dir": str(tmp_path)}, "modle": {}})
    res = CliRunner().invoke(cli, ["rl", "train", "--config", str(bad)])
    assert res.exit_code == 1
    assert "unknown recipe section" in res.output


def test_cli_synth_writes_images_and_labels(tmp_path):
    from click.testing import CliRunner

    from facscope.cli.main import cli

    res = CliRunner().invoke(
        cli, ["rl", "synth", "--out", str(tmp_path), "-n", "3", "--size", "64"]
    )
    assert res.exit_code == 0, res.output
    lines = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert len(lines) == 3 and all((tmp_path / r["image"]).is_file() for r in lines)
    assert lines[0]["emotion"] == "happiness" and lines[0]["aus"] == [6, 12]


def test_tiny_sizes_build_a_bigger_random_model_and_are_checked():
    from facscope.rl.models import load_model
    from facscope.rl.recipe import ModelSpec

    small, _ = load_model(ModelSpec(name="tiny:qwen3_vl"))
    big, _ = load_model(ModelSpec(name="tiny:qwen3_vl", tiny={"hidden_size": 64, "num_layers": 3}))
    assert big.config.text_config.hidden_size == 64
    assert big.config.text_config.num_hidden_layers == 3
    assert sum(p.numel() for p in big.parameters()) > 2 * sum(p.numel() for p in small.parameters())
    for tiny, match in [
        ({"hidden": 64}, "hidden"),
        ({"hidden_size": 1024}, "hidden_size"),
        ({"family": "qwen2_5_vl"}, "family"),
    ]:
        with pytest.raises(ConfigError, match=match):
            ModelSpec(name="tiny:qwen3_vl", tiny=tiny)
    with pytest.raises(ConfigError, match="tiny:<family>"):
        ModelSpec(name="Qwen/Qwen3-VL-2B-Instruct", tiny={"hidden_size": 64})
