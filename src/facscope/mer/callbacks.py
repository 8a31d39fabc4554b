"""Hooks into a training run, in the manner of ``transformers.TrainerCallback``.

:func:`facscope.mer.train.train` takes ``callbacks=[...]``; each one is told after every
optimiser step and after every epoch (once its checkpoint is written) where the run stands
(:class:`RunState`). A callback observes: it changes no result. The tests use one that ends the
process abruptly after a chosen step, the fault a resumed run must recover from::

    class ExitAfter(FoldCallback):
        def on_step_end(self, state):
            if state.global_step >= 13:
                os._exit(3)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["FoldCallback", "RunState"]


@dataclass
class RunState:
    """Where a run stands.

    Attributes:
        global_step: optimiser steps of this invocation, plus those a resumed fold had taken
            before its checkpoint (the count ``max_steps`` is compared with).
        fold: the index of the fold being trained (-1 before the first).
        epoch: the epoch being trained, or just finished (-1 before the first).
    """

    global_step: int = 0
    fold: int = -1
    epoch: int = -1


class FoldCallback:
    """Base class of training callbacks: override the hooks you need (each does nothing here)."""

    def on_step_end(self, state: RunState) -> None:
        """After every optimiser step (``state.global_step`` counts it already)."""

    def on_epoch_end(self, state: RunState, record: dict[str, Any]) -> None:
        """After every epoch, once its checkpoint (if one was due) is written; ``record`` is the
        epoch's line of ``history.json``."""


def step_end(callbacks: Sequence[FoldCallback], state: RunState) -> None:
    """Call every callback's :meth:`~FoldCallback.on_step_end`."""
    for cb in callbacks:
        cb.on_step_end(state)


def epoch_end(callbacks: Sequence[FoldCallback], state: RunState, record: dict[str, Any]) -> None:
    """Call every callback's :meth:`~FoldCallback.on_epoch_end`."""
    for cb in callbacks:
        cb.on_epoch_end(state, record)
