"""SFT of a tiny random Qwen VLM on built samples: loss falls, LoRA weights change, the adapter
saves and reloads, and `facscope mellm eval` runs end to end on the held-out subjects."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")
pytest.importorskip("peft")


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread: the tiny model is far faster so on a loaded machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def run(build_dir, tmp_path_factory, one_thread):
    from facscope.mellm.config import sft_config_from_dict
    from facscope.mellm.train import run_finetune

    out = tmp_path_factory.mktemp("mellm_run") / "run"
    cfg = sft_config_from_dict({
        "data": str(build_dir), "output_dir": str(out), "model": "tiny:qwen2_5_vl",
        "tiny": {"hidden_size": 32, "min_pixels": 1024, "max_pixels": 4096},
        "lora": {"r": 8, "alpha": 16, "dropout": 0.0}, "learning_rate": 0.01, "max_steps": 6,
        "batch_size": 2, "logging_steps": 1, "use_cpu": True, "warmup_ratio": 0.0,
        "lr_scheduler": "constant", "split": {"protocol": "kfold", "k": 3, "fold": 0},
    })  # fmt: skip
    return run_finetune(cfg)


def test_loss_falls_and_only_lora_trains(run):
    assert len(run.losses) == 6
    assert run.losses[-1] < run.losses[0]
    assert 0 < run.trainable_parameters < run.total_parameters / 5


def test_subjects_are_split_and_test_subjects_never_trained(run, build_dir):
    from facscope.mellm.records import read_records
    from facscope.mellm.splits import check_disjoint, read_split

    split = read_split(run.output_dir)
    check_disjoint(split)
    groups = {r.group for r in read_records(build_dir)}
    assert split.test and set(split.train) | set(split.test) == groups
    assert run.counts["train"] + run.counts["test"] == len(read_records(build_dir))


def test_lora_weights_changed_and_the_adapter_reloads(run):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForImageTextToText

    from facscope.mellm.train import load_trained

    weights = load_file(run.output_dir / "adapter" / "adapter_model.safetensors")
    lora_b = [v for k, v in weights.items() if "lora_B" in k]
    assert lora_b and all("visual" not in k for k in weights)  # vision tower frozen
    assert any(float(v.abs().max()) > 0 for v in lora_b)  # B starts at zero: training moved it
    base = AutoModelForImageTextToText.from_pretrained(run.output_dir / "base")
    merged, processor = load_trained(run.output_dir)
    name = next(k for k in base.state_dict() if k.endswith("layers.0.self_attn.q_proj.weight"))
    assert not torch.equal(base.state_dict()[name], merged.state_dict()[name])
    unmerged, _ = load_trained(run.output_dir, merge=False)
    ids = processor.tokenizer("ANSWER: AUs=6+12", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        a = merged(input_ids=ids).logits
        b = unmerged(input_ids=ids).logits
    assert torch.allclose(a, b, atol=1e-4)
    saved = json.loads((run.output_dir / "summary.json").read_text())
    assert saved["last_loss"] == pytest.approx(run.losses[-1])


def test_mellm_eval_end_to_end(run, build_dir, tmp_path):
    from click.testing import CliRunner

    from facscope.cli.main import cli
    from facscope.mellm.splits import read_split

    out = tmp_path / "eval"
    args = ["mellm", "eval", "--build", str(build_dir), "--run", str(run.output_dir),
            "--max-new-tokens", "12", "--no-progress", "-o", str(out)]  # fmt: skip
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    report = json.loads((out / "eval.json").read_text())
    n_test = sum(
        1 for line in (build_dir / "records.jsonl").read_text().splitlines()
        if json.loads(line)["group"] in read_split(run.output_dir).test
    )  # fmt: skip
    assert report["n"] == n_test > 0 and report["split"]["part"] == "test"
    assert set(report) >= {"fine", "coarse", "au", "parse"}
    assert "UF1" in (out / "eval.md").read_text()
    lines = (out / "predictions.jsonl").read_text().splitlines()
    assert len(lines) == n_test
    # a second run resumes: nothing left to generate
    again = CliRunner().invoke(cli, args)
    assert (
        again.exit_code == 0 and len((out / "predictions.jsonl").read_text().splitlines()) == n_test
    )
