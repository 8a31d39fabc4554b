"""Class-imbalance methods against values computed by hand on tiny tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from facscope.errors import ConfigError
from facscope.mer.imbalance import (
    class_balanced_weights,
    create_imbalance,
    inverse_frequency_weights,
    list_imbalance,
)

COUNTS = [6, 3, 1]
LOGITS = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.5], [1.0, 1.0, 1.0]])
TARGETS = torch.tensor([0, 1, 2, 0])


def nll(z: list[float], y: int) -> float:
    """-log softmax(z)[y], written out."""
    return -z[y] + math.log(sum(math.exp(v) for v in z))


ROWS = [(z, int(y)) for z, y in zip(LOGITS.tolist(), TARGETS.tolist())]


def test_registry_holds_every_method():
    assert list_imbalance() == [
        "balanced_sampler",
        "balanced_softmax",
        "cb_loss",
        "ce",
        "focal",
        "ldam_drw",
        "logit_adjust",
        "weighted_ce",
    ]


def test_plain_ce_is_the_mean_negative_log_likelihood():
    want = sum(nll(z, y) for z, y in ROWS) / 4
    got = create_imbalance("ce", COUNTS)(LOGITS, TARGETS)
    assert float(got) == pytest.approx(want, rel=1e-6)


def test_inverse_frequency_weights_and_weighted_mean():
    w = inverse_frequency_weights(COUNTS)  # N / (K n_c) = 10 / (3 · [6, 3, 1])
    assert w == pytest.approx([10 / 18, 10 / 9, 10 / 3])
    want = sum(w[y] * nll(z, y) for z, y in ROWS) / sum(w[y] for _, y in ROWS)
    got = create_imbalance("weighted_ce", COUNTS)(LOGITS, TARGETS)
    assert float(got) == pytest.approx(want, rel=1e-6)


def test_class_balanced_weights_by_effective_number():
    # (1 - β) / (1 - β^n) for β = 0.9: n=6 → 0.21342, n=3 → 0.36900, n=1 → 1; sum → K = 3
    assert class_balanced_weights(COUNTS, 0.9) == pytest.approx(
        [0.404614, 0.699569, 1.895817], abs=1e-5
    )
    assert class_balanced_weights(COUNTS, 0.0) == pytest.approx([1.0, 1.0, 1.0])  # β=0: no reweight
    w = class_balanced_weights(COUNTS, 0.9)
    want = sum(w[y] * nll(z, y) for z, y in ROWS) / sum(w[y] for _, y in ROWS)
    got = create_imbalance("cb_loss", COUNTS, beta=0.9)(LOGITS, TARGETS)
    assert float(got) == pytest.approx(want, rel=1e-6)


def test_focal_loss_by_hand_and_gamma_zero_is_ce():
    want = 0.0
    for z, y in ROWS:
        p = math.exp(-nll(z, y))
        want += (1 - p) ** 2 * -math.log(p)
    got = create_imbalance("focal", COUNTS, gamma=2.0)(LOGITS, TARGETS)
    assert float(got) == pytest.approx(want / 4, rel=1e-6)
    ce = create_imbalance("ce", COUNTS)(LOGITS, TARGETS)
    assert float(create_imbalance("focal", COUNTS, gamma=0.0)(LOGITS, TARGETS)) == pytest.approx(
        float(ce), rel=1e-6
    )


def test_ldam_margins_and_deferred_reweighting():
    loss = create_imbalance("ldam_drw", COUNTS, epochs=10, max_m=0.5, s=2.0, drw_start=0.5)
    # m_c ∝ n_c^(-1/4), largest = 0.5: [6^-.25, 3^-.25, 1] · 0.5
    assert loss.margins == pytest.approx([0.5 * 6**-0.25, 0.5 * 3**-0.25, 0.5])
    assert loss.drw_epoch == 5

    def by_hand(weights: np.ndarray | None) -> float:
        num = den = 0.0
        for z, y in ROWS:
            zz = list(z)
            zz[y] -= loss.margins[y]
            w = 1.0 if weights is None else weights[y]
            num += w * nll([2.0 * v for v in zz], y)
            den += w
        return num / den

    loss.set_epoch(4)
    assert float(loss(LOGITS, TARGETS)) == pytest.approx(by_hand(None), rel=1e-6)
    loss.set_epoch(5)
    drw = class_balanced_weights(COUNTS, 0.9999)
    assert float(loss(LOGITS, TARGETS)) == pytest.approx(by_hand(drw), rel=1e-6)
    assert by_hand(drw) != pytest.approx(by_hand(None))


def test_logit_adjustment_and_balanced_softmax():
    prior = [c / 10 for c in COUNTS]
    want = sum(nll([v + 0.5 * math.log(p) for v, p in zip(z, prior)], y) for z, y in ROWS) / 4
    got = create_imbalance("logit_adjust", COUNTS, tau=0.5)(LOGITS, TARGETS)
    assert float(got) == pytest.approx(want, rel=1e-6)
    bs = create_imbalance("balanced_softmax", COUNTS)(LOGITS, TARGETS)
    la1 = create_imbalance("logit_adjust", COUNTS, tau=1.0)(LOGITS, TARGETS)
    assert float(bs) == pytest.approx(float(la1), rel=1e-7)


def test_balanced_sampler_weights_and_plain_loss():
    m = create_imbalance("balanced_sampler", COUNTS)
    assert m.sample_weights([0, 0, 1, 2]).tolist() == pytest.approx([1 / 6, 1 / 6, 1 / 3, 1.0])
    assert create_imbalance("ce", COUNTS).sample_weights([0, 1]) is None
    assert float(m(LOGITS, TARGETS)) == pytest.approx(sum(nll(z, y) for z, y in ROWS) / 4)
    with pytest.raises(ConfigError, match="labels must lie"):
        m.sample_weights([3])


def test_missing_class_counts_as_one_and_gradients_flow():
    w = inverse_frequency_weights([4, 0, 4])
    assert np.isfinite(w).all() and w[1] == pytest.approx(9 / 3)
    for name in list_imbalance():
        z = LOGITS.clone().requires_grad_(True)
        loss = create_imbalance(name, [4, 0, 4], epochs=2)
        loss.set_epoch(1)
        out = loss(z, TARGETS)
        out.backward()
        assert torch.isfinite(out) and z.grad is not None and z.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("name", "counts", "kw", "match"),
    [
        ("nope", COUNTS, {}, "imbalance method must be one of"),
        ("ce", [5], {}, ">= 2 non-negative"),
        ("ce", [5, -1], {}, ">= 2 non-negative"),
        ("cb_loss", COUNTS, {"beta": 1.0}, "beta"),
        ("focal", COUNTS, {"gamma": -1}, "gamma"),
        ("ldam_drw", COUNTS, {"max_m": 0}, "max_m"),
        ("focal", COUNTS, {"alpha": 1}, "does not accept"),
    ],
)
def test_bad_options(name, counts, kw, match):
    with pytest.raises(ConfigError, match=match):
        create_imbalance(name, counts, **kw)


def test_logits_of_the_wrong_width_are_refused():
    with pytest.raises(ConfigError, match=r"shape \(N, 3\)"):
        create_imbalance("ce", COUNTS)(torch.zeros(2, 4), torch.tensor([0, 1]))
