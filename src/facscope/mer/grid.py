"""Experiment grids: models × key-frame samplings × imbalance methods × seeds, and their tables.

:func:`run_grid` runs every combination of a :class:`~facscope.mer.config.GridConfig` as an
ordinary :func:`~facscope.mer.train.train` run in ``<output_dir>/runs/<name>/`` (sharing one
clip/flow cache), then writes DFME-style tables: ACC / UF1 / UAR as mean ± standard deviation
over seeds, as Markdown (``results.md``) and CSV (``results.csv``), stating the dataset,
protocol, pooling, selection rule and seeds. Each run also leaves its own report and
confusion-matrix PNG (``report_confusion.png``, see :func:`facscope.mer.train.train`).

Apex-flow models read no key frames, so they run once per imbalance method and seed, with the
sampling column reading ``apex flow``. A run that finished has a ``COMPLETED.json`` marker
(written atomically, last); an interrupted grid started again skips those runs and resumes the
unfinished one from its checkpoints. A run that fails is recorded in ``failures.jsonl`` and the
grid goes on.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.io import JsonlLog, read_json, write_json, write_text
from facscope.mer.config import GridConfig, TrainConfig, config_to_dict
from facscope.resume import differences

__all__ = ["GridRun", "GridSummary", "grid_runs", "run_grid", "summarise"]

MARKER = "COMPLETED.json"
FLOW_SAMPLING = "apex flow"


@dataclass(frozen=True)
class GridRun:
    """One cell × seed of a grid."""

    name: str
    model: str
    sampling: str  # FLOW_SAMPLING for apex-flow models
    imbalance: str
    seed: int
    config: TrainConfig

    @property
    def output_dir(self) -> Path:
        return Path(self.config.output_dir)

    @property
    def done(self) -> bool:
        return (self.output_dir / MARKER).is_file()

    def settings(self) -> dict[str, Any]:
        """The run's resolved training config as JSON data (stored in its marker)."""
        return json.loads(json.dumps(config_to_dict(self.config)))

    def stale(self) -> list[str]:
        """How the finished run's stored config differs from this run's (empty when it does
        not, or when the run is not finished or its marker predates stored configs)."""
        if not self.done:
            return []
        marker = read_json(self.output_dir / MARKER, what="a finished grid run's marker")
        stored = marker.get("config") if isinstance(marker, dict) else None
        return [] if stored is None else differences(stored, self.settings())


@dataclass
class GridSummary:
    """What :func:`run_grid` wrote."""

    rows: list[dict[str, Any]]
    markdown: str
    markdown_path: Path
    csv_path: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


def grid_runs(grid: GridConfig) -> list[GridRun]:
    """Every run of ``grid``, in order (model, sampling, imbalance, seed)."""
    from facscope.mer.models import model_input

    out = Path(grid.output_dir)
    cache = grid.train.cache_dir or str(out / "cache")
    runs = []
    for model in grid.models:
        base = grid.train.replace(**grid.overrides.get(model, {}))
        is_flow = model_input(model, **base.model_options).kind == "flow"
        samplings = grid.samplings[:1] if is_flow else grid.samplings
        for sampling in samplings:
            label = FLOW_SAMPLING if is_flow else sampling
            for imbalance in grid.imbalances:
                for seed in grid.seeds:
                    name = f"{model}__{'flow' if is_flow else sampling}__{imbalance}__seed{seed}"
                    cfg = base.replace(
                        model=model,
                        sampling=sampling,
                        imbalance=imbalance,
                        seed=seed,
                        output_dir=str(out / "runs" / name),
                        cache_dir=cache,
                    )
                    runs.append(GridRun(name, model, label, imbalance, seed, cfg))
    return runs


def _check_finished(runs: Sequence[GridRun], overwrite: bool) -> None:
    """Refuse finished runs made with other settings, or (``overwrite``) mark them to rerun."""
    stale = [(r, r.stale()) for r in runs]
    stale = [(r, diff) for r, diff in stale if diff]
    if stale and not overwrite:
        shown = "; ".join(f"{r.name} ({', '.join(d[:3])})" for r, d in stale[:3])
        more = f" and {len(stale) - 3} more" if len(stale) > 3 else ""
        raise ConfigError(
            f"{len(stale)} finished run(s) of this grid were made with other settings: "
            f"{shown}{more}; run the grid with its settings, use a new output_dir, or pass "
            "--overwrite to run them again"
        )
    for r, _ in stale:
        shutil.rmtree(r.output_dir)


def run_grid(grid: GridConfig, *, progress: bool = True, overwrite: bool = False) -> GridSummary:
    """Run (or resume) every run of ``grid`` and write the tables; see the module docstring.

    A finished run whose stored config differs from the grid's (say ``epochs`` changed) is an
    error naming it and the keys, unless ``overwrite``, which runs it again; runs added to the
    grid (models, seeds) simply run.
    """
    import yaml

    from facscope.mer.train import train

    if not grid.train.root:
        raise ConfigError(
            "the grid's train section must name the dataset every run trains on (data, root); "
            "see configs/mer-synth-cpu.yaml"
        )
    out = Path(grid.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = grid_runs(grid)
    _check_finished(runs, overwrite)
    write_text(out / "grid.yaml", yaml.safe_dump(config_to_dict(grid), sort_keys=False))
    summary_ran, skipped, failed = [], [], []
    for i, run in enumerate(runs):
        if run.done:
            skipped.append(run.name)
            continue
        if progress:
            print(f"[{i + 1}/{len(runs)}] {run.name}", flush=True)
        try:
            result = train(run.config, progress=progress)
            if result.interrupted:  # max_steps: leave it unfinished for the next call
                failed.append(run.name)
                continue
        except Exception as exc:  # one failing run must not stop the grid
            failed.append(run.name)
            failure = {
                "run": run.name,
                "error": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=5),
            }
            JsonlLog(out / "failures.jsonl").repair().append(failure, ensure_ascii=True)
            continue
        marker = {"run": run.name, "metrics": result.metrics, "config": run.settings()}
        write_json(run.output_dir / MARKER, marker)
        summary_ran.append(run.name)
    rows = summarise(runs)
    md = markdown_table(rows, grid)
    md_path = write_text(out / "results.md", md)
    csv_path = write_text(out / "results.csv", csv_table(rows, grid))
    return GridSummary(rows, md, md_path, csv_path, summary_ran, skipped, failed)


def summarise(runs: Sequence[GridRun]) -> list[dict[str, Any]]:
    """Mean and standard deviation (ddof 1; 0 for one seed) over seeds of each grid cell's
    finished runs."""
    cells: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    order: list[tuple[str, str, str]] = []
    for r in runs:
        key = (r.model, r.sampling, r.imbalance)
        if key not in cells:
            cells[key] = []
            order.append(key)
        if r.done:
            marker = json.loads((r.output_dir / MARKER).read_text(encoding="utf-8"))
            cells[key].append({"seed": r.seed, **marker["metrics"]})
    rows = []
    for key in order:
        done = cells[key]
        row: dict[str, Any] = {
            "model": key[0],
            "sampling": key[1],
            "imbalance": key[2],
            "seeds": [d["seed"] for d in done],
            "n_runs": len(done),
        }
        for m in ("acc", "uf1", "uar"):
            vals = np.array([d[m] for d in done], dtype=float)
            row[m] = float(vals.mean()) if vals.size else None
            row[f"{m}_std"] = (
                float(vals.std(ddof=1)) if vals.size > 1 else 0.0 if vals.size else None
            )
        if done:
            first = done[0]
            row["protocol"] = first["protocol"]
            row["selection"] = first["selection"]
            row["pooling"] = first["pooling"]
            row["folds"] = first["folds"]
            row["n"] = first["n"]
        rows.append(row)
    return rows


def _pm(row: dict[str, Any], m: str) -> str:
    if row[m] is None:
        return "—"
    if row["n_runs"] > 1:
        return f"{row[m]:.4f} ± {row[m + '_std']:.4f}"
    return f"{row[m]:.4f}"


def markdown_table(rows: Sequence[dict[str, Any]], grid: GridConfig) -> str:
    """The DFME-style table with the facts every results table must state (the selection
    rule moves into a column when the runs differ in it, e.g. per-model epoch budgets)."""
    t = grid.train
    done = [r for r in rows if r["n_runs"]]
    facts = done[0] if done else None
    rules = {r["selection"] for r in done}
    per_row = len(rules) > 1
    selection = "per row" if per_row else (facts["selection"] if facts else t.selection)
    lines = [
        f"## {grid.title}",
        "",
        f"- data: {t.data} `{t.root}` (target {t.target})",
        f"- protocol: {facts['protocol'] if facts else t.protocol}"
        + (f" ({facts['folds']} folds, {facts['n']} test predictions)" if facts else ""),
        "- pooling: metrics on predictions pooled over all test folds",
        f"- selection: {selection} (never the test fold)",
        f"- seeds: {', '.join(map(str, grid.seeds))}; cells show mean ± std over seeds",
        "",
        "| model | sampling | imbalance | runs | ACC | UF1 | UAR |"
        + (" selection |" if per_row else ""),
        "|---|---|---|---|---|---|---|" + ("---|" if per_row else ""),
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['sampling']} | {r['imbalance']} | {r['n_runs']} | "
            f"{_pm(r, 'acc')} | {_pm(r, 'uf1')} | {_pm(r, 'uar')} |"
            + (f" {r.get('selection') or '—'} |" if per_row else "")
        )
    return "\n".join(lines) + "\n"


def csv_table(rows: Sequence[dict[str, Any]], grid: GridConfig) -> str:
    """One CSV row per grid cell: means, standard deviations, seeds and the stated facts."""
    buf = io.StringIO()
    cols = [
        "model",
        "sampling",
        "imbalance",
        "n_runs",
        "seeds",
        "acc",
        "acc_std",
        "uf1",
        "uf1_std",
        "uar",
        "uar_std",
        "protocol",
        "folds",
        "n",
        "pooling",
        "selection",
        "data",
    ]
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
    for r in rows:
        vals = {
            **r,
            "seeds": " ".join(map(str, r["seeds"])),
            "data": f"{grid.train.data}:{grid.train.root}",
        }
        w.writerow(
            [
                ""
                if vals.get(c) is None
                else (f"{vals[c]:.6f}" if isinstance(vals[c], float) else vals[c])
                for c in cols
            ]
        )
    return buf.getvalue()
