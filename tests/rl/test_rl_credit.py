"""UC-GRPO credit arithmetic, checked against values worked out by hand."""

from __future__ import annotations

import json
import math

import pytest

from facscope.errors import ConfigError
from facscope.rl.credit import (
    NO_EMOTION,
    CreditConfig,
    EmotionEMA,
    acof_rescore,
    batch_credit,
    calibrate,
    tool_benefit_score,
    tool_success_bonus,
    zoom_utility,
)


@pytest.mark.parametrize(
    ("rewards", "zoomed", "expected"),
    [
        ([1.0, 0.0, 0.5, 0.5], [True, False, True, False], (1.0 + 0.5) / 2 - (0.0 + 0.5) / 2),
        ([2.0, 1.0, 0.0], [True, True, False], 1.5),
        ([0.2, 0.9], [False, True], 0.7),
        ([1.0, 1.0], [True, True], None),  # no rollout without zoom
        ([1.0, 0.0], [False, False], None),  # no rollout with zoom
        ([1.0, math.nan, 0.0], [True, True, False], 1.0),  # unscorable left out
        ([math.nan, 0.0], [True, False], None),  # the only zoomer is unscorable
        ([None, 3.0, 1.0], [False, True, False], 2.0),
    ],
)
def test_zoom_utility(rewards, zoomed, expected):
    u = zoom_utility(rewards, zoomed)
    if expected is None:
        assert u is None
    else:
        assert u == pytest.approx(expected)


def test_zoom_utility_rejects_mismatched_lengths():
    with pytest.raises(ConfigError, match="differ in length"):
        zoom_utility([1.0, 0.0], [True])


def test_calibrate():
    assert calibrate(0.4, 0.1, 0.5) == pytest.approx(0.25)
    assert calibrate(0.4, 0.1, 1.0) == pytest.approx(0.4)
    assert calibrate(None, -0.3, 0.5) == -0.3  # undefined u: m_e alone


def test_ema_updates_by_hand():
    ema = EmotionEMA(beta=0.9)
    assert ema.get("fear") == 0.0
    assert ema.update("fear", 0.5) == pytest.approx(0.05)  # 0.9·0 + 0.1·0.5
    assert ema.update("fear", -0.2) == pytest.approx(0.9 * 0.05 + 0.1 * -0.2)
    assert ema.counts == {"fear": 2}
    assert ema.get("happiness") == 0.0


def test_ema_debias():
    ema = EmotionEMA(beta=0.9, debias=True)
    ema.update("anger", 0.5)
    assert ema.values["anger"] == pytest.approx(0.05)
    assert ema.get("anger") == pytest.approx(0.5)  # 0.05 / (1 − 0.9)


def test_ema_state_round_trips_exactly_through_json():
    ema = EmotionEMA(beta=0.7)
    for u in (0.123456789012345, -1 / 3, 2 / 7):
        ema.update("sadness", u)
    ema.update("fear", 1e-17)
    restored = EmotionEMA(beta=0.7)
    restored.load_state_dict(json.loads(json.dumps(ema.state_dict())))
    assert restored.values == ema.values  # bit-exact
    assert restored.counts == ema.counts


def test_ema_refuses_other_settings_on_load():
    ema = EmotionEMA(beta=0.9)
    with pytest.raises(ConfigError, match="same settings"):
        EmotionEMA(beta=0.8).load_state_dict(ema.state_dict())


@pytest.mark.parametrize("beta", [-0.1, 1.0, 1.5])
def test_ema_beta_range(beta):
    with pytest.raises(ConfigError, match="beta"):
        EmotionEMA(beta=beta)


def test_batch_credit_by_hand():
    # Two queries (G = 4): q0 fear (zooming helps), q1 happiness (nobody zooms).
    rewards = [2.0, 1.0, 0.5, 0.5, 1.0, 1.0, 0.0, 1.0]
    zoomed = [True, True, False, False, False, False, False, False]
    emotions = ["fear"] * 4 + ["happiness"] * 4
    ema = EmotionEMA(
        beta=0.9, values={"fear": 0.2, "happiness": 0.4}, counts={"fear": 1, "happiness": 1}
    )
    cfg = CreditConfig(alpha=0.5, lam=0.25)
    groups = batch_credit(rewards, zoomed, emotions, group_size=4, config=cfg, ema=ema)
    q0, q1 = groups
    assert q0.utility == pytest.approx(1.5 - 0.5)
    assert q0.ema_before == pytest.approx(0.2)
    assert q0.calibrated == pytest.approx(0.25 * 1.0 + 0.75 * 0.2)  # 0.4
    assert q0.credit == pytest.approx(0.5 * 0.4)
    assert q0.per_rollout == pytest.approx((0.2, 0.2, 0.0, 0.0))
    assert q0.zoom_rate == 0.5
    # q1: u undefined → m_e alone, but no rollout zoomed, so nothing is credited.
    assert q1.utility is None
    assert q1.calibrated == pytest.approx(0.4)
    assert q1.per_rollout == (0.0, 0.0, 0.0, 0.0)
    # EMA: only the defined utility updates, after the batch.
    assert ema.values["fear"] == pytest.approx(0.9 * 0.2 + 0.1 * 1.0)
    assert ema.values["happiness"] == pytest.approx(0.4)
    assert ema.counts == {"fear": 2, "happiness": 1}


def test_batch_credit_all_zoom_uses_ema_alone():
    ema = EmotionEMA(beta=0.5, values={"anger": -0.6}, counts={"anger": 3})
    groups = batch_credit(
        [1.0, 0.0],
        [True, True],
        ["anger", "anger"],
        group_size=2,
        config=CreditConfig(alpha=1.0),
        ema=ema,
    )
    assert groups[0].utility is None
    assert groups[0].per_rollout == pytest.approx((-0.6, -0.6))  # zooming hurt anger so far
    assert ema.values == {"anger": -0.6}


def test_batch_credit_calibrates_against_the_ema_before_the_batch():
    # Two fear queries in one batch: both see m = 0, then the EMA absorbs u = 1 and u = 3 in order.
    ema = EmotionEMA(beta=0.5)
    groups = batch_credit(
        [1.0, 0.0, 3.0, 0.0],
        [True, False, True, False],
        ["fear"] * 4,
        group_size=2,
        config=CreditConfig(alpha=1.0, lam=0.5),
        ema=ema,
    )
    assert [g.calibrated for g in groups] == pytest.approx([0.5, 1.5])
    assert ema.values["fear"] == pytest.approx(0.5 * (0.5 * 0 + 0.5 * 1.0) + 0.5 * 3.0)


def test_batch_credit_switches():
    args = ([1.0, 0.0], [True, False], ["fear", "fear"])
    ema = EmotionEMA(values={"fear": 0.3}, counts={"fear": 1})
    no_ema = batch_credit(*args, group_size=2, config=CreditConfig(alpha=1.0, ema=False), ema=ema)
    assert no_ema[0].calibrated == pytest.approx(1.0)  # ũ = u
    assert ema.values == {"fear": 0.3}  # EMA off: not updated
    off = batch_credit(*args, group_size=2, config=CreditConfig(utility=False), ema=ema)
    assert off[0].per_rollout == (0.0, 0.0)
    assert off[0].utility == pytest.approx(1.0)  # still measured, for logging


def test_batch_credit_missing_emotion_and_nan_rewards():
    ema = EmotionEMA()
    groups = batch_credit(
        [1.0, math.nan, 0.0],
        [True, True, False],
        [None] * 3,
        group_size=3,
        config=CreditConfig(),
        ema=ema,
    )
    assert groups[0].emotion == NO_EMOTION
    assert groups[0].per_rollout[1] == 0.0  # unscorable rollout gets no credit
    assert groups[0].per_rollout[0] > 0
    assert NO_EMOTION in ema.values


def test_batch_credit_rejects_bad_shapes():
    with pytest.raises(ConfigError, match="groups of 3"):
        batch_credit(
            [1.0] * 4,
            [False] * 4,
            [None] * 4,
            group_size=3,
            config=CreditConfig(),
            ema=EmotionEMA(),
        )


@pytest.mark.parametrize(
    "kwargs",
    [{"alpha": -1.0}, {"beta": 1.0}, {"lam": 1.5}, {"scope": "tokens"}, {"alpha": math.inf}],
)
def test_credit_config_checks(kwargs):
    with pytest.raises(ConfigError):
        CreditConfig(**kwargs)


# (correct, zoomed) per rollout → re-scored value, exactly the rule of Adaptive Chain-of-Focus.
ACOF_TABLE = [
    # a no-zoom rollout is right
    ([True, True, False, False], [False, True, True, False], [1.0, 0.8, 0.5, 0.0]),
    # only zooming rollouts are right
    ([True, False, False], [True, True, False], [1.0, 0.5, 0.0]),
    # all wrong
    ([False, False, False], [True, False, True], [0.5, 0.0, 0.5]),
    # all right without zoom
    ([True, True], [False, False], [1.0, 1.0]),
]


@pytest.mark.parametrize(("correct", "zoomed", "expected"), ACOF_TABLE)
def test_acof_rescore(correct, zoomed, expected):
    assert acof_rescore(correct, zoomed) == expected


def test_tool_success_bonus():
    assert tool_success_bonus([True, True, False, None], [True, False, True, True]) == [
        1.0,
        0,
        0,
        0,
    ]


def test_tool_benefit_score():
    assert tool_benefit_score([1, 1, 0, 1], [0, 1, 0, 0]) == pytest.approx(0.5)
    assert tool_benefit_score([0.0], [1.0]) == -1.0
    with pytest.raises(ConfigError):
        tool_benefit_score([], [1.0])
