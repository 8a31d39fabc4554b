"""The ``openai`` backend: any OpenAI-compatible chat-completions endpoint over HTTP.

Works with vLLM's server (``vllm serve Qwen/Qwen3-VL-4B-Instruct``), SGLang, llama.cpp's server
and hosted APIs. Only the standard library is used (``urllib``): images go as base64 PNG/JPEG
data URLs, requests of a batch run concurrently in a thread pool, and transient failures (429,
5xx, timeouts, refused connections) are retried with exponential backoff (``Retry-After`` is
honoured up to ``max_retry_after``; a server asking for longer is not retried). Every attempt has
one deadline, ``timeout`` seconds for the connection and every read of the reply together (a
server that trickles bytes cannot hold a request longer), and a reply larger than
``max_reply_bytes`` is refused unread. A request that still fails returns a :class:`Generation`
with ``error`` set, saying which limit it hit.

Two tool modes:

* ``text`` (default): tools are described in the system prompt in Qwen's format, the model
  writes ``<tool_call>…</tool_call>`` in its reply (``stop`` ends the turn there), and tool
  results come back as user messages holding the text and images. Works with any endpoint.
* ``native``: tools are passed as the API's ``tools`` parameter, ``tool_calls`` in the response
  are turned into ``<tool_call>`` text for the loop, and results go back as ``role: tool``
  messages (their images follow in a user message, which every API accepts).
"""

from __future__ import annotations

import base64
import io
import json
import os
import random
import threading
import time
import urllib.error
import urllib.request
import weakref
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from facscope.errors import ConfigError
from facscope.vlm.backends.base import (
    BACKENDS,
    COORDINATE_SYSTEMS,
    Backend,
    Generation,
    GenerationRequest,
)
from facscope.vlm.toolcalls import parse_tool_calls, render_tool_section, strip_tool_calls

__all__ = ["OpenAIBackend", "encode_image", "to_openai_messages"]

TOOL_MODES = ("text", "native")
_RETRY_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504})


def encode_image(
    image: Any, *, fmt: str = "png", max_side: int | None = None, optimize: bool = False
) -> str:
    """A PIL image as a ``data:image/...;base64,`` URL (downscaled to ``max_side`` if larger;
    ``optimize``: smallest PNG, slower)."""
    im = image.convert("RGB")
    if max_side is not None and max(im.size) > max_side:
        s = max_side / max(im.size)
        im = im.resize((max(1, round(im.size[0] * s)), max(1, round(im.size[1] * s))))
    buf = io.BytesIO()
    if fmt == "jpeg":
        im.save(buf, format="JPEG", quality=90)
    else:
        im.save(buf, format="PNG", optimize=optimize)
    return f"data:image/{fmt};base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class _URLCache:
    """Data URLs of images already encoded: a conversation resends its images every turn."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._items: dict[tuple[int, str, int | None], tuple[Any, str]] = {}
        self._lock = threading.Lock()

    def get(self, image: Any, fmt: str, max_side: int | None) -> str:
        key = (id(image), fmt, max_side)
        with self._lock:
            hit = self._items.get(key)
        if hit is not None and hit[0]() is image:
            return hit[1]
        url = encode_image(image, fmt=fmt, max_side=max_side)
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[key] = (weakref.ref(image), url)
        return url


_URLS = _URLCache()


def _content(blocks: Any, fmt: str, max_side: int | None) -> Any:
    if isinstance(blocks, str):
        return blocks
    out = []
    for b in blocks:
        if b.get("type") == "image":
            url = _URLS.get(b["image"], fmt, max_side)
            out.append({"type": "image_url", "image_url": {"url": url}})
        elif b.get("type") == "text":
            out.append({"type": "text", "text": b["text"]})
    return out


def _text_of(blocks: Any) -> str:
    if isinstance(blocks, str):
        return blocks
    return "\n".join(b["text"] for b in blocks if b.get("type") == "text")


def to_openai_messages(
    messages: Sequence[dict[str, Any]],
    tools: Sequence[dict[str, Any]],
    *,
    mode: str = "text",
    image_format: str = "png",
    max_side: int | None = None,
) -> list[dict[str, Any]]:
    """The loop's conversation in the chat-completions wire format (see the module docstring)."""
    out: list[dict[str, Any]] = []
    call_ids: list[str] = []
    pending_images: list[dict[str, Any]] = []

    def flush_images() -> None:
        if pending_images:
            out.append(
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "Images returned by the tools:"},
                        *pending_images,
                    ],
                }
            )
            pending_images.clear()

    for i, m in enumerate(messages):
        role, content = m["role"], m["content"]
        if role != "tool":
            flush_images()
        if role == "system":
            text = _text_of(content)
            if tools and mode == "text":
                text = f"{text}\n\n{render_tool_section(tools)}"
            out.append({"role": "system", "content": text})
        elif role == "user":
            out.append({"role": "user", "content": _content(content, image_format, max_side)})
        elif role == "assistant":
            text = _text_of(content)
            if mode == "native" and "<tool_call>" in text:
                calls = [c for c in parse_tool_calls(text) if c.ok]
                call_ids = [f"call_{i}_{k}" for k in range(len(calls))]
                out.append({
                    "role": "assistant",
                    "content": strip_tool_calls(text) or None,
                    "tool_calls": [
                        {"id": cid, "type": "function",
                         "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                        for cid, c in zip(call_ids, calls)
                    ],
                })  # fmt: skip
            else:
                out.append({"role": "assistant", "content": text})
        elif role == "tool":
            if mode == "native" and call_ids:
                out.append(
                    {"role": "tool", "tool_call_id": call_ids.pop(0), "content": _text_of(content)}
                )
                pending_images += [
                    c for c in _content(content, image_format, max_side) if c["type"] == "image_url"
                ] if isinstance(content, list) else []  # fmt: skip
            else:
                body = _content(content, image_format, max_side)
                if isinstance(body, str):
                    body = [{"type": "text", "text": body}]
                out.append({
                    "role": "user",
                    "content": [{"type": "text", "text": f"<tool_response name=\"{m.get('name', '')}\">"},
                                *body, {"type": "text", "text": "</tool_response>"}],
                })  # fmt: skip
        else:
            raise ConfigError(f"unknown message role {role!r} at position {i}")
    flush_images()
    return out


@BACKENDS.register("openai")
class OpenAIBackend(Backend):
    """An OpenAI-compatible chat-completions endpoint (vLLM, hosted APIs), standard library only.

    Args:
        model: model name sent in each request.
        base_url: API root, e.g. ``http://localhost:8000/v1`` (``OPENAI_BASE_URL`` if unset).
        api_key: bearer token (``OPENAI_API_KEY`` if unset; none sent when empty).
        concurrency: requests in flight at once for a batch.
        timeout: seconds one attempt may take in all: connecting and reading the whole reply.
        max_retries: retries after the first attempt on 429/5xx/timeouts/connection errors.
        backoff: first retry delay in seconds, doubled each retry (with jitter), capped at
            ``max_backoff``.
        max_retry_after: the longest ``Retry-After`` honoured, in seconds; a server asking for
            more is not retried (the request fails with that reason).
        max_reply_bytes: the largest reply body read (default 8 MiB); a larger one fails the
            request unread (a chat completion is kilobytes).
        temperature, max_tokens: sampling options (``max_tokens`` defaults to the loop's).
        tool_mode: ``text`` or ``native`` (see the module docstring).
        coordinates: how the model writes boxes (``pixels`` or ``relative-1000`` for Qwen3-VL).
        image_format: ``png`` or ``jpeg``; max_image_side: downscale larger images first.
        extra_body: extra JSON fields merged into every request (e.g. ``{"top_k": 20}``).
    """

    name = "openai"
    described = ("model", "url", "tool_mode", "coordinates", "concurrency", "temperature")

    def __init__(
        self,
        *,
        model: str = "default",
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 4,
        timeout: float = 120.0,
        max_retries: int = 4,
        backoff: float = 1.0,
        max_backoff: float = 30.0,
        max_retry_after: float = 30.0,
        max_reply_bytes: int = 8 << 20,
        temperature: float = 0.0,
        max_tokens: int | None = None,
        tool_mode: str = "text",
        coordinates: str = "pixels",
        image_format: str = "png",
        max_image_side: int | None = 1280,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        url = base_url or os.environ.get("OPENAI_BASE_URL")
        if not url:
            raise ConfigError(
                "the openai backend needs base_url (e.g. http://localhost:8000/v1 for a vLLM "
                "server), given as --base-url or the OPENAI_BASE_URL environment variable"
            )
        if not url.startswith(("http://", "https://")):
            raise ConfigError(f"base_url must start with http:// or https://; got {url!r}")
        if concurrency < 1 or max_retries < 0 or timeout <= 0 or backoff < 0:
            raise ConfigError(
                f"need concurrency >= 1, max_retries >= 0, timeout > 0, backoff >= 0; got "
                f"{concurrency}, {max_retries}, {timeout}, {backoff}"
            )
        if max_retry_after < 0 or max_reply_bytes < 1024:
            raise ConfigError(
                f"need max_retry_after >= 0 and max_reply_bytes >= 1024; got {max_retry_after}, "
                f"{max_reply_bytes}"
            )
        if tool_mode not in TOOL_MODES:
            raise ConfigError(f"tool_mode must be one of {TOOL_MODES}; got {tool_mode!r}")
        if coordinates not in COORDINATE_SYSTEMS or coordinates == "resized":
            raise ConfigError(
                f"coordinates must be 'pixels' or 'relative-1000'; got {coordinates!r}"
            )
        if image_format not in ("png", "jpeg"):
            raise ConfigError(f"image_format must be 'png' or 'jpeg'; got {image_format!r}")
        self.model = model
        self.url = url.rstrip("/") + "/chat/completions"
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.concurrency = int(concurrency)
        self.timeout = float(timeout)
        self.max_retries = int(max_retries)
        self.backoff = float(backoff)
        self.max_backoff = float(max_backoff)
        self.max_retry_after = float(max_retry_after)
        self.max_reply_bytes = int(max_reply_bytes)
        self.temperature = float(temperature)
        self.max_tokens = max_tokens
        self.tool_mode = tool_mode
        self.coordinates = coordinates
        self.image_format = image_format
        self.max_image_side = max_image_side
        self.extra_body = dict(extra_body or {})
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False)
                self._pool = None

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        if len(requests) <= 1 or self.concurrency == 1:
            return [self._one(r) for r in requests]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    self.concurrency, thread_name_prefix="facscope-openai"
                )
            pool = self._pool
        return list(pool.map(self._one, requests))

    # ------------------------------------------------------------------ one request

    def payload(self, req: GenerationRequest) -> dict[str, Any]:
        """The JSON body sent for ``req``."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": to_openai_messages(
                req.messages, req.tools, mode=self.tool_mode, image_format=self.image_format,
                max_side=self.max_image_side,
            ),
            "temperature": self.temperature,
        }  # fmt: skip
        max_tokens = self.max_tokens or req.max_new_tokens
        if max_tokens:
            body["max_tokens"] = int(max_tokens)
        if req.stop and self.tool_mode == "text":
            body["stop"] = list(req.stop)
        if req.tools and self.tool_mode == "native":
            body["tools"] = list(req.tools)
        body.update(self.extra_body)
        return body

    def _one(self, req: GenerationRequest) -> Generation:
        start = time.perf_counter()
        try:
            data = json.dumps(self.payload(req), ensure_ascii=False).encode("utf-8")
        except (TypeError, ValueError) as exc:
            return Generation("", error=f"cannot encode the request: {exc}", seconds=0.0)
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        error = "no attempt made"
        for attempt in range(1, self.max_retries + 2):
            retry_after: float | None = None
            try:
                request = urllib.request.Request(
                    self.url, data=data, headers=headers, method="POST"
                )
                deadline = time.monotonic() + self.timeout
                with urllib.request.urlopen(request, timeout=self.timeout) as resp:
                    body = _read_reply(resp, deadline=deadline, limit=self.max_reply_bytes)
                reply = json.loads(body.decode("utf-8"))
                text, usage = self._read(reply)
                return Generation(
                    text, seconds=time.perf_counter() - start, attempts=attempt, usage=usage
                )
            except urllib.error.HTTPError as exc:
                detail = _error_detail(exc)
                error = f"HTTP {exc.code} from {self.url}: {detail}"
                if exc.code not in _RETRY_STATUS:
                    return Generation(
                        "", error=error, seconds=time.perf_counter() - start, attempts=attempt
                    )
                retry_after = _retry_after(exc)
                if retry_after is not None and retry_after > self.max_retry_after:
                    return Generation(
                        "", error=f"{error}; the server asked to retry after {retry_after:g} s, "
                        f"more than max_retry_after ({self.max_retry_after:g} s): not retried",
                        seconds=time.perf_counter() - start, attempts=attempt,
                    )  # fmt: skip
            except _ReplyTooLarge as exc:
                return Generation(
                    "", error=f"reply from {self.url} {exc}; refused (max_reply_bytes "
                    f"{self.max_reply_bytes})", seconds=time.perf_counter() - start,
                    attempts=attempt,
                )  # fmt: skip
            except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                error = f"request to {self.url} failed: {type(reason).__name__}: {reason}"
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                return Generation(
                    "", error=f"malformed response from {self.url}: {type(exc).__name__}: {exc}",
                    seconds=time.perf_counter() - start, attempts=attempt,
                )  # fmt: skip
            if attempt <= self.max_retries:
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                delay = delay * (0.5 + random.random() / 2)
                if retry_after is not None:
                    delay = min(self.max_backoff, max(delay, retry_after))
                time.sleep(delay)
        return Generation(
            "", error=f"{error} (gave up after {self.max_retries + 1} attempts)",
            seconds=time.perf_counter() - start, attempts=self.max_retries + 1,
        )  # fmt: skip

    def _read(self, reply: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        message = reply["choices"][0]["message"]
        text = message.get("content") or ""
        if isinstance(text, list):  # some servers return content parts
            text = "".join(p.get("text", "") for p in text if isinstance(p, dict))
        for call in message.get("tool_calls") or []:
            fn = call.get("function", {})
            args = fn.get("arguments", "{}")
            if not isinstance(args, str):
                args = json.dumps(args)
            text += f'\n<tool_call>\n{{"name": {json.dumps(fn.get("name", ""))}, "arguments": {args}}}\n</tool_call>'
        return str(text), dict(reply.get("usage") or {})


class _ReplyTooLarge(Exception):
    """A reply body over ``max_reply_bytes`` (the message says how large)."""


def _read_reply(resp: Any, *, deadline: float, limit: int) -> bytes:
    """The reply body, read by pieces under one ``deadline`` (``time.monotonic()``) and at most
    ``limit`` bytes; raises ``TimeoutError`` or :class:`_ReplyTooLarge`."""
    declared = resp.headers.get("Content-Length")
    if declared and declared.strip().isdigit() and int(declared) > limit:
        raise _ReplyTooLarge(f"declares {int(declared):,} bytes")
    # each socket read may block for at most what is left of the deadline
    sock = getattr(getattr(resp.fp, "raw", None), "_sock", None)
    chunks, size = [], 0
    while True:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            if sock is not None:
                sock.settimeout(remaining)
            chunk = resp.read1(1 << 16)
        except TimeoutError:
            raise TimeoutError(
                f"the reply was not complete by the deadline ({size:,} bytes read)"
            ) from None
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > limit:
            raise _ReplyTooLarge(f"is larger than {limit:,} bytes")
        chunks.append(chunk)


def _error_detail(exc: urllib.error.HTTPError) -> str:
    try:
        body = exc.read().decode("utf-8", "replace")[:300]
    except Exception:
        body = ""
    return body.strip() or str(exc.reason)


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
