"""``facscope mellm build | train | predict | eval``: MELLM instruction data, SFT and evaluation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from facscope.cli.backend import BACKEND_FLAGS, backend_flag, backend_flags, build_backend
from facscope.cli.common import apply_options, file_option, folder_option
from facscope.errors import ConfigError

_MODES = ["colormap", "frames", "stats"]
_FORMATS = ["trl", "llava", "sharegpt", "mevqa"]


@click.group("mellm")
def mellm() -> None:
    """MELLM: FACS-grounded instruction data, fine-tuning and evaluation of VLMs on ME clips."""


def _build_options(f: Any) -> Any:
    options = [
        click.option("--mode", default="colormap", show_default=True, type=click.Choice(_MODES),
                     help="Model input: colour map, onset+apex frames, or region statistics text."),
        click.option("--seed", default=0, show_default=True, help="Seeds the phrasings."),
        click.option("--flow", default="tvl1", show_default=True, help="Flow method."),
        click.option("--size", default=256, show_default=True, type=click.IntRange(32, 1024),
                     help="Side of the aligned face crop the flow is measured on, in pixels."),
        click.option("--image-size", type=click.IntRange(16, 2048),
                     help="Side of the saved images if smaller/larger than --size [default: --size]."),
        click.option("--face", default="detect", show_default=True, type=click.Choice(["detect", "full"]),
                     help="detect: align on the onset; full: frames are already face crops."),
        click.option("--preprocessed", type=click.Path(exists=True, file_okay=False),
                     help="A 'facscope preprocess' output folder to read the motion from."),
        click.option("--drop-others", is_flag=True, help="Skip samples labelled 'others'."),
        click.option("--limit", type=click.IntRange(1), help="Only the first N samples."),
        click.option("--strict", is_flag=True, help="Doubtful annotations are errors."),
    ]  # fmt: skip
    return apply_options(f, options)


def _run_build(data: str, root: Path, out: Path, opts: dict[str, Any], progress: bool) -> Any:
    from facscope.data import load_dataset
    from facscope.mellm.build import BuildConfig, build_records
    from facscope.motion.pipeline import MotionConfig

    samples = list(load_dataset(data, root, strict=opts["strict"]))
    if opts.get("limit"):
        samples = samples[: opts["limit"]]
    cfg = BuildConfig(
        mode=opts["mode"],
        seed=opts["seed"],
        motion=MotionConfig(flow=opts["flow"], size=opts["size"], face=opts["face"]),
        image_size=opts.get("image_size"),
        preprocessed=opts.get("preprocessed"),
        drop_others=opts["drop_others"],
        strict=opts["strict"],
    )
    return build_records(samples, out, cfg, progress=progress)


def _config_option(help: str) -> Any:
    return click.option(
        "--config",
        "config_path",
        required=True,
        type=click.Path(exists=True, path_type=Path),
        help=help,
    )


@mellm.command("build")
@click.option("--data", required=True, help="Dataset name (facscope data list), e.g. casme2, samm.")
@click.option(
    "--root", required=True, type=click.Path(exists=True, path_type=Path), help="Dataset root."
)
@click.option(
    "--format",
    "formats",
    multiple=True,
    type=click.Choice(_FORMATS),
    help="Output format(s); repeat for several [default: trl].",
)
@folder_option(help="Build folder (an existing one is resumed).", dest="out")
@_build_options
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
def build_cmd(data: str, root: Path, formats: tuple[str, ...], out: Path, no_progress: bool,
              **opts: Any) -> None:  # fmt: skip
    """Build FACS-grounded instruction data from a dataset's AU and emotion annotations.

    Measures the onset→apex motion of every sample once (cached under OUT/motion; a rerun skips
    finished samples), writes records.jsonl and the chosen formats inside OUT.
    """
    from facscope.mellm.formats import write_format

    result = _run_build(data, root, out, opts, progress=not no_progress)
    written = {fmt: str(write_format(fmt, result.records, out)) for fmt in (formats or ("trl",))}
    click.echo(json.dumps({**result.summary(), "out": str(out), "formats": written}, indent=2))


@mellm.command("train")
@_config_option("YAML recipe (configs/mellm-*.yaml).")
@click.option("--data", help="Override the build folder.")
@click.option("--output-dir", help="Override the output folder.")
@click.option("--max-steps", type=int, help="Override max_steps.")
def train_cmd(
    config_path: Path, data: str | None, output_dir: str | None, max_steps: int | None
) -> None:
    """Fine-tune a Qwen-VL model on a build folder with TRL's SFTTrainer (LoRA via peft).

    The split is by subject: the test subjects are written to OUTPUT_DIR/split.json and never
    trained on. Under several GPUs, run it with `accelerate launch`.
    """
    from facscope.mellm.config import load_sft_config
    from facscope.mellm.train import run_sft

    cfg = load_sft_config(config_path, data=data, output_dir=output_dir, max_steps=max_steps)
    result = run_sft(cfg)
    click.echo(json.dumps(result.to_dict(), indent=2))


def _predict_options(f: Any) -> Any:
    model, *shared = backend_flags(*BACKEND_FLAGS)
    options = [
        click.option("--build", "build_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="A build folder (facscope mellm build)."),
        click.option("--data", help="Or: a dataset name, built into OUT/build first."),
        click.option("--root", type=click.Path(exists=True, path_type=Path), help="Dataset root (with --data)."),
        click.option("--task", default="describe", show_default=True, type=click.Choice(["describe", "mevqa"])),
        backend_flag("transformers", "Agent backend: transformers (local VLM) or openai (HTTP endpoint)."),
        model,
        click.option("--run", "run_dir", type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="A 'mellm train' output: its model (base + adapter) and its test subjects."),
        click.option("--split", "split_path", type=click.Path(exists=True, path_type=Path),
                     help="split.json (or a run folder): predict only one part's subjects."),
        click.option("--part", default="test", show_default=True, type=click.Choice(["test", "val", "train"])),
        *shared,
        click.option("--concurrency", default=4, show_default=True, type=click.IntRange(1),
                     help="openai: requests in flight."),
        click.option("--batch-size", default=8, show_default=True, type=click.IntRange(1)),
        click.option("--max-new-tokens", default=512, show_default=True, type=click.IntRange(1)),
        click.option("--limit", type=click.IntRange(1), help="Only the first N items."),
        click.option("--retry-errors", is_flag=True, help="Redo items whose generation failed."),
        click.option("--overwrite", is_flag=True,
                     help="Remove predictions made with other settings and start over."),
        click.option("--no-progress", is_flag=True, help="Hide the progress bar."),
    ]  # fmt: skip
    return apply_options(f, options)


def _backend(opts: dict[str, Any]) -> Any:
    extra: dict[str, Any] = {}
    if opts["backend"].lower() == "transformers" and opts.get("run_dir"):
        from facscope.mellm.train import load_trained

        model, processor = load_trained(opts["run_dir"])
        extra = {"model": str(opts["run_dir"]), "model_obj": model, "processor": processor}
    return build_backend(
        opts,
        concurrency=opts["concurrency"],
        missing_model="--model <id or directory> or --run <train output>",
        **extra,
    )


def _resolve(opts: dict[str, Any], out_dir: Path) -> tuple[Path, Any]:
    """(build folder, split or None) from the options; builds from --data/--root if asked."""
    from facscope.mellm.splits import read_split

    build = opts.get("build_dir")
    if build is None:
        if not (opts.get("data") and opts.get("root")):
            raise ConfigError(
                "give --build <build folder>, or --data NAME --root ROOT to build one"
            )
        build = out_dir / "build"
        defaults = {"mode": "colormap", "seed": 0, "flow": "tvl1", "size": 256, "face": "detect",
                    "drop_others": False, "strict": False, "limit": None}  # fmt: skip
        result = _run_build(opts["data"], opts["root"], build, defaults, not opts["no_progress"])
        if opts["task"] == "mevqa":
            from facscope.mellm.formats import write_format

            write_format("mevqa", result.records, build)
    split_src = opts.get("split_path") or opts.get("run_dir")
    split = read_split(split_src) if split_src else None
    if opts.get("run_dir") and split is None:
        raise ConfigError(f"{opts['run_dir']}: no split.json; cannot tell its test subjects")
    return Path(build), split


def _predict(opts: dict[str, Any], out_dir: Path, predictions: Path) -> tuple[Path, Any, Any]:
    from facscope.mellm.predict import PredictOptions, predict

    build, split = _resolve(opts, out_dir)
    popts = PredictOptions(task=opts["task"], part=opts["part"], limit=opts.get("limit"),
                           batch_size=opts["batch_size"], max_new_tokens=opts["max_new_tokens"],
                           retry_errors=opts["retry_errors"], overwrite=opts["overwrite"])  # fmt: skip
    backend = _backend(opts)
    try:
        result = predict(build, predictions, backend, options=popts, split=split,
                         progress=not opts["no_progress"])  # fmt: skip
    finally:
        backend.close()
    return build, split, result


@mellm.command("predict")
@_predict_options
@file_option("-o", "--out", help="Predictions JSONL (appended; a rerun skips finished items).")
def predict_cmd(out: Path, **opts: Any) -> None:
    """Generate answers for a build folder's items with an agent backend (resumable)."""
    _, _, result = _predict(opts, out.parent, out)
    click.echo(json.dumps({"predictions": str(out), "total": result.total,
                           "done_before": result.done_before, "generated": result.generated,
                           "errors": result.errors, "seconds": round(result.seconds, 2)}, indent=2))  # fmt: skip


@mellm.command("eval")
@_predict_options
@folder_option(
    help="Output folder: predictions.jsonl, eval.json, eval.md (an existing one is resumed)."
)
@click.option(
    "--predictions",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Score this predictions file instead of generating (no backend needed).",
)
@click.option("--aus", help="AU list for AU F1, e.g. 1,2,4,12 [default: the common ME list].")
def eval_cmd(out_dir: Path, predictions: Path | None, aus: str | None, **opts: Any) -> None:
    """Generate (resumable) and score: UF1/UAR fine and 3-class, AU F1, ME-VQA BLEU/ROUGE-1."""
    from facscope.io import write_json, write_text
    from facscope.mellm.evaluate import (
        evaluate_describe,
        evaluate_mevqa,
        read_mevqa,
        render_markdown,
    )
    from facscope.mellm.predict import read_generated
    from facscope.mellm.records import read_records

    au_list = None
    if aus:
        try:
            au_list = tuple(int(a) for a in aus.split(","))
        except ValueError:
            raise ConfigError(f"--aus must be comma-separated AU numbers; got {aus!r}") from None
    if predictions is None:
        predictions = out_dir / "predictions.jsonl"
        build, split, _ = _predict(opts, out_dir, predictions)
    else:
        build, split = _resolve(opts, out_dir)
    preds = read_generated(predictions)
    keep = set(split.part(opts["part"])) if split is not None else None
    if opts["task"] == "describe":
        records = [r for r in read_records(build) if keep is None or r.group in keep]
        report = evaluate_describe(records, preds, aus=au_list)
    else:
        rows = [r for r in read_mevqa(build) if keep is None or r["group"] in keep]
        report = evaluate_mevqa(rows, preds, aus=au_list)
    report["split"] = None if split is None else {"name": split.name, "part": opts["part"],
                                                  "subjects": len(split.part(opts["part"]))}  # fmt: skip
    write_json(out_dir / "eval.json", report)
    write_text(out_dir / "eval.md", render_markdown(report))
    click.echo(render_markdown(report))


@mellm.command("experiment")
@_config_option("Experiment YAML (configs/mellm-synth-experiment*.yaml).")
@click.option("--no-progress", is_flag=True, help="Hide the progress bars.")
def experiment_cmd(config_path: Path, no_progress: bool) -> None:
    """Synthetic experiment: synth → build → train → predict on held-out subjects → score,
    next to a prior baseline that ignores the image (each step resumable)."""
    from facscope.mellm.experiment import run_experiment

    report = run_experiment(config_path, progress=not no_progress)
    click.echo(Path(report["train"]["output_dir"]).parent.joinpath("report.md").read_text())
