"""Many inputs in one run: one report per input, one row per face in ``results.csv``, a summary
page, resumable.

:func:`analyze_batch` appends one record per finished input to ``results.jsonl``
(:class:`facscope.io.JsonlLog`, fsync'd), so a killed run started again skips what is done; a
file that cannot be read is recorded as ``failed`` with its error and the batch goes on. At the
end the log is turned into ``results.csv`` (one row per face, :data:`ROW_COLUMNS`),
``results.parquet`` (when pandas and pyarrow are installed) and ``index.html`` (thumbnails,
answers, probabilities, a link to each report). Output layout::

    OUT/results.jsonl  results.csv  [results.parquet]  index.html
    OUT/reports/<name>-<hash>/report.html  trace.json  images/   (or face<i>/… per face)
    OUT/thumbs/<name>-<hash>.jpg
"""

from __future__ import annotations

import csv
import hashlib
import re
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facscope.agent.analysis import ROW_COLUMNS, Analysis, analyze, failed_row
from facscope.agent.loop import Agent
from facscope.agent.trace import write_trace
from facscope.io import JsonlLog, is_video
from facscope.resume import claim_folder

__all__ = ["analyze_batch", "clear_own_outputs", "write_analysis", "write_tables"]

_OWN_IMAGE = re.compile(r"^\d{2}_[a-z_]+\.png$")
_OWN_FACE_DIR = re.compile(r"^face\d+$")


def _clear_images(folder: Path) -> None:
    if not folder.is_dir():
        return
    for p in folder.iterdir():
        if p.is_file() and _OWN_IMAGE.match(p.name):
            p.unlink()
    if not any(folder.iterdir()):
        folder.rmdir()


def clear_own_outputs(out: Path) -> None:
    """Remove what an earlier ``analyze`` wrote into ``out`` (its traces, crops and report),
    so a re-run leaves no stale crop beside the new ones; files facscope did not write stay."""
    for name in ("trace.json", "report.html"):
        (out / name).unlink(missing_ok=True)
    _clear_images(out / "images")
    if out.is_dir():
        for d in out.iterdir():
            if d.is_dir() and _OWN_FACE_DIR.match(d.name):
                (d / "trace.json").unlink(missing_ok=True)
                _clear_images(d / "images")
                if not any(d.iterdir()):
                    d.rmdir()


def write_analysis(
    analysis: Analysis, out: str | Path, *, title: str | None = None
) -> dict[str, Any]:
    """Write one input's report and traces into ``out`` (its earlier outputs removed first).

    One analysed face (or none): ``trace.json`` and ``images/`` in ``out``; several:
    ``face<i>/trace.json`` and ``face<i>/images/`` per face; always ``report.html``.
    Returns the paths written (``report``, ``traces``).
    """
    from facscope.agent.image_report import write_image_report

    out = Path(out)
    clear_own_outputs(out)
    episodes = analysis.episodes
    if len(episodes) == 1:
        traces = [write_trace(episodes[0], out)]
    else:
        traces = [write_trace(e, out / f"face{e.face.get('index')}") for e in episodes]
    report = write_image_report(analysis, out / "report.html", title=title)
    return {"report": report, "traces": traces}


def _slug(path: Path) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", path.stem)[:60] or "input"
    digest = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    return f"{stem}-{digest}"


def _load(path: Path) -> dict[str, Any]:
    if is_video(path):
        from facscope.motion.clip import open_clip

        return {"clip": open_clip(path)}
    from facscope.io import load_image

    return {"image": load_image(path)}


def _thumbnail(analysis: Analysis, dest: Path) -> None:
    import cv2

    from facscope.agent.image_report import annotate_faces
    from facscope.io import save_image

    image = annotate_faces(analysis)
    h, w = image.shape[:2]
    s = min(1.0, 240 / max(h, w))
    if s < 1:
        image = cv2.resize(image, (max(1, round(w * s)), max(1, round(h * s))), cv2.INTER_AREA)
    save_image(dest, image)


def _run_one(agent: Agent, path: Path, out: Path, face: str | int) -> dict[str, Any]:
    slug = _slug(path)
    name = str(path)
    try:
        analysis = analyze(agent, **_load(path), name=name, face=face)
    except Exception as exc:  # unreadable or undecodable: record it and go on
        error = f"{type(exc).__name__}: {exc}"
        return {"input": name, "status": "failed", "error": error,
                "rows": [failed_row(name, error)]}  # fmt: skip
    written = write_analysis(analysis, out / "reports" / slug, title=f"facscope analyze: {name}")
    _thumbnail(analysis, out / "thumbs" / f"{slug}.jpg")
    return {
        "input": name,
        "status": analysis.status,
        "faces_found": analysis.faces_found,
        "rows": analysis.rows(),
        "report": written["report"].relative_to(out).as_posix(),
        "thumbnail": f"thumbs/{slug}.jpg",
        "error": None,
    }


def analyze_batch(
    paths: Sequence[str | Path],
    agent: Agent,
    *,
    out_dir: str | Path,
    face: str | int = "all",
    progress: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Analyse each input (image or video) into ``out_dir``; resumes an earlier run there made
    with the same settings (other settings are refused unless ``overwrite``, which starts over).

    Returns the counts (``inputs``, ``done_before``, ``with_faces``, ``faces``, ``no_face``,
    ``failed``) and the paths of the tables and the summary page.
    """
    from tqdm.auto import tqdm

    out = Path(out_dir)
    claim_folder(out, {**agent.settings(), "face": face}, overwrite=overwrite,
                 results=("results.jsonl", "results.csv", "results.parquet", "index.html"),
                 command="facscope analyze")  # fmt: skip
    log = JsonlLog(out / "results.jsonl", key="input").repair()
    done = {r.get("input") for r in log.records()}
    todo = [Path(p) for p in paths if str(p) not in done]
    for path in tqdm(todo, desc="analyze", unit="input", disable=not progress):
        log.append(_run_one(agent, path, out, face))
    latest = log.latest()
    records = [latest[str(p)] for p in dict.fromkeys(paths) if str(p) in latest]
    tables = write_tables(records, out)
    from facscope.agent.summary_page import write_summary_page

    page = write_summary_page(records, out / "index.html")
    counts = _counts(records)
    return {**counts, "done_before": len(paths) - len(todo), **tables, "summary": str(page)}


def _counts(records: list[dict[str, Any]]) -> dict[str, int]:
    status = [r.get("status") for r in records]
    return {
        "inputs": len(records),
        "with_faces": status.count("ok"),
        "faces": sum(int(r.get("faces_found") or 0) for r in records),
        "no_face": status.count("no_face"),
        "failed": status.count("failed"),
    }


def write_tables(records: list[dict[str, Any]], out: Path) -> dict[str, str]:
    """``results.csv`` (and ``results.parquet`` when pandas and pyarrow are installed): one
    row per face of every record, in input order."""
    rows = [row for r in records for row in r.get("rows") or []]
    written = {"csv": str(out / "results.csv")}
    tmp = out / "results.csv.tmp"
    with tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(ROW_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    shutil.move(tmp, out / "results.csv")
    try:
        import pandas as pd
        import pyarrow  # noqa: F401
    except ImportError:
        return written
    pd.DataFrame(rows, columns=list(ROW_COLUMNS)).to_parquet(out / "results.parquet")
    written["parquet"] = str(out / "results.parquet")
    return written
