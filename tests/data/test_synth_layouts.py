"""End to end: the adapters read what ``facscope synth`` writes (casme2, samm, dfme layouts)."""

from __future__ import annotations

import json
import warnings
from collections import Counter

import pytest

from facscope.data import QUIET_KINDS, check_dataset, load_dataset
from facscope.errors import FacscopeDataWarning
from facscope.facs import dataset_label

synth = pytest.importorskip(
    "facscope.synth.dataset",
    reason="facscope.synth.dataset.write_dataset (the synth writer) is not available yet",
)

SUBJECTS, CLIPS = 3, 2


@pytest.fixture(scope="module", params=["casme2", "samm", "dfme"])
def written(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(f"synth_{request.param}")
    synth.write_dataset(
        root,
        layout=request.param,
        subjects=SUBJECTS,
        clips_per_subject=CLIPS,
        seed=3,
        frame_size=(96, 72),
        quirks=True,
        progress=False,
    )
    return request.param, root


def test_adapter_reads_synth_layout(written):
    layout, root = written
    truth = {t["sample_id"]: t for t in json.loads((root / "truth.json").read_text())["samples"]}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset(layout, root)
    assert len(ds) == SUBJECTS * CLIPS == len(truth)
    assert len(ds.subjects()) == SUBJECTS
    assert {s.sample_id for s in ds} == set(truth)
    # quirks are written on purpose: each is found, warned about and fixed or kept by rule
    assert {p.kind for p in ds.problems} <= {"apex-missing", "au-doubtful", "au-notation"}
    assert {p.action for p in ds.problems} <= {"fixed", "kept"}
    # side and intensity marks are normal FACS: counted, never a warning
    assert len([w for w in caught if issubclass(w.category, FacscopeDataWarning)]) == len(
        {p.kind for p in ds.problems} - QUIET_KINDS
    )
    for s in ds:
        t = truth[s.sample_id]
        assert s.label == dataset_label(layout, t["label"])
        assert (s.onset, s.offset) == (t["onset"], t["offset"])
        assert s.fps == t["fps"] and s.au_set == set(t["au_numbers"])
        if s.apex_rule == "annotated":
            assert s.apex == t["apex"]
        else:
            assert (s.apex_rule, s.apex) == ("midpoint", (s.onset + s.offset) // 2)
    assert not [p for p in check_dataset(ds) if p.is_file_problem]


def test_synth_layout_round_trips_through_a_manifest(written, tmp_path):
    from facscope.data import write_manifest

    layout, root = written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = load_dataset(layout, root)
        back = load_dataset("csv", write_manifest(ds, tmp_path / "m.csv"))
    assert list(back) == list(ds)
    assert Counter(back.labels()) == Counter(ds.labels())


def test_synthetic_data_without_quirks_loads_without_a_warning(tmp_path):
    """facscope's own synthetic data (SAMM writes R12A-style codes) loads silently."""
    synth.write_dataset(
        tmp_path, layout="samm", subjects=2, clips_per_subject=2, seed=1,
        frame_size=(64, 48), progress=False,
    )  # fmt: skip
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset("samm", tmp_path)
    assert not [w for w in caught if issubclass(w.category, FacscopeDataWarning)]
    assert any(a.intensity for s in ds for a in s.aus)  # the marks are there and parsed
    assert {p.kind for p in ds.problems} == {"au-notation"}
