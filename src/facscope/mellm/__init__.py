"""MELLM: FACS-grounded instruction data from micro-expression annotations, VLM fine-tuning,
generation and evaluation (including MEGC 2025 ME-VQA).

Importing this package loads nothing heavy; the names below come from their submodules on first
use (``from facscope.mellm import build_records``):

* :mod:`~facscope.mellm.describe` — the FACS-grounded description of one sample
  (``describe.describe``), from its AUs, label and measured region statistics;
* :mod:`~facscope.mellm.prompt` — the instruction prompt per input mode
  (:func:`instruction_prompt`, formerly ``build_prompt``);
* :mod:`~facscope.mellm.build` — records for a whole dataset, resumable
  (:func:`build_records`);
* :mod:`~facscope.mellm.formats` — TRL / LLaVA / ShareGPT / ME-VQA outputs
  (:func:`write_format`);
* :mod:`~facscope.mellm.train` — SFT with TRL and LoRA (:func:`run_finetune`);
* :mod:`~facscope.mellm.predict` / :mod:`~facscope.mellm.evaluate` — generation with any
  agent backend (``predict.predict``) and the metrics;
* :mod:`~facscope.mellm.parse` — AUs and labels read back from free text.
"""

from __future__ import annotations

from facscope.lazy import lazy_exports

#: public name → submodule that defines it
_EXPORTS: dict[str, str] = {
    "BuildConfig": "build",
    "build_records": "build",
    "Description": "describe",
    "DescribeOptions": "describe",
    "build_prompt": "prompt",
    "instruction_prompt": "prompt",
    "InstructionRecord": "records",
    "read_records": "records",
    "write_format": "formats",
    "FORMATS": "formats",
    "vqa_items": "mevqa",
    "parse_prediction": "parse",
    "mentioned_aus": "parse",
    "SFTRunConfig": "config",
    "load_sft_config": "config",
    "run_finetune": "train",
    "run_sft": "train",
    "load_trained": "train",
    "evaluate_describe": "evaluate",
    "evaluate_mevqa": "evaluate",
    "sentence_bleu": "textmetrics",
    "corpus_bleu": "textmetrics",
    "rouge1": "textmetrics",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
