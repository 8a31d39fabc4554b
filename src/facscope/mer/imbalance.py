"""Class-imbalance methods: losses (and one sampler) built from the training fold's class counts.

Every method is a ``torch.nn.Module`` whose ``forward(logits, targets)`` returns the mean loss of
a batch, built as ``create_imbalance(name, class_counts, epochs=E, **options)``. The training loop
calls :meth:`ImbalanceMethod.set_epoch` at the start of each epoch (deferred re-weighting needs
it) and :meth:`ImbalanceMethod.sample_weights` once to build its sampler (None: shuffle).

Conventions, so every number can be checked by hand:

* ``class_counts`` are the training fold's counts per class, in label order; counts are clamped
  to at least 1 in every formula (a class missing from a fold weighs like a singleton class).
* Weighted cross-entropy is PyTorch's weighted mean: ``Σ_i w[y_i]·ℓ_i / Σ_i w[y_i]``.

Methods (:data:`IMBALANCE`):

* ``ce`` — plain cross-entropy.
* ``weighted_ce`` — inverse-frequency weights ``w_c = N / (K · n_c)``.
* ``balanced_sampler`` — plain CE; each sample is drawn with probability ∝ ``1 / n_{y}`` (with
  replacement, one epoch = N draws), so classes are seen equally often.
* ``focal`` — focal loss ``(1 − p_t)^γ · (−log p_t)``, mean over the batch (Lin et al., 2017).
* ``cb_loss`` — class-balanced CE with the effective number of samples: ``w_c = (1 − β) /
  (1 − β^{n_c})``, normalised to sum to K (Cui et al., 2019).
* ``ldam_drw`` — LDAM: the target logit is lowered by ``m_c ∝ n_c^{−1/4}`` (largest margin
  ``max_m``) before ``s``-scaled CE; with deferred re-weighting the CE is unweighted until epoch
  ``floor(drw_start · epochs)``, then class-balanced with β = 0.9999 (Cao et al., 2019). The paper
  uses a cosine head with ``s = 30``; facscope's models have plain linear heads, so ``s``
  defaults to 1.
* ``logit_adjust`` — logit-adjusted CE: ``CE(z + τ·log π, y)`` with class priors ``π_c = n_c / N``
  (Menon et al., 2021).
* ``balanced_softmax`` — the same with τ = 1 (Ren et al., 2020).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from facscope.errors import ConfigError
from facscope.registry import Registry

__all__ = [
    "IMBALANCE",
    "ImbalanceMethod",
    "class_balanced_weights",
    "create_imbalance",
    "inverse_frequency_weights",
    "list_imbalance",
]

IMBALANCE: Registry[Any] = Registry("imbalance method")


def _counts(class_counts: Sequence[int]) -> np.ndarray:
    c = np.asarray(list(class_counts), dtype=np.float64)
    if c.ndim != 1 or c.size < 2 or (c < 0).any():
        raise ConfigError(
            f"class_counts must be >= 2 non-negative counts; got {list(class_counts)}"
        )
    return np.maximum(c, 1.0)


def inverse_frequency_weights(class_counts: Sequence[int]) -> np.ndarray:
    """``w_c = N / (K · n_c)`` (counts clamped to >= 1)."""
    c = _counts(class_counts)
    return c.sum() / (c.size * c)


def class_balanced_weights(class_counts: Sequence[int], beta: float) -> np.ndarray:
    """Effective-number weights ``(1 − β) / (1 − β^{n_c})`` normalised to sum to K."""
    if not 0.0 <= beta < 1.0:
        raise ConfigError(f"class-balanced beta must be in [0, 1); got {beta}")
    c = _counts(class_counts)
    w = (1.0 - beta) / (1.0 - np.power(beta, c))
    return w / w.sum() * c.size


class ImbalanceMethod(nn.Module):
    """Base: plain cross-entropy, no sampler. Subclasses override as little as possible."""

    name = "ce"

    def __init__(self, class_counts: Sequence[int], *, epochs: int = 1) -> None:
        super().__init__()
        self.counts = _counts(class_counts)
        self.num_classes = int(self.counts.size)
        self.epochs = max(1, int(epochs))
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Tell the loss which (0-based) epoch starts."""
        self.epoch = int(epoch)

    def sample_weights(self, labels: Sequence[int]) -> np.ndarray | None:
        """Per-sample draw weights for a weighted sampler, or None to shuffle uniformly."""
        return None

    def _check(self, logits: torch.Tensor, targets: torch.Tensor) -> None:
        if logits.ndim != 2 or logits.shape[1] != self.num_classes:
            raise ConfigError(
                f"{self.name}: logits must have shape (N, {self.num_classes}); "
                f"got {tuple(logits.shape)}"
            )

    def _tensor(self, values: np.ndarray, like: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(values, dtype=torch.float32, device=like.device).to(like.dtype)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        self._check(logits, targets)
        return F.cross_entropy(logits, targets)


@IMBALANCE.register("ce")
class PlainCE(ImbalanceMethod):
    """Plain cross-entropy."""


@IMBALANCE.register("weighted_ce")
class WeightedCE(ImbalanceMethod):
    """Inverse-frequency weighted cross-entropy: w_c = N / (K·n_c)."""

    name = "weighted_ce"

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        self._check(logits, targets)
        w = self._tensor(inverse_frequency_weights(self.counts), logits)
        return F.cross_entropy(logits, targets, weight=w)


@IMBALANCE.register("balanced_sampler")
class BalancedSampler(ImbalanceMethod):
    """Class-balanced sampling (draw probability ∝ 1/n_y) with plain cross-entropy."""

    name = "balanced_sampler"

    def sample_weights(self, labels: Sequence[int]) -> np.ndarray:
        y = np.asarray(list(labels), dtype=np.int64)
        if y.size and (y.min() < 0 or y.max() >= self.num_classes):
            raise ConfigError(f"labels must lie in [0, {self.num_classes - 1}]")
        return 1.0 / self.counts[y]


@IMBALANCE.register("focal")
class FocalLoss(ImbalanceMethod):
    """Focal loss (1 − p_t)^γ · CE, mean over the batch."""

    name = "focal"

    def __init__(self, class_counts: Sequence[int], *, epochs: int = 1, gamma: float = 2.0) -> None:
        super().__init__(class_counts, epochs=epochs)
        if gamma < 0:
            raise ConfigError(f"focal gamma must be >= 0; got {gamma}")
        self.gamma = float(gamma)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        self._check(logits, targets)
        logp = F.log_softmax(logits.float(), dim=1).gather(1, targets[:, None]).squeeze(1)
        return (-((1.0 - logp.exp()) ** self.gamma) * logp).mean()


@IMBALANCE.register("cb_loss")
class ClassBalancedLoss(ImbalanceMethod):
    """Class-balanced cross-entropy weighted by the effective number of samples (β)."""

    name = "cb_loss"

    def __init__(
        self, class_counts: Sequence[int], *, epochs: int = 1, beta: float = 0.999
    ) -> None:
        super().__init__(class_counts, epochs=epochs)
        self.weights = class_balanced_weights(self.counts, beta)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        self._check(logits, targets)
        return F.cross_entropy(logits, targets, weight=self._tensor(self.weights, logits))


@IMBALANCE.register("ldam_drw")
class LDAMDRW(ImbalanceMethod):
    """LDAM margins with deferred re-weighting (class-balanced weights from drw_start)."""

    name = "ldam_drw"

    def __init__(
        self,
        class_counts: Sequence[int],
        *,
        epochs: int = 1,
        max_m: float = 0.5,
        s: float = 1.0,
        drw_start: float = 0.8,
        drw_beta: float = 0.9999,
    ) -> None:
        super().__init__(class_counts, epochs=epochs)
        if max_m <= 0 or s <= 0 or not 0.0 <= drw_start <= 1.0:
            raise ConfigError(
                f"ldam_drw needs max_m > 0, s > 0, drw_start in [0, 1]; got {max_m}, {s}, "
                f"{drw_start}"
            )
        m = 1.0 / np.power(self.counts, 0.25)
        self.margins = m * (max_m / m.max())
        self.s = float(s)
        self.drw_epoch = int(np.floor(drw_start * self.epochs))
        self.drw_weights = class_balanced_weights(self.counts, drw_beta)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        self._check(logits, targets)
        m = self._tensor(self.margins, logits)[targets]
        onehot = F.one_hot(targets, self.num_classes).to(logits.dtype)
        adjusted = logits - onehot * m[:, None]
        w = self._tensor(self.drw_weights, logits) if self.epoch >= self.drw_epoch else None
        return F.cross_entropy(self.s * adjusted, targets, weight=w)


@IMBALANCE.register("logit_adjust")
class LogitAdjusted(ImbalanceMethod):
    """Logit-adjusted cross-entropy CE(z + τ·log π, y)."""

    name = "logit_adjust"

    def __init__(self, class_counts: Sequence[int], *, epochs: int = 1, tau: float = 1.0) -> None:
        super().__init__(class_counts, epochs=epochs)
        self.tau = float(tau)
        self.log_prior = np.log(self.counts / self.counts.sum())

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        self._check(logits, targets)
        shift = self.tau * self._tensor(self.log_prior, logits)
        return F.cross_entropy(logits + shift, targets)


@IMBALANCE.register("balanced_softmax")
class BalancedSoftmax(LogitAdjusted):
    """Balanced softmax: logit adjustment with τ = 1."""

    name = "balanced_softmax"

    def __init__(self, class_counts: Sequence[int], *, epochs: int = 1) -> None:
        super().__init__(class_counts, epochs=epochs, tau=1.0)


def list_imbalance() -> list[str]:
    """Names of the class-imbalance methods."""
    return IMBALANCE.names()


def create_imbalance(
    name: str, class_counts: Sequence[int], *, epochs: int = 1, **options: Any
) -> ImbalanceMethod:
    """Build imbalance method ``name`` for a training fold's ``class_counts``."""
    cls = IMBALANCE.get(name)
    try:
        return cls(class_counts, epochs=epochs, **options)
    except TypeError as exc:
        raise ConfigError(
            f"imbalance method {name!r} does not accept options {sorted(options)}: {exc}"
        ) from None
