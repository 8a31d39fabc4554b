"""UC-GRPO step cost with and without the zoom tool, on a randomly initialised VLM of real size.

No weights can be downloaded on the lent GPU machine, and speed does not depend on weight
values, so the policy is a random Qwen3-VL with the published layer shapes of Qwen3-VL-2B or
-4B (``random-qwen3-vl-2b`` / ``-4b``, see :data:`facscope.vlm.tiny.RANDOM_MODELS`). A random
model never calls a tool, so rollouts are **forced**: the real ``generate`` runs for exactly as
many new tokens as the scripted reply has (paying the true generation cost), then its tokens
are replaced by the script. Two conditions, same reasoning length:

* ``passive`` — no tools, the aligned face, one answer turn;
* ``zoom`` — UC-GRPO with the tools: each rollout zooms ``--zooms`` times (every zoom image goes
  through the vision tower in generation and in the loss), then answers; half the rollouts of
  a group zoom so the utility credit is exercised.

Prints seconds per optimizer step, completion tokens per second (model-written tokens only)
and peak GPU memory, and the zoom/passive ratios. CPU proof run::

    python benchmarks/rl_gpu.py --model tiny:qwen3_vl --cpu --steps 1

On the GPU (TRL and datasets travel as wheels, see docs/rl.md)::

    python benchmarks/rl_gpu.py --model random-qwen3-vl-2b --steps 3
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")

REGIONS = ("mouth", "left_eye", "glabella", "right_lip_corner")


class ForcedGeneration:
    """Replace ``model.generate``: run it for the scripted length, then emit the script's ids."""

    def __init__(self, model: Any, tokenizer: Any, reply: Any) -> None:
        self.model, self.tok, self.reply = model, tokenizer, reply
        self.original = model.generate
        self.calls = 0

    def __enter__(self) -> ForcedGeneration:
        self.model.generate = self._generate
        return self

    def __exit__(self, *exc: object) -> None:
        self.model.generate = self.original

    def _generate(self, input_ids: Any = None, **kwargs: Any) -> Any:
        import torch

        end = self.tok.convert_tokens_to_ids("<|im_end|>")
        texts = [self.reply(self.calls, b, input_ids[b]) for b in range(input_ids.shape[0])]
        rows = [[*self.tok.encode(t, add_special_tokens=False), end] for t in texts]
        self.calls += 1
        width = max(len(r) for r in rows)
        config = kwargs.pop("generation_config", None)
        if config is not None:
            config = config.__class__(**config.to_dict())
            config.max_new_tokens = config.min_new_tokens = width  # pay for every token
        out = self.original(input_ids=input_ids, generation_config=config, **kwargs)
        new = torch.tensor(
            [r + [self.tok.pad_token_id] * (width - len(r)) for r in rows], device=out.device
        )
        return torch.cat([input_ids, new.to(out.dtype)], dim=1)


def run(args: argparse.Namespace, condition: str) -> dict[str, Any]:
    import torch

    from facscope.rl.recipe import recipe_from_dict
    from facscope.rl.run import build_rl_trainer, load_rows

    passive = condition == "passive"
    device = {"use_cpu": True, "bf16": False} if args.cpu else {"bf16": True}
    raw = {
        "model": {
            "name": args.model,
            "dtype": "float32" if args.cpu else "bfloat16",
            "max_pixels": args.max_pixels,
        },
        "data": {
            "source": "synthetic",
            "passive": passive,
            "system_prompt": "Read the face.",
            "synthetic": {"n": args.batch, "size": args.size},
        },
        "tools": {"view_size": args.view_size, "max_zooms": args.zooms},
        "trainer": {
            **device,
            "output_dir": f"{args.out}/{condition}",
            "method": "passive" if passive else "ucgrpo",
            "gradient_checkpointing": not args.cpu,
            "max_steps": args.steps,
            "per_device_train_batch_size": args.batch,
            "num_generations": args.generations,
            "max_completion_length": args.max_completion,
            "learning_rate": 1e-6,
            "logging_steps": 1,
            "save_strategy": "no",
            "report_to": "none",
            "disable_tqdm": True,
            "max_tool_calling_iterations": args.zooms + 1,
        },
    }
    recipe = recipe_from_dict(raw, kind="rl")
    trainer = build_rl_trainer(recipe, rows=load_rows(recipe, passive=passive))
    tok = trainer.processing_class.tokenizer
    filler = " ".join(["The brows, lids and lip corners show the deciding cues."] * 200)
    reasoning = tok.decode(tok.encode(filler, add_special_tokens=False)[: args.reason_tokens])
    answer = reasoning + ' <answer>{"aus": [6, 12], "emotion": "happiness"}</answer>'
    response = tok.convert_tokens_to_ids("<tool_response>")

    def reply(call: int, row: int, ids: Any) -> str:
        done = int((ids == response).sum())  # zooms already answered in this rollout
        # In the first turn every other rollout starts zooming; later turns hold zoomers only.
        zooming = not passive and (row % 2 == 0 if done == 0 else True)
        if zooming and done < args.zooms:
            region = REGIONS[done % len(REGIONS)]
            return f'<tool_call>\n{{"name": "zoom", "arguments": {{"region": "{region}"}}}}\n</tool_call>'
        return answer

    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    with ForcedGeneration(trainer.model, tok, reply):
        start = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - start
    logs = [e for e in trainer.state.log_history if "step_time" in e]
    steps = logs[1:] or logs  # the first step warms up kernels
    step_time = sum(e["step_time"] for e in steps) / len(steps)
    tokens = sum(e["completions/mean_length"] for e in steps) / len(steps) * args.batch
    return {
        "condition": condition,
        "model": args.model,
        "params_b": round(sum(p.numel() for p in trainer.model.parameters()) / 1e9, 3),
        "step_time_s": round(step_time, 3),
        "completion_tokens_per_s": round(tokens / step_time, 1),
        "peak_gpu_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2)
        if torch.cuda.is_available()
        else None,
        "zoom_rate": logs[-1].get("ucgrpo/zoom_rate"),
        "total_s": round(seconds, 1),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--model", default="random-qwen3-vl-2b")
    p.add_argument("--cpu", action="store_true")
    p.add_argument("--steps", type=int, default=3)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--generations", type=int, default=4)
    p.add_argument("--zooms", type=int, default=2)
    p.add_argument("--reason-tokens", type=int, default=256)
    p.add_argument("--max-completion", type=int, default=2048)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--max-pixels", type=int, default=448 * 448)
    p.add_argument("--view-size", type=int, default=336)
    p.add_argument("--out", default="runs/bench-rl-gpu")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args(argv)
    results = [run(args, "passive"), run(args, "zoom")]
    for r in results:
        print(json.dumps(r), flush=True)
    a, b = results
    print(
        f"zoom / passive: step time {b['step_time_s'] / a['step_time_s']:.2f}×, "
        f"tokens/s {b['completion_tokens_per_s'] / a['completion_tokens_per_s']:.2f}×"
        + (
            f", peak memory {b['peak_gpu_gib'] / a['peak_gpu_gib']:.2f}×"
            if a["peak_gpu_gib"]
            else ""
        )
    )
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
