"""``facscope rl sft | train | synth``: cold start, UC-GRPO training, the synthetic task."""

from __future__ import annotations

import json
from pathlib import Path

import click

from facscope.cli.common import echo_json

CONFIG_OPT = click.option(
    "--config",
    "config",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="YAML recipe (see configs/rl-*.yaml).",
)
OUTPUT_OPT = click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Overrides trainer.output_dir of the recipe.",
)


@click.group()
def rl() -> None:
    """Train the ActFER agent: cold-start SFT, then UC-GRPO (or a baseline) on TRL.

    Runs resume from the newest checkpoint in the output directory. Needs the llm extra
    (pip install 'facscope[torch,llm]').
    """


def _run_recipe(config: Path, output_dir: Path | None, kind: str) -> None:
    from facscope.rl import recipe, run

    runner = run.run_sft if kind == "sft" else run.run_rl
    echo_json(runner(recipe.load_recipe(config, kind=kind, output_dir=output_dir)))


@rl.command()
@CONFIG_OPT
@OUTPUT_OPT
def sft(config: Path, output_dir: Path | None) -> None:
    """Supervised warm-up on expert tool-use trajectories (TRL SFTTrainer, LoRA optional)."""
    _run_recipe(config, output_dir, "sft")


@rl.command()
@CONFIG_OPT
@OUTPUT_OPT
def train(config: Path, output_dir: Path | None) -> None:
    """GRPO training with utility-calibrated zoom credit (UC-GRPO) or an ablation baseline."""
    _run_recipe(config, output_dir, "rl")


@rl.command()
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("-n", "n", default=60, show_default=True, help="Number of faces.")
@click.option("--size", default=256, show_default=True, help="Image side in pixels.")
@click.option("--seed", default=0, show_default=True)
def synth(out: Path, n: int, size: int, seed: int) -> None:
    """Write the synthetic active-perception task: PNG faces and a labels.jsonl manifest."""
    from tqdm import tqdm

    from facscope.io import save_image, write_text
    from facscope.rl.synthetic import SyntheticConfig, synthetic_faces

    cfg = SyntheticConfig(n=n, size=size, seed=seed)
    lines = []
    for i, face in enumerate(tqdm(synthetic_faces(cfg), total=n, desc="faces")):
        name = f"{i:05d}_{face.emotion}.png"
        save_image(out / name, face.image)
        row = face.row()
        row["image"] = name
        lines.append(json.dumps(row))
    write_text(out / "labels.jsonl", "\n".join(lines) + "\n")
    click.echo(f"wrote {n} faces and labels.jsonl to {out}")
