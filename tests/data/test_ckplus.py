"""CK+ on a generated tree in the release layout (cohn-kanade-images/, Emotion/, FACS/)."""

from __future__ import annotations

import warnings
from collections import Counter

import pytest
from click.testing import CliRunner
from layout_fixtures import ck_number, make_ckplus

from facscope.cli.main import cli
from facscope.data import load_dataset
from facscope.errors import ConfigError, DatasetError
from facscope.facs import AU


@pytest.fixture(scope="module")
def ck(tmp_path_factory):
    root = tmp_path_factory.mktemp("ckplus")
    return root, make_ckplus(root)


def load(root, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_dataset("ckplus", root, **kw)


def test_number_format_is_matlab_ascii():
    assert ck_number(3.0) == "   3.0000000e+00" and ck_number(0) == "   0.0000000e+00"


def test_sequences_are_clips_from_first_to_peak(ck):
    root, expected = ck
    ds = load(root)
    assert len(ds) == expected["samples"] and len(ds.subjects()) == expected["subjects"]
    assert dict(Counter(p.kind for p in ds.problems)) == expected["problems"]
    by = {s.sample_id: s for s in ds}
    s = by["S005/001"]
    assert (s.subject, s.kind, s.onset, s.apex, s.offset) == ("S005", "frames", 1, 11, 11)
    assert s.label == "disgust" and s.emotion == "3"
    assert s.aus == (AU(9, intensity="D"), AU(17, intensity="C"), AU(25))  # 0 = not given
    assert by["S010/002"].label == "surprise" and by["S011/001"].label == "contempt"
    assert by["S010/006"].label is None and by["S010/006"].aus == (AU(4),)
    assert ds.classes[:3] == ("neutral", "anger", "contempt")
    assert [s.sample_id for s in load(root, labelled_only=True)] == [
        "S005/001",
        "S010/002",
        "S011/001",
    ]


def test_peak_last_and_neutral_options(ck):
    root, _ = ck
    peak = load(root, peak_only=True, labelled_only=True)
    assert [s.image.name for s in peak] == [
        "S005_001_00000011.png",
        "S010_002_00000014.png",
        "S011_001_00000009.png",
    ]
    three = load(root, last=3, labelled_only=True)
    assert len(three) == 9 and {s.label for s in three} == {"disgust", "surprise", "contempt"}
    assert [s.sample_id for s in three][:3] == ["S005/001/9", "S005/001/10", "S005/001/11"]
    with_neutral = load(root, last=1, neutral=True, labelled_only=True)
    neutral = [s for s in with_neutral if s.label == "neutral"]
    assert len(neutral) == 3 and all(s.aus == () and s.image.name.endswith("01.png")
                                     for s in neutral)  # fmt: skip
    assert {s.group for s in neutral} == {s.group for s in peak}  # same subjects
    with pytest.raises(ConfigError, match="last must be"):
        load(root, last=0)


def test_not_a_ck_root(tmp_path):
    with pytest.raises(DatasetError, match="no cohn-kanade-images folder"):
        load(tmp_path)


def test_cli_inspect_ckplus(ck):
    root, expected = ck
    res = CliRunner().invoke(cli, ["data", "inspect", "ckplus", "--root", str(root)])
    assert res.exit_code == 0, res.output
    assert f"ckplus: {expected['samples']} samples, {expected['subjects']} subjects" in res.output
    assert "unknown-label: 1" in res.output and "(no class: 1)" in res.output
