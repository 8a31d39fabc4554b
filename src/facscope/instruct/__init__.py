"""MELLM: FACS-grounded instruction data from micro-expression annotations, VLM fine-tuning,
generation and evaluation (including MEGC 2025 ME-VQA).

Importing this package loads nothing heavy; the names below come from their submodules on first
use (``from facscope.instruct import build_records``):

* :mod:`~facscope.instruct.describe` — the FACS-grounded description of one sample
  (``describe.describe``), from its AUs, label and measured region statistics;
* :mod:`~facscope.instruct.prompt` — the instruction prompt per input mode
  (:func:`build_prompt`);
* :mod:`~facscope.instruct.build` — records for a whole dataset, resumable
  (:func:`build_records`);
* :mod:`~facscope.instruct.formats` — TRL / LLaVA / ShareGPT / ME-VQA outputs
  (:func:`write_format`);
* :mod:`~facscope.instruct.train` — SFT with TRL and LoRA (:func:`run_sft`);
* :mod:`~facscope.instruct.predict` / :mod:`~facscope.instruct.evaluate` — generation with any
  agent backend (``predict.predict``) and the metrics;
* :mod:`~facscope.instruct.parse` — AUs and labels read back from free text.
"""

from __future__ import annotations

import importlib
from typing import Any

#: public name → submodule that defines it
_EXPORTS: dict[str, str] = {
    "BuildConfig": "build",
    "build_records": "build",
    "Description": "describe",
    "DescribeOptions": "describe",
    "build_prompt": "prompt",
    "InstructionRecord": "records",
    "read_records": "records",
    "write_format": "formats",
    "FORMATS": "formats",
    "vqa_items": "mevqa",
    "parse_prediction": "parse",
    "mentioned_aus": "parse",
    "SFTRunConfig": "config",
    "load_sft_config": "config",
    "run_sft": "train",
    "load_trained": "train",
    "evaluate_describe": "evaluate",
    "evaluate_mevqa": "evaluate",
    "sentence_bleu": "textmetrics",
    "corpus_bleu": "textmetrics",
    "rouge1": "textmetrics",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'facscope.instruct' has no attribute {name!r}")
    return getattr(importlib.import_module(f"facscope.instruct.{module}"), name)


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
