"""Generation over a build folder with any VLM backend, resumable.

:func:`predict` sends each item — a record's prompt and images (task ``describe``) or an ME-VQA
question (task ``mevqa``) — to a :class:`facscope.vlm.backends.Backend` (``transformers``,
``openai``, …) in batches and appends one JSON line per item to the predictions file as soon
as its batch returns. A rerun reads the file, skips the ids already there and goes on; a line
cut short by a kill is dropped first. A backend error on one item is recorded in its line
(``error``) and the run carries on; :func:`predict` with ``retry_errors=True`` redoes those.

With a ``split`` (written by ``facscope mellm train``), only the subjects of one part (``test``
by default) are predicted, so a fine-tuned model is never scored on its training subjects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, InputFileError
from facscope.io import JsonlLog
from facscope.resume import claim

__all__ = [
    "PredictOptions",
    "PredictResult",
    "load_items",
    "predict",
    "read_generated",
]


@dataclass(frozen=True, kw_only=True)
class PredictOptions:
    """What to predict and how.

    Attributes:
        task: ``describe`` (records) or ``mevqa`` (ME-VQA questions).
        part: with a split, the subjects to predict (``test``, ``val`` or ``train``).
        limit: at most this many items (after the split), in file order.
        batch_size: items per backend call.
        max_new_tokens: generation budget per item.
        retry_errors: redo items whose earlier line holds an error.
        overwrite: remove predictions made with other settings and start over (without it,
            other settings than those stored beside the file are refused).
    """

    task: str = "describe"
    part: str = "test"
    limit: int | None = None
    batch_size: int = 8
    max_new_tokens: int = 512
    retry_errors: bool = False
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.task not in ("describe", "mevqa"):
            raise ConfigError(f"task must be 'describe' or 'mevqa'; got {self.task!r}")
        if self.part not in ("train", "val", "test"):
            raise ConfigError(f"part must be train, val or test; got {self.part!r}")
        if self.batch_size < 1 or self.max_new_tokens < 1:
            raise ConfigError("batch_size and max_new_tokens must be >= 1")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be >= 1; got {self.limit}")


@dataclass
class PredictResult:
    """Counts of a prediction run."""

    path: Path
    total: int
    done_before: int
    generated: int
    errors: int
    seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def load_items(root: str | os.PathLike[str], task: str) -> list[dict[str, Any]]:
    """The items of a build folder: ``id``, ``group``, ``prompt``, absolute ``images``."""
    from facscope.mellm.train import sft_examples

    return [
        {"id": e["id"], "group": e["group"], "prompt": e["prompt"], "images": e["images"]}
        for e in sft_examples(root, task)
    ]


def read_generated(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Generated rows of a predictions JSONL by id (the last line of an id wins); a broken line
    is skipped; a file with text but no readable row is an :class:`InputFileError`. (Not
    :func:`facscope.eval.predictions.read_predictions`, which reads a MER predictions table.)"""
    log = JsonlLog(path)
    rows = log.latest()
    if not rows and log.path.is_file() and log.path.stat().st_size:
        raise InputFileError(
            f"{log.path}: no prediction rows (JSON lines with an 'id') in it; expected the "
            "predictions.jsonl of 'facscope mellm predict'"
        )
    return rows


def _request(item: dict[str, Any], max_new_tokens: int) -> Any:
    from PIL import Image

    from facscope.vlm.backends.base import GenerationRequest

    content: list[dict[str, Any]] = []
    for path in item["images"]:
        with Image.open(path) as im:
            content.append({"type": "image", "image": im.convert("RGB")})
    content.append({"type": "text", "text": item["prompt"]})
    messages = [{"role": "user", "content": content}]
    return GenerationRequest(messages=messages, stop=(), max_new_tokens=max_new_tokens)


def predict(
    root: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    backend: Any,
    *,
    options: PredictOptions | None = None,
    split: Any = None,
    items: Sequence[dict[str, Any]] | None = None,
    progress: bool | Callable[[int], None] = True,
) -> PredictResult:
    """Generate answers for a build folder's items with ``backend``; resumable (module doc).

    Args:
        root: the build folder.
        out_path: the predictions JSONL (appended to).
        backend: a backend instance (:func:`facscope.vlm.backends.create_backend`).
        options: task, split part, limit, batching.
        split: a :class:`~facscope.mellm.splits.Split`; None predicts every item.
        items: ready items (overrides reading ``root``).
        progress: a tqdm bar, or a callable told how many items are done.
    """
    import time

    opts = options or PredictOptions()
    todo = list(items) if items is not None else load_items(root, opts.task)
    if split is not None:
        keep = set(split.part(opts.part))
        todo = [it for it in todo if it["group"] in keep]
    if opts.limit is not None:
        todo = todo[: opts.limit]
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    settings = {"build": str(root), "task": opts.task, "part": opts.part,
                "split": split.to_dict() if split is not None else None,
                "max_new_tokens": opts.max_new_tokens, "backend": backend.settings()}  # fmt: skip
    claim(out.with_suffix(".config.json"), settings, results=[out], overwrite=opts.overwrite,
          command="facscope mellm predict")  # fmt: skip
    log = JsonlLog(out).repair()
    done = log.latest()
    finished = {k for k, v in done.items() if not (opts.retry_errors and v.get("error"))}
    pending = [it for it in todo if it["id"] not in finished]
    result = PredictResult(out, len(todo), len(todo) - len(pending), 0, 0)
    start = time.perf_counter()
    bar = None
    if progress is True:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(pending), desc=f"mellm predict ({opts.task})", unit="item")
    for i in range(0, len(pending), opts.batch_size):
        chunk = pending[i : i + opts.batch_size]
        requests = []
        rows: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        for it in chunk:
            try:
                requests.append(_request(it, opts.max_new_tokens))
                rows.append({"id": it["id"], "group": it["group"]})
            except OSError as exc:  # an unreadable image: record it, go on
                failed.append({"id": it["id"], "group": it["group"], "text": "",
                               "error": f"{type(exc).__name__}: {exc}"})  # fmt: skip
                result.errors += 1
        log.append(*failed, ensure_ascii=True)  # as these lines were always written
        gens = backend.generate(requests) if requests else []
        for row, gen in zip(rows, gens):
            row.update(text=gen.text, error=gen.error, seconds=round(gen.seconds, 3))
            result.generated += 1
            result.errors += int(bool(gen.error))
        log.append(*rows[: len(gens)])
        if bar is not None:
            bar.update(len(chunk))
        elif callable(progress):
            progress(min(i + opts.batch_size, len(pending)))
    if bar is not None:
        bar.close()
    result.seconds = time.perf_counter() - start
    return result
