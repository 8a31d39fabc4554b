"""UC-GRPO's credit arithmetic, free of torch: zoom utility, emotion-aware EMA, calibrated credit,
and the group rules of the ablation baselines (one pure function each, used by the method
strategies of :mod:`facscope.rl.methods`).

Everything here works on plain Python numbers for one batch of ``n_groups × G`` rollouts, laid
out group by group (rollouts ``g·G … g·G+G−1`` answer query ``g``), the layout TRL's
``GRPOTrainer`` gathers rewards in. The trainer (:mod:`facscope.rl.trainer`) only moves numbers
between tensors and these functions, so every rule below is checked by hand in the unit tests.

Per query *q* with rewards ``r_i`` and zoom flags ``z_i``:

* utility ``u_q = mean(r_i | z_i) − mean(r_i | not z_i)``, defined only when the group has
  rollouts of both kinds (:func:`zoom_utility`);
* per ground-truth emotion *e*, an EMA ``m_e ← β·m_e + (1 − β)·u_q`` over the defined
  utilities (:class:`EmotionEMA`; ``m_e`` starts at 0);
* calibrated utility ``ũ_q = λ·u_q + (1 − λ)·m_e``, or ``m_e`` alone when ``u_q`` is undefined
  (:func:`calibrate`);
* credit ``α·ũ_q`` added to the advantage of each zoom-using rollout of *q*.

Order within a batch (a choice the reconstruction leaves open, fixed here so results are
reproducible): every query of a batch is calibrated against the EMA **as it stood before the
batch**; the EMA is then updated with the batch's defined utilities in query order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from facscope.errors import ConfigError

__all__ = [
    "CREDIT_SCOPES",
    "NO_EMOTION",
    "CreditConfig",
    "EmotionEMA",
    "GroupCredit",
    "acof_rescore",
    "batch_credit",
    "calibrate",
    "tool_benefit_score",
    "tool_success_bonus",
    "zoom_utility",
]

#: Where the credit goes: every token of a zoom-using rollout, or only its zoom tool-call tokens.
CREDIT_SCOPES = ("trajectory", "zoom_tokens")
#: EMA key of queries whose emotion label is missing.
NO_EMOTION = "unlabelled"


def _finite(x: float | None) -> bool:
    return x is not None and not math.isnan(x)


def zoom_utility(rewards: Sequence[float | None], zoomed: Sequence[bool]) -> float | None:
    """``mean(r | zoomed) − mean(r | not zoomed)`` over one group; None unless both kinds exist.

    Rollouts whose reward is None or NaN (unscorable) are left out of both means.
    """
    if len(rewards) != len(zoomed):
        raise ConfigError(
            f"rewards and zoom flags differ in length: {len(rewards)} vs {len(zoomed)}"
        )
    with_zoom = [float(r) for r, z in zip(rewards, zoomed) if z and _finite(r)]
    without = [float(r) for r, z in zip(rewards, zoomed) if not z and _finite(r)]
    if not with_zoom or not without:
        return None
    return sum(with_zoom) / len(with_zoom) - sum(without) / len(without)


def calibrate(utility: float | None, ema: float, lam: float) -> float:
    """``λ·u + (1 − λ)·m``, or ``m`` alone when ``u`` is undefined (None)."""
    if utility is None:
        return float(ema)
    return lam * float(utility) + (1.0 - lam) * float(ema)


@dataclass
class EmotionEMA:
    """Per-emotion exponential moving average of the zoom utility.

    Attributes:
        beta: decay β in ``m ← β·m + (1 − β)·u``; 0 keeps only the latest utility.
        debias: divide by ``1 − β^n`` (Adam-style) so early values are not shrunk toward 0.
        values: the raw averages ``m_e`` (0 before the first update).
        counts: how many utilities each emotion has absorbed.
    """

    beta: float = 0.9
    debias: bool = False
    values: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.beta < 1.0:
            raise ConfigError(f"EMA beta must be in [0, 1); got {self.beta}")

    def get(self, emotion: str) -> float:
        """The (optionally debiased) average for ``emotion``; 0 for an emotion never updated."""
        m = self.values.get(emotion, 0.0)
        n = self.counts.get(emotion, 0)
        if self.debias and n > 0:
            return m / (1.0 - self.beta**n)
        return m

    def update(self, emotion: str, utility: float) -> float:
        """Absorb one utility; return the new raw average."""
        if not _finite(utility):
            raise ConfigError(f"EMA update needs a finite utility; got {utility!r} for {emotion!r}")
        m = self.beta * self.values.get(emotion, 0.0) + (1.0 - self.beta) * float(utility)
        self.values[emotion] = m
        self.counts[emotion] = self.counts.get(emotion, 0) + 1
        return m

    def state_dict(self) -> dict[str, Any]:
        """A JSON-able copy of the state (floats kept exactly: JSON round-trips doubles)."""
        return {
            "beta": self.beta,
            "debias": self.debias,
            "values": dict(self.values),
            "counts": dict(self.counts),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state_dict` output; the decay of the saved state must match."""
        if float(state["beta"]) != self.beta or bool(state["debias"]) != self.debias:
            raise ConfigError(
                f"saved EMA has beta={state['beta']}, debias={state['debias']} but this run uses "
                f"beta={self.beta}, debias={self.debias}; resume with the same settings"
            )
        self.values = {str(k): float(v) for k, v in state["values"].items()}
        self.counts = {str(k): int(v) for k, v in state["counts"].items()}


@dataclass(frozen=True, kw_only=True)
class CreditConfig:
    """The switches of UC-GRPO's credit (each part can be turned off for ablations).

    Attributes:
        utility: apply the zoom-utility credit at all (off: plain GRPO advantages).
        alpha: credit scale α.
        ema: calibrate with the per-emotion EMA (off: ``ũ = u``, no credit when ``u`` is undefined).
        beta: EMA decay β.
        lam: weight λ of the query's own utility in ``ũ``.
        debias: Adam-style bias correction of the EMA.
        scope: ``"trajectory"`` (every completion token) or ``"zoom_tokens"`` (only the tokens of
            zoom tool calls).
    """

    utility: bool = True
    alpha: float = 0.5
    ema: bool = True
    beta: float = 0.9
    lam: float = 0.5
    debias: bool = False
    scope: str = "trajectory"

    def __post_init__(self) -> None:
        if not math.isfinite(self.alpha) or self.alpha < 0:
            raise ConfigError(f"credit alpha must be a finite number >= 0; got {self.alpha}")
        if not 0.0 <= self.beta < 1.0:
            raise ConfigError(f"EMA beta must be in [0, 1); got {self.beta}")
        if not 0.0 <= self.lam <= 1.0:
            raise ConfigError(f"lambda must be in [0, 1]; got {self.lam}")
        if self.scope not in CREDIT_SCOPES:
            raise ConfigError(f"credit scope must be one of {CREDIT_SCOPES}; got {self.scope!r}")


@dataclass(frozen=True)
class GroupCredit:
    """What the credit rule decided for one query (one group of G rollouts).

    Attributes:
        emotion: the EMA key (ground-truth emotion, or :data:`NO_EMOTION`).
        utility: ``u_q`` (None when undefined).
        ema_before: ``m_e`` used for calibration (the EMA before this batch).
        calibrated: ``ũ_q`` (None when no credit applies).
        credit: ``α·ũ_q`` added to each zoom-using rollout (0 when none).
        zoom_rate: fraction of the group's rollouts that zoomed.
        per_rollout: the credit of each rollout (``credit`` if it zoomed, else 0).
    """

    emotion: str
    utility: float | None
    ema_before: float
    calibrated: float | None
    credit: float
    zoom_rate: float
    per_rollout: tuple[float, ...]


def batch_credit(
    rewards: Sequence[float | None],
    zoomed: Sequence[bool],
    emotions: Sequence[str | None],
    *,
    group_size: int,
    config: CreditConfig,
    ema: EmotionEMA,
) -> list[GroupCredit]:
    """Credit of every group of a batch; updates ``ema`` in place (see the module docstring).

    Args:
        rewards: total reward of each rollout, group by group (None/NaN: unscorable).
        zoomed: whether each rollout used the zoom tool.
        emotions: ground-truth emotion of each rollout's query (canonical name or None).
        group_size: G, rollouts per query.
        config: the switches.
        ema: the running per-emotion EMA (read before, updated after the batch).
    """
    n = len(rewards)
    if group_size < 1 or n % group_size:
        raise ConfigError(f"{n} rollouts do not split into groups of {group_size}")
    if len(zoomed) != n or len(emotions) != n:
        raise ConfigError(
            f"rewards, zoom flags and emotions must have one entry per rollout; got {n}, "
            f"{len(zoomed)}, {len(emotions)}"
        )
    snapshot = {k: ema.get(k) for k in {e or NO_EMOTION for e in emotions}}
    out: list[GroupCredit] = []
    for start in range(0, n, group_size):
        rs = rewards[start : start + group_size]
        zs = [bool(z) for z in zoomed[start : start + group_size]]
        emotion = emotions[start] or NO_EMOTION
        u = zoom_utility(rs, zs)
        m = snapshot[emotion]
        if not config.utility:
            cal = None
        elif config.ema:
            cal = calibrate(u, m, config.lam)
        else:
            cal = u
        credit = config.alpha * cal if cal is not None else 0.0
        # Unscorable rollouts (NaN reward) keep a zero advantage: no credit either.
        per = tuple(credit if z and _finite(r) else 0.0 for r, z in zip(rs, zs))
        out.append(GroupCredit(emotion, u, m, cal, credit, sum(zs) / len(zs), per))
    if config.ema:
        for group in out:
            if group.utility is not None:
                ema.update(group.emotion, group.utility)
    return out


# --------------------------------------------------------------------------- baselines' rules


def acof_rescore(correct: Sequence[bool], zoomed: Sequence[bool]) -> list[float]:
    """Adaptive Chain-of-Focus group re-scoring of answer correctness.

    * some rollout that did **not** zoom is right: no-zoom right 1.0, zoom right 0.8,
      zoom wrong 0.5, no-zoom wrong 0;
    * otherwise, if any rollout is right (so only zooming ones): zoom right 1.0, zoom wrong 0.5,
      no-zoom wrong 0;
    * all wrong: zoom 0.5, no-zoom 0.
    """
    if len(correct) != len(zoomed):
        raise ConfigError(
            f"correct and zoom flags differ in length: {len(correct)} vs {len(zoomed)}"
        )
    pairs = [(bool(c), bool(z)) for c, z in zip(correct, zoomed)]
    if any(c and not z for c, z in pairs):
        table = {(True, False): 1.0, (True, True): 0.8, (False, True): 0.5, (False, False): 0.0}
    elif any(c for c, _ in pairs):
        table = {(True, True): 1.0, (False, True): 0.5, (False, False): 0.0}
    else:
        table = {(False, True): 0.5, (False, False): 0.0}
    return [table[p] for p in pairs]


def tool_success_bonus(correct: Sequence[bool | None], zoomed: Sequence[bool]) -> list[float]:
    """DeepEyes-style bonus indicator: 1 where a rollout zoomed **and** answered right, else 0.

    The bonus size is the reward weight of this term. An unknown correctness (None) earns none.
    """
    return [1.0 if (c is True and z) else 0.0 for c, z in zip(correct, zoomed, strict=True)]


def tool_benefit_score(with_tools: Sequence[float], without_tools: Sequence[float]) -> float:
    """AdaTooler-V-style offline benefit of tools for one sample.

    The mean score (e.g. accuracy) of runs that could use tools minus the mean of runs that
    could not, measured once before training with a fixed policy. Positive: tools help on this
    sample. The training reward of a zoom-using rollout is then shifted by (weight ×) this score.
    """
    if not with_tools or not without_tools:
        raise ConfigError(
            "tool benefit needs at least one run with tools and one without; got "
            f"{len(with_tools)} and {len(without_tools)}"
        )
    return sum(with_tools) / len(with_tools) - sum(without_tools) / len(without_tools)
