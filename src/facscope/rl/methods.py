"""The RL methods: UC-GRPO and its ablation baselines, one small strategy each, built by name.

:class:`~facscope.rl.trainer.UCGRPOTrainer` is the one TRL trainer; it asks the strategy of
``UCGRPOConfig.method`` (:data:`RL_METHODS`) the few questions on which the methods differ:

* :attr:`RLMethod.tools` — do rollouts run in the face environment (every method but passive);
* :attr:`RLMethod.zoom_credit` — is UC-GRPO's utility credit applied (and its EMA updated);
* :meth:`RLMethod.extra_rewards` — reward terms added to the four AU-grounded ones;
* :meth:`RLMethod.rescore` — a group rule that re-scores the correctness term of one group.

The base class answers "nothing changes": plain GRPO. Each registered subclass names its paper
and changes one answer. To add a baseline, subclass :class:`RLMethod`, override the one thing it
changes (a pure group rule goes into :mod:`facscope.rl.credit`), register it here under a
``snake_case`` name; recipes then select it with ``trainer.method``. This module is torch-free.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from facscope.registry import Registry
from facscope.rl.credit import acof_rescore
from facscope.rl.rewards import tool_benefit_reward, tool_bonus_reward

__all__ = [
    "METHODS",
    "RL_METHODS",
    "UCGRPO",
    "AdaToolerV",
    "AdaptiveChainOfFocus",
    "Passive",
    "PlainGRPO",
    "RLMethod",
    "ToolBonus",
]

#: A TRL reward function and its weight.
WeightedReward = tuple[Callable[..., list[Any]], float]


class RLMethod:
    """What one RL method changes in :class:`~facscope.rl.trainer.UCGRPOTrainer`.

    The defaults are plain GRPO with facscope's rewards and tools; subclasses override one of
    them; :data:`RL_METHODS` maps the ``method`` names of ``UCGRPOConfig`` to them.
    """

    #: Rollouts run with the face tools (an ``environment_factory``).
    tools: ClassVar[bool] = True
    #: UC-GRPO's zoom-utility credit is added to the advantages and the EMA is updated.
    zoom_credit: ClassVar[bool] = False
    #: :meth:`rescore` changes the correctness term (``UCGRPOConfig.correctness_reward``).
    rescores: ClassVar[bool] = False

    def extra_rewards(self, config: Any) -> list[WeightedReward]:
        """Reward terms added to the four AU-grounded ones, weighted from ``config``."""
        return []

    def rescore(self, correctness: Sequence[float], zoomed: Sequence[bool]) -> list[float] | None:
        """New values of the correctness term of one group; None leaves the group as it is."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


RL_METHODS: Registry[RLMethod] = Registry("RL method")


@RL_METHODS.register("ucgrpo")
class UCGRPO(RLMethod):
    """UC-GRPO: the zoom-utility credit on top of GRPO (the full method).

    Source: ActFER's utility-calibrated GRPO, in our reconstruction (``shared/specs/agent-rl.md``;
    the paper's full text is not available). Change: the advantage of every zoom-using rollout is
    shifted by ``α·ũ_q`` (:func:`facscope.rl.credit.batch_credit`), each part switchable by
    ``utility_credit``, ``ema_calibration`` and ``credit_scope``.
    """

    zoom_credit = True


@RL_METHODS.register("grpo")
class PlainGRPO(RLMethod):
    """Plain GRPO with the same rewards and tools.

    Source: GRPO, Shao et al. 2024, "DeepSeekMath" (arXiv:2402.03300), as TRL implements it.
    Change: none — the zoom utility is still measured and logged, never credited.
    """


@RL_METHODS.register("tool_bonus")
class ToolBonus(RLMethod):
    """Tool-success bonus: reward zooming that ends in a right answer.

    Source: DeepEyes, Zheng et al. 2025, "Incentivizing 'Thinking with Images' via Reinforcement
    Learning" (arXiv:2505.14362). Change: the extra reward term
    :func:`~facscope.rl.rewards.tool_bonus_reward` (1 if the rollout zoomed and the emotion is
    right), weighted by ``tool_bonus_weight``.
    """

    def extra_rewards(self, config: Any) -> list[WeightedReward]:
        return [(tool_bonus_reward, config.tool_bonus_weight)]


@RL_METHODS.register("acof")
class AdaptiveChainOfFocus(RLMethod):
    """Group re-scoring of answer correctness by whether zooming was needed.

    Source: Adaptive Chain-of-Focus, Zhang et al. 2025, "Adaptive Chain-of-Focus Reasoning via
    Dynamic Visual Search and Zooming for Efficient VLMs" (arXiv:2505.15436; its adaptive
    group-aware reward). Change: the correctness term of each group is re-scored by
    :func:`facscope.rl.credit.acof_rescore`; a group with an unlabelled rollout is left as is.
    """

    rescores = True

    def rescore(self, correctness: Sequence[float], zoomed: Sequence[bool]) -> list[float] | None:
        if any(math.isnan(v) for v in correctness):  # no label: leave the group as it is
            return None
        return acof_rescore([v == 1.0 for v in correctness], zoomed)


@RL_METHODS.register("adatooler")
class AdaToolerV(RLMethod):
    """Offline tool-benefit score: reward zooming where tools helped a fixed policy.

    Source: AdaTooler-V, Wang et al. 2025, "Adaptive Tool-Use for Images and Videos"
    (arXiv:2512.16918; its Tool Benefit Score). Change: the extra reward term
    :func:`~facscope.rl.rewards.tool_benefit_reward` (the row's ``tool_benefit`` for rollouts
    that zoomed), weighted by ``tool_benefit_weight``.
    """

    def extra_rewards(self, config: Any) -> list[WeightedReward]:
        return [(tool_benefit_reward, config.tool_benefit_weight)]


@RL_METHODS.register("passive")
class Passive(RLMethod):
    """No tools: GRPO on one pass over the aligned face.

    Source: the passive MLLM baseline that ActFER compares against (``shared/specs/agent-rl.md``).
    Change: rollouts run without an environment (rows built with ``passive=True``).
    """

    tools = False


#: The registered method names (UC-GRPO and the ablation baselines).
METHODS: tuple[str, ...] = tuple(RL_METHODS.names())
