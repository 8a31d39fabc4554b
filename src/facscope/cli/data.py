"""``facscope data list | inspect | check | export``: look at a dataset before training on it."""

from __future__ import annotations

import statistics
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import click

from facscope.cli.common import echo_json, file_option
from facscope.errors import ConfigError

NAME_ARG = click.argument("name")
ROOT_OPT = click.option(
    "--root",
    type=click.Path(path_type=Path),
    help="Dataset root folder (for csv: the manifest file; megc2019 may use -O instead).",
)
OPTION_OPT = click.option(
    "-O",
    "--option",
    "options",
    multiple=True,
    metavar="KEY=VALUE",
    help="Adapter option, repeatable (e.g. -O cropped=true, -O target=megc3, -O smic=PATH).",
)
STRICT_OPT = click.option(
    "--strict", is_flag=True, help="Fail on the first doubtful row instead of applying its rule."
)


def parse_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values are read as YAML scalars (true, 3, 0.5, [a, b])."""
    from facscope.cli.common import parse_key_values

    return parse_key_values(pairs, "-O")


def _load(name: str, root: Path | None, options: tuple[str, ...], strict: bool) -> Any:
    import facscope.motion.apex  # noqa: F401  (registers the apex='max-motion' finder)
    from facscope.data import load_dataset

    if root is None and name.lower() != "megc2019":
        raise ConfigError(f"give the {name} dataset's root with --root PATH")
    with warnings.catch_warnings():  # problems are printed from Dataset.problems instead
        warnings.simplefilter("ignore")
        return load_dataset(name, root, strict=strict, **parse_options(options))


@click.group("data")
def data() -> None:
    """Dataset adapters: list them, inspect, check and export a dataset."""


@data.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def list_cmd(as_json: bool) -> None:
    """List the dataset adapters."""
    from facscope.data import DATASETS

    names = DATASETS.describe()
    if as_json:
        echo_json(names)
        return
    width = max(map(len, names))
    for name, doc in names.items():
        click.echo(f"{name:<{width}}  {doc}")


def _stats(d: dict[str, float] | None, unit: str) -> str:
    if not d:
        return "n/a"
    return f"min {d['min']:g} / median {d['median']:g} / max {d['max']:g} {unit}"


def _wrap(items: list[str], width: int = 96) -> list[str]:
    """Comma-separated items on lines of at most ``width`` characters, never split inside one."""
    lines, line = [], ""
    for item in items:
        piece = item if not line else f", {item}"
        if line and len(line) + len(piece) > width:
            lines.append(f"  {line},")
            line, piece = "", item
        line += piece
    return [*lines, f"  {line}"] if line else lines


def _print_problems(problems: list[Any], limit: int) -> None:
    from facscope.data import PROBLEM_KINDS

    counts = Counter(p.kind for p in problems)
    click.echo(f"problems: {len(problems) or 'none'}")
    for kind, n in counts.items():  # every kind, with up to ``limit`` examples each
        click.echo(f"  {kind}: {n} — {PROBLEM_KINDS[kind]}")
        for p in [p for p in problems if p.kind == kind][:limit]:
            click.echo(f"    {p}")
        if n > limit:
            click.echo(f"    … and {n - limit} more")


@data.command("inspect")
@NAME_ARG
@ROOT_OPT
@OPTION_OPT
@STRICT_OPT
@click.option("--json", "as_json", is_flag=True, help="Print the summary and problems as JSON.")
@click.option("--examples", default=3, show_default=True, help="Problems shown per kind.")
def inspect_cmd(
    name: str,
    root: Path | None,
    options: tuple[str, ...],
    strict: bool,
    as_json: bool,
    examples: int,
) -> None:
    """Counts per class and subject, frame rates, durations, annotation problems."""
    from facscope.data.au import code_counts

    ds = _load(name, root, options, strict)
    summary = ds.summary()
    codes = code_counts(ds)
    if as_json:
        echo_json(
            summary | {"facs_codes": codes, "problem_list": [p.to_dict() for p in ds.problems]}
        )
        return
    click.echo(
        f"{ds.name}: {summary['samples']} samples, {summary['subjects']} subjects "
        f"(root {summary['root']})"
    )
    click.echo(f"classes ({summary['target']}):")
    width = max((len(c) for c in summary["classes"]), default=0)
    for c, n in summary["classes"].items():
        click.echo(f"  {c:<{width}}  {n}")
    if summary["unlabelled"]:
        click.echo(f"  (no class: {summary['unlabelled']})")
    if len(summary["sources"]) > 1:
        click.echo("sources: " + ", ".join(f"{k} {v}" for k, v in summary["sources"].items()))
    click.echo("kinds: " + ", ".join(f"{k} {v}" for k, v in summary["kinds"].items()))
    click.echo("fps: " + ", ".join(f"{k} ({v})" for k, v in summary["fps"].items()))
    click.echo(
        f"clip length: {_stats(summary['frames'], 'frames')}; {_stats(summary['seconds'], 's')}"
    )
    per = summary["per_subject"]
    if per:
        vals = list(per.values())
        click.echo(
            f"samples per subject: min {min(vals)} / median {statistics.median(vals):g} / "
            f"max {max(vals)}"
        )
        for line in _wrap([f"{k} {v}" for k, v in per.items()]):
            click.echo(line)
    splits = Counter(str(s.meta["split"]) for s in ds if s.meta.get("split") is not None)
    if splits:
        click.echo("splits: " + ", ".join(f"{k} {v}" for k, v in sorted(splits.items())))
    if codes:
        click.echo("FACS codes (normal notation, counted):")
        for line in _wrap([f"{k} {v}" for k, v in codes.items()]):
            click.echo(line)
    _print_problems(ds.problems, examples)


@data.command("check")
@NAME_ARG
@ROOT_OPT
@OPTION_OPT
@click.option("--decode", is_flag=True, help="Also decode onset/apex/offset frames and images.")
@click.option(
    "--all", "fail_all", is_flag=True, help="Fail on any problem, annotation problems included."
)
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
@click.option("--examples", default=5, show_default=True, help="Problems shown per kind.")
def check_cmd(
    name: str,
    root: Path | None,
    options: tuple[str, ...],
    decode: bool,
    fail_all: bool,
    as_json: bool,
    examples: int,
) -> None:
    """Check files on disk: missing frames or files, gaps, bad indices (exit 1 if any)."""
    from facscope.data import check_dataset

    ds = _load(name, root, options, strict=False)
    problems = check_dataset(ds, decode=decode, progress=not as_json)
    failing = [p for p in problems if fail_all or p.is_file_problem]
    if as_json:
        echo_json(
            {
                "dataset": ds.name,
                "samples": len(ds),
                "failing": len(failing),
                "problems": [p.to_dict() for p in problems],
            }
        )
    else:
        click.echo(f"{ds.name}: {len(ds)} samples checked")
        _print_problems(problems, examples)
        click.echo(
            f"{len(failing)} problem(s) with files or indices"
            if not fail_all
            else f"{len(failing)} problem(s)"
        )
    if failing:
        raise SystemExit(1)


@data.command("export")
@NAME_ARG
@ROOT_OPT
@OPTION_OPT
@STRICT_OPT
@file_option(help="The CSV manifest to write.")
@click.option("--absolute", is_flag=True, help="Write absolute paths (default: relative to -o).")
@click.option(
    "--overwrite", is_flag=True, help="Replace an existing manifest that facscope wrote at -o."
)
def export_cmd(
    name: str,
    root: Path | None,
    options: tuple[str, ...],
    strict: bool,
    output: Path,
    absolute: bool,
    overwrite: bool,
) -> None:
    """Write the dataset as a generic CSV manifest (read it back with: data inspect csv).

    An existing -o is replaced only with --overwrite, and never when it is the dataset being
    read or a file facscope did not write (an annotation sheet, say)."""
    from facscope.data import write_manifest

    _check_output(output, root, overwrite)
    ds = _load(name, root, options, strict)
    out = write_manifest(ds, output, relative=not absolute)
    click.echo(
        f"{len(ds)} samples of {ds.name} written to {out} "
        f"({len(ds.problems)} problem(s) found while loading)"
    )


def _check_output(output: Path, root: Path | None, overwrite: bool) -> None:
    """Refuse to write the manifest over an input or over a file that is not one of ours."""
    from facscope.data import MANIFEST_COLUMNS
    from facscope.errors import ConfigError

    if root is not None and output.resolve() == Path(root).resolve():
        raise ConfigError(f"{output}: that is the dataset this command reads; choose another -o")
    if not output.exists():
        return
    if not overwrite:
        raise ConfigError(f"{output} exists; pass --overwrite to replace it, or choose another -o")
    with output.open("rb") as fh:
        head = fh.readline().decode("utf-8", "replace").strip().split(",")
    if head[: len(MANIFEST_COLUMNS)] != list(MANIFEST_COLUMNS):
        raise ConfigError(
            f"{output} is not a manifest facscope wrote (it may be one of the dataset's own "
            "files); it is not overwritten: choose another -o"
        )
