"""AU-grounded rewards on tables of examples, and their TRL-facing wrappers."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from facscope.errors import ConfigError
from facscope.rl.rewards import (
    RewardWeights,
    au_f1,
    au_reward,
    completion_text,
    emotion_reward,
    emotion_score,
    format_reward,
    format_score,
    gold_aus,
    region_agreement,
    region_reward,
    reward_functions,
    tool_benefit_reward,
    tool_bonus_reward,
    tool_failures,
)

AU_F1_TABLE = [
    ({6, 12}, {6, 12}, 1.0),
    ({12}, {6, 12}, 2 * 1 / 3),
    ({1, 2}, {6, 12}, 0.0),
    (set(), set(), 1.0),  # annotated neutral face, nothing predicted
    ({12}, set(), 0.0),
    (set(), {12}, 0.0),
    ({1, 2, 4, 5}, {1, 2, 5, 26}, 2 * 3 / 8),
    (None, {12}, 0.0),  # malformed answer
    ({12}, None, None),  # no AU labels: not applicable
]


@pytest.mark.parametrize(("pred", "gold", "expected"), AU_F1_TABLE)
def test_au_f1(pred, gold, expected):
    got = au_f1(pred, gold)
    assert got == (None if expected is None else pytest.approx(expected))


REGION_TABLE = [
    ({15}, {12}, 1.0),  # wrong AU, right region (mouth): evidence still rewarded
    ({12}, {6, 12}, 2 * 1 / 3),  # mouth vs {cheeks, mouth}
    ({1, 4}, {2}, 1.0),  # all brows
    ({9}, {12}, 0.0),  # nose vs mouth
    (set(), set(), 1.0),
    ({53}, set(), 1.0),  # head code: no region, ignored
    (None, {1}, 0.0),
    ({1}, None, None),
]


@pytest.mark.parametrize(("pred", "gold", "expected"), REGION_TABLE)
def test_region_agreement(pred, gold, expected):
    got = region_agreement(pred, gold)
    assert got == (None if expected is None else pytest.approx(expected))


EMOTION_TABLE = [
    ("happiness", "happiness", 1.0),
    ("happiness", "Happy", 1.0),  # label synonym
    ("fear", "scared", 1.0),
    ("Scared", "fear", 1.0),  # prediction synonym
    ("sadness", "happiness", 0.0),
    (None, "anger", 0.0),
    ("anger", None, None),
    ("anger", "unknown", None),  # a non-emotion label is no label
]


@pytest.mark.parametrize(("pred", "gold", "expected"), EMOTION_TABLE)
def test_emotion_score(pred, gold, expected):
    assert emotion_score(pred, gold) == expected


@pytest.mark.parametrize(
    ("status", "failures", "expected"),
    [
        ("ok", 0, 1.0),
        ("repaired", 0, 0.5),
        ("ok", 2, 0.5),
        ("repaired", 1, 0.25),
        ("failed", 0, 0.0),
    ],
)
def test_format_score(status, failures, expected):
    assert format_score(status=status, tool_failures=failures) == expected


def test_format_score_rejects_unknown_status():
    with pytest.raises(ConfigError):
        format_score(status="great")


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("6+12", frozenset({6, 12})),
        ("R12A+L14", frozenset({12, 14})),
        ([1, 2, 5], frozenset({1, 2, 5})),
        ([], frozenset()),
        ("", None),
        (None, None),
        (math.nan, None),
    ],
)
def test_gold_aus(cell, expected):
    assert gold_aus(cell) == expected


def test_reward_weights():
    assert RewardWeights().as_list() == [0.5, 1.0, 0.5, 1.0]
    with pytest.raises(ConfigError, match="au"):
        RewardWeights(au=-1.0)
    funcs, weights = reward_functions(RewardWeights(format=0.0), extra=[(tool_bonus_reward, 0.3)])
    assert [f.__name__ for f in funcs] == [
        "format_reward",
        "au_reward",
        "region_reward",
        "emotion_reward",
        "tool_bonus_reward",
    ]
    assert weights == [0.0, 1.0, 0.5, 1.0, 0.3]


# --------------------------------------------------------------------------- TRL wrappers


def _call(name, args):
    return {"type": "function", "function": {"name": name, "arguments": args}}


def _rollout(final: str, *, tool_texts=(), bad_call_text=False):
    """A conversational completion as TRL builds it: assistant/tool turns, then the final text."""
    messages = []
    for text in tool_texts:
        messages.append(
            {"role": "assistant", "content": "", "tool_calls": [_call("zoom", {"region": "mouth"})]}
        )
        messages.append(
            {"role": "tool", "name": "zoom", "content": [{"type": "text", "text": text}]}
        )
    if bad_call_text:
        messages.append({"role": "assistant", "content": '<tool_call>{"name": zoom</tool_call>'})
    messages.append({"role": "assistant", "content": final})
    return messages


GOOD = 'The lip corners rise. <answer>{"aus": [6, 12], "emotion": "happiness"}</answer>'
PARTIAL = '<answer>{"aus": [12], "emotion": "happy"}</answer>'  # synonym → repaired
WRONG = '<answer>{"aus": [1, 4, 15], "emotion": "sadness"}</answer>'
BROKEN = '<answer>{"aus": [6, 12], "emotion": }</answer>'
NO_TAGS = "I think the person is happy."


def test_trl_rewards_on_a_batch():
    completions = [
        _rollout(GOOD, tool_texts=["Zoom on mouth"]),
        _rollout(PARTIAL),
        _rollout(WRONG, tool_texts=["Error: unknown region 'lips'"]),
        _rollout(BROKEN),
        _rollout(NO_TAGS, bad_call_text=True),
        GOOD,  # a plain-text completion (no chat format) works too
    ]
    cols = {"aus": ["6+12"] * 6, "emotion": ["happiness"] * 6}
    prompts = [None] * 6
    assert format_reward(prompts, completions, **cols) == [1.0, 0.5, 0.5, 0.0, 0.0, 1.0]
    au = au_reward(prompts, completions, **cols)
    assert au == pytest.approx([1.0, 2 / 3, 0.0, 0.0, 0.0, 1.0])
    region = region_reward(prompts, completions, **cols)
    # WRONG: {brows, mouth} vs {cheeks, mouth} → 0.5: the shared region still earns credit
    assert region == pytest.approx([1.0, 2 / 3, 0.5, 0.0, 0.0, 1.0])
    assert emotion_reward(prompts, completions, **cols) == [1.0, 1.0, 0.0, 0.0, 0.0, 1.0]


def test_region_reward_of_wrong_answer_counts_shared_region():
    # WRONG predicts {1, 4, 15}: brows + mouth; gold {6, 12}: cheeks + mouth → F1 = 0.5.
    got = region_reward([None], [_rollout(WRONG)], aus=["6+12"], emotion=["happiness"])
    assert got == pytest.approx([0.5])


def test_trl_rewards_missing_labels_are_none():
    completions = [_rollout(GOOD), _rollout(GOOD)]
    cols = {"aus": [None, [6, 12]], "emotion": ["happiness", None]}
    assert au_reward([None] * 2, completions, **cols) == [None, 1.0]
    assert region_reward([None] * 2, completions, **cols) == [None, 1.0]
    assert emotion_reward([None] * 2, completions, **cols) == [1.0, None]
    # no label columns at all: the content terms are not applicable
    assert au_reward([None], [_rollout(GOOD)]) == [None]


def test_column_length_mismatch_is_an_error():
    with pytest.raises(ConfigError, match="column 'aus'"):
        au_reward([None] * 2, [GOOD, GOOD], aus=["6"])


def test_baseline_rewards_use_the_environment_zoom_flag():
    envs = [SimpleNamespace(zoom_count=n) for n in (1, 0, 2, 1)]
    completions = [GOOD, GOOD, WRONG, GOOD]
    cols = {"aus": ["12"] * 4, "emotion": ["happiness", "happiness", "happiness", None]}
    assert tool_bonus_reward([None] * 4, completions, environments=envs, **cols) == [
        1.0,
        0.0,
        0.0,
        None,
    ]
    benefit = tool_benefit_reward(
        [None] * 4, completions, environments=envs, tool_benefit=[0.25, 0.25, -0.5, None]
    )
    assert benefit == [0.25, 0.0, -0.5, None]
    # no environments (passive): nobody zoomed
    assert tool_bonus_reward([None], [GOOD], emotion=["happiness"]) == [0.0]


def test_completion_text_and_tool_failures():
    rollout = _rollout(
        GOOD, tool_texts=["Error: zoom limit reached", "Zoom on mouth"], bad_call_text=True
    )
    assert completion_text(rollout) == GOOD
    assert tool_failures(rollout) == 2
    trl_unknown_tool = [{"role": "tool", "name": "x", "content": "{'error': 'Tool x not found.'}"}]
    assert tool_failures(trl_unknown_tool) == 1
    assert (
        completion_text(
            [
                {
                    "role": "assistant",
                    "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                }
            ]
        )
        == "ab"
    )
    assert completion_text([]) == ""
