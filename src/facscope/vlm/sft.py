"""The one TRL supervised fine-tuning runner, shared by the MELLM and the RL cold-start recipes.

Each recipe prepares its own data, model and arguments, then calls :func:`train_sft`, which builds
``trl.SFTTrainer`` and trains; saving stays with the recipe (it knows its output layout).
"""

from __future__ import annotations

from typing import Any

from facscope.config import check_scalar, field_hints
from facscope.errors import ConfigError

__all__ = ["train_sft", "trainer_args"]


def trainer_args(cls: type, values: dict[str, Any], where: str = "trainer") -> Any:
    """``cls(**values)`` (``trl.SFTConfig``, a GRPO config, …); an unknown field, a value of
    the wrong type (``max_steps: two``) or one the class rejects is a :class:`ConfigError`
    naming ``where`` it came from and the key."""
    hints = field_hints(cls)
    checked = {k: check_scalar(v, hints.get(k), f"{where}.{k}") for k, v in values.items()}
    try:
        return cls(**checked)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def train_sft(
    model: Any,
    processor: Any,
    args: Any,
    train_dataset: Any,
    *,
    eval_dataset: Any = None,
    data_collator: Any = None,
    peft_config: Any = None,
    resume_from_checkpoint: str | None = None,
) -> Any:
    """Train ``model`` with ``trl.SFTTrainer`` (``args``: a ``trl.SFTConfig``); returns the
    trained trainer (its ``model``, ``state.log_history``, ``save_model`` …).

    ``resume_from_checkpoint``: a ``checkpoint-*`` folder to continue from (None: start fresh).
    """
    from trl import SFTTrainer

    trainer = SFTTrainer(
        model=model,
        args=args,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset,
        processing_class=processor,
        data_collator=data_collator,
        peft_config=peft_config,
    )
    trainer.train(resume_from_checkpoint=resume_from_checkpoint)
    return trainer
