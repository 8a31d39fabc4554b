"""``python tests/mer/_kill_run.py CONFIG STEPS``: train the config with a callback that ends
the process abruptly (``os._exit(3)``: no cleanup, no atexit, no flushed files) once the run
has taken ``STEPS`` optimiser steps: the fault a resumed run must recover from."""

from __future__ import annotations

import os
import sys

from facscope.mer.callbacks import FoldCallback, RunState
from facscope.mer.config import load_config
from facscope.mer.train import train

EXIT_CODE = 3


class ExitAfterSteps(FoldCallback):
    """Die without cleanup after ``steps`` optimiser steps of the run."""

    def __init__(self, steps: int) -> None:
        self.steps = steps

    def on_step_end(self, state: RunState) -> None:
        if state.global_step >= self.steps:
            os._exit(EXIT_CODE)


if __name__ == "__main__":
    config_file, steps = sys.argv[1], int(sys.argv[2])
    train(load_config(config_file), progress=False, callbacks=[ExitAfterSteps(steps)])
