"""MELLM supervised fine-tuning: TRL's ``SFTTrainer`` with LoRA (peft) on Qwen2.5-VL / Qwen3-VL.

:func:`run_finetune` (also importable as ``run_sft``) runs one
:class:`~facscope.mellm.config.SFTRunConfig` through the shared TRL runner
:func:`facscope.vlm.sft.train_sft`:

1. read the build folder's records (``describe``) or ME-VQA rows (``mevqa``) and split them by
   subject (:func:`facscope.mellm.splits.subject_split`); only the training subjects are
   trained on, the validation subjects give a held-out loss, the test subjects are written to
   ``split.json`` for :mod:`facscope.mellm.evaluate` and never seen;
2. a prompt–completion conversational dataset (user prompt with its images → assistant target),
   so the loss is on the target tokens only (TRL's ``completion_only_loss``);
3. the model (:func:`facscope.vlm.loading.load_vlm`): a local or Hub checkpoint, or
   ``tiny:<family>`` built at random from ``tiny`` sizes (training from scratch); the image
   processor's pixel bounds set from the config; the chat template made the same one the
   ``transformers`` backend uses at inference (:func:`facscope.vlm.templates.align_chat_template`);
4. LoRA adapters on the language model's linear layers (and on the vision tower's when
   ``freeze_vision`` is false), or full fine-tuning with the vision tower frozen or not;
5. training, then ``OUT/adapter`` (adapter or full model + processor), ``OUT/base`` (a tiny
   model's initial weights, so the adapter can be reloaded), optionally ``OUT/merged``, and
   ``config.yaml``, ``split.json``, ``train_log.json``, ``summary.json``.

Several GPUs: launch the same command under ``accelerate launch`` (``configs/mellm-*.yaml``);
the trainer shards the batches, and only the main process writes files.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError
from facscope.mellm.config import SFTRunConfig
from facscope.vlm.lora import freeze_vision, linear_layer_names, lora_config
from facscope.vlm.templates import align_chat_template

__all__ = [
    "SFTResult",
    "align_chat_template",
    "build_sft_dataset",
    "examples_as_records",
    "load_model",
    "load_trained",
    "lora_target_modules",
    "run_finetune",
    "run_sft",
    "sft_examples",
]


@dataclass
class SFTResult:
    """What a run produced."""

    output_dir: Path
    losses: list[float]
    eval_loss: float | None
    trainable_parameters: int
    total_parameters: int
    split: Any
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "output_dir": str(self.output_dir),
            "first_loss": self.losses[0] if self.losses else None,
            "last_loss": self.losses[-1] if self.losses else None,
            "eval_loss": self.eval_loss,
            "trainable_parameters": self.trainable_parameters,
            "total_parameters": self.total_parameters,
            "counts": self.counts,
            "split": self.split.to_dict(),
            "seconds": round(self.seconds, 2),
        }


def sft_examples(root: str | os.PathLike[str], task: str) -> list[dict[str, Any]]:
    """Training examples of a build folder: ``id``, ``group``, ``label``, ``prompt``,
    ``completion`` and absolute ``images`` paths."""
    from facscope.mellm.records import read_records

    root = Path(root)
    records = read_records(root)
    if task == "describe":
        return [
            {
                "id": r.id,
                "group": r.group,
                "label": r.label,
                "prompt": r.prompt,
                "completion": r.target,
                "images": [str(p) for p in r.image_paths(root)],
            }
            for r in records
        ]
    if task != "mevqa":
        raise ConfigError(f"task must be 'describe' or 'mevqa'; got {task!r}")
    from facscope.mellm.mevqa import vqa_prompt

    path = root / "mevqa.jsonl"
    if not path.is_file():
        raise ConfigError(
            f"{path}: no ME-VQA file; run 'facscope mellm build ... --format mevqa' first"
        )
    labels = {r.id: r.label for r in records}
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [
        {
            "id": row["id"],
            "group": row["group"],
            "label": labels.get(row["sample"], ""),
            "prompt": vqa_prompt(row),
            "completion": row["answer"],
            "images": [str(root / p) for p in row.get("images", [])],
        }
        for row in rows
    ]


def build_sft_dataset(examples: list[dict[str, Any]]) -> Any:
    """A TRL prompt–completion conversational dataset (images loaded lazily from paths)."""
    from datasets import Dataset, Features, Image, List, Value

    message = List({"role": Value("string"), "content": Value("string")})
    columns: dict[str, list[Any]] = {
        "prompt": [[{"role": "user", "content": e["prompt"]}] for e in examples],
        "completion": [[{"role": "assistant", "content": e["completion"]}] for e in examples],
    }
    features: dict[str, Any] = {"prompt": message, "completion": message}
    if any(e["images"] for e in examples):
        columns["images"] = [e["images"] for e in examples]
        features["images"] = List(Image())
    return Dataset.from_dict(columns, features=Features(features))


def _set_pixels(processor: Any, lo: int | None, hi: int | None) -> None:
    ip = getattr(processor, "image_processor", None)
    if ip is None or (lo is None and hi is None):
        return
    size = dict(ip.size) if hasattr(ip.size, "items") else {}
    ip.size = {
        "shortest_edge": int(lo or size.get("shortest_edge") or 56 * 56),
        "longest_edge": int(hi or size.get("longest_edge") or 28 * 28 * 1280),
    }


def load_model(cfg: SFTRunConfig) -> tuple[Any, Any]:
    """The model and processor a run starts from (:func:`facscope.vlm.loading.load_vlm`; pixel
    bounds and chat template set)."""
    from facscope.errors import InputFileError
    from facscope.vlm.loading import load_vlm

    try:
        model, processor = load_vlm(
            cfg.model,
            allow_download=cfg.allow_download,
            dtype=cfg.dtype,
            attn_implementation=cfg.attn_implementation,
            tiny=cfg.tiny,
        )
    except InputFileError as exc:
        raise ConfigError(
            f"cannot load model {cfg.model!r} ({exc}); give a local directory, download it "
            "once, or set allow_download: true"
        ) from None
    _set_pixels(processor, cfg.min_pixels, cfg.max_pixels)
    align_chat_template(processor)
    return model, processor


def lora_target_modules(model: Any, cfg: SFTRunConfig) -> list[str]:
    """Full names of the linear layers that get LoRA adapters (see :class:`LoraSection`)."""
    assert cfg.lora is not None
    return linear_layer_names(model, cfg.lora.target_modules, vision=not cfg.freeze_vision)


def _write_yaml(path: Path, cfg: SFTRunConfig) -> None:
    import yaml

    from facscope.config import config_to_dict
    from facscope.io import write_text

    write_text(path, yaml.safe_dump(config_to_dict(cfg), sort_keys=False))


def _split_examples(
    examples: list[dict[str, Any]], cfg: SFTRunConfig
) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]], dict[str, int]]:
    """The subject split and its training and validation examples, with the part sizes."""
    from facscope.mellm.splits import subject_split

    split = subject_split(examples_as_records(examples), cfg.split)
    train_ex = [e for e in examples if e["group"] in set(split.train)]
    val_ex = [e for e in examples if e["group"] in set(split.val)]
    if not train_ex:
        raise ConfigError(f"the split {split.name!r} leaves no training examples")
    counts = {"train": len(train_ex), "val": len(val_ex), "test": sum(
        e["group"] in set(split.test) for e in examples)}  # fmt: skip
    return split, train_ex, val_ex, counts


def _sft_args(cfg: SFTRunConfig, out: Path, *, main_process: bool) -> Any:
    """The ``trl.SFTConfig`` of a run."""
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=cfg.epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.batch_size,
        per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=cfg.grad_accum,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler,
        warmup_steps=cfg.warmup_ratio,  # a float in [0, 1) is a ratio of the total steps
        weight_decay=cfg.weight_decay,
        logging_steps=cfg.logging_steps,
        save_strategy="steps" if cfg.save_steps else "no",
        save_steps=cfg.save_steps or 500,
        bf16=cfg.bf16,
        gradient_checkpointing=cfg.gradient_checkpointing,
        max_length=cfg.max_length,
        seed=cfg.seed,
        use_cpu=cfg.use_cpu,
        report_to=list(cfg.report_to) or "none",
        completion_only_loss=True,
        disable_tqdm=not main_process,
    )


def _save_run(trainer: Any, processor: Any, cfg: SFTRunConfig, result: SFTResult) -> None:
    """``adapter`` (and ``merged``) beside ``train_log.json``; the caller writes the summary."""
    from facscope.io import write_json

    out = result.output_dir
    trainer.save_model(str(out / "adapter"))
    processor.save_pretrained(out / "adapter")
    if cfg.save_merged and cfg.lora is not None:
        merged = trainer.model.merge_and_unload()
        merged.save_pretrained(out / "merged")
        processor.save_pretrained(out / "merged")
    write_json(out / "train_log.json", trainer.state.log_history)


def run_finetune(cfg: SFTRunConfig) -> SFTResult:
    """Fine-tune as ``cfg`` says (see the module docstring); returns the :class:`SFTResult`."""
    from accelerate import PartialState

    from facscope.io import write_json
    from facscope.vlm.sft import train_sft

    start = time.perf_counter()
    if cfg.cpu_threads is not None:
        import torch

        torch.set_num_threads(cfg.cpu_threads)
    state = PartialState()
    out = Path(cfg.output_dir)
    examples = sft_examples(cfg.data, cfg.task)
    split, train_ex, val_ex, counts = _split_examples(examples, cfg)
    if state.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        _write_yaml(out / "config.yaml", cfg)
        write_json(out / "split.json", {**split.to_dict(), "counts": counts})

    model, processor = load_model(cfg)
    if cfg.model.startswith("tiny:") and state.is_main_process:
        model.save_pretrained(out / "base")  # the random start, to reload the adapter onto
        processor.save_pretrained(out / "base")
    if cfg.freeze_vision:
        freeze_vision(model)
    targets = lora_target_modules(model, cfg) if cfg.lora is not None else None
    has_val = bool(val_ex)
    trainer = train_sft(
        model,
        processor,
        _sft_args(cfg, out, main_process=state.is_main_process),
        build_sft_dataset(train_ex),
        eval_dataset=build_sft_dataset(val_ex) if has_val else None,
        peft_config=lora_config(cfg.lora, target_modules=targets),
    )
    eval_loss = trainer.evaluate().get("eval_loss") if has_val else None
    net = trainer.model
    trainable = sum(p.numel() for p in net.parameters() if p.requires_grad)
    total = sum(p.numel() for p in net.parameters())
    losses = [float(h["loss"]) for h in trainer.state.log_history if "loss" in h]
    result = SFTResult(out, losses, eval_loss, trainable, total, split, counts)
    if trainer.is_world_process_zero():
        _save_run(trainer, processor, cfg, result)
        result.seconds = time.perf_counter() - start
        write_json(out / "summary.json", result.to_dict())
    return result


#: The name this runner had before the MELLM and RL recipes shared :func:`facscope.vlm.sft.train_sft`.
run_sft = run_finetune


def examples_as_records(examples: list[dict[str, Any]]) -> list[Any]:
    """Objects with ``group`` and ``label`` attributes, for :func:`subject_split`."""
    from types import SimpleNamespace

    return [SimpleNamespace(group=e["group"], label=e["label"]) for e in examples]


def load_trained(run_dir: str | os.PathLike[str], *, merge: bool = True) -> tuple[Any, Any]:
    """Reload a run's model: the base model with its LoRA adapter (merged by default), or the
    fully fine-tuned model. Returns ``(model, processor)``."""
    from facscope.vlm.loading import load_model, load_processor
    from facscope.vlm.lora import attach_adapter

    run = Path(run_dir)
    adapter = run / "adapter"
    if not adapter.is_dir():
        raise ConfigError(f"{run}: no 'adapter' folder; is this a 'facscope mellm train' run?")
    processor = load_processor(adapter)
    if not (adapter / "adapter_config.json").is_file():  # full fine-tuning
        return load_model(adapter).eval(), processor
    from facscope.mellm.config import load_sft_config

    cfg = load_sft_config(run / "config.yaml")
    base_path = run / "base" if cfg.model.startswith("tiny:") else cfg.model
    base = load_model(base_path, allow_download=cfg.allow_download)
    model = attach_adapter(base, adapter, merge=merge)
    return model.eval(), processor
