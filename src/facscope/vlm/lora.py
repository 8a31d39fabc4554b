"""LoRA adapters (peft) on a VLM: the adapter config, which layers get one, reloading a run.

The language model's linear layers are named by their last component (``q_proj``, ``up_proj``,
…); the vision tower's (under a ``visual`` module) get adapters only when it trains too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import Any

from facscope.errors import ConfigError

__all__ = ["attach_adapter", "freeze_vision", "linear_layer_names", "lora_config"]


def lora_config(spec: Any, *, target_modules: Sequence[str] | None = None) -> Any:
    """A :class:`peft.LoraConfig` from ``spec`` (anything with ``r``, ``alpha``, ``dropout`` and
    ``target_modules``; None gives None). ``target_modules`` overrides the spec's names (e.g.
    full layer names from :func:`linear_layer_names`)."""
    if spec is None:
        return None
    from peft import LoraConfig

    return LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=list(spec.target_modules if target_modules is None else target_modules),
        task_type="CAUSAL_LM",
    )


def _is_vision(name: str) -> bool:
    return "visual" in name.split(".")


def linear_layer_names(model: Any, wanted: Iterable[str], *, vision: bool) -> list[str]:
    """Full names of the linear layers that get adapters: the language model's whose last name
    is in ``wanted``, and every vision-tower one when ``vision`` (never ``lm_head``)."""
    import torch

    wanted = set(wanted)
    names = []
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.Linear) or name.endswith("lm_head"):
            continue
        if _is_vision(name):
            if vision:
                names.append(name)
        elif name.rsplit(".", 1)[-1] in wanted:
            names.append(name)
    if not names:
        raise ConfigError(
            f"no linear layer of the model is named one of {sorted(wanted)}; set "
            "lora.target_modules to layer names of this model"
        )
    return names


def freeze_vision(model: Any) -> None:
    """Keep the vision tower (and its merger) fixed: no gradients for its parameters."""
    for name, p in model.named_parameters():
        if _is_vision(name):
            p.requires_grad_(False)


def attach_adapter(base: Any, adapter: str | os.PathLike[str], *, merge: bool = True) -> Any:
    """``base`` with the LoRA adapter saved in ``adapter`` (merged into the weights by default)."""
    from peft import PeftModel

    model = PeftModel.from_pretrained(base, adapter)
    return model.merge_and_unload() if merge else model
