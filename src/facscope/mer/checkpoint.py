"""A fold's checkpoint (``fold_XX/checkpoint.pt``): the model, optimiser and grad-scaler state
after an epoch, with the fold's history, its best validation model so far and its step count,
which is all a killed run needs to continue as if it had not stopped."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from facscope.errors import InputFileError
from facscope.io import atomic_path

__all__ = ["CHECKPOINT", "history_json", "load_checkpoint", "save_checkpoint", "save_torch"]

CHECKPOINT = "checkpoint.pt"


def save_torch(path: Path, obj: Any) -> None:
    """``torch.save`` atomically."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def history_json(history: list[dict[str, Any]]) -> str:
    """``history.json``'s text: one record per epoch."""
    return json.dumps(history, indent=1)


def save_checkpoint(
    path: Path, accelerator: Any, model: Any, optimizer: Any, progress: dict[str, Any]
) -> None:
    """Write the model, optimiser and scaler state with ``progress`` (``epoch``, ``history``,
    ``best``, ``fold_steps``)."""
    scaler = accelerator.scaler
    save_torch(
        path,
        {
            "model": accelerator.unwrap_model(model).state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": None if scaler is None else scaler.state_dict(),
            **progress,
        },
    )


def load_checkpoint(path: Path, accelerator: Any, model: Any, optimizer: Any) -> dict[str, Any]:
    """Load the model, optimiser and scaler state of ``path`` into them; return the whole
    checkpoint (its ``epoch``, ``history``, ``best`` and ``fold_steps`` too)."""
    import torch

    try:
        ck = torch.load(path, map_location="cpu", weights_only=True)
        accelerator.unwrap_model(model).load_state_dict(ck["model"])
        optimizer.load_state_dict(ck["optimizer"])
        if ck.get("scaler") is not None and accelerator.scaler is not None:
            accelerator.scaler.load_state_dict(ck["scaler"])
    except Exception as exc:  # truncated, not a torch file, another model's, a planted pickle
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise InputFileError(
            f"{path}: cannot resume from this checkpoint ({type(exc).__name__}: {reason}); "
            "delete it to train this fold from the start, or run with --no-resume"
        ) from None
    return ck
