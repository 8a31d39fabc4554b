"""Vision-language models, shared by the agent, RL and MELLM: loading, tiny offline models, LoRA,
the TRL SFT runner, chat templates, the tool-call protocol and the generation backends.

* :mod:`~facscope.vlm.loading` — :func:`load_vlm`, the one way to load a model and processor
  (local files only unless ``allow_download=True``; ``tiny:<family>`` builds one offline);
* :mod:`~facscope.vlm.tiny` — tiny random Qwen VLMs and their offline tokenizer;
* :mod:`~facscope.vlm.lora`, :mod:`~facscope.vlm.sft` — LoRA adapters and ``trl.SFTTrainer``;
* :mod:`~facscope.vlm.templates`, :mod:`~facscope.vlm.toolcalls` — tool-capable chat templates
  and ``<tool_call>`` reading/writing;
* :mod:`~facscope.vlm.answers` — the final ``<answer>`` block, read leniently
  (:func:`parse_answer`) and written (:func:`format_answer`);
* :mod:`~facscope.vlm.backends` — :class:`Backend`, the ``BACKENDS`` registry, ``openai`` and
  ``transformers``.

Importing this package loads nothing heavy; the names below load from their submodules on first
use.
"""

from __future__ import annotations

from facscope.lazy import lazy_exports

#: public name → submodule that defines it
_EXPORTS: dict[str, str] = {
    "BACKENDS": "backends.base",
    "Backend": "backends.base",
    "Generation": "backends.base",
    "GenerationRequest": "backends.base",
    "create_backend": "backends.base",
    "list_backends": "backends.base",
    "message_images": "backends.base",
    "load_vlm": "loading",
    "TinyVLMConfig": "tiny",
    "build_tiny_vlm": "tiny",
    "save_tiny_vlm": "tiny",
    "lora_config": "lora",
    "train_sft": "sft",
    "align_chat_template": "templates",
    "supports_tools": "templates",
    "tool_template": "templates",
    "ParsedAnswer": "answers",
    "format_answer": "answers",
    "parse_answer": "answers",
    "parse_tool_calls": "toolcalls",
    "render_tool_section": "toolcalls",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
