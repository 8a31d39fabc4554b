"""The Sample record: one path, valid indices, derived labels, flat dict round trip."""

from __future__ import annotations

from pathlib import Path

import pytest

from facscope.data import Sample
from facscope.errors import ConfigError
from facscope.facs import parse_aus


def clip(**kw) -> Sample:
    base = dict(
        dataset="casme2",
        subject="sub01",
        sample_id="sub01/EP02_01f",
        frames_dir=Path("/d/sub01/EP02_01f"),
        fps=200.0,
        onset=46,
        apex=59,
        offset=86,
        apex_rule="annotated",
        aus=parse_aus("1+2+L12"),
        emotion="happiness",
        label="happiness",
        meta={"objective_class": 1, "votes": {"a": 1}},
    )
    return Sample(**(base | kw))


def test_exactly_one_path():
    with pytest.raises(ConfigError, match="exactly one of frames_dir, video, image"):
        clip(video=Path("/v.avi"))
    with pytest.raises(ConfigError, match="exactly one"):
        clip(frames_dir=None)


def test_offset_before_onset_and_bad_values():
    with pytest.raises(ConfigError, match="offset 40 is before onset 46"):
        clip(offset=40)
    with pytest.raises(ConfigError, match="apex_rule must be one of"):
        clip(apex_rule="guess")
    with pytest.raises(ConfigError, match="fps must be > 0"):
        clip(fps=0.0)


def test_derived_fields():
    s = clip()
    assert s.kind == "frames" and s.is_clip and s.path == Path("/d/sub01/EP02_01f")
    assert s.group == "casme2/sub01"
    assert s.n_frames == 41 and s.duration == pytest.approx(40 / 200)
    assert s.au_set == {1, 2, 12} and s.au_string == "1+2+L12"
    assert s.megc3 == "positive"
    assert clip(label="repression").megc3 == "negative"
    assert clip(label="others").megc3 is None
    # a generic class name that is no emotion must not crash megc3 (or to_dict)
    assert clip(label="pain").megc3 is None and clip(label="pain").to_dict()["megc3"] is None
    img = Sample(dataset="rafdb", subject="x", sample_id="x", image=Path("/x.jpg"))
    assert img.kind == "image" and not img.is_clip and img.duration is None and img.n_frames is None


def test_to_dict_from_dict_round_trip():
    s = clip()
    d = s.to_dict()
    assert d["path"] == "/d/sub01/EP02_01f" and d["kind"] == "frames"
    assert d["meta.votes"] == '{"a": 1}'  # non-scalar meta as JSON text
    back = Sample.from_dict(d)
    assert back == s  # meta is not compared
    assert back.aus == s.aus and back.meta["objective_class"] == 1
    with pytest.raises(ConfigError, match="kind must be one of"):
        Sample.from_dict(d | {"kind": "tiles"})
