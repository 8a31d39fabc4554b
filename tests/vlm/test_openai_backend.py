"""The real openai backend against an OpenAI-compatible server on loopback: tool calls in both
modes, malformed output, timeouts, 5xx/429 retries and concurrency."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from facscope.agent import Agent, AgentInput, create_backend
from facscope.errors import ConfigError
from facscope.testing.openai_server import FakeOpenAIServer, ScriptedReply
from facscope.testing.scripted import tool_call

ANSWER = '<answer>{"aus": [6, 12], "emotion": "happiness"}</answer>'


def _backend(server, **kw):
    kw.setdefault("backoff", 0.01)
    return create_backend("openai", base_url=server.base_url, model="fake-vlm", api_key="k", **kw)


def _images(message) -> list[Image.Image]:
    out = []
    for part in message["content"] if isinstance(message["content"], list) else []:
        if part["type"] == "image_url":
            url = part["image_url"]["url"]
            assert url.startswith("data:image/png;base64,")
            out.append(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    return out


def test_text_mode_tool_call_then_answer(small_image):
    with FakeOpenAIServer([tool_call("zoom", box=[0, 0, 32, 24]), "Smile.\n" + ANSWER]) as srv:
        ep = Agent(_backend(srv), require_face=False).run(small_image)
    first, second = srv.requests
    assert first["model"] == "fake-vlm" and first["stop"] == ["</tool_call>"]
    system = first["messages"][0]
    assert (
        system["role"] == "system"
        and "<tools>" in system["content"]
        and '"name": "zoom"' in system["content"]
    )
    assert [im.size for m in first["messages"] for im in _images(m)] == [(64, 48)]
    # turn 2 carries the input image and the zoom, as data URLs
    assert [im.size for m in second["messages"] for im in _images(m)] == [(64, 48), (224, 168)]
    tool_msg = second["messages"][-1]
    assert tool_msg["role"] == "user" and tool_msg["content"][0]["text"].startswith(
        '<tool_response name="zoom">'
    )
    assert second["messages"][-2] == {
        "role": "assistant",
        "content": tool_call("zoom", box=[0, 0, 32, 24]),
    }
    assert ep.answer.status == "ok" and ep.zooms == 1


def test_native_mode_tool_calls(small_image):
    replies = [
        ScriptedReply(
            content=None, tool_calls=[{"name": "zoom", "arguments": {"box": [0, 0, 20, 20]}}]
        ),
        ANSWER,
    ]
    with FakeOpenAIServer(replies) as srv:
        ep = Agent(_backend(srv, tool_mode="native"), require_face=False).run(small_image)
    first, second = srv.requests
    assert "stop" not in first and [t["function"]["name"] for t in first["tools"]] == [
        "detect_faces",
        "align_face",
        "zoom",
    ]
    assert "<tools>" not in first["messages"][0]["content"]
    roles = [m["role"] for m in second["messages"]]
    assert roles == ["system", "user", "assistant", "tool", "user"]
    call = second["messages"][2]["tool_calls"][0]
    assert call["function"]["name"] == "zoom" and json.loads(call["function"]["arguments"]) == {
        "box": [0, 0, 20, 20]
    }
    assert second["messages"][3]["tool_call_id"] == call["id"]
    assert len(_images(second["messages"][4])) == 1  # the zoom image follows the tool message
    assert ep.answer.status == "ok" and ep.zooms == 1


def test_malformed_model_output_is_a_failed_answer(small_image):
    with FakeOpenAIServer(["<answer>{'aus': [99], 'emotion': 'happy'</answer>"]) as srv:
        ep = Agent(_backend(srv), require_face=False).run(small_image)
    assert ep.answer.status == "failed" and "AU 99" in ep.answer.reason


def test_5xx_and_429_are_retried():
    replies = [
        ScriptedReply(status=500),
        ScriptedReply(status=429, headers={"Retry-After": "0"}),
        ANSWER,
    ]
    with FakeOpenAIServer(replies) as srv:
        backend = _backend(srv, max_retries=3)
        ep = Agent(backend, mode="passive", require_face=False).run(image=_tiny())
    assert ep.answer.status == "ok" and ep.turns[0].attempts == 3 and len(srv.requests) == 3


def test_persistent_500_gives_up_with_a_recorded_error():
    with FakeOpenAIServer([ScriptedReply(status=503)] * 5) as srv:
        ep = Agent(_backend(srv, max_retries=2), mode="passive", require_face=False).run(
            image=_tiny()
        )
    assert len(srv.requests) == 3
    assert (
        ep.answer.status == "failed" and "HTTP 503" in ep.answer.reason and "3 attempts" in ep.error
    )


def test_client_errors_are_not_retried_and_bad_bodies_are_reported():
    with FakeOpenAIServer([ScriptedReply(status=400)]) as srv:
        ep = Agent(_backend(srv), mode="passive", require_face=False).run(image=_tiny())
    assert len(srv.requests) == 1 and "HTTP 400" in ep.error
    with FakeOpenAIServer([ScriptedReply(body=b"<html>not json</html>")]) as srv:
        ep = Agent(_backend(srv), mode="passive", require_face=False).run(image=_tiny())
    assert "malformed response" in ep.error and ep.answer.status == "failed"


def test_timeout_is_retried_then_succeeds():
    with FakeOpenAIServer([ScriptedReply(content=ANSWER, delay=1.0), ANSWER]) as srv:
        backend = _backend(srv, timeout=0.2, max_retries=1)
        ep = Agent(backend, mode="passive", require_face=False).run(image=_tiny())
    assert ep.answer.status == "ok" and ep.turns[0].attempts == 2


def test_slow_responses_within_the_timeout_are_fine_and_run_concurrently():
    with FakeOpenAIServer(latency=0.2) as srv:
        backend = _backend(srv, concurrency=4, timeout=5)
        eps = Agent(backend, mode="passive", require_face=False).run_batch(
            [AgentInput(image=_tiny(), name=str(i)) for i in range(8)]
        )
        backend.close()
    assert all(e.answer.status == "ok" for e in eps)
    assert srv.max_in_flight == 4  # never more than the configured concurrency, and it was reached


def test_connection_refused_is_an_error_not_a_crash():
    srv = FakeOpenAIServer().start()
    url = srv.base_url
    srv.stop()
    backend = create_backend("openai", base_url=url, max_retries=1, backoff=0.0, timeout=1)
    ep = Agent(backend, mode="passive", require_face=False).run(image=_tiny())
    assert ep.answer.status == "failed" and "failed" in ep.error


def test_options_are_checked(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with pytest.raises(ConfigError, match="base_url"):
        create_backend("openai")
    with pytest.raises(ConfigError, match="http"):
        create_backend("openai", base_url="localhost:8000")
    with pytest.raises(ConfigError, match="tool_mode"):
        create_backend("openai", base_url="http://x", tool_mode="magic")


def _tiny():
    import numpy as np

    return np.full((24, 32, 3), 120, np.uint8)


def test_a_trickling_server_cannot_hold_a_request_past_its_deadline():
    """--timeout bounds the whole attempt (connect + every read), not each socket read."""
    import time

    with FakeOpenAIServer([ScriptedReply(content=ANSWER, trickle=0.05)] * 2) as srv:
        backend = _backend(srv, timeout=0.5, max_retries=0)
        start = time.monotonic()
        ep = Agent(backend, mode="passive", require_face=False).run(image=_tiny())
        took = time.monotonic() - start
    assert ep.answer.status == "failed" and "deadline" in ep.error
    assert took < 2.0  # the reply alone would take > 10 s at this rate


def test_a_huge_retry_after_is_not_waited_for():
    import time

    replies = [ScriptedReply(status=503, headers={"Retry-After": "100000"}), ANSWER]
    with FakeOpenAIServer(replies) as srv:
        start = time.monotonic()
        ep = Agent(_backend(srv, max_retries=4), mode="passive", require_face=False).run(
            image=_tiny()
        )
        took = time.monotonic() - start
    assert len(srv.requests) == 1 and took < 2.0
    assert ep.answer.status == "failed" and "max_retry_after" in ep.error


def test_an_oversized_reply_is_refused_unread():
    big = ScriptedReply(content="x" * 300_000)
    with FakeOpenAIServer([big]) as srv:
        ep = Agent(_backend(srv, max_reply_bytes=100_000), mode="passive", require_face=False).run(
            image=_tiny()
        )
    assert ep.answer.status == "failed" and "max_reply_bytes" in ep.error
    assert len(srv.requests) == 1  # not retried
