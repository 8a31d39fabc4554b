"""AU evaluation metrics: ICC(3,1) against Shrout & Fleiss, pooled F1 by hand, stated label set."""

from __future__ import annotations

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.eval.aus import au_report, icc_3_1, intensity_level, label_aus

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges
SHROUT_FLEISS = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]


def test_icc_3_1_matches_shrout_fleiss():
    assert icc_3_1(SHROUT_FLEISS) == pytest.approx(0.7148, abs=1e-4)


def test_icc_3_1_is_consistency_and_handles_degenerate_tables():
    x = np.array([0, 1, 2, 3, 5], dtype=float)
    assert icc_3_1(np.c_[x, x]) == pytest.approx(1.0)
    assert icc_3_1(np.c_[x, x + 2]) == pytest.approx(1.0)  # a constant offset is consistent
    assert icc_3_1(np.c_[x, -x]) < 0
    assert icc_3_1([[1, 1], [1, 1]]) is None and icc_3_1([[1, 2]]) is None
    with pytest.raises(ConfigError):
        icc_3_1([1, 2, 3])


def test_intensity_levels():
    assert [intensity_level(x) for x in (None, "A", "C", "E")] == [0, 1, 3, 5]
    with pytest.raises(ConfigError):
        intensity_level("F")


def _rec(i, code=None, aus=(), occ=None, basis="measured", it=None, ip=None):
    return {"id": str(i), "aus_true_code": code, "aus_true": [] if code or occ else None,
            "au_occ": occ, "aus": list(aus), "au_basis": basis, "intensity_true": it,
            "intensity": ip}  # fmt: skip


def test_pooled_f1_precision_recall_by_hand():
    records = [
        _rec(0, "1+2+ref(4)", aus=[1]),  # ref(4) is no label: 4 absent here
        _rec(1, "1+12", aus=[1, 2, 12]),
        _rec(2, "4", aus=[4, 12]),
        _rec(3, "12 or 14", aus=[14]),  # met by 14 (either member)
        _rec(4),  # no labels: left out
    ]
    r = au_report(records)
    assert r.label_set == "labels" and r.aus == (1, 2, 4, 12, 14) and r.n == 4
    row = {x.au: x for x in r.rows}
    # AU1: TP 2 → F1 1; AU2: TP 0 FP 1 FN 1 → 0; AU4: TP 1 → 1; AU12: TP 1, FP 1 → 2/3
    assert row[1].f1 == 1.0 and row[1].support == 2 and row[1].predicted == 2
    assert row[2].f1 == 0.0 and row[2].precision == 0.0 and row[2].recall == 0.0
    assert row[4].f1 == 1.0 and row[12].f1 == pytest.approx(2 / 3)
    assert row[12].precision == pytest.approx(0.5) and row[12].recall == 1.0
    assert row[14].f1 == 1.0 and row[14].support == 1
    assert r.mean_f1 == pytest.approx((1 + 0 + 1 + 2 / 3 + 1) / 5)
    assert r.basis == "measured" and r.by_basis == {}


def test_label_set_scorable_and_given():
    records = [_rec(0, "1+14", aus=[1]), _rec(1, "2", aus=[])]
    assert label_aus(records) == (1, 2, 14)
    r = au_report(records, scorable={1, 2, 4})
    assert r.aus == (1, 2) and r.not_scored == (14,)
    g = au_report(records, aus=[1, 4], scorable={1, 2, 4})
    assert g.label_set == "given" and g.aus == (1, 4) and g.not_scored == ()
    with pytest.raises(ConfigError, match="14"):
        au_report(records, aus=[14], scorable={1, 2, 4})
    with pytest.raises(ConfigError, match="AU labels"):
        au_report([_rec(0)])


def test_occurrence_tables_leave_out_uncoded_entries():
    records = [
        _rec(0, occ={"1": 1, "2": None}, aus=[1, 2]),  # AU2 not coded: neither TP nor FP
        _rec(1, occ={"1": 0, "2": 1}, aus=[1]),
    ]
    r = au_report(records)
    row = {x.au: x for x in r.rows}
    assert row[2].coded == 1 and row[2].support == 1 and row[2].f1 == 0.0
    assert row[1].coded == 2 and row[1].f1 == pytest.approx(2 / 3)


def test_intensity_icc_and_mae_where_both_sides_have_one():
    records = [
        _rec(0, "1C+2A", aus=[1], it={"1": 3, "2": 1}, ip={"1": 3, "2": 0}),
        _rec(1, "1E", aus=[1, 2], it={"1": 5}, ip={"1": 4, "2": 2}),  # AU2 absent → true 0
        _rec(2, "2", aus=[2], it=None, ip={"1": 0, "2": 2}),  # no letters: no intensity
        _rec(3, occ={"1": 0}, aus=[], it={"1": 0}, ip={"1": 1, "2": 0}),  # AU2 not in DISFA's table
    ]
    r = au_report(records)
    row = {x.au: x for x in r.rows}
    assert row[1].n_intensity == 3 and row[1].mae == pytest.approx((0 + 1 + 1) / 3)
    assert row[1].icc == pytest.approx(icc_3_1([[3, 3], [5, 4], [0, 1]]))
    assert row[2].n_intensity == 2 and row[2].mae == pytest.approx((1 + 2) / 2)


def test_inferred_answers_are_never_presented_as_measured():
    records = [_rec(0, "12", aus=[12]), _rec(1, "12", aus=[], basis="inferred")]
    r = au_report(records)
    assert r.basis == "mixed" and r.au_basis == {"inferred": 1, "measured": 1}
    assert r.by_basis == {"inferred": 0.0, "measured": 1.0}
    assert "mixed" in r.to_markdown() and r.to_dict()["au_basis"] == "mixed"


def test_report_files(tmp_path):
    r = au_report([_rec(0, "1+12", aus=[1]), _rec(1, "4", aus=[4])], dataset="toy", mode="clip")
    md = r.to_markdown()
    assert "label set (the AUs in the labels): 1, 4, 12" in md and "pooled over all samples" in md
    lines = r.to_csv().splitlines()
    assert lines[0].startswith("au,coded,present") and lines[-1].startswith("mean,")
    assert len(lines) == 2 + len(r.aus)
    img = r.f1_image()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[1] >= 640
    paths = r.save(tmp_path)
    assert all(p.is_file() for p in paths.values())
    assert {p.name for p in paths.values()} == {"au_table.md", "au_table.csv", "au_f1.png"}


def test_no_icc_from_too_few_intensity_pairs():
    from facscope.eval.aus import MIN_ICC_PAIRS, _intensity

    def rec(t, p):
        return {"intensity_true": {"12": t}, "au_occ": None, "intensity": {"12": p}}

    few = [rec(3, 1), rec(1, 3)]  # two targets: ICC(3,1) would be exactly -1
    icc, mae, n = _intensity(few, 12)
    assert icc is None and mae == 2.0 and n == 2
    many = [rec(t, t) for t in range(MIN_ICC_PAIRS)]
    assert _intensity(many, 12)[0] == 1.0
