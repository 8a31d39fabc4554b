"""load_vlm's names and switches, the tiny tokenizer's corpus, and the backend registry."""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import pytest

from facscope.errors import ConfigError, FacscopeDeprecationWarning, InputFileError
from facscope.vlm.loading import canonical_model_name, load_vlm, tiny_family

VLM = Path(__file__).parents[2] / "src" / "facscope" / "vlm"


def test_tiny_names_and_their_deprecated_spellings():
    assert tiny_family("tiny:qwen3_vl") == "qwen3_vl"
    assert tiny_family("tiny:qwen2_5_vl") == "qwen2_5_vl"
    assert tiny_family("Qwen/Qwen3-VL-2B-Instruct") is None
    with pytest.raises(ConfigError, match="family"):
        tiny_family("tiny:llama")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert canonical_model_name("tiny:qwen3_vl") == "tiny:qwen3_vl"
    with pytest.warns(FacscopeDeprecationWarning, match="tiny:qwen3_vl"):
        assert canonical_model_name("tiny-random") == "tiny:qwen3_vl"
    with pytest.warns(FacscopeDeprecationWarning, match="tiny:qwen2_5_vl"):
        assert canonical_model_name("tiny-random-qwen2_5_vl") == "tiny:qwen2_5_vl"


def test_rl_recipe_keeps_the_old_names_working():
    from facscope.rl.recipe import ModelSpec, recipe_from_dict

    assert ModelSpec().allow_download is False
    with pytest.warns(FacscopeDeprecationWarning, match="allow_download"):
        raw = {"model": {"local_files_only": False}}
        recipe = recipe_from_dict(raw, kind="rl", output_dir="unused")
    assert recipe.model.allow_download is True
    assert "local_files_only" not in recipe.model.__dataclass_fields__
    with pytest.warns(FacscopeDeprecationWarning, match="deprecated"):
        spec = ModelSpec(name="tiny-random", tiny={"hidden_size": 64})
    assert spec.name == "tiny:qwen3_vl"


def test_mellm_config_accepts_the_old_tiny_name():
    from facscope.mellm.config import sft_config_from_dict

    with pytest.warns(FacscopeDeprecationWarning):
        cfg = sft_config_from_dict({"data": "d", "output_dir": "o", "model": "tiny-random"})
    assert cfg.model == "tiny:qwen3_vl"


def test_load_vlm_builds_tiny_models_and_never_downloads(tmp_path):
    pytest.importorskip("transformers")
    model, processor = load_vlm("tiny:qwen2_5_vl", tiny={"hidden_size": 16, "num_heads": 2})
    assert model.config.model_type == "qwen2_5_vl" and processor.tokenizer is not None
    with pytest.raises(ConfigError, match="tiny"):
        load_vlm("some/model", tiny={"hidden_size": 16})
    with pytest.raises(InputFileError, match="no such model directory"):
        load_vlm(tmp_path / "nope")
    with pytest.raises(InputFileError, match="allow_download"):
        load_vlm("facscope-test/no-such-model-xyz")


def test_tiny_corpus_is_the_agents_text():
    """The stored corpus is what the agent writes and reads today (regenerate it on purpose)."""
    from facscope.agent.prompts import au_guide, render_tool_section, system_prompt, task_prompt
    from facscope.agent.schema import tool_schemas
    from facscope.agent.tools import FaceTools, tool_methods
    from facscope.facs import EMOTIONS
    from facscope.vlm.corpus import TINY_CORPUS
    from facscope.vlm.tiny import tokenizer_corpus

    tools = FaceTools()
    tools.onset = object()  # expose motion_map's schema too
    schemas = tool_schemas(tool_methods(tools))
    agent_texts = [
        system_prompt(tools=True, clip=True),
        system_prompt(tools=False),
        task_prompt(),
        au_guide(),
        render_tool_section(schemas),
        " ".join(EMOTIONS),
    ]
    assert list(TINY_CORPUS[: len(agent_texts)]) == agent_texts
    assert tokenizer_corpus() == list(TINY_CORPUS) * 4


def test_list_backends_is_a_sorted_list_and_describe_gives_help():
    from facscope.vlm import BACKENDS, list_backends

    names = list_backends()
    assert isinstance(names, list) and names == sorted(names)
    assert {"openai", "transformers"} <= set(names)
    assert set(BACKENDS.describe()) == set(list_backends())


def test_vlm_imports_nothing_above_it():
    """vlm sits below agent, rl, mellm, mer and cli, and never uses the test doubles."""
    above = ("facscope.agent", "facscope.rl", "facscope.mellm", "facscope.mer", "facscope.cli")
    for path in VLM.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                assert not name.startswith((*above, "facscope.testing")), f"{path}: {name}"
