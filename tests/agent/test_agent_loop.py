"""The loop with a scripted model: tool branch, images reaching the next turn, caps, and every
kind of malformed output ending in a recorded, parsed-as-failed answer."""

from __future__ import annotations

import pytest

from facscope.agent import Agent, AgentConfig, AgentInput
from facscope.agent.backends import Generation
from facscope.errors import ConfigError
from facscope.testing.scripted import ScriptedBackend, tool_call

ANSWER = '<answer>{"aus": [6, 12], "emotion": "happiness"}</answer>'


def test_tool_branch_and_zoomed_image_reaches_next_turn(small_image):
    backend = ScriptedBackend(
        [tool_call("zoom", box=[0, 0, 32, 24], scale=1.0), "Cheeks up.\n" + ANSWER]
    )
    ep = Agent(backend, require_face=False).run(small_image, name="x")
    assert backend.n_images == [1, 2]  # the zoom's image is in the second turn's conversation
    tool_msg = backend.requests[1].messages[-1]
    assert tool_msg["role"] == "tool" and tool_msg["name"] == "zoom"
    assert tool_msg["content"][0]["type"] == "image"
    assert (
        ep.answer.status == "ok" and ep.answer.emotion == "happiness" and ep.answer.aus == (6, 12)
    )
    assert [t.kind for t in ep.turns] == ["tool", "answer"]
    assert ep.turns[0].records == [0] and ep.records[0].data["box"] == [0.0, 0.0, 32.0, 24.0]
    assert ep.zooms == 1 and ep.tool_errors == 0 and ep.stop_reason == "answer"
    # the request offered the tools and stops after a tool call
    assert backend.requests[0].stop == ("</tool_call>",)
    assert [t["function"]["name"] for t in backend.requests[0].tools] == [
        "detect_faces",
        "align_face",
        "zoom",
    ]


def test_cut_tool_call_is_closed_in_the_conversation(small_image):
    backend = ScriptedBackend(
        ['<tool_call>\n{"name": "zoom", "arguments": {"box": [0, 0, 20, 20]}}\n', ANSWER]
    )
    Agent(backend, require_face=False).run(small_image)
    assistant = backend.requests[1].messages[-2]
    assert assistant["role"] == "assistant" and assistant["content"].endswith("</tool_call>")


@pytest.mark.parametrize(
    ("replies", "reason"),
    [
        (["I think the person is happy."], "no <answer> tag"),
        (["<answer>{aus: [6, 12], emotion happiness}</answer>"], "not JSON"),
        (['<answer>{"aus": [6], "emotion": "smug"}</answer>'], "unknown emotion"),
        (['<answer>{"aus": [99], "emotion": "happiness"}</answer>'], "AU 99"),
        ([tool_call("zoom", box=[900, 900, 1000, 1000]), "no tags again"], "no <answer> tag"),
        ([tool_call("teleport", where="mars"), "still nothing"], "no <answer> tag"),
        ([""], "no <answer> tag"),
    ],
)
def test_malformed_output_ends_in_a_failed_answer(small_image, replies, reason):
    ep = Agent(ScriptedBackend(replies), require_face=False).run(small_image)
    assert ep.answer.status == "failed" and reason in ep.answer.reason
    assert ep.summary()["status"] == "failed"
    ep.to_dict()  # the trace is still writable


def test_bad_tool_calls_are_recorded_and_the_episode_goes_on(small_image):
    replies = [
        tool_call("zoom", box=[900, 900, 1000, 1000]),
        tool_call("teleport", where="mars"),
        "<tool_call>{not json}</tool_call>",
        ANSWER,
    ]
    backend = ScriptedBackend(replies)
    ep = Agent(backend, require_face=False).run(small_image)
    assert ep.answer.status == "ok"
    assert ep.tool_errors == 3 and ep.tool_calls == 3
    assert "outside the image" in ep.records[0].error
    assert "no tool named 'teleport'" in ep.records[1].error
    assert "not valid JSON" in ep.records[2].error
    # each error went back to the model as a tool message
    last = backend.requests[-1].messages
    assert [m["content"][0]["text"][:6] for m in last if m["role"] == "tool"] == ["Error:"] * 3


def test_endless_tool_calls_hit_the_turn_cap(small_image):
    backend = ScriptedBackend(respond=lambda req, i: tool_call("zoom", box=[0, 0, 30, 30]))
    ep = Agent(backend, max_turns=4, max_zooms=2, require_face=False).run(small_image)
    assert len(ep.turns) == 4 and len(backend.requests) == 4
    assert ep.answer.status == "failed" and "turn limit (4) reached" in ep.answer.reason
    assert ep.stop_reason == "turn_limit"
    assert ep.zooms == 2 and ep.tool_errors == 1  # the third zoom hit the zoom cap
    # the last turn was told to answer
    assert "last turn" in backend.requests[-1].messages[-1]["content"]


def test_calls_per_turn_cap(small_image):
    many = "".join(tool_call("zoom", box=[0, 0, 10 + i, 10 + i]) for i in range(3))
    ep = Agent(ScriptedBackend([many, ANSWER]), max_calls_per_turn=2, require_face=False).run(
        small_image
    )
    assert [r.ok for r in ep.records] == [True, True, False]
    assert "at most 2 tool calls" in ep.records[2].error


def test_backend_errors_and_exceptions_fail_the_episode(small_image):
    ep = Agent(ScriptedBackend([Generation("", error="HTTP 500")]), require_face=False).run(
        small_image
    )
    assert (
        ep.answer.status == "failed" and "HTTP 500" in ep.answer.reason and ep.error == "HTTP 500"
    )
    ep = Agent(ScriptedBackend([RuntimeError("boom")]), require_face=False).run(small_image)
    assert (
        ep.answer.status == "failed"
        and "boom" in ep.answer.reason
        and ep.stop_reason == "backend_error"
    )


def test_batch_runs_in_lockstep(small_image):
    def respond(req, i):
        turns = sum(m["role"] == "assistant" for m in req.messages)
        short = req.messages[1]["content"][0]["image"].size[0] == 32
        if short or turns >= 2:
            return ANSWER
        return tool_call("zoom", box=[0, 0, 16, 16])

    backend = ScriptedBackend(respond=respond)
    items = [
        AgentInput(image=small_image, name="long"),
        AgentInput(image=small_image[:, :32], name="short"),
    ]
    eps = Agent(backend, require_face=False).run_batch(items)
    assert backend.batches == [2, 1, 1]
    assert [len(e.turns) for e in eps] == [3, 1] and [e.name for e in eps] == ["long", "short"]
    assert all(e.answer.status == "ok" for e in eps)


def test_passive_mode_one_turn_no_tools(astronaut):
    backend = ScriptedBackend([tool_call("zoom", region="mouth") + " " + ANSWER])
    ep = Agent(backend, mode="passive").run(astronaut)
    req = backend.requests[0]
    assert req.tools == [] and req.stop == ()
    shown = req.messages[1]["content"][0]["image"]
    assert shown.size == (256, 256)  # the aligned face, not the 512×512 input
    assert len(ep.turns) == 1 and ep.tool_calls == 0
    assert ep.answer.status == "ok"  # a tool call in passive mode is just text
    assert "tool" not in req.messages[0]["content"].split("Action Units by region")[0].lower()


def test_coordinate_system_of_the_backend_reaches_tools_and_prompt(small_image):
    backend = ScriptedBackend(
        [tool_call("zoom", box=[0, 0, 500, 500]), ANSWER], coordinates="relative-1000"
    )
    ep = Agent(backend, require_face=False).run(small_image)
    assert ep.records[0].data["box"] == [0.0, 0.0, 32.0, 24.0]
    assert "0–1000" in backend.requests[0].messages[0]["content"]


def test_agent_config_checks():
    with pytest.raises(ConfigError, match="mode"):
        AgentConfig(mode="lazy")
    with pytest.raises(ConfigError, match="max_turns"):
        AgentConfig(max_turns=0)
