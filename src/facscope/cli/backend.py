"""The backend options of every command that runs a model, and the one flags-to-backend builder.

``facscope analyze``, ``facscope eval agent``, ``facscope mellm predict`` and ``mellm eval`` all
choose an agent backend (``expert``, ``openai``, ``transformers``) from the same flags; each
flag is declared once here (:data:`BACKEND_FLAGS`) and :func:`build_backend` turns whichever of
them a command has into the backend.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from facscope.cli.common import Decorator
from facscope.errors import ConfigError

__all__ = ["BACKEND_FLAGS", "backend_flag", "backend_flags", "build_backend"]


def _flags() -> dict[str, Decorator]:
    return {
        "model": click.option(
            "--model", help="Model id or local path (transformers), or model name (openai)."
        ),
        "base_url": click.option(
            "--base-url", help="OpenAI-compatible API root, e.g. http://localhost:8000/v1."
        ),
        "api_key": click.option(
            "--api-key", envvar="OPENAI_API_KEY", help="API key (default $OPENAI_API_KEY)."
        ),
        "allow_download": click.option(
            "--allow-download", is_flag=True, help="Let transformers download the model."
        ),
        "device_map": click.option("--device-map", help="transformers device_map, e.g. auto."),
        "dtype": click.option(
            "--dtype",
            default="auto",
            show_default=True,
            type=click.Choice(["auto", "float32", "bfloat16", "float16"]),
        ),
        "temperature": click.option("--temperature", default=0.0, show_default=True, type=float),
        "timeout": click.option(
            "--timeout",
            default=120.0,
            show_default=True,
            type=float,
            help="openai: seconds per request.",
        ),
    }


#: The flags shared by every backend-running command, by the option's parameter name.
BACKEND_FLAGS: tuple[str, ...] = tuple(_flags())


def backend_flag(default: str, help: str) -> Decorator:
    """The ``--backend NAME`` option with a command's default."""
    return click.option("--backend", default=default, show_default=True, help=help)


def backend_flags(*names: str) -> list[Decorator]:
    """The shared options ``names`` (parameter names from :data:`BACKEND_FLAGS`), in order."""
    flags = _flags()
    unknown = [n for n in names if n not in flags]
    if unknown:
        raise ValueError(f"unknown backend flags {unknown}; known: {BACKEND_FLAGS}")
    return [flags[n] for n in names]


def _given(opts: dict[str, Any], names: Sequence[str]) -> dict[str, Any]:
    """The options among ``names`` that the command has (a flag it lacks keeps the default)."""
    return {n: opts[n] for n in names if n in opts}


def build_backend(
    opts: dict[str, Any],
    *,
    concurrency: int = 4,
    missing_model: str = "--model <model id or local directory>",
    **extra: Any,
) -> Any:
    """The backend ``opts["backend"]`` names, given only the options that backend takes.

    Args:
        opts: the command's parsed options (``backend`` and any of :data:`BACKEND_FLAGS`, plus
            ``tool_mode``, ``coordinates`` and ``batch_size`` where the command has them).
        concurrency: openai: requests in flight.
        missing_model: what the error asks for when ``transformers`` has no ``--model``.
        extra: more keyword arguments for a ``transformers`` backend (a loaded model).
    """
    from facscope.agent import create_backend

    name = opts["backend"].lower()
    if name == "expert":
        return create_backend("expert")
    coordinates = {"coordinates": opts["coordinates"]} if opts.get("coordinates") else {}
    if name == "openai":
        kw: dict[str, Any] = {
            "model": opts.get("model") or "default",
            "base_url": opts.get("base_url"),
            "api_key": opts.get("api_key"),
            **_given(opts, ("tool_mode", "temperature", "timeout")),
            "concurrency": concurrency,
            **coordinates,
        }
        return create_backend("openai", **kw)
    if name == "transformers":
        if extra:
            return create_backend(
                "transformers", **extra, **_given(opts, ("temperature", "batch_size"))
            )
        if not opts.get("model"):
            raise ConfigError(f"--backend transformers needs {missing_model}")
        kw = {
            "model": opts["model"],
            "allow_download": bool(opts.get("allow_download")),
            "device_map": opts.get("device_map"),
            **_given(opts, ("dtype", "temperature", "batch_size")),
            **coordinates,
        }
        return create_backend("transformers", **kw)
    return create_backend(name)
