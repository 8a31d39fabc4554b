"""A scripted OpenAI-compatible chat-completions server on loopback, for tests and benchmarks.

:class:`FakeOpenAIServer` answers ``POST /v1/chat/completions`` from a script of
:class:`ScriptedReply` items (or a handler function), so the real HTTP client path — JSON,
data-URL images, retries on 429/5xx, timeouts, tool calls in either format — runs against a
real socket. It binds ``127.0.0.1`` on a free port and serves each request in its own thread
(a fixed ``latency`` then measures client concurrency).

Example:
    >>> with FakeOpenAIServer(["<answer>{\\"aus\\": [], \\"emotion\\": \\"neutral\\"}</answer>"]) as srv:
    ...     backend = create_backend("openai", base_url=srv.base_url)   # doctest: +SKIP
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["FakeOpenAIServer", "ScriptedReply", "completion_body"]


@dataclass(frozen=True)
class ScriptedReply:
    """One scripted response.

    Attributes:
        content: the assistant message text.
        tool_calls: OpenAI-format ``tool_calls`` (``[{"name": ..., "arguments": {...}}]`` is
            expanded to the full shape).
        status: HTTP status; anything but 200 sends ``{"error": ...}``.
        delay: seconds to wait before answering (for timeouts and latency).
        headers: extra response headers (e.g. ``{"Retry-After": "0"}``).
        body: raw bytes to send instead of a JSON completion (malformed responses).
        trickle: seconds between the bytes of the body (a server that holds a request open).
    """

    content: str | None = None
    tool_calls: Sequence[dict[str, Any]] | None = None
    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    trickle: float = 0.0


def completion_body(
    content: str | None, tool_calls: Sequence[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A minimal chat-completions response object."""
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": f"call_{i}",
                "type": "function",
                "function": {
                    "name": c["name"],
                    "arguments": c["arguments"]
                    if isinstance(c["arguments"], str)
                    else json.dumps(c["arguments"]),
                },
            }
            for i, c in enumerate(tool_calls)
        ]
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


Handler = Callable[[dict[str, Any], int], "ScriptedReply | str"]


class FakeOpenAIServer:
    """A loopback chat-completions server driven by a script.

    Args:
        replies: replies in order (strings are message contents); when exhausted, ``default``.
        handler: ``f(request_json, index) -> ScriptedReply | str`` instead of a fixed script.
        latency: seconds added before every reply.
        default: reply once the script is used up.

    Attributes:
        requests: every JSON body received, in arrival order.
        max_in_flight: the most requests being answered at once (client concurrency).
        base_url: ``http://127.0.0.1:PORT/v1`` once started.
    """

    def __init__(
        self,
        replies: Sequence[ScriptedReply | str] = (),
        *,
        handler: Handler | None = None,
        latency: float = 0.0,
        default: ScriptedReply | str = '<answer>{"aus": [], "emotion": "neutral"}</answer>',
    ) -> None:
        self._script = list(replies)
        self._handler = handler
        self.latency = float(latency)
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the server is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def _next(self, body: dict[str, Any]) -> ScriptedReply:
        with self._lock:
            index = len(self.requests)
            self.requests.append(body)
            if self._handler is None:
                reply = self._script.pop(0) if self._script else self.default
        if self._handler is not None:
            reply = self._handler(body, index)
        return ScriptedReply(content=reply) if isinstance(reply, str) else reply

    def start(self) -> FakeOpenAIServer:
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw.decode("utf-8"))
                except ValueError:
                    body = {"_invalid": raw[:200].decode("utf-8", "replace")}
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(
                        404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode()
                    )
                    return
                reply = outer._next(body)
                with outer._lock:
                    outer.in_flight += 1
                    outer.max_in_flight = max(outer.max_in_flight, outer.in_flight)
                delay = outer.latency + reply.delay
                if delay:
                    time.sleep(delay)
                with outer._lock:
                    outer.in_flight -= 1
                if reply.body is not None:
                    payload = reply.body
                elif reply.status != 200:
                    payload = json.dumps(
                        {"error": {"message": f"scripted status {reply.status}"}}
                    ).encode()
                else:
                    payload = json.dumps(completion_body(reply.content, reply.tool_calls)).encode()
                self._send(reply.status, payload, reply.headers, trickle=reply.trickle)

            def _send(
                self,
                status: int,
                payload: bytes,
                headers: dict[str, str] | None = None,
                *,
                trickle: float = 0.0,
            ) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    if not trickle:
                        self.wfile.write(payload)
                    for i in range(len(payload) if trickle else 0):
                        self.wfile.write(payload[i : i + 1])
                        self.wfile.flush()
                        time.sleep(trickle)
                except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                    pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
