"""The registry of RL methods: every method builds by name, names its source and its one change."""

from __future__ import annotations

import math

import pytest

from facscope.errors import ConfigError
from facscope.rl.methods import RL_METHODS, RLMethod
from facscope.rl.rewards import tool_benefit_reward, tool_bonus_reward


@pytest.mark.parametrize("name", RL_METHODS.names())
def test_every_method_builds_and_names_its_source(name):
    method = RL_METHODS.create(name)
    assert isinstance(method, RLMethod) and type(method) is not RLMethod
    doc = type(method).__doc__ or ""
    source = [line.strip() for line in doc.splitlines() if line.strip().startswith("Source:")]
    assert source and len(source[0]) > len("Source: ") + 5, f"{name}: no 'Source:' line"
    assert "Change:" in doc, f"{name}: the docstring does not say what it changes"
    assert RL_METHODS.describe()[name]  # a one-line summary for listings


def test_an_unknown_method_is_a_clear_config_error():
    with pytest.raises(ConfigError, match=r"RL method must be one of \['acof', .*'deepeyes'"):
        RL_METHODS.get("deepeyes")


class _Weights:
    tool_bonus_weight = 0.25
    tool_benefit_weight = 2.0


def test_what_each_method_changes():
    changes = {
        name: (m.tools, m.zoom_credit, m.rescores, m.extra_rewards(_Weights()))
        for name, m in ((n, RL_METHODS.create(n)) for n in RL_METHODS.names())
    }
    assert changes == {
        "ucgrpo": (True, True, False, []),
        "grpo": (True, False, False, []),
        "tool_bonus": (True, False, False, [(tool_bonus_reward, 0.25)]),
        "acof": (True, False, True, []),
        "adatooler": (True, False, False, [(tool_benefit_reward, 2.0)]),
        "passive": (False, False, False, []),
    }


def test_acof_group_rule_leaves_unlabelled_groups_alone():
    acof = RL_METHODS.create("acof")
    assert acof.rescore([1.0, 0.0], [True, False]) == [1.0, 0.0]
    assert acof.rescore([0.0, 0.0], [True, False]) == [0.5, 0.0]
    assert acof.rescore([math.nan, 1.0], [True, False]) is None
    assert RL_METHODS.create("grpo").rescore([1.0, 0.0], [True, False]) is None
