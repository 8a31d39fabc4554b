"""Cold-start trajectories: the expert plan, TRL's conversational format, and the SFT collator."""

from __future__ import annotations

import json

import pytest

from facscope.errors import ConfigError


def test_plan_zooms():
    from facscope.rl.coldstart import plan_zooms

    assert plan_zooms([12, 6], 4) == [
        "right_cheek",
        "right_lip_corner",
    ]  # AU6 → cheek, AU12 → corner
    assert plan_zooms([1, 2, 4], 4) == [
        "glabella",
        "right_brow",
    ]  # AU4's first region repeats AU1's
    assert plan_zooms([1, 2, 5, 26], 2) == ["glabella", "right_brow"]  # capped
    assert plan_zooms([], 3) == []
    assert plan_zooms([53], 3) == []  # a head code has no region


def test_trajectory_runs_the_real_tools(synthetic_rows):
    from facscope.agent.parse import parse_answer
    from facscope.agent.tools import ToolsConfig
    from facscope.rl.coldstart import trajectory

    row = synthetic_rows[1]  # happiness, AUs 6 + 12
    ep = trajectory(row, tools_config=ToolsConfig(view_size=32, max_zooms=3), system="SYS")
    messages, images = ep["messages"], ep["images"]
    roles = [m["role"] for m in messages]
    assert roles == ["system", "user"] + ["assistant", "tool"] * 4 + ["assistant"]
    calls = [m["tool_calls"][0]["function"] for m in messages if m.get("tool_calls")]
    assert [c["name"] for c in calls] == ["detect_faces", "align_face", "zoom", "zoom"]
    assert [json.loads(c["arguments"]) for c in calls[2:]] == [
        {"region": "right_cheek"},
        {"region": "right_lip_corner"},
    ]
    # one image for the input, one for the aligned face, one per zoom; placeholders match
    placeholders = sum(p["type"] == "image" for m in messages for p in m["content"])
    assert len(images) == placeholders == 4
    assert images[0] is row["image"]
    assert images[-1].size[0] <= 32
    final = parse_answer(messages[-1]["content"][0]["text"])
    assert final.status == "ok" and final.emotion == "happiness" and final.aus == (6, 12)
    assert "Cheeks: AU6" in final.reasoning and "Mouth: AU12" in final.reasoning


def test_passive_trajectory_has_no_tool_calls(synthetic_rows):
    from facscope.rl.coldstart import trajectory

    ep = trajectory(synthetic_rows[0], passive=True)
    assert [m["role"] for m in ep["messages"]] == ["system", "user", "assistant"]
    assert len(ep["images"]) == 1


def test_trajectory_needs_an_emotion(synthetic_rows):
    from facscope.rl.coldstart import trajectory

    with pytest.raises(ConfigError, match="emotion"):
        trajectory({**synthetic_rows[0], "emotion": None})


def test_fill_images_checks_counts():
    from facscope.rl.coldstart import fill_images

    msgs = [
        {
            "role": "user",
            "content": [{"type": "image", "text": None}, {"type": "text", "text": "hi"}],
            "tool_calls": None,
        }
    ]
    filled = fill_images(msgs, ["IMG"])
    assert filled[0]["content"][0] == {"type": "image", "image": "IMG"}
    assert "tool_calls" not in filled[0]  # Arrow's None fields are dropped
    with pytest.raises(ConfigError, match="more images"):
        fill_images(msgs, ["A", "B"])
    with pytest.raises(ConfigError, match="placeholders"):
        fill_images(msgs, [])


def test_collator_trains_only_assistant_turns(synthetic_rows, tiny_vlm):
    from facscope.agent.tools import ToolsConfig
    from facscope.rl.coldstart import TrajectoryCollator, trajectories
    from facscope.rl.env import tool_list

    tools = ToolsConfig(view_size=32, max_zooms=1)
    ds = trajectories(synthetic_rows[:2], tools_config=tools, system="SYS")
    assert ds.column_names == ["messages", "images"]
    _, processor = tiny_vlm
    batch = TrajectoryCollator(processor, tools=tool_list(tools))([ds[0], ds[1]])
    tok = processor.tokenizer
    ids, labels = batch["input_ids"][0], batch["labels"][0]
    prompt = tok.decode(ids)
    trained = tok.decode(ids[labels != -100])
    assert "# Tools" in prompt and '"name": "zoom"' in prompt  # GRPO's tool prompt, rendered
    assert trained.count("<tool_call>") == 3
    assert '"emotion": "fear"' in trained
    for masked in ("<tool_response>", "Found 1 face", "SYS", "Here is a face image"):
        assert masked in prompt and masked not in trained
    assert (
        batch["pixel_values"].shape[0] > 0 and batch["image_grid_thw"].shape[0] == 2 * 3
    )  # input, aligned face, one zoom
    with pytest.raises(ConfigError, match="max_length"):
        TrajectoryCollator(processor, max_length=16)([ds[0]])


def test_episode_tokens_match_the_collated_episode(synthetic_rows, tiny_vlm):
    from facscope.agent.tools import ToolsConfig
    from facscope.rl.coldstart import TrajectoryCollator, episode_tokens, trajectory
    from facscope.rl.env import tool_list

    tools = ToolsConfig(view_size=32, max_zooms=2)
    _, processor = tiny_vlm
    prompt, completion = episode_tokens(
        synthetic_rows[1], processor, tool_list(tools), tools_config=tools, system="SYS"
    )
    ep = trajectory(synthetic_rows[1], tools_config=tools, system="SYS")
    batch = TrajectoryCollator(processor, tools=tool_list(tools))([ep])
    assert prompt + completion == batch["input_ids"].shape[1]
    tok = processor.tokenizer
    head = tok.decode(batch["input_ids"][0, :prompt])
    assert head.endswith("<|im_start|>assistant\n") and "First I locate" not in head
    assert completion > 100  # three tool calls, their responses and the answer


def test_rl_trainer_warns_when_episodes_do_not_fit_the_budget(recwarn):
    from facscope.errors import FacscopeConfigWarning
    from facscope.rl.recipe import recipe_from_dict
    from facscope.rl.run import build_rl_trainer

    pytest.importorskip("trl")

    def build(budget: int):
        raw = {
            "data": {"synthetic": {"n": 2, "size": 64}},
            "tools": {"view_size": 32, "max_zooms": 1},
            "trainer": {"output_dir": "unused", "method": "grpo", "use_cpu": True,
                        "max_completion_length": budget, "per_device_train_batch_size": 2,
                        "num_generations": 2, "report_to": "none"},
        }  # fmt: skip
        build_rl_trainer(recipe_from_dict(raw, kind="rl"))
        return [w for w in recwarn.list if issubclass(w.category, FacscopeConfigWarning)]

    short = build(32)
    assert len(short) == 1 and "max_completion_length=32" in str(short[0].message)
    recwarn.clear()
    assert build(4096) == []
