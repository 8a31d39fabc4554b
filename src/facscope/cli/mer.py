"""``facscope mer train | grid | list``: micro-expression recognition runs and grids."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from facscope.errors import ConfigError

CONFIG_OPT = click.option(
    "--config", "config_file", type=click.Path(dir_okay=False, path_type=Path),
    help="YAML config; flags given on the command line override its keys.",
)  # fmt: skip
SET_OPT = click.option(
    "--set", "sets", multiple=True, metavar="KEY=VALUE",
    help="Override any config key (VALUE is YAML: --set model_options={dropout: 0.2}); "
    "dict keys may be dotted: --set model_options.adaptive_pool=true.",
)  # fmt: skip


def parse_sets(sets: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs (VALUE parsed as YAML) into a dict; ``a.b=v`` sets ``{a: {b: v}}``."""
    from facscope.cli.common import parse_key_values

    return parse_key_values(sets, "--set")


def _merge_dicts(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in extra.items():
        out[k] = (
            _merge_dicts(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
        )
    return out


@click.group()
def mer() -> None:
    """Micro-expression recognition: train/evaluate models, run experiment grids."""


@mer.command("list")
def list_cmd() -> None:
    """List models (with their input), sampling strategies, imbalance methods and protocols."""
    from facscope.eval.protocols import PROTOCOLS
    from facscope.mer.imbalance import IMBALANCE
    from facscope.mer.models import MODELS, model_input
    from facscope.mer.sampling import SAMPLERS

    click.echo("models:")
    for name, doc in MODELS.describe().items():
        spec = model_input(name)
        click.echo(f"  {name:<14} {spec.kind} {spec.shape()}  {doc}")
    for title, reg in (("sampling", SAMPLERS), ("imbalance", IMBALANCE), ("protocols", PROTOCOLS)):
        click.echo(f"{title}:")
        for name, doc in reg.describe().items():
            click.echo(f"  {name:<18} {doc}")


_RUN_OPTIONS = (
    CONFIG_OPT,
    click.option("--data", help="Dataset adapter (csv, casme2, samm, dfme, …)."),
    click.option("--root", help="Dataset root (for csv: the manifest file)."),
    click.option("--model", help="Model name (facscope mer list)."),
    click.option("--protocol", help="loso, kfold, megc2019, official, cross_dataset, lodo."),
    click.option("--k", type=int, help="Folds for --protocol kfold."),
    click.option("--output-dir", help="Where predictions, metrics and checkpoints go."),
    click.option("--sampling", help="Key-frame sampling strategy (video models)."),
    click.option("--imbalance", help="Class-imbalance method."),
    click.option("--frames", type=int, help="Frames per clip (video models)."),
    click.option("--size", type=int, help="Input side in pixels."),
    click.option("--epochs", type=int),
    click.option("--batch-size", type=int),
    click.option("--lr", type=float),
    click.option("--seed", type=int),
    click.option("--selection", type=click.Choice(["last", "val"]), help="Model selection rule."),
    click.option(
        "--face", type=click.Choice(["detect", "full"]), help="Align on onset / whole frame."
    ),
    click.option("--cache-dir", help="Clip/flow cache folder (default: OUTPUT_DIR/cache)."),
    click.option("--num-workers", type=int, help="DataLoader worker processes."),
    click.option("--mixed-precision", type=click.Choice(["no", "fp16", "bf16"])),
    click.option("--cpu", is_flag=True, default=None, help="Force CPU."),
    click.option("--folds", help="Run only these fold indices, comma-separated."),
    click.option("--max-steps", type=int, help="Stop after this many optimiser steps (resumable)."),
    click.option("--no-resume", is_flag=True, help="Start from scratch even if checkpoints exist."),
    click.option("--quiet", is_flag=True, help="No progress bars."),
    SET_OPT,
)


def run_options(f: Any) -> Any:
    """The options ``mer train`` and ``mer eval`` share."""
    for opt in reversed(_RUN_OPTIONS):
        f = opt(f)
    return f


def _run_command(name: str, doc: str, *, eval_only: bool) -> Any:
    """``mer train`` / ``mer eval``: the same options, one body."""

    def command(**options: Any) -> None:
        _run(**options, eval_only=eval_only)

    command.__doc__ = doc
    command.__name__ = f"{name}_cmd"
    return mer.command(name)(run_options(command))


train_cmd = _run_command(
    "train",
    """Train and evaluate one configuration; prints and writes ACC / UF1 / UAR.

    \b
    facscope mer train --data csv --root manifest.csv --model ststnet --protocol loso \\
        --output-dir runs/x
    facscope mer train --config configs/mer-dfme.yaml --epochs 5
    accelerate launch -m facscope.cli mer train --config configs/mer-dfme.yaml
    """,
    eval_only=False,
)
eval_cmd = _run_command(
    "eval",
    """Score given weights on their own test folds (no training); the same pooled report.

    \b
    facscope mer eval --config configs/mer-megc2019-ststnet.yaml \\
        --set 'weights=STSTNet_Weights/{subject}.pth' --output-dir runs/ststnet-published
    """,
    eval_only=True,
)


def _run(
    *,
    config_file: Path | None,
    k: int | None,
    folds: str | None,
    no_resume: bool,
    quiet: bool,
    sets: tuple[str, ...],
    eval_only: bool,
    **flags: Any,
) -> None:
    from facscope.mer.config import load_config, read_yaml
    from facscope.mer.train import train

    values = read_yaml(config_file) if config_file else {}
    given = {key: v for key, v in flags.items() if v is not None}
    if eval_only:
        given["eval_only"] = True
    if k is not None:
        given["protocol_options"] = {**values.get("protocol_options", {}), "k": k}
    if folds:
        given["folds"] = tuple(int(f) for f in folds.split(","))
    if no_resume:
        given["resume"] = False
    merged = _merge_dicts({**values, **given}, parse_sets(sets))
    cfg = load_config(None, **merged)
    if not cfg.resume:
        _clear_run(Path(cfg.output_dir))
    result = train(cfg, progress=not quiet)
    if result.interrupted:
        click.echo(
            f"stopped after max_steps={cfg.max_steps}; run again to resume ({cfg.output_dir})"
        )
        return
    m = result.metrics
    click.echo(
        f"ACC {m['acc']:.4f}  UF1 {m['uf1']:.4f}  UAR {m['uar']:.4f}  "
        f"({m['n']} samples, {m['folds']} folds, {m['protocol']}, {m['pooling']}; "
        f"selection: {m['selection']}; seed {m['seed']})"
    )
    for source, sc in m.get("by_source", {}).items():
        click.echo(f"  {source:<10} UF1 {sc['uf1']:.4f}  UAR {sc['uar']:.4f}  ({sc['n']} samples)")
    rt = m["runtime"]
    click.echo(
        f"predictions, metrics and config written to {result.output_dir} "
        f"({rt['seconds']:.0f} s on {rt['device']}, {rt['cache_seconds']:.0f} s of them loading "
        "and caching the data; per-epoch clips/s in fold_*/history.json)"
    )


def _clear_run(out: Path) -> None:
    """Remove a previous run's fold outputs (not the cache) for --no-resume."""
    import shutil

    for d in out.glob("fold_*"):
        shutil.rmtree(d, ignore_errors=True)
    for name in ("predictions.csv", "metrics.json"):
        (out / name).unlink(missing_ok=True)


@mer.command("grid")
@CONFIG_OPT
@click.option("--output-dir", help="Where runs and tables go.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@click.option("--overwrite", is_flag=True, help="Run again finished runs made with other settings.")
@SET_OPT
def grid_cmd(
    config_file: Path | None,
    output_dir: str | None,
    quiet: bool,
    overwrite: bool,
    sets: tuple[str, ...],
) -> None:
    """Run models × samplings × imbalances × seeds; write Markdown/CSV tables and confusion
    matrices. An interrupted grid resumes where it stopped."""
    from facscope.mer.config import grid_config, read_yaml
    from facscope.mer.grid import run_grid

    if config_file is None:
        raise ConfigError("facscope mer grid needs --config FILE (see configs/mer-*.yaml)")
    values = read_yaml(config_file)
    grid_keys = {"models", "samplings", "imbalances", "seeds", "overrides", "output_dir", "title"}
    extra = parse_sets(sets)
    if output_dir:
        extra["output_dir"] = output_dir
    top = {key: v for key, v in extra.items() if key in grid_keys}
    train_extra = {key: v for key, v in extra.items() if key not in grid_keys}
    values = {**values, **top, "train": _merge_dicts(values.get("train") or {}, train_extra)}
    grid = grid_config(values, where=str(config_file))
    summary = run_grid(grid, progress=not quiet, overwrite=overwrite)
    click.echo(summary.markdown)
    click.echo(f"tables: {summary.markdown_path}, {summary.csv_path}")
    if summary.failed:
        click.echo(f"{len(summary.failed)} run(s) failed: {', '.join(summary.failed)}", err=True)
        if not summary.ran and not summary.skipped:  # nothing finished: say so in the exit code
            click.get_current_context().exit(1)
