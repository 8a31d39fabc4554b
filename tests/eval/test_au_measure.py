"""The measuring step's rules that need no face: mode choice and the label keys of a record."""

from __future__ import annotations

from pathlib import Path

import pytest

from facscope.data.sample import Sample
from facscope.errors import ConfigError
from facscope.eval.au_measure import choose_mode, label_record, true_intensities
from facscope.facs import parse_aus


def _clip(**kw):
    return Sample(dataset="t", subject="s", sample_id="c", frames_dir=Path("x"), **kw)


def _image(**kw):
    return Sample(dataset="t", subject="s", sample_id="i", image=Path("x.png"), **kw)


def test_auto_mode_is_clip_only_with_two_distinct_frames():
    assert choose_mode(_clip(onset=1, apex=9)) == "clip"
    assert choose_mode(_clip(onset=5, apex=5, offset=5)) == "still"  # DISFA's one-frame samples
    assert choose_mode(_clip(onset=1)) == "still" and choose_mode(_image()) == "still"
    assert choose_mode(_clip(onset=1, apex=9), "still") == "still"
    with pytest.raises(ConfigError, match="clip mode"):
        choose_mode(_image(), "clip")
    with pytest.raises(ConfigError):
        choose_mode(_image(), "video")


def test_true_intensities_from_letters_and_disfa():
    s = _clip(aus=parse_aus("R12C+14+ref(4B)+AU1E"))
    assert true_intensities(s) == {"12": 3, "14": None, "1": 5}
    assert true_intensities(_clip(aus=parse_aus("12+14"))) is None  # no letters: not coded
    alt = true_intensities(_clip(aus=parse_aus("1B+12 or 14")))
    assert alt == {"1": 2, "12": None, "14": None}
    d = _image(meta={"au_intensity": {1: 0, 2: 3, 4: None}, "au_occ": {1: 0, 2: 1, 4: None}})
    assert true_intensities(d) == {"1": 0, "2": 3, "4": None}


def test_label_record_keeps_the_string_scored_and_the_occurrence_table():
    r = label_record(_clip(aus=parse_aus("1+2+ref(4)")))
    assert r["aus_true"] == [1, 2] and r["aus_true_code"] == "1+2+ref(4)" and r["au_occ"] is None
    r = label_record(_image(meta={"au_occ": {1: 1, 7: None}}))
    assert r["aus_true"] == [] and r["au_occ"] == {"1": 1, "7": None}
    assert label_record(_image())["aus_true"] is None  # no AU labels
