"""ME adapters (CASME II, SAMM, CAS(ME)³, SMIC, DFME, MEGC 2019) on exact-layout fixtures."""

from __future__ import annotations

import json
import shutil
import warnings
from collections import Counter
from pathlib import Path

import pytest
from layout_fixtures import make_casme2, make_dfme, make_dfme_legacy, write_csv

from facscope.data import QUIET_KINDS, DFMEMapping, load_dataset
from facscope.errors import (
    AnnotationError,
    ConfigError,
    DatasetError,
    FacscopeDataWarning,
    FacscopeError,
)
from facscope.io import frame_number, list_frames

ME = ["casme2", "samm", "casme3", "smic", "dfme"]


def load(name, root, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = load_dataset(name, root, **kw)
    return ds, [w for w in caught if issubclass(w.category, FacscopeDataWarning)]


@pytest.mark.parametrize("name", ME)
def test_counts_problems_and_one_warning_per_kind(layouts, name):
    root, expected = layouts[name]
    ds, caught = load("smic.hs" if name == "smic" else name, root)
    assert len(ds) == expected["samples"]
    assert len(ds.subjects()) == expected["subjects"]
    counts = {c: n for c, n in ds.summary()["classes"].items() if n}
    assert counts == expected["classes"]
    assert dict(Counter(p.kind for p in ds.problems)) == expected["problems"]
    # one summary warning per kind; normal FACS notation is counted, never warned about
    assert len(caught) == len(set(expected["problems"]) - QUIET_KINDS)
    assert all(str(w.filename) == __file__ for w in caught)  # attributed to the caller
    assert all(s.onset <= s.apex <= s.offset for s in ds)
    assert len({s.sample_id for s in ds}) == len(ds)
    for s in ds:  # key frames exist on disk after every rule
        numbers = {frame_number(p) for p in list_frames(s.frames_dir)}
        assert {s.onset, s.apex, s.offset} <= numbers


@pytest.mark.parametrize("name", ME)
def test_strict_turns_the_first_problem_into_an_error(layouts, name):
    root, _ = layouts[name]
    with pytest.raises(FacscopeError, match="strict=True") as info:
        load_dataset("smic.hs" if name == "smic" else name, root, strict=True)
    assert isinstance(info.value, (AnnotationError, DatasetError))


def test_casme2_rules(layouts):
    root, _ = layouts["casme2"]
    ds, _ = load("casme2", root)
    by = {s.sample_id: s for s in ds}
    slash = by["sub01/EP03_02"]  # apex "/" → midpoint
    assert (slash.onset, slash.apex, slash.offset, slash.apex_rule) == (10, 15, 20, "midpoint")
    outside = by["sub02/EP01_11f"]  # apex 30 outside [5, 12] → midpoint
    assert (outside.apex, outside.apex_rule) == (8, "midpoint")
    ok = by["sub01/EP02_01f"]
    assert (ok.apex, ok.apex_rule, ok.fps) == (50, "annotated", 200.0)
    assert [str(a) for a in ok.aus] == ["1", "2", "L12"]
    assert [a.alternatives for a in by["sub02/EP05_03"].aus] == [(14,)]
    assert by["sub03/EP09_01"].au_set == {12}  # 12.0 from Excel
    assert (by["sub03/EP10_01"].onset, by["sub03/EP10_01"].offset) == (3, 8)  # clamped
    assert ok.frames_dir == root / "CASME2_RAW_selected" / "sub01" / "EP02_01f"
    assert ok.emotion == "happiness" and ok.label == "happiness"


def test_casme2_cropped_and_subject_folders_in_root(layouts, tmp_path):
    root, _ = layouts["casme2"]
    ds, _ = load("casme2", root, cropped=True)
    assert len(ds) == 6 and all(s.frames_dir.parts[-3] == "Cropped" for s in ds)
    # the sub?? folders directly in ROOT also work
    make_casme2(tmp_path)
    for sub in (tmp_path / "CASME2_RAW_selected").iterdir():
        shutil.move(str(sub), tmp_path / sub.name)
    ds2, _ = load("casme2", tmp_path)
    assert len(ds2) == 6 and ds2[0].frames_dir == tmp_path / "sub01" / "EP02_01f"


def test_apex_options(layouts):
    root, _ = layouts["casme2"]
    mid, _ = load("casme2", root, apex="midpoint")
    assert all(s.apex == (s.onset + s.offset) // 2 and s.apex_rule == "midpoint" for s in mid)
    seen = []

    def fake_max_motion(frames, onset, offset):
        seen.append((len(frames), onset, offset))
        return offset - 1

    mm, _ = load("casme2", root, apex="max-motion", apex_fn=fake_max_motion)
    by = {s.sample_id: s for s in mm}
    assert (by["sub01/EP03_02"].apex, by["sub01/EP03_02"].apex_rule) == (19, "max-motion")
    assert (by["sub02/EP01_11f"].apex, by["sub02/EP01_11f"].apex_rule) == (11, "max-motion")
    assert by["sub01/EP02_01f"].apex_rule == "annotated"  # annotated apexes are kept
    assert (11, 10, 20) in seen
    with pytest.raises(ConfigError, match="apex must be one of"):
        load_dataset("casme2", root, apex="peak")


def test_no_scan_trusts_the_sheet(layouts):
    root, _ = layouts["casme2"]
    ds, _ = load("casme2", root, scan=False)
    kinds = Counter(p.kind for p in ds.problems)
    assert "missing-frames" not in kinds and "frame-gap" not in kinds
    assert len(ds) == 7  # the row without frames is kept when frames are not scanned


def test_target_megc3(layouts):
    root, _ = layouts["casme2"]
    ds, _ = load("casme2", root, target="megc3")
    assert ds.classes == ("negative", "positive", "surprise")
    assert ds.labels() == [s.megc3 for s in ds] and None not in ds.labels()
    assert len(ds) == 5  # "others" dropped
    assert list(ds.label_ids()) == [("negative", "positive", "surprise").index(s.megc3) for s in ds]


def test_samm_layout(layouts):
    root, _ = layouts["samm"]
    ds, _ = load("samm", root)
    s = ds[0]
    assert (s.subject, s.sample_id) == ("006", "006/006_1_2")
    assert s.frames_dir == root / "SAMM" / "006" / "006_1_2"
    assert (s.onset, s.apex, s.offset) == (5562, 5588, 5605)
    assert s.meta["objective_classes"] == 4 and s.meta["type"] == "Micro - 1/2"
    assert {x.subject for x in ds} == {"006", "007"}  # "007" and 7 are one subject
    mixed = next(x for x in ds if x.sample_id == "007/007_3_1")  # "12+smile+1x"
    assert mixed.au_string == "12" and mixed.meta["aus_text"] == ["smile"]
    assert mixed.meta["aus_unreadable"] == ["1x"] and mixed.meta["aus_raw"] == "12+smile+1x"


def test_casme3_repeated_file_names(layouts):
    root, _ = layouts["casme3"]
    ds, _ = load("casme3", root)
    ids = [s.sample_id for s in ds]
    assert ids == ["spNO.1/a@10", "spNO.1/a@40", "spNO.1/b", "spNO.2/a"]
    assert ds[0].frames_dir == root / "part_A" / "spNO.1" / "a" / "color"
    assert ds[0].fps == 30.0 and ds[0].meta["objective_class"] == 1


def test_smic_variants(layouts):
    root, _ = layouts["smic"]
    hs, _ = load("smic", root)
    assert hs.name == "smic.hs" and {s.fps for s in hs} == {100.0}
    s = hs[0]
    assert (s.sample_id, s.onset, s.apex, s.offset, s.apex_rule) == (
        "s1/s1_ne_01",
        101,
        105,
        110,
        "midpoint",
    )
    assert all(x.dataset == "smic" for x in hs)
    for v in ("vis", "nir"):
        ds, _ = load(f"smic.{v}", root)
        assert ds.name == f"smic.{v}" and len(ds) == 1 and ds[0].fps == 25.0
    ds, _ = load("smic", root / "HS")  # the variant folder itself
    assert len(ds) == 4
    with pytest.raises(ConfigError, match="SMIC variant must be one of"):
        load_dataset("smic", root, variant="ir")


def test_dfme_release_defaults(layouts):
    root, expected = layouts["dfme"]
    ds, _ = load("dfme", root)  # no mapping: the three workbooks
    by = {s.sample_id: s for s in ds}
    assert Counter(s.meta["split"] for s in ds) == expected["splits"]
    assert by["sub0001/sub0001_02"].label == "happiness"
    assert by["sub0002/sub0002_01"].label == "surprise"  # from EmotionId 6 (no name)
    assert by["sub0002/sub0002_01"].fps == 300.0 and by["sub0002/sub0002_01"].meta["part"] == "B"
    assert by["sub0001/sub0001_01"].fps == 500.0 and by["sub0004/sub0004_01"].fps == 500.0
    assert by["sub0003/sub0003_02"].apex_rule == "midpoint"
    assert by["sub0003/sub0003_02"].au_string == "9+AD38"
    assert by["sub0003/sub0003_02"].meta["aus_text"] == ["soft focus"]
    assert by["sub0004/sub0004_01"].au_string == "L12+L14"  # the unreadable 12x left out
    assert by["sub0004/sub0004_01"].meta["aus_unreadable"] == ["12x"]
    assert by["sub0001/sub0001_01"].frames_dir == root / "frames" / "sub0001" / "sub0001_01"
    assert sorted(ds.subjects()) == ["sub0001", "sub0002", "sub0003", "sub0004"]
    assert ds.classes == ("anger", "contempt", "disgust", "fear", "happiness", "sadness",
                          "surprise")  # fmt: skip
    assert len(ds.options["annotations"]) == 3


def test_dfme_legacy_layout(tmp_path):
    expected = make_dfme_legacy(tmp_path)
    for mapping in ("legacy", None):  # None: the older file is found when no workbook is
        ds, _ = load("dfme", tmp_path, mapping=mapping)
        assert len(ds) == expected["samples"] and len(ds.subjects()) == expected["subjects"]
        assert dict(Counter(p.kind for p in ds.problems)) == expected["problems"]
        by = {s.sample_id: s for s in ds}
        assert by["001/clip_b"].label == "happiness"  # id 4, alphabetical order
        assert by["002/clip_a"].fps == 300.0 and by["002/clip_a"].meta["part"] == "B"
        assert "split" not in by["001/clip_a"].meta


def test_dfme_without_labels_is_one_clear_error(tmp_path):
    with pytest.raises(DatasetError, match=r"no DFME label workbook \(\*_full_with_AU.xlsx\)"):
        load_dataset("dfme", tmp_path)


@pytest.mark.parametrize("fmt", ["yaml", "json", "dict"])
def test_dfme_mapping(tmp_path, fmt):
    head = ["participant", "clip", "rate", "on", "peak", "off", "au", "label"]
    rows = [[7, "c1", 250, 2, 4, 6, "12", 4], [8, "c2", 250, 1, 2, 3, "4", "anger"]]
    write_csv(tmp_path / "labels" / "my.csv", [head, *rows])
    for subj, clip in (("007", "c1"), ("008", "c2")):
        d = tmp_path / "raw" / f"p{subj}" / clip
        d.mkdir(parents=True)
        for n in range(1, 8):
            (d / f"frame_{n:04d}.jpg").write_bytes(b"x")
    mapping = {
        "annotations": "labels/my.csv",
        "frames": "raw/p{subject}/{filename}",
        "columns": {
            "subject": "participant",
            "filename": "clip",
            "fps": "rate",
            "part": None,
            "onset": "on",
            "apex": "peak",
            "offset": "off",
            "aus": "au",
            "emotion": "label",
        },
    }
    if fmt == "yaml":
        import yaml

        (tmp_path / "m.yaml").write_text(yaml.safe_dump(mapping))
        arg = tmp_path / "m.yaml"
    elif fmt == "json":
        (tmp_path / "m.json").write_text(json.dumps(mapping))
        arg = tmp_path / "m.json"
    else:
        arg = mapping
    ds, caught = load("dfme", tmp_path, mapping=arg)
    assert [(s.subject, s.label, s.fps, s.apex) for s in ds] == [
        ("007", "happiness", 250.0, 4),
        ("008", "anger", 250.0, 2),
    ]
    assert not caught


def test_dfme_mapping_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['colums'\]"):
        DFMEMapping.from_dict({"colums": {}})
    with pytest.raises(ConfigError, match=r"unknown column field\(s\) \['subjct'\]"):
        DFMEMapping(columns={"subjct": "S"})
    with pytest.raises(ConfigError, match=r"column\(s\) \['onset'\] are required"):
        DFMEMapping(columns={"onset": None})
    with pytest.raises(ConfigError, match="frames template"):
        DFMEMapping(frames="frames/{participant}")
    make_dfme(tmp_path)
    with pytest.raises(DatasetError, match=r"no header row with columns \['Participant'"):
        load_dataset("dfme", tmp_path, mapping={"columns": {"subject": "Participant"}})


def test_megc2019_composite(layouts):
    root, expected = layouts["megc2019"]
    ds, _ = load("megc2019", root)
    assert len(ds) == expected["samples"]
    assert ds.target == "megc3" and ds.classes == ("negative", "positive", "surprise")
    assert dict(Counter(ds.labels())) == expected["classes"]
    assert len(set(ds.groups())) == expected["groups"]
    assert set(ds.sources()) == {"casme2", "samm", "smic"}
    assert ds.options["dropped_no_3class_label"] == 2  # one "others" in each of CASME II, SAMM
    # explicit roots give the same dataset
    ds2, _ = load("megc2019", None, smic=root / "SMIC", casme2=root / "CASME2", samm=root / "SAMM")
    assert [s.sample_id for s in ds2] == [s.sample_id for s in ds]
    with pytest.raises(DatasetError, match="no samm root"):
        load_dataset("megc2019", None, smic=root / "SMIC", casme2=root / "CASME2")


def test_layout_errors(tmp_path):
    with pytest.raises(DatasetError, match="no such folder"):
        load_dataset("casme2", tmp_path / "nope")
    with pytest.raises(DatasetError, match=r"CASME2-coding-\*.xlsx.*annotations=PATH"):
        load_dataset("casme2", tmp_path)
    with pytest.raises(ConfigError, match=r"has no option\(s\) \['crop'\]"):
        load_dataset("casme2", tmp_path, crop=True)
    with pytest.raises(ConfigError, match="dataset must be one of"):
        load_dataset("casme9", tmp_path)


def test_annotations_option(layouts, tmp_path):
    root, _ = layouts["casme2"]
    sheet = tmp_path / "elsewhere.xlsx"
    shutil.copy(root / "CASME2-coding-20140508.xlsx", sheet)
    ds, _ = load("casme2", root, annotations=sheet, frames_root=root / "CASME2_RAW_selected")
    assert len(ds) == 6 and ds.options["annotations"] == str(sheet)


def test_dataset_indexing(layouts):
    root, _ = layouts["casme2"]
    ds, _ = load("casme2", root)
    sub = ds[[0, 2]]
    assert len(sub) == 2 and sub[1] == ds[2] and sub.problems == ds.problems
    assert len(ds[ds.label_ids() >= 0]) == len(ds)
    assert [s.sample_id for s in ds[1:3]] == [s.sample_id for s in list(ds)[1:3]]
    assert len(ds.filter(lambda s: s.subject == "sub01")) == 2
    with pytest.raises(ConfigError, match="boolean mask"):
        ds[[True, False]]
    assert "6 samples" in repr(ds)
    assert isinstance(Path(ds.summary()["root"]), Path)
