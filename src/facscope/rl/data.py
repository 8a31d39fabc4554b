"""Training rows for GRPO: a conversational prompt, the image, and the labels rewards read.

A row is a dict with

* ``prompt``: ``[system, user]`` messages (TRL inserts the image before the user's text);
* ``image``: the picture the model sees first (a PIL image);
* ``aus``: the annotated AU numbers (a list; None when AUs are not annotated);
* ``emotion``: the canonical emotion (None when not labelled);
* optional ``face_box`` / ``face_landmarks`` (known face geometry, skips detection),
  ``tool_benefit`` (the AdaTooler-V baseline's offline score) and ``subtle`` (synthetic task).

Inputs are facscope :class:`~facscope.data.sample.Sample` records (still images; clips are
skipped with a :class:`~facscope.errors.FacscopeDataWarning`, or refused with ``strict=True``)
or plain dicts with ``image``, ``aus`` and ``emotion``. A sample's empty AU tuple means "not
annotated" (the Sample convention), so it becomes None.

The **passive** condition (no tools) shows the aligned face instead of the full image, computed
once here with the same face tools the agent uses.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from facscope.errors import ConfigError, FacscopeDataWarning

__all__ = ["build_prompt", "passive_image", "rl_dataset", "rl_rows", "sample_row"]

_KEEP = ("face_box", "face_landmarks", "tool_benefit", "subtle")


def build_prompt(
    *, passive: bool = False, system: str | None = None, max_zooms: int | None = None
) -> list[dict[str, Any]]:
    """The ``[system, user]`` messages of a training prompt (the agent's own prompts)."""
    from facscope.agent.prompts import system_prompt, task_prompt

    text = system if system is not None else system_prompt(tools=not passive, max_zooms=max_zooms)
    return [
        {"role": "system", "content": text},
        {"role": "user", "content": task_prompt(passive=passive)},
    ]


def sample_row(sample: Any, *, strict: bool = False) -> dict[str, Any] | None:
    """A row dict from a facscope Sample (None for a clip that is skipped)."""
    if sample.image is None:
        message = (
            f"sample {sample.dataset}/{sample.sample_id} is a clip; RL rows are still images, "
            "so it is skipped"
        )
        if strict:
            raise ConfigError(message)
        warnings.warn(message, FacscopeDataWarning, stacklevel=3)
        return None
    aus = sorted({a.number for a in sample.aus}) or None
    return {"image": str(sample.image), "aus": aus, "emotion": sample.label}


def _normalise(row: Mapping[str, Any]) -> dict[str, Any]:
    from facscope.facs import normalize_emotion
    from facscope.rl.rewards import gold_aus

    if "image" not in row:
        raise ConfigError(f"a row needs an 'image'; got keys {sorted(row)}")
    aus = gold_aus(row.get("aus"))
    out = {
        "image": row["image"],
        "aus": None if aus is None else sorted(aus),
        "emotion": normalize_emotion(row.get("emotion")),
    }
    for key in _KEEP:
        if key in row:
            out[key] = row[key]
    return out


def passive_image(row: Mapping[str, Any], *, tools_config: Any = None) -> Any:
    """The aligned face of a row as a PIL image (the passive condition's only view)."""
    from facscope.rl.env import FaceEnv

    env = FaceEnv(tools_config)
    env.reset(**dict(row))
    blocks = env.align_face(0)
    images = [b["image"] for b in blocks if b.get("type") == "image"]
    if not images:
        text = " ".join(str(b.get("text", "")) for b in blocks)
        raise ConfigError(f"cannot align the face of this row for the passive condition: {text}")
    return images[0]


def rl_rows(
    items: Iterable[Any],
    *,
    passive: bool = False,
    system: str | None = None,
    tools_config: Any = None,
    strict: bool = False,
) -> list[dict[str, Any]]:
    """Rows for :func:`rl_dataset` from Samples or dicts (see the module docstring)."""
    from PIL import Image

    from facscope.io import load_image

    max_zooms = None if tools_config is None else tools_config.max_zooms
    prompt = build_prompt(passive=passive, system=system, max_zooms=max_zooms)
    rows = []
    for item in items:
        raw = item if isinstance(item, Mapping) else sample_row(item, strict=strict)
        if raw is None:
            continue
        row = _normalise(raw)
        if isinstance(row["image"], (str, os.PathLike)):
            row["image"] = Image.fromarray(load_image(row["image"]))  # EXIF applied, clear errors
        if passive:
            row["image"] = passive_image(row, tools_config=tools_config)
            row.pop("face_box", None)
            row.pop("face_landmarks", None)
        rows.append({"prompt": prompt, **row})
    if not rows:
        raise ConfigError("no usable rows: every item was skipped (clips) or the input was empty")
    return rows


def rl_dataset(rows: list[dict[str, Any]]) -> Any:
    """A :class:`datasets.Dataset` of rows (list-valued columns allow missing values as None)."""
    from datasets import Dataset

    columns = {key: [row.get(key) for row in rows] for key in rows[0]}
    return Dataset.from_dict(columns)
