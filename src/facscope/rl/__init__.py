"""UC-GRPO: training the ActFER agent with reinforcement learning on TRL.

* :mod:`~facscope.rl.rewards` — AU-grounded multi-level verifiable rewards (format, AU F1,
  region agreement, emotion), pure functions and TRL reward functions;
* :mod:`~facscope.rl.credit` — the torch-free core of UC-GRPO: zoom utility, per-emotion EMA,
  calibrated credit, and the baselines' group rules;
* :mod:`~facscope.rl.methods` — UC-GRPO and each baseline as a small strategy, built by name
  from :data:`RL_METHODS` (the ``method`` of a recipe);
* :mod:`~facscope.rl.trainer` — :class:`UCGRPOConfig` / :class:`UCGRPOTrainer`, a small
  ``trl.GRPOTrainer`` subclass (trl 1.16.0), and :func:`create_trainer`;
* :mod:`~facscope.rl.env` — the agent's face tools as TRL's ``environment_factory``;
* :mod:`~facscope.rl.data`, :mod:`~facscope.rl.coldstart` — GRPO rows and cold-start SFT
  trajectories; :mod:`~facscope.rl.synthetic` — the synthetic active-perception task;
* :mod:`~facscope.rl.recipe`, :mod:`~facscope.rl.run` — YAML recipes behind ``facscope rl``.

Importing this package loads nothing heavy; the names below are loaded from their submodules on
first use (``from facscope.rl import UCGRPOTrainer`` imports torch and TRL).
"""

from __future__ import annotations

from facscope.lazy import lazy_exports

#: public name → submodule that defines it
_EXPORTS: dict[str, str] = {
    "CreditConfig": "credit",
    "EmotionEMA": "credit",
    "METHODS": "methods",
    "batch_credit": "credit",
    "zoom_utility": "credit",
    "RL_METHODS": "methods",
    "RLMethod": "methods",
    "RewardWeights": "rewards",
    "reward_functions": "rewards",
    "UCGRPOConfig": "trainer",
    "UCGRPOTrainer": "trainer",
    "create_trainer": "trainer",
    "FaceEnv": "env",
    "env_factory": "env",
    "rl_rows": "data",
    "rl_dataset": "data",
    "trajectory": "coldstart",
    "trajectories": "coldstart",
    "SyntheticConfig": "synthetic",
    "synthetic_rows": "synthetic",
    "load_recipe": "recipe",
    "run_rl": "run",
    "run_cold_start": "run",
    "run_sft": "run",
}

__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
