"""The loopback OpenAI-compatible server answers like the real API."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from facscope.testing.openai_server import FakeOpenAIServer, ScriptedReply


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_script_handler_and_errors():
    replies = ["hello", ScriptedReply(tool_calls=[{"name": "zoom", "arguments": {"region": "mouth"}}]),
               ScriptedReply(status=503)]  # fmt: skip
    with FakeOpenAIServer(replies, default="bye") as srv:
        url = srv.base_url + "/chat/completions"
        assert _post(url, {"messages": []})[1]["choices"][0]["message"]["content"] == "hello"
        msg = _post(url, {"messages": []})[1]["choices"][0]["message"]
        assert json.loads(msg["tool_calls"][0]["function"]["arguments"]) == {"region": "mouth"}
        assert _post(url, {"messages": []})[0] == 503
        assert _post(url, {"messages": [1]})[1]["choices"][0]["message"]["content"] == "bye"
        assert _post(srv.base_url + "/models", {})[0] == 404
        assert len(srv.requests) == 4 and srv.requests[3] == {"messages": [1]}
    with FakeOpenAIServer(handler=lambda body, i: f"#{i}:{len(body['messages'])}") as srv:
        assert (
            _post(srv.base_url + "/chat/completions", {"messages": [1, 2]})[1]["choices"][0][
                "message"
            ]["content"]
            == "#0:2"
        )
    with pytest.raises(RuntimeError, match="not running"):
        _ = FakeOpenAIServer().base_url
