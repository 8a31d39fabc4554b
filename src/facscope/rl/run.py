"""Running a recipe: supervised cold start (:func:`run_cold_start`, also importable as
``run_sft``) and UC-GRPO training (:func:`run_rl`).

Both write the resolved recipe (``recipe.json``) into the output directory before training,
resume from the newest ``checkpoint-*`` folder there when one exists (a killed run does not redo
finished steps), save the final model and processor (LoRA adapters merged into the base
weights, so the next stage loads a plain directory), and write ``summary.json``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError
from facscope.vlm.sft import trainer_args

__all__ = ["build_rl_trainer", "load_rows", "run_cold_start", "run_rl", "run_sft"]


def load_rows(recipe: Any, *, passive: bool | None = None) -> list[dict[str, Any]]:
    """The recipe's training rows (:func:`facscope.rl.data.rl_rows`)."""
    from facscope.rl.data import rl_rows

    data = recipe.data
    if data.source == "synthetic":
        from facscope.rl.synthetic import synthetic_rows

        items: list[Any] = synthetic_rows(data.synthetic_config())
    else:
        from facscope.data import load_dataset

        dataset = load_dataset(data.source, data.root)
        items = [s for s in dataset if data.split is None or s.meta.get("split") == data.split]
    if data.limit is not None:
        items = items[: data.limit]
    return rl_rows(
        items,
        passive=data.passive if passive is None else passive,
        system=data.system_prompt,
        tools_config=recipe.tools_config(),
    )


def _prepare_output(recipe: Any) -> tuple[Path, str | None]:
    from transformers.trainer_utils import get_last_checkpoint

    from facscope.io import write_json

    out = recipe.output_dir
    out.mkdir(parents=True, exist_ok=True)
    if int(os.environ.get("RANK", "0")) == 0:  # one writer under accelerate launch
        write_json(out / "recipe.json", recipe.to_dict())
    return out, get_last_checkpoint(str(out))


def _finish(trainer: Any, out: Path, started: float, extra: dict[str, Any]) -> dict[str, Any]:
    """Save the final model (LoRA merged where possible) and processor; write the summary."""
    from facscope.io import write_json

    final = out / "final"
    model = trainer.accelerator.unwrap_model(trainer.model)
    zero3 = (
        getattr(trainer, "is_deepspeed_enabled", False)
        and getattr(trainer.accelerator.state.deepspeed_plugin, "zero_stage", 0) == 3
    )
    if hasattr(model, "merge_and_unload") and not zero3:
        saved = "merged"
        if trainer.accelerator.is_main_process:
            model.merge_and_unload().save_pretrained(final)
    else:  # full model, or a LoRA adapter under ZeRO-3 (merge it offline with peft)
        saved = "adapter" if hasattr(model, "merge_and_unload") else "full"
        trainer.save_model(str(final))
    summary: dict[str, Any] = {}
    if trainer.accelerator.is_main_process:
        trainer.processing_class.save_pretrained(final)
        logs = [entry for entry in trainer.state.log_history if "loss" in entry]
        summary = {
            "global_step": trainer.state.global_step,
            "seconds": round(time.perf_counter() - started, 2),
            "final_model": str(final),
            "saved": saved,
            "last_log": logs[-1] if logs else None,
            **extra,
        }
        write_json(out / "summary.json", summary)
    return summary


def _check_completion_budget(
    row: dict[str, Any], processor: Any, tools: Any, recipe: Any, budget: int
) -> None:
    """Warn when the expert episode (detect → align → zooms → answer, tool responses included)
    does not fit ``max_completion_length``: rollouts that follow it would be cut before the
    answer and score nothing."""
    import warnings

    from facscope.errors import FacscopeConfigWarning
    from facscope.rl.coldstart import episode_tokens
    from facscope.rl.env import tool_list

    try:
        _, need = episode_tokens(
            row, processor, tool_list(tools), tools_config=tools, system=recipe.data.system_prompt
        )
    except ConfigError:  # no expert plan for this row (e.g. no face): nothing to compare
        return
    if need > budget:
        warnings.warn(
            f"trainer.max_completion_length={budget} is shorter than an expert tool episode "
            f"({need} tokens with the tool responses and their images): rollouts that detect, "
            f"align and zoom like the cold-start data would be cut before the answer; raise it "
            f"to about {need + need // 4} (the episode and a quarter more for longer reasoning)",
            FacscopeConfigWarning,
            stacklevel=3,
        )


def build_rl_trainer(recipe: Any, *, rows: list[dict[str, Any]] | None = None) -> Any:
    """The :class:`facscope.rl.trainer.UCGRPOTrainer` a recipe describes (not yet trained).

    ``rows`` replaces the recipe's data (e.g. a split made by the caller).
    """
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from facscope.rl.data import rl_dataset
    from facscope.rl.env import env_factory
    from facscope.rl.models import load_model, lora_config
    from facscope.rl.trainer import UCGRPOConfig, UCGRPOTrainer

    values = dict(recipe.trainer)
    tools = recipe.tools_config()
    values.setdefault("max_tool_calling_iterations", tools.max_zooms + 3)
    values.setdefault("report_to", "none")
    args = trainer_args(UCGRPOConfig, values, "trainer")
    passive = not args.rl_method().tools
    if recipe.data.passive and not passive:
        raise ConfigError(
            f"data.passive is true but trainer.method is {args.method!r}; the passive condition "
            "is method 'passive'"
        )
    model, processor = load_model(recipe.model, seed=args.seed)
    if rows is None:
        rows = load_rows(recipe, passive=passive)
    if not passive and rows and rows[0].get("emotion"):
        _check_completion_budget(rows[0], processor, tools, recipe, args.max_completion_length)
    return UCGRPOTrainer(
        model=model,
        args=args,
        train_dataset=rl_dataset(rows),
        processing_class=processor,
        environment_factory=None if passive else env_factory(tools),
        peft_config=lora_config(recipe.lora),
    )


def run_rl(recipe: Any) -> dict[str, Any]:
    """Train with :class:`facscope.rl.trainer.UCGRPOTrainer` as the recipe says; returns the summary."""
    started = time.perf_counter()
    out, last = _prepare_output(recipe)
    trainer = build_rl_trainer(recipe)
    trainer.train(resume_from_checkpoint=last)
    extra = {
        "method": trainer.args.method,
        "rows": len(trainer.train_dataset),
        "resumed_from": last,
        "ema": trainer.ema.state_dict(),
    }
    return _finish(trainer, out, started, extra)


def run_cold_start(recipe: Any) -> dict[str, Any]:
    """Cold-start supervised fine-tuning on expert tool-use trajectories; returns the summary."""
    from trl import SFTConfig

    from facscope.rl.coldstart import TrajectoryCollator, trajectories
    from facscope.rl.env import tool_list
    from facscope.rl.models import load_model, lora_config
    from facscope.vlm.sft import train_sft

    started = time.perf_counter()
    values = dict(recipe.trainer)
    values.setdefault("report_to", "none")
    values.setdefault("remove_unused_columns", False)
    values.setdefault("dataset_kwargs", {"skip_prepare_dataset": True})
    max_length = values.pop("max_length", None)
    args = trainer_args(SFTConfig, {**values, "max_length": None}, "trainer")
    out, last = _prepare_output(recipe)
    model, processor = load_model(recipe.model, seed=args.seed)
    passive = recipe.data.passive
    rows = load_rows(recipe, passive=passive)
    tools = recipe.tools_config()
    dataset = trajectories(
        [{k: v for k, v in r.items() if k != "prompt"} for r in rows],
        tools_config=tools,
        system=recipe.data.system_prompt,
        passive=passive,
    )
    collator = TrajectoryCollator(
        processor, tools=None if passive else tool_list(tools), max_length=max_length
    )
    trainer = train_sft(
        model,
        processor,
        args,
        dataset,
        data_collator=collator,
        peft_config=lora_config(recipe.lora),
        resume_from_checkpoint=last,
    )
    return _finish(trainer, out, started, {"trajectories": len(dataset), "resumed_from": last})


#: The name this runner had before the MELLM and RL recipes shared :func:`facscope.vlm.sft.train_sft`.
run_sft = run_cold_start
