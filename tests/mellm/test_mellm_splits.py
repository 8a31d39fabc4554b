"""Subject-independent splits: no subject in two parts, written and read back."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from facscope.errors import ConfigError
from facscope.mellm.config import SplitSection
from facscope.mellm.splits import Split, check_disjoint, read_split, subject_split


def _records(n_subjects: int = 6, per: int = 3):
    labels = ["happiness", "disgust", "surprise"]
    return [
        SimpleNamespace(group=f"casme2/sub{s:02d}", label=labels[(s + i) % 3])
        for s in range(n_subjects)
        for i in range(per)
    ]


@pytest.mark.parametrize("section", [
    SplitSection(protocol="kfold", k=3, fold=0, val=1),
    SplitSection(protocol="kfold", k=3, fold=2),
    SplitSection(protocol="loso", fold=4, val=0.2),
])  # fmt: skip
def test_parts_are_disjoint_and_cover_every_subject(section):
    recs = _records()
    split = subject_split(recs, section)
    check_disjoint(split)
    assert set(split.train) | set(split.val) | set(split.test) == {r.group for r in recs}
    assert split.test and split.train
    if section.val:
        assert split.val


def test_loso_tests_one_subject_and_none_tests_nobody():
    split = subject_split(_records(), SplitSection(protocol="loso", fold=2))
    assert split.test == ("casme2/sub02",)
    everything = subject_split(_records(), SplitSection(protocol="none"))
    assert everything.test == () and len(everything.train) == 6
    with pytest.raises(ConfigError, match="out of range"):
        subject_split(_records(), SplitSection(protocol="loso", fold=6))


def test_round_trip_and_overlap_detection(tmp_path):
    from facscope.io import write_json

    split = subject_split(_records(), SplitSection(k=3, fold=1))
    write_json(tmp_path / "split.json", split.to_dict())
    assert read_split(tmp_path) == split
    with pytest.raises(ConfigError, match="both train and test"):
        check_disjoint(Split("x", "kfold", ("a", "b"), (), ("b",)))
