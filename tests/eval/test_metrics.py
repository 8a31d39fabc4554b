"""Metrics are exact: equal to scikit-learn's references, invariant, and K is the label set."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facscope.errors import ConfigError, FacscopeDataWarning
from facscope.eval.metrics import (
    BP4D_AUS,
    DISFA_AUS,
    ME_AUS,
    accuracy_score,
    au_f1_scores,
    bootstrap_ci,
    classification_scores,
    confusion_matrix,
    per_class_scores,
    scores_by_source,
    uar_score,
    uf1_score,
)

sk = pytest.importorskip("sklearn.metrics", reason="scikit-learn is the test-only reference")

LABELS = ["negative", "positive", "surprise", "others"]


@st.composite
def predictions(draw, *, all_present: bool = False):
    k = draw(st.integers(2, 6))
    n = draw(st.integers(1, 60))
    labels = list(range(k))
    y_true = draw(st.lists(st.sampled_from(labels), min_size=n, max_size=n))
    if all_present:
        y_true = labels + y_true
    y_pred = draw(st.lists(st.sampled_from(labels), min_size=len(y_true), max_size=len(y_true)))
    return np.array(y_true), np.array(y_pred), labels


@settings(max_examples=150, deadline=None)
@given(predictions())
def test_uf1_equals_sklearn_macro_f1_with_labels(data):
    t, p, labels = data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = uf1_score(t, p, labels=labels)
        ref = sk.f1_score(t, p, labels=labels, average="macro", zero_division=0)
    assert ours == pytest.approx(ref, abs=1e-12)
    assert accuracy_score(t, p, labels=labels) == pytest.approx(sk.accuracy_score(t, p))


@settings(max_examples=150, deadline=None)
@given(predictions(all_present=True))
def test_uar_equals_balanced_accuracy(data):
    t, p, labels = data
    assert uar_score(t, p, labels=labels) == pytest.approx(
        sk.balanced_accuracy_score(t, p), abs=1e-12
    )
    cm = confusion_matrix(t, p, labels=labels)
    assert np.array_equal(cm, sk.confusion_matrix(t, p, labels=labels))


@settings(max_examples=100, deadline=None)
@given(predictions(), st.randoms(use_true_random=False))
def test_permutation_invariance(data, rnd):
    t, p, labels = data
    order = list(range(len(t)))
    rnd.shuffle(order)
    relabel = list(labels)
    rnd.shuffle(relabel)  # the order of the label set does not matter either
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = classification_scores(t, p, labels=labels)
        b = classification_scores(t[order], p[order], labels=relabel)
    assert (a.acc, a.uf1) == pytest.approx((b.acc, b.uf1))
    assert a.uar == pytest.approx(b.uar)


@settings(max_examples=50, deadline=None)
@given(predictions())
def test_perfect_prediction_is_one(data):
    t, _, _ = data
    present = sorted(set(t.tolist()))
    s = classification_scores(t, t, labels=present)
    assert (s.acc, s.uf1, s.uar) == (1.0, 1.0, 1.0)


def test_class_missing_from_predictions_still_counts():
    t = ["negative", "negative", "positive", "surprise"]
    p = ["negative", "negative", "positive", "positive"]  # surprise never predicted
    s = classification_scores(t, p, labels=LABELS[:3])
    assert s.uf1 == pytest.approx((1 + 2 / 3 + 0) / 3)
    assert s.uar == pytest.approx((1 + 1 + 0) / 3)
    # a class absent from truth and predictions still counts in K, with a warning
    with pytest.warns(FacscopeDataWarning, match=r"\['others'\] have no true sample"):
        s4 = classification_scores(t, p, labels=LABELS)
    assert s4.uf1 == pytest.approx((1 + 2 / 3 + 0 + 0) / 4)
    assert s4.acc == s.acc
    assert len(s4.per_class) == 4 and s4.per_class[3].support == 0


def test_worked_example_and_per_class():
    t = [0, 0, 0, 1, 1, 2]
    p = [0, 0, 1, 1, 2, 2]
    cm = confusion_matrix(t, p, labels=[0, 1, 2])
    assert cm.tolist() == [[2, 1, 0], [0, 1, 1], [0, 0, 1]]
    pcs = per_class_scores(t, p, labels=[0, 1, 2])
    assert [c.f1 for c in pcs] == pytest.approx([0.8, 0.5, 2 / 3])
    assert [c.precision for c in pcs] == pytest.approx([1.0, 0.5, 0.5])
    assert [(c.support, c.predicted) for c in pcs] == [(3, 2), (2, 2), (1, 2)]
    s = classification_scores(t, p, labels=[0, 1, 2])
    assert s["uf1"] == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert s["uar"] == pytest.approx((2 / 3 + 1 / 2 + 1) / 3) and s["acc"] == pytest.approx(4 / 6)


def test_per_fold_mean_is_a_named_option():
    t = [0, 1, 0, 1, 1, 1]
    p = [0, 1, 1, 1, 1, 0]
    folds = [0, 0, 1, 1, 2, 2]
    pooled = classification_scores(t, p, labels=[0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mean = classification_scores(t, p, labels=[0, 1], pooling="per-fold-mean", folds=folds)
    assert (pooled.pooling, mean.pooling, mean.n_folds) == ("pooled", "per-fold-mean", 3)
    per = [
        sk.accuracy_score([0, 1], [0, 1]),
        sk.accuracy_score([0, 1], [1, 1]),
        sk.accuracy_score([1, 1], [1, 0]),
    ]
    assert mean.acc == pytest.approx(np.mean(per)) and pooled.acc == pytest.approx(4 / 6)
    assert mean.uf1 != pytest.approx(pooled.uf1)  # a different number, hence the label
    assert np.array_equal(mean.confusion, pooled.confusion)
    with pytest.raises(ConfigError, match="needs folds="):
        classification_scores(t, p, labels=[0, 1], pooling="per-fold-mean")
    with pytest.raises(ConfigError, match="pooling must be one of"):
        classification_scores(t, p, labels=[0, 1], pooling="mean")


def test_bad_inputs():
    with pytest.raises(ConfigError, match=r"not in labels"):
        uf1_score([0, 3], [0, 1], labels=[0, 1])
    with pytest.raises(ConfigError, match="differ in length"):
        confusion_matrix([0, 1], [0], labels=[0, 1])
    with pytest.raises(ConfigError, match="distinct"):
        confusion_matrix([0], [0], labels=[0, 0])
    with pytest.raises(KeyError):
        classification_scores([0], [0], labels=[0])["f1"]


def test_au_lists():
    assert ME_AUS == (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)
    assert DISFA_AUS == (1, 2, 4, 6, 9, 12, 25, 26)
    assert BP4D_AUS == (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(st.integers(0, 1), min_size=4, max_size=4), min_size=n, max_size=n),
            st.lists(st.lists(st.integers(0, 1), min_size=4, max_size=4), min_size=n, max_size=n),
        )
    )
)
def test_au_f1_equals_sklearn_binary_f1(data):
    t, p = (np.array(x) for x in data)
    aus = (1, 2, 4, 12)
    res = au_f1_scores(t, p, aus=aus)
    ref = [sk.f1_score(t[:, j], p[:, j], zero_division=0) for j in range(4)]
    assert [res.f1[a] for a in aus] == pytest.approx(ref)
    assert res.mean == pytest.approx(np.mean(ref))


def test_au_f1_sets_and_unknowns():
    res = au_f1_scores([{1, 2}, "12", "1+L12"], [{1}, {12}, set()], aus=(1, 2, 12))
    assert res.f1 == pytest.approx({1: 2 / 3, 2: 0.0, 12: 2 / 3})
    assert res.support == {1: 2, 2: 1, 12: 2}
    # -1 (BP4D's 9) leaves the entry out: only the known rows count
    t = np.array([[1, -1], [0, 1], [1, 0]])
    p = np.array([[1, 1], [1, 1], [1, 0]])
    res = au_f1_scores(t, p, aus=(1, 2))
    assert res.f1 == pytest.approx({1: 0.8, 2: 1.0})
    with pytest.raises(ConfigError, match=r"must be \(N, 2\)"):
        au_f1_scores(np.zeros((3, 3)), np.zeros((3, 3)), aus=(1, 2))


def test_bootstrap_resamples_subjects():
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(20), 10)
    t = rng.integers(0, 3, 200)
    p = np.where(rng.random(200) < 0.7, t, rng.integers(0, 3, 200))
    ci = bootstrap_ci(t, p, groups, labels=[0, 1, 2], n_resamples=500, seed=0)
    point = classification_scores(t, p, labels=[0, 1, 2])
    for m in ("acc", "uf1", "uar"):
        assert ci[m].point == pytest.approx(point[m])
        assert ci[m].low < ci[m].point < ci[m].high
    again = bootstrap_ci(t, p, groups, labels=[0, 1, 2], n_resamples=500, seed=0)
    assert again == ci  # seeded
    # one subject per sample vs. 20 subjects: resampling whole subjects widens the interval
    # when subjects differ; here every subject is perfect or useless
    t2 = np.zeros(200, int)
    p2 = np.where(groups < 10, 0, 1)
    wide = bootstrap_ci(t2, p2, groups, labels=[0, 1], metrics=("acc",), n_resamples=400)
    narrow = bootstrap_ci(t2, p2, np.arange(200), labels=[0, 1], metrics=("acc",), n_resamples=400)
    assert wide["acc"].high - wide["acc"].low > 2 * (narrow["acc"].high - narrow["acc"].low)
    with pytest.raises(ConfigError, match="metrics must be among"):
        bootstrap_ci(t, p, groups, labels=[0, 1, 2], metrics=("f1",))


def test_au_f1_alternatives_count_as_either_and_only_action_units_count():
    from facscope.facs import parse_aus

    aus = (6, 12, 14, 31)
    truth = ["12 or 14", "12 or 14", "6+ref(12)+AD31", "(R6 or R12)+R15"]
    pred = [{14}, set(), {6}, {6, 12}]
    s = au_f1_scores(truth, pred, aus=aus)
    # row 0: 14 predicted → the group is 14 (TP 14); row 1: none → 12 (FN 12);
    # row 2: ref(12) and AD31 are not scored; row 3: 6 chosen (TP 6), 12 is then a FP
    assert s.f1[14] == 1.0 and s.support[14] == 1
    assert s.f1[12] == 0.0 and s.support[12] == 1
    assert s.f1[6] == 1.0 and s.support[6] == 2
    assert s.f1[31] == 0.0 and s.support[31] == 0
    same = au_f1_scores([parse_aus(t) for t in truth], pred, aus=aus)
    assert same == s  # Sample.aus records read the same way as strings


def test_au_f1_plain_sets_unchanged_by_the_rule():
    truth, pred = [{1, 12}, {4}, {12, 53}], [{1}, {4, 12}, {12}]
    s = au_f1_scores(truth, pred, aus=(1, 4, 12, 53))
    assert s.f1 == {1: 1.0, 4: 1.0, 12: 0.5, 53: 0.0}  # numbers taken as given


def test_scores_by_source_match_sklearn_over_each_sources_classes():
    rng = np.random.default_rng(3)
    t = rng.choice(LABELS, 300)
    p = np.where(rng.random(300) < 0.6, t, rng.choice(LABELS, 300))
    src = rng.choice(["smic", "casme2", "samm"], 300)
    t[(src == "samm") & (t == "others")] = "negative"  # a source without one class
    got = scores_by_source(t, p, src, labels=LABELS)
    full = classification_scores(t, p, labels=LABELS)
    assert (got["Full"].uf1, got["Full"].uar, got["Full"].acc) == pytest.approx(
        (full.uf1, full.uar, full.acc)
    )
    for name in ("smic", "casme2", "samm"):
        k = src == name
        present = [c for c in LABELS if c in set(t[k])]
        assert got[name].classes == tuple(present) and got[name].n == int(k.sum())
        assert got[name].uf1 == pytest.approx(
            sk.f1_score(t[k], p[k], labels=present, average="macro", zero_division=0)
        )
        assert got[name].uar == pytest.approx(
            sk.recall_score(t[k], p[k], labels=present, average="macro", zero_division=0)
        )
    assert "others" not in got["samm"].classes


def test_scores_by_source_needs_one_source_per_prediction():
    with pytest.raises(ConfigError, match="2 sources for 3"):
        scores_by_source(["a", "b", "a"], ["a", "a", "a"], ["x", "y"], labels=["a", "b"])
