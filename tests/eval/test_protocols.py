"""Protocols never leak a subject across parts, and test every sample exactly once."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facscope.data import Dataset, Sample
from facscope.errors import ConfigError
from facscope.eval.protocols import (
    PROTOCOLS,
    composite_loso,
    cross_dataset,
    group_kfold,
    leave_one_dataset_out,
    loso,
    official_split,
    split_dataset,
)


@st.composite
def grouped(draw, min_groups: int = 3):
    n_groups = draw(st.integers(min_groups, 12))
    n = draw(st.integers(n_groups, 80))
    groups = np.array(
        [f"s{i}" for i in range(n_groups)]
        + [f"s{draw(st.integers(0, n_groups - 1))}" for _ in range(n - n_groups)]
    )
    labels = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)))
    order = np.array(draw(st.permutations(range(n))))
    return groups[order], labels[order]


def assert_disjoint(fold, groups):
    parts = [set(groups[fold.train]), set(groups[fold.val]), set(groups[fold.test])]
    assert not parts[0] & parts[1] and not parts[0] & parts[2] and not parts[1] & parts[2]
    idx = np.concatenate([fold.train, fold.val, fold.test])
    assert len(idx) == len(set(idx.tolist())) == len(groups)  # a partition of the samples
    assert len(fold.test) > 0 and len(fold.train) > 0


@settings(max_examples=80, deadline=None)
@given(grouped(), st.sampled_from([0.0, 0.25, 1]), st.integers(0, 10))
def test_loso_property(data, val, seed):
    groups, _ = data
    folds = list(loso(groups, val=val, seed=seed))
    assert len(folds) == len(set(groups))
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(groups)))  # every sample tested once
    for f in folds:
        assert_disjoint(f, groups)
        assert len(set(groups[f.test])) == 1
        assert (len(f.val) > 0) == (val > 0)


@settings(max_examples=80, deadline=None)
@given(grouped(), st.integers(2, 5), st.booleans(), st.sampled_from([0.0, 0.3]), st.integers(0, 10))
def test_group_kfold_property(data, k, stratify, val, seed):
    groups, labels = data
    k = min(k, len(set(groups)))
    plain = list(group_kfold(groups, labels, k=k, stratify=stratify, seed=seed))
    if val and min(len(set(groups[f.train])) for f in plain) < 2:
        with pytest.raises(ConfigError, match="validation subject"):
            list(group_kfold(groups, labels, k=k, stratify=stratify, val=val, seed=seed))
        return
    folds = list(group_kfold(groups, labels, k=k, stratify=stratify, val=val, seed=seed))
    assert [f.test.tolist() for f in folds] == [f.test.tolist() for f in plain]
    assert len(folds) == k
    tested = np.concatenate([f.test for f in folds])
    assert sorted(tested.tolist()) == list(range(len(groups)))
    for f in folds:
        assert_disjoint(f, groups)


def test_stratified_kfold_balances_classes():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 5)
    labels = np.concatenate(
        [
            rng.permutation([0, 0, 0, 1, 1]) if g < 20 else rng.permutation([0, 1, 1, 1, 1])
            for g in range(40)
        ]
    )
    share = [labels[f.test].mean() for f in group_kfold(groups, labels, k=5, seed=0)]
    plain = [
        labels[f.test].mean() for f in group_kfold(groups, labels, k=5, stratify=False, seed=0)
    ]
    assert max(share) - min(share) <= 0.06  # the whole: 0.6
    assert max(share) - min(share) <= max(plain) - min(plain)
    sizes = [len(f.test) for f in group_kfold(groups, k=5, seed=0)]
    assert max(sizes) - min(sizes) <= 5  # one subject


def test_validation_comes_from_training_subjects_and_is_seeded():
    groups = np.repeat([f"s{i}" for i in range(10)], 3)
    a = list(loso(groups, val=0.25, seed=1))
    b = list(loso(groups, val=0.25, seed=1))
    c = list(loso(groups, val=0.25, seed=2))
    assert all(np.array_equal(x.val, y.val) for x, y in zip(a, b))
    assert any(not np.array_equal(x.val, y.val) for x, y in zip(a, c))
    assert {len(set(groups[f.val])) for f in a} == {2}  # round(0.25 * 9)
    assert {len(set(groups[f.val])) for f in loso(groups, val=3)} == {3}  # a count
    train, val, test = a[0]  # unpacks
    assert len(train) + len(val) + len(test) == 30
    with pytest.raises(ConfigError, match="validation subject"):
        list(loso(["a", "b", "c"], val=2))
    with pytest.raises(ConfigError, match="at least 2 subjects"):
        list(loso(["a", "a"]))
    with pytest.raises(ConfigError, match="k must be an integer"):
        list(group_kfold(groups, k=11))


def test_composite_and_cross_dataset():
    sources = ["casme2"] * 4 + ["samm"] * 4 + ["smic"] * 2
    subjects = ["1", "1", "2", "2", "1", "1", "3", "3", "1", "1"]  # "1" exists in every dataset
    folds = list(composite_loso(sources, subjects))
    assert len(folds) == 5 and all(len(f.test) == 2 for f in folds)
    groups = np.array([f"{a}/{b}" for a, b in zip(sources, subjects)])
    (fold,) = cross_dataset(sources, groups, train=["casme2", "samm"], test="smic", val=1)
    assert fold.test.tolist() == [8, 9] and len(fold.val) == 2
    assert set(np.array(sources)[fold.val]) <= {"casme2", "samm"}
    assert_disjoint(fold, groups)
    lodo = list(leave_one_dataset_out(sources, groups))
    assert [f.name for f in lodo] == ["test=casme2", "test=samm", "test=smic"]
    with pytest.raises(ConfigError, match="both a train and a test"):
        list(cross_dataset(sources, groups, train="smic", test="smic"))
    with pytest.raises(ConfigError, match="no samples of train"):
        list(cross_dataset(sources, groups, train="dfme", test="smic"))


def test_official_split():
    splits = ["train"] * 6 + ["val"] * 2 + ["test"] * 2
    groups = [f"img{i}" for i in range(10)]
    (f,) = official_split(splits, groups, val_split="val")
    assert (f.train.tolist(), f.val.tolist(), f.test.tolist()) == (list(range(6)), [6, 7], [8, 9])
    (g,) = official_split(splits, groups, val=0.5, seed=0)
    assert len(g.val) == 3 and set(g.val) <= set(range(6))
    leaky = ["a", "b", "c", "d", "e", "f", "g", "h", "a", "j"]  # subject a in train and test
    with pytest.raises(ConfigError, match=r"\['a'\] are in both train and test"):
        list(official_split(splits, leaky))


@pytest.fixture
def composite() -> Dataset:
    """A MEGC-shaped composite (no files needed: protocols read subjects and sources)."""
    rng = np.random.default_rng(0)
    samples = []
    for source, n_subjects in (("casme2", 4), ("samm", 3), ("smic", 3)):
        for i in range(12):
            subject = f"{i % n_subjects + 1:02d}"  # "01" exists in every dataset
            samples.append(
                Sample(
                    dataset=source,
                    subject=subject,
                    sample_id=f"{subject}/{i}",
                    frames_dir=Path("/x"),
                    onset=1,
                    apex=2,
                    offset=3,
                    label=str(rng.choice(["happiness", "disgust", "surprise"])),
                )
            )
    return Dataset(
        "megc2019", None, samples, classes=("negative", "positive", "surprise"), target="megc3"
    )


def test_split_dataset_by_name(composite):
    ds = composite
    assert {"loso", "megc2019", "kfold", "official", "cross_dataset", "lodo"} <= set(PROTOCOLS)
    folds = list(split_dataset(ds, "megc2019", val=0.2, seed=0))
    assert len(folds) == len(set(ds.groups()))
    assert Counter(np.concatenate([f.test for f in folds]).tolist()) == Counter(range(len(ds)))
    sub = ds[folds[0].train]
    assert folds[0].name.split("=", 1)[1] not in set(sub.groups())
    kf = list(split_dataset(ds, "kfold", k=3))
    assert len(kf) == 3
    (cx,) = split_dataset(ds, "cross_dataset", train=["casme2", "samm"], test="smic")
    assert {ds[i].dataset for i in cx.test} == {"smic"}
    with pytest.raises(ConfigError, match="needs Sample.meta"):
        list(split_dataset(ds, "official"))
    with pytest.raises(ConfigError, match="bad options"):
        list(split_dataset(ds, "loso", k=3))
    with pytest.raises(ConfigError, match="protocol must be one of"):
        list(split_dataset(ds, "holdout"))
