"""Writing instruction records in the formats training tools read.

All formats are written inside the build folder (image paths stay relative to it):

* ``trl``: a Hugging Face ``datasets`` dataset saved with ``save_to_disk`` to ``OUT/trl/``, in
  TRL's conversational language-modelling form: ``messages`` (user prompt, assistant target;
  string contents) and ``images`` (the record's images, embedded), plus ``id``, ``subject``,
  ``group``, ``dataset``, ``label``, ``coarse`` and ``aus`` columns. TRL inserts the image
  placeholders before the first user text (``prepare_multimodal_messages``). Text-only
  (``stats``) builds have no ``images`` column.
* ``llava``: ``OUT/llava.json``, a list of ``{"id", "image", "conversations": [{"from":
  "human", "value": "<image>\\n…"}, {"from": "gpt", "value": …}]}`` (``image`` is a list for
  two-image records, absent for text-only ones).
* ``sharegpt``: ``OUT/sharegpt.json``, a list of ``{"id", "conversations": [{"from": "human",
  "value": "<image>…"}, {"from": "gpt", …}], "images": [...]}`` (LLaMA-Factory's ShareGPT
  flavour: one ``<image>`` tag per image).
* ``mevqa``: ``OUT/mevqa.jsonl``, one ME-VQA question per line (:mod:`facscope.mellm.mevqa`).

Every file is written atomically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError
from facscope.mellm.records import InstructionRecord

__all__ = [
    "FORMATS",
    "conversation",
    "format_path",
    "write_format",
    "write_llava",
    "write_mevqa",
    "write_sharegpt",
    "write_trl",
]

FORMATS = ("trl", "llava", "sharegpt", "mevqa")
_PATHS = {"trl": "trl", "llava": "llava.json", "sharegpt": "sharegpt.json", "mevqa": "mevqa.jsonl"}


def format_path(root: str | os.PathLike[str], fmt: str) -> Path:
    """Where format ``fmt`` is written inside the build folder ``root``."""
    if fmt not in FORMATS:
        raise ConfigError(f"format must be one of {FORMATS}; got {fmt!r}")
    return Path(root) / _PATHS[fmt]


def conversation(record: InstructionRecord, *, target: bool = True) -> list[dict[str, str]]:
    """The record as chat messages with string contents (user prompt[, assistant target])."""
    messages = [{"role": "user", "content": record.prompt}]
    if target:
        messages.append({"role": "assistant", "content": record.target})
    return messages


def write_trl(records: Sequence[InstructionRecord], root: str | os.PathLike[str]) -> Path:
    """Save the records as a TRL conversational dataset under ``root/trl`` (see module doc)."""
    import shutil
    import tempfile

    from datasets import Dataset, Features, Image, List, Value

    root = Path(root)
    dest = format_path(root, "trl")
    with_images = any(r.images for r in records)
    columns: dict[str, list[Any]] = {
        "id": [r.id for r in records],
        "dataset": [r.dataset for r in records],
        "subject": [r.subject for r in records],
        "group": [r.group for r in records],
        "label": [r.label for r in records],
        "coarse": [r.coarse for r in records],
        "aus": [r.aus for r in records],
        "messages": [conversation(r) for r in records],
    }
    message = {"role": Value("string"), "content": Value("string")}
    features = {k: Value("string") for k in ("id", "dataset", "subject", "group", "label")}
    features |= {"coarse": Value("string"), "aus": Value("string"), "messages": List(message)}
    if with_images:
        columns["images"] = [[str(p) for p in r.image_paths(root)] for r in records]
        features["images"] = List(Image())
    ds = Dataset.from_dict(columns, features=Features(features))
    # save beside the destination, then swap it in: a killed run never leaves half a dataset
    tmp = Path(tempfile.mkdtemp(prefix=".trl.", dir=root))
    try:
        ds.save_to_disk(str(tmp / "data"))
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp / "data", dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _human(record: InstructionRecord, newline: bool) -> str:
    tags = ("<image>\n" if newline else "<image>") * len(record.images)
    return f"{tags}{record.prompt}"


def write_llava(records: Sequence[InstructionRecord], root: str | os.PathLike[str]) -> Path:
    """``root/llava.json`` in LLaVA's conversation format."""
    from facscope.io import write_json

    rows = []
    for r in records:
        row: dict[str, Any] = {"id": r.id}
        if r.images:
            row["image"] = r.images[0] if len(r.images) == 1 else list(r.images)
        row["conversations"] = [
            {"from": "human", "value": _human(r, newline=True)},
            {"from": "gpt", "value": r.target},
        ]
        rows.append(row)
    return write_json(format_path(root, "llava"), rows)


def write_sharegpt(records: Sequence[InstructionRecord], root: str | os.PathLike[str]) -> Path:
    """``root/sharegpt.json`` in the ShareGPT format (LLaMA-Factory flavour)."""
    from facscope.io import write_json

    rows = []
    for r in records:
        row: dict[str, Any] = {
            "id": r.id,
            "conversations": [
                {"from": "human", "value": _human(r, newline=False)},
                {"from": "gpt", "value": r.target},
            ],
        }
        if r.images:
            row["images"] = list(r.images)
        rows.append(row)
    return write_json(format_path(root, "sharegpt"), rows)


def write_mevqa(
    records: Sequence[InstructionRecord],
    root: str | os.PathLike[str],
    *,
    absent: int = 1,
    seed: int = 0,
) -> Path:
    """``root/mevqa.jsonl``: the MEGC 2025 ME-VQA questions of every record."""
    from facscope.io import write_text
    from facscope.mellm.mevqa import vqa_items

    lines = [
        json.dumps(item, ensure_ascii=False)
        for r in records
        for item in vqa_items(r, absent=absent, seed=seed)
    ]
    return write_text(format_path(root, "mevqa"), "\n".join(lines) + ("\n" if lines else ""))


def write_format(
    fmt: str, records: Sequence[InstructionRecord], root: str | os.PathLike[str], **options: Any
) -> Path:
    """Write ``records`` in format ``fmt`` (see :data:`FORMATS`) inside the build folder."""
    writers = {
        "trl": write_trl,
        "llava": write_llava,
        "sharegpt": write_sharegpt,
        "mevqa": write_mevqa,
    }
    if fmt not in writers:
        raise ConfigError(f"format must be one of {FORMATS}; got {fmt!r}")
    return writers[fmt](records, root, **options)
