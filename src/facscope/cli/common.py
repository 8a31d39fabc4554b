"""Helpers shared by CLI commands: inputs with an embedded default, JSON output, option lists."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
import numpy as np

from facscope.errors import ConfigError, FaceNotFoundError, InputFileError
from facscope.types import Face

#: A click decorator (``click.option(...)``, ``click.argument(...)``).
Decorator = Callable[[Any], Any]


def apply_options(f: Any, options: Sequence[Decorator]) -> Any:
    """Decorate ``f`` with ``options`` so that ``--help`` lists them in the given order."""
    for option in reversed(options):
        f = option(f)
    return f


def choice_option(*decls: str, choices: Sequence[str], default: str, help: str) -> Decorator:
    """An option taking one of ``choices`` (imported from the module that owns them), with its
    default shown in ``--help``."""
    return click.option(
        *decls, type=click.Choice(list(choices)), default=default, show_default=True, help=help
    )


def folder_option(
    *decls: str, help: str, dest: str = "out_dir", required: bool = True
) -> Decorator:
    """An output-folder option (``-o/--out`` by default) stored as ``dest``."""
    return click.option(
        *(decls or ("-o", "--out")),
        dest,
        required=required,
        type=click.Path(file_okay=False, path_type=Path),
        help=help,
    )


def file_option(*decls: str, help: str, required: bool = True) -> Decorator:
    """An output-file option (``-o/--output`` by default)."""
    return click.option(
        *(decls or ("-o", "--output")),
        required=required,
        type=click.Path(dir_okay=False, path_type=Path),
        help=help,
    )


IMAGE_ARG = click.argument("image", required=False, type=click.Path(dir_okay=True, path_type=Path))
DETECTOR_OPT = click.option(
    "--detector",
    default="mtcnn",
    show_default=True,
    help=(
        "Face detector: mtcnn, haar, yunet (needs a model file), blazeface.full, blazeface.short "
        "or mtcnn.blazeface (MTCNN, then BlazeFace where it finds nothing; the last three need "
        "the landmarks extra)."
    ),
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


INPUTS_ARG = click.argument("inputs", nargs=-1, type=click.Path(path_type=Path))
DETECTOR_MODEL_OPT = click.option(
    "--detector-model",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Model file of a detector that takes one: a YuNet .onnx for --detector yunet "
    "(e.g. face_detection_yunet_2023mar.onnx), a cascade .xml for haar.",
)
_GLOB_CHARS = re.compile(r"[*?\[]")


def _folder_images(folder: Path) -> list[Path]:
    from facscope.io import IMAGE_SUFFIXES

    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


def expand_inputs(paths: Sequence[Path]) -> list[Path]:
    """Files named on the command line: a folder gives its images (sorted by name), a quoted
    glob pattern (``'photos/*.jpg'``) its matches; a missing path is one clear error."""
    import glob

    out: list[Path] = []
    for p in paths:
        if not p.exists() and _GLOB_CHARS.search(str(p)):
            matches = sorted(Path(m) for m in glob.glob(str(p), recursive=True))
            if not matches:
                raise InputFileError(f"{p}: the pattern matches no file")
            out += [m for m in matches if m.is_file()]
        elif p.is_dir():
            out += _folder_images(p)
        elif p.exists():
            out.append(p)
        else:
            raise InputFileError(f"{p}: no such file or folder; check the path")
    return list(dict.fromkeys(out))


def frame_folder_rule(folder: Path) -> str | None:
    """Why ``folder`` reads as one clip's frames, or None when it is a set of photos.

    The rule: at least 2 images, every name is one shared prefix and suffix around a frame
    number (the last integer group, :func:`facscope.io.frame_number`: ``img1.jpg`` …
    ``img30.jpg``, ``frame_0001.png`` …), the numbers run without a gap
    (:func:`facscope.io.frame_gaps`), and every image has the same pixel size.
    """
    from PIL import Image

    from facscope.io import _LAST_INT, frame_gaps

    files = _folder_images(folder)
    if len(files) < 2:
        return None
    parts = []
    for f in files:
        m = list(_LAST_INT.finditer(f.stem))
        if not m:
            return None
        last = m[-1]
        parts.append((f.stem[: last.start()], f.stem[last.end():] + f.suffix.lower(), int(last.group(1))))  # fmt: skip
    if len({(a, b) for a, b, _ in parts}) != 1:
        return None
    numbers = sorted(n for _, _, n in parts)
    if len(set(numbers)) != len(numbers) or frame_gaps(numbers):
        return None
    sizes = set()
    for f in files:
        with Image.open(f) as im:
            sizes.add(im.size)
    if len(sizes) != 1:
        return None
    return f"{len(files)} numbered frames {files[0].name} … {files[-1].name} of one size"
