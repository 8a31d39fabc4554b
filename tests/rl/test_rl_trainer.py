"""UC-GRPO on a tiny random Qwen3-VL: two real TRL training steps with scripted rollouts.

Rollouts are scripted through the model's ``generate`` (TRL's tool loop, chat template,
processor, tool execution and loss all run for real). Step 1 gives query q0 (fear) one zooming
and one non-zooming rollout and q1 (happiness) two non-zooming ones; step 2 gives q2 (fear) two
zooming rollouts and q3 (happiness) one of each. Every utility, EMA value and advantage below is
worked out by hand from the rewards:

* FEAR_RIGHT: format 1, AU F1 1, region 1, emotion 1 → 0.5 + 1 + 0.5 + 1 = 3.0
* FEAR_WRONG ({12}, happiness; gold fear {1,2,4,5,7,20,26}): AU F1 0; regions {mouth} vs
  {brows, eyes, mouth, jaw} → F1 0.4; emotion 0 → 0.5 + 0.5·0.4 = 0.7
* HAPPY_RIGHT: 3.0
* HAPPY_WRONG ({12}, contempt; gold {6, 12}): AU F1 2/3; regions {mouth} vs {cheeks, mouth}
  → 2/3; emotion 0 → 0.5 + 2/3 + 1/3 = 1.5

These tests also guard the TRL internals UCGRPOTrainer overrides: if ``_calculate_rewards`` or
``_generate_and_score_completions`` stop being called, or change what they return, the numbers
below no longer match.
"""

from __future__ import annotations

import json
import math

import pytest

from facscope.errors import ConfigError
from facscope.rl.methods import RL_METHODS

torch = pytest.importorskip("torch")
pytest.importorskip("trl")
pytest.importorskip("torchvision")

#: The rollouts' final answers and their total reward under the default weights
#: (format 0.5, AU 1, region 0.5, emotion 1), worked out by hand in the tests.
FEAR_RIGHT = '<answer>{"aus": [1, 2, 4, 5, 7, 20, 26], "emotion": "fear"}</answer>'
FEAR_WRONG = '<answer>{"aus": [12], "emotion": "happiness"}</answer>'
HAPPY_RIGHT = (
    'Cheeks and lip corners rise. <answer>{"aus": [6, 12], "emotion": "happiness"}</answer>'
)
HAPPY_WRONG = '<answer>{"aus": [12], "emotion": "contempt"}</answer>'
ZOOM_MOUTH = '<tool_call>\n{"name": "zoom", "arguments": {"region": "mouth"}}\n</tool_call>'
SHORT_SYSTEM = "You read faces. Use tools, then answer."

ALPHA, LAM, BETA = 0.5, 0.5, 0.9
R_FEAR_RIGHT, R_FEAR_WRONG, R_HAPPY_RIGHT, R_HAPPY_WRONG = 3.0, 0.7, 3.0, 1.5

# Replies in the order TRL asks for them (rows 0..3 of each step, then the rows that called a tool).
STEP1 = [ZOOM_MOUTH, FEAR_WRONG, HAPPY_RIGHT, HAPPY_RIGHT, FEAR_RIGHT]
STEP2 = [ZOOM_MOUTH, ZOOM_MOUTH, ZOOM_MOUTH, HAPPY_RIGHT, FEAR_RIGHT, FEAR_WRONG, HAPPY_WRONG]


def _grpo_adv(a: float, b: float) -> tuple[float, float]:
    """TRL's group-normalised advantage for a group of two: (r − mean) / (unbiased std + 1e-4)."""
    mean, std = (a + b) / 2, abs(a - b) / math.sqrt(2)
    return (a - mean) / (std + 1e-4), (b - mean) / (std + 1e-4)


def _make_trainer(tiny_vlm, rows, tmp_path, **overrides):
    from facscope.agent.tools import ToolsConfig
    from facscope.rl.data import rl_dataset, rl_rows
    from facscope.rl.env import env_factory
    from facscope.rl.trainer import UCGRPOConfig, UCGRPOTrainer

    model, processor = tiny_vlm
    method = overrides.get("method", "ucgrpo")
    tools = ToolsConfig(view_size=32, max_zooms=2)
    data = rl_rows(rows, system=SHORT_SYSTEM, tools_config=tools, passive=method == "passive")
    settings = {
        "output_dir": str(tmp_path / "run"),
        "use_cpu": True,
        "bf16": False,
        "report_to": "none",
        "per_device_train_batch_size": 4,
        "num_generations": 2,
        "max_completion_length": 256,
        "max_steps": 2,
        "learning_rate": 5e-2,
        "logging_steps": 1,
        "save_strategy": "no",
        "shuffle_dataset": False,
        "max_tool_calling_iterations": 3,
        "credit_alpha": ALPHA,
        "ema_lambda": LAM,
        "ema_beta": BETA,
        "disable_tqdm": True,
        "gradient_checkpointing": False,
        **overrides,
    }
    trainer = UCGRPOTrainer(
        model=model,
        args=UCGRPOConfig(**settings),
        train_dataset=rl_dataset(data),
        processing_class=processor,
        environment_factory=None if method == "passive" else env_factory(tools),
    )
    outputs: list[dict] = []
    original = trainer._generate_and_score_completions

    def spy(inputs):
        out = original(inputs)
        outputs.append(
            {k: (v.detach().clone() if torch.is_tensor(v) else v) for k, v in out.items()}
        )
        return out

    trainer._generate_and_score_completions = spy
    return trainer, outputs


def _train(trainer, replies, **kwargs):
    from facscope.testing.tiny_vlm import ScriptedGeneration

    with ScriptedGeneration(trainer.model, trainer.processing_class, replies) as script:
        trainer.train(**kwargs)
    return script


def test_ucgrpo_two_steps_by_hand(tiny_vlm, synthetic_rows, tmp_path):
    trainer, outputs = _make_trainer(tiny_vlm, synthetic_rows, tmp_path)
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    _train(trainer, STEP1 + STEP2)
    assert len(outputs) == 2

    # ---- step 1: q0 fear [zoom 3.0, no-zoom 0.7] → u = 2.3; q1 happiness: nobody zoomed
    # (the EMA is checked after step 2, since both steps ran; step 1's values come from logs)
    a0, a1 = _grpo_adv(R_FEAR_RIGHT, R_FEAR_WRONG)
    u0 = R_FEAR_RIGHT - R_FEAR_WRONG
    credit0 = ALPHA * (LAM * u0 + (1 - LAM) * 0.0)  # m_fear = 0 before the first update
    expected1 = torch.tensor([a0 + credit0, a1, 0.0, 0.0])
    torch.testing.assert_close(outputs[0]["advantages"], expected1, rtol=0, atol=1e-5)
    m_fear = (1 - BETA) * u0  # 0.23

    # ---- step 2: q2 fear [zoom 3.0, zoom 0.7] → u undefined → ũ = m_fear;
    #      q3 happiness [zoom 1.5, no-zoom 3.0] → u = −1.5, ũ = λ·u + (1 − λ)·0
    b0, b1 = _grpo_adv(R_FEAR_RIGHT, R_FEAR_WRONG)
    c0, c1 = _grpo_adv(R_HAPPY_WRONG, R_HAPPY_RIGHT)
    u3 = R_HAPPY_WRONG - R_HAPPY_RIGHT
    expected2 = torch.tensor([b0 + ALPHA * m_fear, b1 + ALPHA * m_fear, c0 + ALPHA * LAM * u3, c1])
    torch.testing.assert_close(outputs[1]["advantages"], expected2, rtol=0, atol=1e-5)

    # the completions table (log_completions) shows the credited advantages too
    assert list(trainer._logs["advantages"]) == pytest.approx(expected2.tolist(), abs=1e-5)

    credits = trainer.last_credit
    assert [g.emotion for g in credits] == ["fear", "happiness"]
    assert credits[0].utility is None and credits[0].calibrated == pytest.approx(m_fear)
    assert credits[1].utility == pytest.approx(u3)
    assert trainer.ema.values["fear"] == pytest.approx(m_fear)  # no defined u in step 2
    assert trainer.ema.values["happiness"] == pytest.approx((1 - BETA) * u3)
    assert trainer.ema.counts == {"fear": 1, "happiness": 1}

    # per-emotion utility, EMA, zoom rate and credit are logged
    logged = trainer.state.log_history[1]
    assert logged["ucgrpo/zoom_rate/fear"] == 1.0
    assert logged["ucgrpo/zoom_rate/happiness"] == 0.5
    assert logged["ucgrpo/utility/happiness"] == pytest.approx(u3)
    assert logged["ucgrpo/ema/fear"] == pytest.approx(m_fear)
    assert logged["ucgrpo/credit/fear"] == pytest.approx(ALPHA * m_fear)
    assert trainer.state.log_history[0]["ucgrpo/utility/fear"] == pytest.approx(u0)

    # tool responses are masked from the loss; the model's own tool call and answer are not
    tok = trainer.processing_class.tokenizer
    out = outputs[0]
    ids, tool_mask, comp_mask = (
        out["completion_ids"][0],
        out["tool_mask"][0],
        out["completion_mask"][0],
    )
    masked = tok.decode(ids[(tool_mask == 0) & (comp_mask == 1)])
    trained = tok.decode(ids[(tool_mask == 1) & (comp_mask == 1)])
    assert "<tool_response>" in masked and "Zoom on mouth" in masked
    assert "<tool_call>" in trained and '"emotion": "fear"' in trained
    assert "<tool_response>" not in trained and "Zoom on mouth" not in trained
    assert "<|image_pad|>" in tok.decode(ids[tool_mask == 0], skip_special_tokens=False)
    assert bool((out["tool_mask"][1] == 1).all())  # a rollout without tools has nothing masked

    changed = [n for n, p in trainer.model.named_parameters() if not torch.equal(p, before[n])]
    assert len(changed) > len(before) // 2


def test_zoom_token_credit(tiny_vlm, synthetic_rows, tmp_path):
    trainer, outputs = _make_trainer(
        tiny_vlm, synthetic_rows, tmp_path, credit_scope="zoom_tokens", max_steps=1
    )
    _train(trainer, STEP1)
    adv = outputs[0]["advantages"]
    assert adv.dim() == 2  # per-token advantages reach _compute_loss
    a0, a1 = _grpo_adv(R_FEAR_RIGHT, R_FEAR_WRONG)
    credit0 = ALPHA * LAM * (R_FEAR_RIGHT - R_FEAR_WRONG)
    tok = trainer.processing_class.tokenizer
    ids = outputs[0]["completion_ids"][0]
    on = (adv[0] - a0).abs() > 1e-6
    assert tok.decode(ids[on]).strip() == ZOOM_MOUTH  # exactly the zoom call's tokens
    torch.testing.assert_close(
        adv[0][on], torch.full((int(on.sum()),), a0 + credit0), rtol=0, atol=1e-5
    )
    torch.testing.assert_close(adv[1], torch.full_like(adv[1], a1), rtol=0, atol=1e-5)


def test_checkpoint_resume_restores_the_ema_exactly(tiny_vlm, synthetic_rows, tmp_path):
    from facscope.rl.trainer import STATE_FILE

    trainer, _ = _make_trainer(
        tiny_vlm, synthetic_rows, tmp_path, save_strategy="steps", save_steps=1
    )
    _train(trainer, STEP1 + STEP2)
    saved = json.loads((tmp_path / "run" / "checkpoint-1" / STATE_FILE).read_text())
    assert saved["ema"]["values"] == {
        "fear": pytest.approx((1 - BETA) * (R_FEAR_RIGHT - R_FEAR_WRONG))
    }
    final = trainer.ema.state_dict()

    # A new run resumed from step 1 must end with exactly the same EMA as the uninterrupted one.
    from facscope.testing.tiny_vlm import build_tiny_vlm

    fresh = build_tiny_vlm(hidden_size=16, num_heads=2, vocab_size=512)
    resumed, outputs = _make_trainer(fresh, synthetic_rows, tmp_path, save_strategy="no")
    _train(resumed, STEP2, resume_from_checkpoint=str(tmp_path / "run" / "checkpoint-1"))
    assert len(outputs) == 1
    assert resumed.ema.state_dict() == final  # bit-exact, not approx
    assert resumed.ema.values["fear"] != 0.0  # it would be 0 without the restored state


def test_acof_rescores_the_correctness_term(tiny_vlm, synthetic_rows, tmp_path):
    trainer, outputs = _make_trainer(tiny_vlm, synthetic_rows, tmp_path, method="acof", max_steps=1)
    _train(trainer, STEP1)
    # q0: only the zooming rollout is right → zoom-right 1.0, no-zoom-wrong 0: emotion term unchanged;
    # q1: both no-zoom right → 1.0 each. Plain advantages, no utility credit for a baseline.
    a0, a1 = _grpo_adv(R_FEAR_RIGHT, R_FEAR_WRONG)
    torch.testing.assert_close(
        outputs[0]["advantages"], torch.tensor([a0, a1, 0.0, 0.0]), rtol=0, atol=1e-5
    )
    assert trainer.ema.values == {}
    logged = trainer.state.log_history[0]
    assert logged["ucgrpo/utility/fear"] == pytest.approx(
        R_FEAR_RIGHT - R_FEAR_WRONG
    )  # still logged


def test_tool_bonus_baseline_adds_a_reward_term(tiny_vlm, synthetic_rows, tmp_path):
    trainer, outputs = _make_trainer(
        tiny_vlm, synthetic_rows, tmp_path, method="tool_bonus", tool_bonus_weight=1.0, max_steps=1
    )
    _train(trainer, STEP1)
    assert trainer.reward_func_names[-1] == "tool_bonus_reward"
    a0, a1 = _grpo_adv(R_FEAR_RIGHT + 1.0, R_FEAR_WRONG)  # zoomed and right: +1
    torch.testing.assert_close(
        outputs[0]["advantages"], torch.tensor([a0, a1, 0.0, 0.0]), rtol=0, atol=1e-5
    )


def test_passive_trains_without_tools(tiny_vlm, synthetic_rows, tmp_path):
    trainer, outputs = _make_trainer(
        tiny_vlm, synthetic_rows, tmp_path, method="passive", max_steps=1
    )
    assert trainer.tools == []
    _train(trainer, [FEAR_RIGHT, FEAR_WRONG, HAPPY_RIGHT, HAPPY_WRONG])
    a0, a1 = _grpo_adv(R_FEAR_RIGHT, R_FEAR_WRONG)
    b0, b1 = _grpo_adv(R_HAPPY_RIGHT, R_HAPPY_WRONG)
    torch.testing.assert_close(
        outputs[0]["advantages"], torch.tensor([a0, a1, b0, b1]), rtol=0, atol=1e-5
    )
    assert "tool_mask" not in outputs[0]


def test_trainer_refuses_bad_setups(tiny_vlm, synthetic_rows, tmp_path):
    from trl import GRPOConfig

    from facscope.rl.env import env_factory
    from facscope.rl.trainer import UCGRPOConfig, UCGRPOTrainer

    model, processor = tiny_vlm
    with pytest.raises(ConfigError, match="UCGRPOConfig"):
        UCGRPOTrainer(model=model, args=GRPOConfig(output_dir=str(tmp_path), use_cpu=True))
    args = UCGRPOConfig(output_dir=str(tmp_path), use_cpu=True, method="passive", report_to="none")
    with pytest.raises(ConfigError, match="passive"):
        UCGRPOTrainer(
            model=model, args=args, processing_class=processor, environment_factory=env_factory()
        )
    with pytest.raises(ConfigError, match="method"):
        UCGRPOConfig(output_dir=str(tmp_path), method="deepeyes")
    with pytest.raises(ConfigError, match="scope"):
        UCGRPOConfig(output_dir=str(tmp_path), credit_scope="tokens")


def test_trl_internals_guard(monkeypatch):
    from trl import GRPOTrainer

    from facscope.rl.trainer import check_trl_internals

    check_trl_internals()  # the pinned TRL passes

    def changed(self, inputs, prompts, completions):  # a signature TRL might move to
        return None

    monkeypatch.setattr(GRPOTrainer, "_calculate_rewards", changed)
    with pytest.raises(ConfigError, match="_calculate_rewards"):
        check_trl_internals()


@pytest.mark.parametrize("name", RL_METHODS.names())
def test_create_trainer_builds_every_registered_method(name, tiny_vlm, synthetic_rows, tmp_path):
    from facscope.agent.tools import ToolsConfig
    from facscope.rl.data import rl_dataset, rl_rows
    from facscope.rl.env import env_factory
    from facscope.rl.trainer import create_trainer

    model, processor = tiny_vlm
    strategy = RL_METHODS.get(name)
    tools = ToolsConfig(view_size=32, max_zooms=2)
    rows = rl_rows(synthetic_rows, tools_config=tools, passive=not strategy.tools)
    trainer = create_trainer(
        name,
        model=model,
        args={"output_dir": str(tmp_path), "use_cpu": True, "report_to": "none"},
        train_dataset=rl_dataset(rows),
        processing_class=processor,
        environment_factory=env_factory(tools) if strategy.tools else None,
    )
    assert type(trainer.rl_method) is strategy and trainer.args.method == name
    assert trainer.credit.utility == (name == "ucgrpo")
    extra = {"tool_bonus": ["tool_bonus_reward"], "adatooler": ["tool_benefit_reward"]}
    assert trainer.reward_func_names[4:] == extra.get(name, [])


def test_create_trainer_refuses_unknown_or_mismatched_methods(tiny_vlm, tmp_path):
    from facscope.rl.trainer import UCGRPOConfig, create_trainer

    model, _ = tiny_vlm
    with pytest.raises(ConfigError, match=r"RL method must be one of \[.*\]; got 'deepeyes'"):
        create_trainer("deepeyes", model=model, args={"output_dir": str(tmp_path)})
    args = UCGRPOConfig(output_dir=str(tmp_path), use_cpu=True, method="grpo", report_to="none")
    with pytest.raises(ConfigError, match="method 'grpo'"):
        create_trainer("acof", model=model, args=args)
