"""Resumable batch preprocessing of clips into motion outputs, one folder per sample.

Each sample's files (:data:`facscope.motion.pipeline.OUTPUT_FILES`) are written into a private
temporary folder under ``OUT/.partial/`` and renamed into place only when complete, so a sample
folder either exists whole or not at all, whatever kills the run. ``OUT/manifest.jsonl`` gets
one line per attempt (``ok``, ``error`` with the message, or ``skipped``); a re-run skips every
sample whose folder exists, retries the failed ones and clears leftovers in ``.partial/``. A
failing sample is recorded and the run carries on. ``OUT/config.json`` holds the resolved
configuration; resuming into a folder made with a different one is refused.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import time
import uuid
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError, InputFileError
from facscope.io import JsonlLog
from facscope.motion.pipeline import MotionConfig

__all__ = [
    "ClipItem",
    "PreprocessReport",
    "items_from_dataset",
    "read_clip_csv",
    "read_manifest",
    "run_preprocess",
]

MANIFEST = "manifest.jsonl"
PARTIAL = ".partial"
CSV_COLUMNS = ("id", "path", "onset", "apex", "offset", "fps")


@dataclass(frozen=True)
class ClipItem:
    """One clip to preprocess. Frame indices are frame numbers (file-name numbers for a
    folder, 0-based positions for a video); None means first frame / spot it / last frame."""

    id: str
    path: Path
    onset: int | None = None
    apex: int | None = None
    offset: int | None = None
    fps: float | None = None
    apex_rule: str | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False)


def _int_cell(value: str, column: str, row: int, path: Path) -> int | None:
    v = (value or "").strip()
    if v in ("", "/", "-", "na", "NA", "None"):
        return None
    try:
        f = float(v)
    except ValueError:
        raise ConfigError(
            f"{path}, row {row}: {column} must be a frame number; got {v!r}"
        ) from None
    if f != int(f):
        raise ConfigError(f"{path}, row {row}: {column} must be a whole number; got {v!r}")
    return int(f)


def read_clip_csv(path: str | os.PathLike[str]) -> list[ClipItem]:
    """Clips listed in a CSV with columns ``id, path, onset, apex, offset, fps``.

    ``path`` is a frame folder or a video (relative paths are resolved against the CSV's
    folder); ``apex`` and ``fps`` may be empty. Extra columns go to :attr:`ClipItem.meta`.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{p}: no such CSV file")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{p}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "save the CSV as UTF-8"
        ) from None
    with io.StringIO(text, newline="") as fh:
        reader = csv.DictReader(fh)
        cols = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("id", "path") if c not in cols]
        if missing:
            raise ConfigError(
                f"{p}: missing column(s) {missing}; expected {', '.join(CSV_COLUMNS)}"
            )
        items = []
        for row_no, raw in enumerate(reader, start=2):
            row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
            if not row.get("id") or not row.get("path"):
                raise ConfigError(f"{p}, row {row_no}: id and path must not be empty")
            clip_path = Path(row["path"])
            if not clip_path.is_absolute():
                clip_path = p.parent / clip_path
            fps = row.get("fps", "")
            try:
                fps_val = float(fps) if fps else None
            except ValueError:
                raise ConfigError(f"{p}, row {row_no}: fps must be a number; got {fps!r}") from None
            items.append(
                ClipItem(
                    id=row["id"],
                    path=clip_path,
                    onset=_int_cell(row.get("onset", ""), "onset", row_no, p),
                    apex=_int_cell(row.get("apex", ""), "apex", row_no, p),
                    offset=_int_cell(row.get("offset", ""), "offset", row_no, p),
                    fps=fps_val,
                    meta={k: v for k, v in row.items() if k not in CSV_COLUMNS},
                )
            )
    return items


def items_from_dataset(name: str, root: str | os.PathLike[str], **options: Any) -> list[ClipItem]:
    """Clips of a dataset read by :func:`facscope.data.load_dataset` (still images skipped)."""
    import facscope.motion.apex  # noqa: F401  (registers the apex='max-motion' finder)
    from facscope.data import load_dataset

    items = []
    for s in load_dataset(name, root, **options):
        if s.image is not None:
            continue
        items.append(
            ClipItem(
                id=f"{s.dataset}/{s.sample_id}",
                path=Path(s.frames_dir or s.video),  # type: ignore[arg-type]
                onset=s.onset,
                apex=s.apex,
                offset=s.offset,
                fps=s.fps,
                apex_rule=s.apex_rule if s.apex is not None else None,
                meta={
                    "dataset": s.dataset,
                    "subject": s.subject,
                    "label": s.label,
                    "aus": s.au_string,
                },
            )
        )
    return items


_UNSAFE = re.compile(r"[^A-Za-z0-9._+=@-]+")


def sample_folder(sample_id: str) -> Path:
    """The relative output folder of a sample id (``/`` nests; other odd characters → ``_``)."""
    parts = [
        _UNSAFE.sub("_", part)
        for part in re.split(r"[/\\]+", sample_id)
        if part not in ("", ".", "..")
    ]
    parts = [p for p in parts if p.strip("._")]
    if not parts:
        raise ConfigError(f"sample id {sample_id!r} gives no usable folder name")
    return Path(*parts)


def read_manifest(out_root: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The last record of each sample id in ``OUT/manifest.jsonl`` (a torn last line is ignored)."""
    return JsonlLog(Path(out_root) / MANIFEST).latest()


@dataclass
class PreprocessReport:
    """Counts of one run and where its manifest is."""

    ok: int = 0
    skipped: int = 0
    errors: int = 0
    manifest: Path | None = None
    failed: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.ok + self.skipped + self.errors


def _process(item: ClipItem, out_root: str, config: dict[str, Any]) -> dict[str, Any]:
    """Preprocess one clip into its folder; never raises (the error goes in the record)."""
    from facscope.motion.clip import open_clip
    from facscope.motion.pipeline import analyse_clip

    t0 = time.perf_counter()
    root = Path(out_root)
    final = root / sample_folder(item.id)
    record: dict[str, Any] = {"id": item.id, "output": str(sample_folder(item.id))}
    tmp = root / PARTIAL / f"{uuid.uuid4().hex}"
    try:
        cfg = MotionConfig.from_dict(config)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            clip = open_clip(item.path, fps=item.fps)
            onset = 0 if item.onset is None else clip.index_of(item.onset)
            offset = None if item.offset is None else clip.index_of(item.offset)
            apex = None if item.apex is None else clip.index_of(item.apex)
            res = analyse_clip(clip, onset=onset, apex=apex, offset=offset, config=cfg)
        rule = item.apex_rule if (item.apex is not None and item.apex_rule) else res.apex_rule
        extra = {
            "id": item.id,
            "source": str(item.path),
            "fps": clip.fps,
            "frames": {
                "onset": clip.numbers[res.onset],  # type: ignore[index]
                "apex": clip.numbers[res.apex],  # type: ignore[index]
                "offset": clip.numbers[res.offset],  # type: ignore[index]
                "apex_rule": rule,
            },
            "warnings": [str(w.message) for w in caught],
            "sample": item.meta,
        }
        res.save(tmp, extra=extra)
        final.parent.mkdir(parents=True, exist_ok=True)
        if final.exists():  # overwrite mode: the old folder goes first
            shutil.rmtree(final)
        os.replace(tmp, final)
        record.update(
            status="ok",
            apex=extra["frames"]["apex"],
            apex_rule=rule,
            warnings=len(caught),
        )
    except Exception as exc:  # one bad sample must not stop the run
        record.update(status="error", error=f"{type(exc).__name__}: {exc}")
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    record["seconds"] = round(time.perf_counter() - t0, 3)
    return record


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)  # one core per worker process
    warnings.simplefilter("ignore")


def _check_config(out_root: Path, config: MotionConfig, overwrite: bool) -> None:
    from facscope.io import write_json

    path = out_root / "config.json"
    wanted = json.loads(json.dumps(config.to_dict()))
    if path.is_file() and not overwrite:
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            old = None
        if old is not None and old != wanted:
            changed = sorted(k for k in set(old) | set(wanted) if old.get(k) != wanted.get(k))
            raise ConfigError(
                f"{out_root} was made with a different motion config (differs in {changed}); "
                "use a new output folder or overwrite=True (--overwrite)"
            )
    write_json(path, wanted)


def _results(
    todo: list[ClipItem], out_root: Path, config: dict[str, Any], workers: int
) -> Iterator[dict[str, Any]]:
    if workers <= 1:
        for item in todo:
            yield _process(item, str(out_root), config)
        return
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor, as_completed
    from concurrent.futures.process import BrokenProcessPool

    with ProcessPoolExecutor(
        max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init_worker
    ) as pool:
        futures = {pool.submit(_process, item, str(out_root), config): item for item in todo}
        for fut in as_completed(futures):
            try:
                yield fut.result()
            except BrokenProcessPool:
                yield {
                    "id": futures[fut].id,
                    "status": "error",
                    "error": "the worker process died (out of memory or killed); re-run to retry",
                }


def run_preprocess(
    items: Iterable[ClipItem],
    out_root: str | os.PathLike[str],
    *,
    config: MotionConfig | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
) -> PreprocessReport:
    """Preprocess ``items`` into ``out_root`` (see the module docstring).

    Args:
        items: the clips; ids must be unique.
        out_root: output folder (created).
        config: the pipeline's configuration.
        workers: worker processes (1 runs in this process).
        overwrite: redo samples whose folder exists (and accept a changed config).
        progress: show a tqdm progress bar.
    """
    from tqdm.auto import tqdm

    cfg = config or MotionConfig()
    if workers < 1:
        raise ConfigError(f"workers must be >= 1; got {workers}")
    items = list(items)
    folders: dict[Path, str] = {}
    for it in items:
        f = sample_folder(it.id)
        if f in folders:
            raise ConfigError(
                f"sample ids {folders[f]!r} and {it.id!r} map to the same output folder {f}"
            )
        folders[f] = it.id
    root = Path(out_root)
    root.mkdir(parents=True, exist_ok=True)
    _check_config(root, cfg, overwrite)
    shutil.rmtree(root / PARTIAL, ignore_errors=True)  # leftovers of a killed run
    (root / PARTIAL).mkdir()
    manifest = JsonlLog(root / MANIFEST).repair()
    report = PreprocessReport(manifest=manifest.path)
    todo = []
    for it in items:
        if not overwrite and (root / sample_folder(it.id) / "meta.json").is_file():
            manifest.append({"id": it.id, "status": "skipped", "output": str(sample_folder(it.id))})
            report.skipped += 1
        else:
            todo.append(it)
    bar = tqdm(total=len(todo), desc="preprocess", unit="clip", disable=not progress)
    try:
        for rec in _results(todo, root, cfg.to_dict(), workers):
            manifest.append(rec)
            if rec["status"] == "ok":
                report.ok += 1
            else:
                report.errors += 1
                report.failed.append(rec["id"])
            bar.set_postfix(ok=report.ok, errors=report.errors, refresh=False)
            bar.update(1)
    finally:
        bar.close()
    shutil.rmtree(root / PARTIAL, ignore_errors=True)
    return report
