"""Passive vs GRPO vs UC-GRPO on the synthetic active-perception task, end to end.

For each method: cold start (SFT on expert trajectories: tool episodes for the tool methods,
direct answers on the aligned face for ``passive``), then RL from the warmed-up model, then an
evaluation on held-out synthetic faces with TRL's own rollout machinery. Reported per method:
emotion accuracy, AU F1, region agreement, format, zoom rate per emotion (subtle vs obvious
cues), seconds per RL step and completion tokens per second, and each method's step time as a
ratio of the passive one.

The defaults run a tiny random Qwen3-VL on the CPU in a few minutes: that proves the pipeline,
not the method (a random 150k-parameter model learns nothing in a few steps). The comparison
that tests the claims needs a real VLM on a GPU, e.g.::

    python benchmarks/rl.py --model Qwen/Qwen2.5-VL-3B-Instruct --chat-template trl:qwen3_vl \\
        --gpu --train 600 --eval 300 --sft-steps 200 --rl-steps 300 --out runs/bench-rl

Results are written to ``OUT/results.json``; every stage resumes from its checkpoints.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

SHORT_SYSTEM = "You read faces. Call tools to inspect them, then answer in <answer> tags."


def _common(args: argparse.Namespace) -> dict[str, Any]:
    device = {"bf16": True} if args.gpu else {"use_cpu": True, "bf16": False}
    return {
        **device,
        "gradient_checkpointing": args.gpu,
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": max(1, args.rl_steps // 2),
        "save_total_limit": 1,
        "seed": args.seed,
        "disable_tqdm": True,
        "report_to": "none",
    }


def _model(args: argparse.Namespace, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "max_pixels": args.max_pixels, "allow_download": False}
    if args.gpu and not args.tiny:  # a model trained from scratch keeps fp32 weights (autocast)
        spec["dtype"] = "bfloat16"
    if args.chat_template and not name.startswith(str(args.out)):
        spec["chat_template"] = args.chat_template
    if args.tiny and name == args.model:
        spec["tiny"] = args.tiny
    return spec


def _data(args: argparse.Namespace, n: int, seed: int, passive: bool) -> dict[str, Any]:
    return {
        "source": "synthetic",
        "passive": passive,
        "system_prompt": SHORT_SYSTEM if args.short_prompt else None,
        "synthetic": {"n": n, "size": args.size, "seed": seed},
    }


def cold_start(args: argparse.Namespace, passive: bool) -> str:
    from facscope.rl.recipe import recipe_from_dict
    from facscope.rl.run import run_sft

    out = args.out / ("sft-passive" if passive else "sft-tools")
    if (out / "final" / "config.json").is_file():
        return str(out / "final")
    raw = {
        "model": _model(args, args.model),
        "data": _data(args, args.train, args.seed, passive),
        "tools": {"view_size": args.view_size, "max_zooms": 2},
        "trainer": {
            **_common(args),
            "output_dir": str(out),
            "max_steps": args.sft_steps,
            "per_device_train_batch_size": 2,
            "learning_rate": args.sft_lr,
        },
    }
    if args.lora:
        raw["lora"] = {"r": 16, "alpha": 32}
    run_sft(recipe_from_dict(raw, kind="sft"))
    return str(out / "final")


def train_and_eval(args: argparse.Namespace, method: str, start: str) -> dict[str, Any]:
    from facscope.rl.data import rl_dataset
    from facscope.rl.recipe import recipe_from_dict
    from facscope.rl.run import build_rl_trainer, load_rows

    passive = method == "passive"
    out = args.out / f"rl-{method}"
    raw = {
        "model": _model(args, start),
        "data": _data(args, args.train, args.seed, passive),
        "tools": {"view_size": args.view_size, "max_zooms": 2},
        "trainer": {
            **_common(args),
            "output_dir": str(out),
            "method": method,
            "max_steps": args.rl_steps,
            "per_device_train_batch_size": args.batch,
            "per_device_eval_batch_size": args.batch,
            "num_generations": args.generations,
            "num_generations_eval": 1,
            "max_completion_length": args.max_completion,
            "learning_rate": args.rl_lr,
            **args.trainer,
        },
    }
    if args.lora:
        raw["lora"] = {"r": 16, "alpha": 32}
    recipe = recipe_from_dict(raw, kind="rl")
    eval_raw = {**raw, "data": _data(args, args.eval, args.seed + 1, passive)}
    eval_rows = load_rows(recipe_from_dict(eval_raw, kind="rl"), passive=passive)
    trainer = build_rl_trainer(recipe)
    from transformers.trainer_utils import get_last_checkpoint

    out.mkdir(parents=True, exist_ok=True)
    last = get_last_checkpoint(str(out))
    t0 = time.perf_counter()
    trainer.train(resume_from_checkpoint=last)
    seconds = time.perf_counter() - t0
    logs = [e for e in trainer.state.log_history if "step_time" in e]
    tokens = sum(e.get("completions/mean_length", 0) for e in logs) * args.batch
    metrics = trainer.evaluate(eval_dataset=rl_dataset(eval_rows))
    peak = None
    try:
        import torch

        if torch.cuda.is_available():
            peak = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    except ImportError:
        pass
    return {
        "method": method,
        "train_seconds": round(seconds, 2),
        "step_time": round(sum(e["step_time"] for e in logs) / max(1, len(logs)), 3),
        "completion_tokens_per_s": round(tokens / seconds, 1) if seconds else None,
        "peak_gpu_gib": peak,
        "accuracy": metrics.get("eval_rewards/emotion_reward/mean"),
        "au_f1": metrics.get("eval_rewards/au_reward/mean"),
        "region": metrics.get("eval_rewards/region_reward/mean"),
        "format": metrics.get("eval_rewards/format_reward/mean"),
        "zoom_rate": {
            k.rsplit("/", 1)[1]: v
            for k, v in metrics.items()
            if k.startswith("eval_ucgrpo/zoom_rate/") and v is not None
        },
        "ema": trainer.ema.state_dict()["values"],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="tiny:qwen3_vl", help="model id, directory or tiny:qwen3_vl")
    p.add_argument("--chat-template", default=None, help="e.g. trl:qwen3_vl for Qwen2.5-VL")
    p.add_argument(
        "--tiny", nargs="*", default=[], metavar="KEY=VALUE",
        help="sizes of a tiny:<family> model trained from scratch, e.g. hidden_size=256 num_layers=6",
    )  # fmt: skip
    p.add_argument("--methods", default="passive,grpo,ucgrpo")
    p.add_argument("--train", type=int, default=12, help="training faces")
    p.add_argument("--eval", type=int, default=6, help="held-out faces")
    p.add_argument("--size", type=int, default=128, help="full-resolution image side")
    p.add_argument("--max-pixels", type=int, default=64 * 64, help="global view pixels")
    p.add_argument("--view-size", type=int, default=32, help="zoom crop side")
    p.add_argument("--sft-steps", type=int, default=4)
    p.add_argument("--rl-steps", type=int, default=2)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--generations", type=int, default=2)
    p.add_argument("--max-completion", type=int, default=64)
    p.add_argument("--sft-lr", type=float, default=1e-3)
    p.add_argument("--rl-lr", type=float, default=1e-4)
    p.add_argument(
        "--trainer", nargs="*", default=[], metavar="KEY=VALUE",
        help="more RL trainer options, e.g. credit_scope=zoom_tokens credit_alpha=0.2",
    )  # fmt: skip
    p.add_argument("--lora", action="store_true")
    p.add_argument("--gpu", action="store_true", help="bf16 on the GPU instead of the CPU")
    p.add_argument("--short-prompt", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=Path("runs/bench-rl"))
    args = p.parse_args(argv)
    from facscope.cli.common import parse_key_values

    args.tiny = parse_key_values(args.tiny, "--tiny")
    args.trainer = parse_key_values(args.trainer, "--trainer")

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    results = []
    for method in methods:
        start = cold_start(args, passive=method == "passive")
        results.append(train_and_eval(args, method, start))
        print(json.dumps(results[-1]), flush=True)
    base = next((r["step_time"] for r in results if r["method"] == "passive"), None)
    print(
        f"\n{'method':<10} {'acc':>6} {'AU F1':>6} {'fmt':>5} {'s/step':>7} {'vs passive':>10}  zoom rate"
    )
    for r in results:
        ratio = f"{r['step_time'] / base:.2f}×" if base else "-"
        zoom = ", ".join(f"{k} {v:.2f}" for k, v in sorted(r["zoom_rate"].items()))
        print(
            f"{r['method']:<10} {r['accuracy'] or 0:>6.3f} {r['au_f1'] or 0:>6.3f} "
            f"{r['format'] or 0:>5.2f} {r['step_time']:>7.3f} {ratio:>10}  {zoom or '-'}"
        )
    from facscope.io import write_json

    write_json(
        args.out / "results.json",
        {"args": {k: str(v) for k, v in vars(args).items()}, "results": results},
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
