"""Helpers shared by CLI commands: inputs with an embedded default, JSON output, option lists."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from facscope.errors import ConfigError, FaceNotFoundError
from facscope.types import Face

#: A click decorator (``click.option(...)``, ``click.argument(...)``).
Decorator = Callable[[Any], Any]


def apply_options(f: Any, options: Sequence[Decorator]) -> Any:
    """Decorate ``f`` with ``options`` so that ``--help`` lists them in the given order."""
    for option in reversed(options):
        f = option(f)
    return f


IMAGE_ARG = click.argument("image", required=False, type=click.Path(dir_okay=True, path_type=Path))
DETECTOR_OPT = click.option(
    "--detector",
    default="mtcnn",
    show_default=True,
    help="Face detector: mtcnn, haar, or yunet (needs a model file).",
)


def load_input_image(image: Path | None) -> tuple[np.ndarray, str]:
    """The image at ``image`` (RGB uint8) and its display name, or the embedded default."""
    if image is None:
        from facscope.embedded import DEFAULT_IMAGE_NAME, default_image

        return default_image(), DEFAULT_IMAGE_NAME
    from facscope.io import load_image

    return load_image(image), str(image)


def pick_face(faces: list[Face], which: str, name: str) -> Face:
    """``largest`` or a 0-based index into ``faces`` (largest first)."""
    if not faces:
        raise FaceNotFoundError(
            f"{name}: no face found; try another --detector or a larger, frontal face"
        )
    if which == "largest":
        return faces[0]
    try:
        idx = int(which)
    except ValueError:
        raise ConfigError(f"--face must be 'largest' or a face index; got {which!r}") from None
    if not 0 <= idx < len(faces):
        raise ConfigError(
            f"--face {idx}: {name} has {len(faces)} face(s), indices 0..{len(faces) - 1}"
        )
    return faces[idx]


def default_output(image: Path | None, suffix: str) -> Path:
    stem = "astronaut" if image is None else image.stem
    return Path(f"{stem}_{suffix}.png")


def echo_json(obj: Any) -> None:
    click.echo(json.dumps(obj, indent=2, ensure_ascii=False))


def parse_key_values(pairs: tuple[str, ...] | list[str], option: str = "-O") -> dict[str, Any]:
    """``KEY=VALUE`` flags into a dict; values are read as YAML scalars (``true``, ``3``,
    ``0.5``, ``[a, b]``; an empty value is None; text YAML cannot read stays text) and a dotted
    key ``a.b=v`` sets ``{"a": {"b": v}}``."""
    import yaml

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} expects KEY=VALUE; got {pair!r}")
        try:
            value = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError:
            value = raw
        *parents, leaf = key.strip().split(".")
        node = out
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{option} {pair!r}: {p!r} is set both as a value and a mapping")
        node[leaf] = value
    return out
