from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from facscope.config import build_config, config_to_dict, read_yaml
from facscope.errors import ConfigError, InputFileError


@dataclass(frozen=True, kw_only=True)
class Inner:
    rate: float = 0.1
    sizes: tuple[int, ...] = (1, 2)


@dataclass(frozen=True, kw_only=True)
class Outer:
    name: str
    inner: Inner = field(default_factory=Inner)
    maybe: Inner | None = None
    path: Path = Path("runs")


def test_build_nested_lists_to_tuples_and_back(tmp_path):
    cfg = build_config(Outer, {"name": "x", "inner": {"sizes": [3, 4]}, "maybe": {"rate": 0.5}})
    assert cfg.inner == Inner(sizes=(3, 4)) and cfg.maybe == Inner(rate=0.5)
    plain = config_to_dict(cfg)
    assert plain == {
        "name": "x",
        "inner": {"rate": 0.1, "sizes": [3, 4]},
        "maybe": {"rate": 0.5, "sizes": [1, 2]},
        "path": "runs",
    }
    assert build_config(Outer, plain) == cfg.__class__(**{**cfg.__dict__, "path": "runs"})


def test_unknown_and_missing_keys_are_config_errors():
    with pytest.raises(
        ConfigError,
        match=r"recipe.inner: unknown key\(s\) \['rte'\]; valid keys are \['rate', 'sizes'\]",
    ):
        build_config(Outer, {"name": "x", "inner": {"rte": 1}}, "recipe")
    with pytest.raises(ConfigError, match="config: .*name"):
        build_config(Outer, {})
    with pytest.raises(ConfigError, match="must be a mapping"):
        build_config(Outer, ["name"])  # type: ignore[arg-type]


def test_read_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("name: x\ninner:\n  sizes: [5]\n")
    assert read_yaml(p) == {"name": "x", "inner": {"sizes": [5]}}
    p.write_text("")
    assert read_yaml(p) == {}
    p.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="top level must be a mapping"):
        read_yaml(p)
    p.write_text("a: [1,\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_yaml(p)
    with pytest.raises(InputFileError, match="no such config file"):
        read_yaml(tmp_path / "missing.yaml")
