"""One flags-to-backend builder for every command: each gets exactly the options it has."""

from __future__ import annotations

import pytest

import facscope.agent as agent
from facscope.cli.backend import BACKEND_FLAGS, backend_flags, build_backend
from facscope.errors import ConfigError


@pytest.fixture
def calls(monkeypatch):
    seen: list[tuple[str, dict]] = []
    monkeypatch.setattr(agent, "create_backend", lambda name, **kw: seen.append((name, kw)))
    return seen


_SHARED = {"model": None, "base_url": "http://x/v1", "api_key": "k", "allow_download": False,
           "device_map": None, "dtype": "auto", "temperature": 0.0, "timeout": 120.0}  # fmt: skip


def test_agent_flags_to_openai_and_transformers(calls):
    opts = {**_SHARED, "backend": "openai", "tool_mode": "native", "coordinates": "pixels"}
    build_backend(opts, concurrency=2)
    build_backend({**opts, "backend": "Transformers", "model": "m"})
    build_backend({**opts, "backend": "expert"})
    assert calls == [
        ("openai", {"model": "default", "base_url": "http://x/v1", "api_key": "k",
                    "tool_mode": "native", "temperature": 0.0, "timeout": 120.0,
                    "concurrency": 2, "coordinates": "pixels"}),
        ("transformers", {"model": "m", "allow_download": False, "device_map": None,
                          "dtype": "auto", "temperature": 0.0, "coordinates": "pixels"}),
        ("expert", {}),
    ]  # fmt: skip


def test_mellm_flags_pass_batch_size_and_a_loaded_model(calls):
    opts = {**_SHARED, "backend": "transformers", "model": "m", "batch_size": 4}
    build_backend(opts)
    build_backend(opts, model="run", model_obj="M", processor="P")
    assert calls[0] == ("transformers", {"model": "m", "allow_download": False,
                                         "device_map": None, "dtype": "auto",
                                         "temperature": 0.0, "batch_size": 4})  # fmt: skip
    assert calls[1] == ("transformers", {"model": "run", "model_obj": "M", "processor": "P",
                                         "temperature": 0.0, "batch_size": 4})  # fmt: skip


def test_transformers_without_a_model_is_one_clear_error(calls):
    with pytest.raises(ConfigError, match="needs --model <model id"):
        build_backend({**_SHARED, "backend": "transformers"})
    with pytest.raises(ConfigError, match="or --run"):
        build_backend({**_SHARED, "backend": "transformers"}, missing_model="--model or --run")
    assert calls == []


def test_every_shared_flag_is_declared_once():
    assert len(backend_flags(*BACKEND_FLAGS)) == len(BACKEND_FLAGS) == 8
    with pytest.raises(ValueError, match="unknown"):
        backend_flags("nope")
