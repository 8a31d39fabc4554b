"""Experiment grids: every combination runs once, tables are mean ± std over seeds, an
interrupted grid resumes, a failing run is recorded and the grid goes on."""

from __future__ import annotations

import csv
import io
import json

import pytest
from _mer_data import CLASSES, make_tiny_dataset
from click.testing import CliRunner

from facscope.cli.main import cli
from facscope.mer.config import GridConfig, TrainConfig
from facscope.mer.grid import FLOW_SAMPLING, MARKER, grid_runs, run_grid


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    return make_tiny_dataset(tmp_path_factory.mktemp("grid_data"), subjects=2)


def grid_config(manifest, out, **kw) -> GridConfig:
    train = TrainConfig(
        data="csv", root=str(manifest), classes=CLASSES, face="full", flow="farneback",
        flow_size=40, epochs=2, batch_size=4, protocol="loso",
    )  # fmt: skip
    values = {
        "train": train,
        "models": ("ststnet", "mc3_18"),
        "samplings": ("uniform", "triplet"),
        "imbalances": ("ce",),
        "seeds": (0, 1),
        "overrides": {"mc3_18": {"frames": 3, "size": 16, "epochs": 1}},
        "output_dir": str(out),
    }
    values.update(kw)
    values["overrides"] = {m: o for m, o in values["overrides"].items() if m in values["models"]}
    return GridConfig(**values)


def test_runs_cover_the_grid_once_and_flow_models_ignore_sampling(manifest, tmp_path):
    runs = grid_runs(grid_config(manifest, tmp_path))
    names = [r.name for r in runs]
    assert len(names) == len(set(names)) == 2 + 4  # ststnet: 1 sampling × 2 seeds; mc3: 2 × 2
    flow = [r for r in runs if r.model == "ststnet"]
    assert {r.sampling for r in flow} == {FLOW_SAMPLING}
    mc3 = [r for r in runs if r.model == "mc3_18"]
    assert {r.config.frames for r in mc3} == {3} and {r.config.epochs for r in mc3} == {1}
    assert len({r.config.cache_dir for r in runs}) == 1  # one shared cache


def test_grid_writes_tables_and_resumes_after_an_interruption(manifest, tmp_path):
    grid = grid_config(manifest, tmp_path / "g", models=("ststnet",), imbalances=("ce", "focal"))
    runs = grid_runs(grid)
    # simulate a grid killed during its third run: the first two finished, the third did not
    first = run_grid(
        grid_config(manifest, tmp_path / "g", models=("ststnet",), imbalances=("ce",)),
        progress=False,
    )
    assert len(first.ran) == 2 and not first.failed
    summary = run_grid(grid, progress=False)
    assert sorted(summary.skipped) == sorted(r.name for r in runs if r.imbalance == "ce")
    assert sorted(summary.ran) == sorted(r.name for r in runs if r.imbalance == "focal")
    assert all((r.output_dir / MARKER).is_file() for r in runs)
    assert all((r.output_dir / "report_confusion.png").is_file() for r in runs)

    rows = list(csv.DictReader(io.StringIO(summary.csv_path.read_text())))
    assert [(r["model"], r["imbalance"]) for r in rows] == [("ststnet", "ce"), ("ststnet", "focal")]
    for row in rows:
        vals = [
            json.loads((r.output_dir / MARKER).read_text())["metrics"]["uf1"]
            for r in runs
            if r.imbalance == row["imbalance"]
        ]
        mean = sum(vals) / 2
        std = (sum((v - mean) ** 2 for v in vals) / 1) ** 0.5
        assert float(row["uf1"]) == pytest.approx(mean, abs=1e-6)
        assert float(row["uf1_std"]) == pytest.approx(std, abs=1e-6)
        assert row["seeds"] == "0 1" and row["protocol"] == "loso"
    md = summary.markdown_path.read_text()
    assert "| model | sampling | imbalance | runs | ACC | UF1 | UAR |" in md
    assert "±" in md and "pooled" in md and "seeds: 0, 1" in md
    again = run_grid(grid, progress=False)
    assert not again.ran and len(again.skipped) == len(runs)


def test_a_failing_run_is_recorded_and_the_grid_goes_on(manifest, tmp_path):
    grid = grid_config(
        manifest, tmp_path, models=("ststnet", "off_apexnet"), seeds=(0,),
        overrides={"off_apexnet": {"model_options": {"input_size": 30}}},
    )  # fmt: skip
    summary = run_grid(grid, progress=False)
    assert summary.failed == ["off_apexnet__flow__ce__seed0"]
    assert summary.ran == ["ststnet__flow__ce__seed0"]
    assert "multiple of 4" in (tmp_path / "failures.jsonl").read_text()
    assert "| off_apexnet | apex flow | ce | 0 | — | — | — |" in summary.markdown


def test_grid_cli_needs_a_config_and_runs_one(manifest, tmp_path):
    res = CliRunner().invoke(cli, ["mer", "grid"])
    assert res.exit_code != 0 and "--config" in res.output
    cfg = tmp_path / "grid.yaml"
    cfg.write_text(
        f"models: [ststnet]\nseeds: [3]\ntrain:\n  data: csv\n  root: {manifest}\n"
        f"  classes: [{', '.join(CLASSES)}]\n  face: full\n  flow: farneback\n  flow_size: 40\n"
        "  epochs: 1\n  protocol: loso\n"
    )
    res = CliRunner().invoke(
        cli, ["mer", "grid", "--config", str(cfg), "--output-dir", str(tmp_path / "o"), "--quiet",
              "--set", "batch_size=3"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "| ststnet | apex flow | ce | 1 |" in res.output
    run = tmp_path / "o" / "runs" / "ststnet__flow__ce__seed3"
    assert (run / "config.yaml").read_text().count("batch_size: 3") == 1


def test_table_moves_differing_selection_rules_into_a_column(manifest, tmp_path):
    from facscope.mer.grid import markdown_table

    grid = grid_config(manifest, tmp_path)
    row = {"model": "m", "sampling": "s", "imbalance": "ce", "n_runs": 1, "protocol": "loso",
           "folds": 2, "n": 6, "acc": 0.5, "uf1": 0.5, "uar": 0.5}  # fmt: skip
    same = markdown_table([{**row, "selection": "fixed budget: last of 2 epochs"}] * 2, grid)
    assert "- selection: fixed budget: last of 2 epochs" in same and "| selection |" not in same
    mixed = markdown_table(
        [{**row, "selection": "last of 2"}, {**row, "model": "n", "selection": "last of 9"}], grid
    )
    assert "- selection: per row" in mixed and "| last of 9 |" in mixed


def test_a_changed_config_is_refused_for_finished_runs_and_new_runs_just_run(manifest, tmp_path):
    from facscope.errors import ConfigError

    out = tmp_path / "g"
    grid = grid_config(manifest, out, models=("ststnet",), seeds=(0,))
    run_grid(grid, progress=False)
    changed = grid_config(manifest, out, models=("ststnet",), seeds=(0,), train=TrainConfig(
        data="csv", root=str(manifest), classes=CLASSES, face="full", flow="farneback",
        flow_size=40, epochs=1, batch_size=4, protocol="loso",
    ))  # fmt: skip
    before = (out / "grid.yaml").read_text()
    with pytest.raises(ConfigError, match=r"epochs: 2 → 1"):
        run_grid(changed, progress=False)
    assert (out / "grid.yaml").read_text() == before  # the record still says what ran
    more = run_grid(grid_config(manifest, out, models=("ststnet",), seeds=(0, 1)), progress=False)
    assert more.ran == ["ststnet__flow__ce__seed1"] and len(more.skipped) == 1
    redo = run_grid(changed, progress=False, overwrite=True)
    assert redo.ran == ["ststnet__flow__ce__seed0"]  # run again with the new settings


def test_a_grid_without_a_dataset_is_an_error(tmp_path):
    from facscope.errors import ConfigError
    from facscope.mer.config import grid_config as from_values

    grid = from_values({"models": ["ststnet"], "output_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="train section must name the dataset"):
        run_grid(grid, progress=False)
