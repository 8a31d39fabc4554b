"""Training runs end to end: flags-only CLI, pooled predictions, leakage-free selection, a killed
run resumed bit-for-bit, and ``accelerate launch``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from _mer_data import CLASSES, make_tiny_dataset
from click.testing import CliRunner

from facscope.cli.main import cli
from facscope.errors import ConfigError
from facscope.eval.metrics import classification_scores
from facscope.eval.predictions import read_predictions
from facscope.mer.callbacks import FoldCallback
from facscope.mer.config import TrainConfig, load_config
from facscope.mer.loader import loader_workers
from facscope.mer.train import train

ROOT = Path(__file__).resolve().parents[2]
KILL_RUN = Path(__file__).with_name("_kill_run.py")  # trains with a callback that exits


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("mer_train")
    manifest = make_tiny_dataset(root / "data", subjects=3)
    return root, manifest


def base_config(workdir, name: str, **kw) -> TrainConfig:
    root, manifest = workdir
    values = {
        "data": "csv",
        "root": str(manifest),
        "classes": CLASSES,
        "model": "ststnet",
        "protocol": "loso",
        "face": "full",
        "flow": "farneback",
        "flow_size": 40,
        "epochs": 3,
        "batch_size": 2,
        "lr": 0.01,
        "hflip": True,
        "imbalance": "balanced_sampler",
        "cache_dir": str(root / "cache"),
        "output_dir": str(root / name),
    }
    values.update(kw)
    return TrainConfig(**values)


@pytest.fixture(scope="module")
def reference(workdir):
    """An uninterrupted run, shared by the comparisons below."""
    return train(base_config(workdir, "reference"), progress=False)


def test_flags_alone_run_loso_and_write_pooled_outputs(workdir):
    root, manifest = workdir
    out = root / "flags"
    args = [
        "mer", "train", "--data", "csv", "--root", str(manifest), "--model", "ststnet",
        "--protocol", "loso", "--output-dir", str(out), "--face", "full", "--epochs", "2",
        "--cache-dir", str(root / "cache"), "--quiet", "--set", f"classes={list(CLASSES)}",
        "--set", "flow=farneback", "--set", "flow_size=40",
    ]  # fmt: skip
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "ACC " in res.output and "UF1 " in res.output and "UAR " in res.output
    assert re.search(r"\(\d+ s on cpu, \d+ s of them loading and caching", res.output), res.output
    metrics = json.loads((out / "metrics.json").read_text())
    preds = read_predictions(out / "predictions.csv")
    # every sample is predicted exactly once, by the fold that held its subject out
    assert sorted(preds.sample_ids) == sorted(set(preds.sample_ids)) and len(preds) == 9
    for fold in range(3):
        split = json.loads((out / f"fold_{fold:02d}" / "split.json").read_text())
        assert not set(split["test"]) & set(split["train"])
        tested = {s for s, f in zip(preds.subjects, preds.folds) if f == fold}
        assert {f"csv/{s}" for s in tested} == set(split["test"])
    again = classification_scores(preds.y_true, preds.y_pred, labels=[0, 1, 2])
    assert metrics["uf1"] == pytest.approx(again.uf1) and metrics["uar"] == pytest.approx(again.uar)
    assert np.allclose(preds.probs.sum(1), 1.0, atol=1e-5)
    assert metrics["protocol"] == "loso" and metrics["pooling"].startswith("pooled")
    assert (out / "report_confusion.png").is_file() and (out / "report.md").is_file()
    resolved = load_config(out / "config.yaml")
    assert resolved.epochs == 2 and resolved.classes == CLASSES and resolved.model == "ststnet"


def test_validation_selection_uses_training_subjects_only(workdir):
    cfg = base_config(workdir, "val", selection="val", val_subjects=0.5, epochs=2, folds=(0,))
    result = train(cfg, progress=False)
    fold = Path(cfg.output_dir) / "fold_00"
    split = json.loads((fold / "split.json").read_text())
    assert split["val"] and not set(split["val"]) & set(split["test"])
    assert not set(split["val"]) & set(split["train"])
    sel = json.loads((fold / "selection.json").read_text())
    hist = json.loads((fold / "history.json").read_text())
    best = max(range(len(hist)), key=lambda e: (hist[e]["val_uf1"], -e))
    assert sel["rule"] == "val" and sel["epoch"] == best
    assert result.metrics["selection"].startswith("best validation UF1")
    assert result.folds_run == (0,)


def _state(run_dir: Path, fold: int) -> dict[str, torch.Tensor]:
    ck = torch.load(run_dir / f"fold_{fold:02d}" / "checkpoint.pt", weights_only=True)
    return ck["model"]


def test_killed_run_resumes_to_identical_results(workdir, reference):
    cfg = base_config(workdir, "killed")
    cfg_file = Path(cfg.output_dir).with_suffix(".yaml")
    cfg_file.write_text(yaml.safe_dump({**vars(cfg), "classes": list(CLASSES)}))
    # a real process, killed by os._exit (no cleanup) after 13 steps; 9 per fold: inside fold 1
    proc = subprocess.run(
        [sys.executable, str(KILL_RUN), str(cfg_file), "13"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr[-2000:]
    out = Path(cfg.output_dir)
    assert (out / "fold_00" / "predictions.csv").is_file()
    assert not (out / "fold_01" / "predictions.csv").exists()
    ck = torch.load(out / "fold_01" / "checkpoint.pt", weights_only=True)
    assert ck["epoch"] == 0  # epoch 1 of fold 1 was cut short after its first step

    resumed = train(cfg, progress=False)
    ref, got = reference.predictions, resumed.predictions
    assert got.sample_ids == ref.sample_ids
    assert np.array_equal(got.y_pred, ref.y_pred)
    assert np.allclose(got.probs, ref.probs, atol=1e-6, rtol=0)
    for fold in range(3):
        a, b = _state(Path(reference.output_dir), fold), _state(out, fold)
        assert all(torch.equal(a[k], b[k]) for k in a), f"fold {fold} weights differ"
    assert resumed.metrics["uf1"] == reference.metrics["uf1"]


class _Notes(FoldCallback):
    """Notes what the hooks are told, and whether the epoch's checkpoint is already written."""

    def __init__(self, out: Path) -> None:
        self.out, self.steps, self.epochs = out, [], []

    def on_step_end(self, state):
        self.steps.append((state.fold, state.epoch, state.global_step))

    def on_epoch_end(self, state, record):
        ck = torch.load(self.out / f"fold_{state.fold:02d}" / "checkpoint.pt", weights_only=True)
        self.epochs.append((state.fold, dict(record), ck["epoch"]))


def test_callbacks_are_told_every_step_and_epoch_and_change_no_result(workdir, reference):
    cfg = base_config(workdir, "callbacks")
    notes = _Notes(Path(cfg.output_dir))
    result = train(cfg, progress=False, callbacks=[notes])
    assert np.array_equal(result.predictions.probs, reference.predictions.probs)
    assert [s[2] for s in notes.steps] == list(range(1, len(notes.steps) + 1))
    for fold in range(3):
        hist = json.loads((Path(cfg.output_dir) / f"fold_{fold:02d}" / "history.json").read_text())
        told = [(rec, ck) for f, rec, ck in notes.epochs if f == fold]
        assert [rec for rec, _ in told] == hist
        assert [ck for _, ck in told] == [h["epoch"] for h in hist]  # written before the hook
        for h in hist:
            steps = [s for s in notes.steps if s[:2] == (fold, h["epoch"])]
            assert len(steps) == h["steps"]


def test_max_steps_stops_cleanly_and_the_rerun_skips_finished_folds(workdir, reference):
    cfg = base_config(workdir, "max_steps", max_steps=10)
    assert train(cfg, progress=False).interrupted
    out = Path(cfg.output_dir)
    done = (out / "fold_00" / "predictions.csv").stat().st_mtime_ns
    result = train(cfg.replace(max_steps=None), progress=False)
    assert (out / "fold_00" / "predictions.csv").stat().st_mtime_ns == done  # not redone
    assert np.allclose(result.predictions.probs, reference.predictions.probs, atol=1e-6, rtol=0)


def test_loader_workers_that_live_across_epochs_change_no_result(workdir, reference):
    # flips and sampling are drawn per (seed, epoch, index): two persistent workers must
    # reproduce the in-process run exactly
    result = train(base_config(workdir, "workers", num_workers=2), progress=False)
    assert np.array_equal(result.predictions.y_pred, reference.predictions.y_pred)
    assert np.allclose(result.predictions.probs, reference.predictions.probs, atol=1e-6, rtol=0)


def test_validation_workers_that_live_across_epochs_change_no_result(workdir):
    # with selection="val" the validation loader is read every epoch and keeps its workers
    kw = {"selection": "val", "val_subjects": 0.5, "epochs": 3, "folds": (0,)}
    alone = train(base_config(workdir, "val0", **kw), progress=False)
    workers = train(base_config(workdir, "val2", num_workers=2, **kw), progress=False)
    assert np.allclose(workers.predictions.probs, alone.predictions.probs, atol=1e-6, rtol=0)
    hist = [
        json.loads((r.output_dir / "fold_00" / "history.json").read_text())
        for r in (alone, workers)
    ]
    assert [h["val_uf1"] for h in hist[0]] == [h["val_uf1"] for h in hist[1]]


@pytest.mark.parametrize(
    ("asked", "samples", "batch", "expected"),
    [(8, 12, 16, 1), (8, 48, 16, 3), (8, 1000, 16, 8), (0, 1000, 16, 0), (4, 0, 16, 0)],
)
def test_a_loader_starts_no_more_workers_than_it_has_batches(asked, samples, batch, expected):
    assert loader_workers(asked, samples, batch) == expected


def test_accelerate_launch_runs_the_cli(workdir, reference):
    cfg = base_config(workdir, "launched")
    cfg_file = Path(cfg.output_dir).with_suffix(".yaml")
    cfg_file.write_text(yaml.safe_dump({**vars(cfg), "classes": list(CLASSES)}))
    launcher = Path(sys.executable).with_name("accelerate")
    proc = subprocess.run(
        [str(launcher), "launch", "--cpu", "--num_processes", "1", "--num_machines", "1",
         "--mixed_precision", "no", "--dynamo_backend", "no",
         "-m", "facscope.cli", "mer", "train", "--config", str(cfg_file), "--quiet"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "UF1" in proc.stdout
    got = read_predictions(Path(cfg.output_dir) / "predictions.csv")
    assert np.allclose(got.probs, reference.predictions.probs, atol=1e-5, rtol=0)


def test_a_video_model_trains_through_the_clip_cache(workdir):
    cfg = base_config(
        workdir, "video", model="mc3_18", frames=3, size=16, epochs=1, folds=(0,),
        sampling="interpolate", jitter=0.005, imbalance="ldam_drw", batch_size=3,
    )  # fmt: skip
    result = train(cfg, progress=False)
    assert len(result.predictions) == 3 and result.metrics["model"] == "mc3_18"
    assert result.metrics["sampling"] == "interpolate"
    assert list((Path(cfg.cache_dir) / "clip").iterdir())


def test_missing_root_and_empty_protocol_are_clear_errors(workdir):
    with pytest.raises(ConfigError, match="no dataset root"):
        train(base_config(workdir, "noroot", root=None), progress=False)
    with pytest.raises(ConfigError, match="no folds"):
        train(base_config(workdir, "nofolds", folds=(9,)), progress=False)


def test_resuming_into_a_run_of_other_settings_is_refused(workdir, reference):
    cfg = base_config(workdir, "reference", lr=0.5)  # the reference run's folder, new lr
    with pytest.raises(ConfigError, match=r"other settings \(lr\)"):
        train(cfg, progress=False)
    same = base_config(workdir, "reference", num_workers=0, max_steps=None)
    assert train(same, progress=False).metrics["uf1"] == reference.metrics["uf1"]


def _collate_noting_memory(items):
    from facscope.mer.loader import collate

    batch = collate(items)
    batch["made_shared"] = batch["x"].is_shared()  # checked where the batch was made
    return batch


def test_collate_in_a_worker_stacks_into_shared_memory():
    """Batches made in loader workers are stacked straight into shared memory (no extra copy
    when they are handed to the main process); the values are the items'."""
    import torch
    from torch.utils.data import DataLoader, Dataset

    class Items(Dataset):
        def __len__(self):
            return 6

        def __getitem__(self, i):
            x = torch.full((2, 3, 4, 4), i, dtype=torch.uint8)
            return x, i % 3, i

    direct = _collate_noting_memory([Items()[i] for i in range(3)])
    assert not direct["made_shared"]  # in the main process: an ordinary tensor
    seen = []
    loader = DataLoader(Items(), batch_size=3, num_workers=1, collate_fn=_collate_noting_memory)
    for b in loader:
        assert b["made_shared"]
        assert b["x"].shape == (3, 2, 3, 4, 4) and b["x"].dtype == torch.uint8
        assert b["y"].tolist() == [i % 3 for i in b["index"].tolist()]
        seen += [int(v) for v in b["x"][:, 0, 0, 0, 0]]
    assert seen == list(range(6))


def test_a_gpu_run_without_loader_workers_is_warned():
    from facscope.errors import FacscopeConfigWarning
    from facscope.mer.train import warn_if_loading_starves

    with pytest.warns(FacscopeConfigWarning, match="num-workers"):
        warn_if_loading_starves("clip", 0, "cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_if_loading_starves("clip", 4, "cuda")
        warn_if_loading_starves("flow", 0, "cuda")  # a 28 px flow stack is cheap to read
        warn_if_loading_starves("clip", 0, "cpu")


def test_a_corrupt_checkpoint_is_refused_with_the_fix(workdir):
    from facscope.errors import InputFileError

    cfg = base_config(workdir, "corrupt", max_steps=13)  # fold 1 stopped after its epoch 0
    assert train(cfg, progress=False).interrupted
    (ck,) = [  # the fold the stop left unfinished (finished folds are not resumed)
        c
        for c in Path(cfg.output_dir).glob("fold_*/checkpoint.pt")
        if not (c.parent / "predictions.csv").is_file()
    ]
    ck.write_bytes(ck.read_bytes()[:200])  # truncated
    with pytest.raises(InputFileError, match=r"checkpoint.pt: cannot resume.*--no-resume"):
        train(cfg.replace(max_steps=None), progress=False)
