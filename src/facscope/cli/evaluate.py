"""``facscope eval agent``: the agent over a dataset, resumable, with FER/ME metrics."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from facscope.cli.analyze import backend_options, build_agent
from facscope.cli.backend import build_backend
from facscope.cli.common import folder_option

ROOT_OPT = click.option(
    "--root", required=True, type=click.Path(exists=True, path_type=Path), help="Dataset root."
)


@click.group("eval")
def eval_group() -> None:
    """Evaluate a component over a dataset."""


@eval_group.command("agent")
@click.option(
    "--data",
    required=True,
    help="Dataset name (see facscope.data.list_datasets), e.g. rafdb, casme2, folder.",
)
@ROOT_OPT
@backend_options
@click.option("--limit", type=int, help="Evaluate only the first N samples.")
@folder_option(
    "--out",
    help="Output folder [default: eval_agent_<data>_<backend>]; an existing one is resumed.",
    required=False,
)
@click.option(
    "--concurrency",
    default=4,
    show_default=True,
    type=int,
    help="openai: requests in flight; transformers/expert: episodes per batch.",
)
@click.option(
    "--classes",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "fer7", "me7"]),
    help="The 7 classes scored: FER7 (6 basic + neutral) or ME7 (7 basic).",
)
@click.option("--traces", is_flag=True, help="Also write one trace JSON per sample.")
@click.option(
    "--retry-errors", is_flag=True, help="Run again the samples that failed with an error."
)
@click.option(
    "--overwrite", is_flag=True, help="Remove the results in --out (made with other settings)."
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def agent_cmd(data: str, root: Path, limit: int | None, out_dir: Path | None, concurrency: int,
              classes: str, traces: bool, retry_errors: bool, overwrite: bool, no_progress: bool,
              **opts: Any) -> None:  # fmt: skip
    """Run the agent over a dataset and report accuracy, macro-F1, AU F1, zoom rate and latency.

    Results are appended to results.jsonl as each sample finishes; run the same command again
    to resume an interrupted evaluation (with the same settings: other settings are refused).
    """
    from facscope.agent.evaluate import choose_classes, evaluate_agent
    from facscope.data import load_dataset
    from facscope.errors import ConfigError
    from facscope.eval.aus import REPORT_FILES
    from facscope.resume import claim_folder

    if concurrency < 1:
        raise ConfigError(f"--concurrency must be >= 1; got {concurrency}")
    dataset = load_dataset(data, root)
    samples = list(dataset)
    if not samples:
        raise ConfigError(f"{root}: the {data!r} dataset has no samples; nothing to evaluate")
    names = choose_classes((s.label for s in samples), classes)
    backend = build_backend(opts, concurrency=concurrency)
    emotions = names if "neutral" in names else (*names, "neutral")
    agent = build_agent(opts, backend, emotions=tuple(emotions))
    out = out_dir or Path(f"eval_agent_{data}_{opts['backend']}")
    # what decides the results (not the limit, which a resume may change)
    settings = {"data": data, "root": str(root), "classes": list(names), **agent.settings()}
    try:
        claim_folder(out, settings, results=("results.jsonl", "metrics.json", "traces", *REPORT_FILES.values()),
                     overwrite=overwrite, command="facscope eval agent")  # fmt: skip
        metrics = evaluate_agent(
            samples, agent, out_dir=out, classes=names, limit=limit, batch_size=concurrency,
            traces=traces, progress=not no_progress, retry_errors=retry_errors,
        )  # fmt: skip
    finally:
        backend.close()
    keys = ("n", "scored", "accuracy", "macro_f1", "zoom_rate", "errors", "no_face")
    click.echo(json.dumps({k: metrics.get(k) for k in keys} | {
        "au_f1": (metrics.get("au_f1") or {}).get("mean"),
        "au_basis": (metrics.get("au_f1") or {}).get("au_basis"),
        "parse": {k: metrics["parse"][k] for k in ("ok", "repaired", "failed")},
        "latency_mean_s": metrics["latency"]["mean"],
        "out": str(out),
    }, indent=2))  # fmt: skip


def _au_list(text: str | None) -> tuple[int, ...] | None:
    from facscope.errors import ConfigError

    if not text:
        return None
    try:
        aus = tuple(int(t.strip().upper().removeprefix("AU")) for t in text.split(",") if t.strip())
    except ValueError:
        raise ConfigError(
            f"--aus must be AU numbers separated by commas (1,2,4); got {text!r}"
        ) from None
    if not aus or len(set(aus)) != len(aus):
        raise ConfigError(f"--aus must name distinct AU numbers; got {text!r}")
    return aus


@eval_group.command("aus")
@click.option(
    "--data",
    required=True,
    help="Dataset name with AU labels (csv, disfa, bp4d, casme2, samm, casme3, dfme, ...).",
)
@ROOT_OPT
@folder_option("--out", help="Output folder; an existing one with the same settings is resumed.")
@click.option(
    "--mode",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "still", "clip"]),
    help="clip: onset → apex change; still: one frame vs the reference faces; auto: clip when "
    "the sample has distinct onset and apex frames.",
)
@click.option(
    "--aus",
    "aus_text",
    help="The AUs scored, e.g. 1,2,4,12 [default: those in the labels that the landmarks measure].",
)
@click.option("--limit", type=int, help="Measure only the first N samples.")
@click.option("--retry-errors", is_flag=True, help="Measure again the samples in failures.jsonl.")
@click.option(
    "--flow/--no-flow",
    default=True,
    show_default=True,
    help="Clip mode: the onset → apex optical flow supports the landmarks' AUs (as the expert).",
)
@click.option("--overwrite", is_flag=True, help="Remove the results in --out and start over.")
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def aus_cmd(data: str, root: Path, out_dir: Path, mode: str, aus_text: str | None,
            limit: int | None, retry_errors: bool, flow: bool, overwrite: bool,
            no_progress: bool) -> None:  # fmt: skip
    """Measure AUs (face-mesh landmarks) on a labelled dataset; report per-AU F1, ICC and MAE.

    Writes results.jsonl and failures.jsonl as it goes (run again to resume), then
    metrics.json, au_table.md, au_table.csv and au_f1.png, pooled over all samples.
    """
    from facscope.data import load_dataset
    from facscope.errors import ConfigError
    from facscope.eval.au_measure import evaluate_aus
    from facscope.eval.aus import REPORT_FILES
    from facscope.resume import claim_folder

    aus = _au_list(aus_text)
    samples = list(load_dataset(data, root))
    if not samples:
        raise ConfigError(f"{root}: the {data!r} dataset has no samples; nothing to evaluate")
    # what decides the measurements (the scored AU list and the limit may change on resume)
    settings = {"data": data, "root": str(root.resolve()), "mode": mode,
                "landmarker": "mediapipe_mesh", "detector": "mtcnn", "flow": flow}  # fmt: skip
    claim_folder(out_dir, settings, results=("results.jsonl", "failures.jsonl", "metrics.json", *REPORT_FILES.values()), overwrite=overwrite,
                 command="facscope eval aus")  # fmt: skip
    metrics = evaluate_aus(samples, out_dir=out_dir, mode=mode, aus=aus, limit=limit,
                           progress=not no_progress, dataset=data,
                           retry_errors=retry_errors, flow=flow)  # fmt: skip
    click.echo(json.dumps({
        "n": metrics["n"], "failed": metrics["failed"], "aus": metrics["aus"],
        "label_set": metrics["label_set"], "not_scored": metrics["not_scored"],
        "mean_f1": round(metrics["mean_f1"], 4),
        "mean_icc": None if metrics["mean_icc"] is None else round(metrics["mean_icc"], 4),
        "mean_mae": None if metrics["mean_mae"] is None else round(metrics["mean_mae"], 4),
        "modes_used": metrics["modes_used"], "out": str(out_dir),
    }, indent=2))  # fmt: skip
