"""The folder and csv adapters, and export → csv round trips for every clip adapter."""

from __future__ import annotations

import csv
import warnings
from collections import Counter

import pytest
from layout_fixtures import write_csv

from facscope.data import MANIFEST_COLUMNS, load_dataset, write_manifest
from facscope.errors import ConfigError, DatasetError

pytestmark = pytest.mark.filterwarnings("ignore::facscope.errors.FacscopeDataWarning")


def test_folder(layouts):
    root, exp = layouts["folder"]
    ds = load_dataset("folder", root)
    assert len(ds) == exp["samples"] and not ds.problems
    assert {c: n for c, n in ds.summary()["classes"].items() if n} == exp["classes"]
    clip = next(s for s in ds if s.kind == "frames")
    assert (clip.onset, clip.apex, clip.offset, clip.label) == (3, 5, 8, "surprise")
    assert {s.subject for s in ds} == {"sub01_a", "sub02_b", "sub01_c", "sub02_clip"}
    grouped = load_dataset("folder", root, subject_pattern=r"^(sub\d+)_", fps=30)
    assert Counter(s.subject for s in grouped) == {"sub01": 2, "sub02": 2}
    assert next(s for s in grouped if s.kind == "frames").fps == 30
    with pytest.raises(ConfigError, match="must have a group"):
        load_dataset("folder", root, subject_pattern=r"sub\d+")


def test_megc_shaped_manifest_counts(layouts):
    """The bar: 442 samples from 68 subjects, 250 / 109 / 83."""
    path, exp = layouts["csv"]
    ds = load_dataset("csv", path)
    assert len(ds) == exp["samples"] and not ds.problems
    assert len(ds.subjects()) == exp["subjects"] and len(set(ds.groups())) == exp["subjects"]
    assert ds.summary()["classes"] == exp["classes"]
    assert ds.classes == ("negative", "positive", "surprise")
    assert ds.summary()["sources"] == {"casme2": 145, "samm": 133, "smic": 164}
    s = ds[0]
    assert s.image == path.parent / "flow" / "casme2_000.png"  # relative to the CSV's folder
    assert (s.onset, s.apex, s.offset) == (1, 5, 9)


@pytest.mark.parametrize(
    "name", ["casme2", "samm", "casme3", "smic", "dfme", "rafdb", "bp4d", "disfa", "folder"]
)
def test_export_round_trip(layouts, tmp_path, name):
    root, _ = layouts[name]
    ds = load_dataset("smic.hs" if name == "smic" else name, root)
    out = write_manifest(ds, tmp_path / "m.csv")
    with open(out, newline="") as fh:
        header = next(csv.reader(fh))
    assert tuple(header[: len(MANIFEST_COLUMNS)]) == MANIFEST_COLUMNS
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        back = load_dataset("csv", out)
    assert [s for s in back] == [s.with_(dataset=s.dataset) for s in ds]  # Sample equality
    assert [s.path for s in back] == [s.path.resolve() for s in ds] or all(
        a.path.resolve() == b.path.resolve() for a, b in zip(back, ds)
    )
    assert [s.meta.get("split") for s in back] == [s.meta.get("split") for s in ds]
    new_kinds = {p.kind for p in back.problems} - {"au-notation", "au-doubtful", "frame-gap"}
    assert not new_kinds, back.problems
    del caught


def test_absolute_paths_and_megc3_target(layouts, tmp_path):
    root, _ = layouts["megc2019"]
    ds = load_dataset("megc2019", root)
    out = write_manifest(ds, tmp_path / "sub" / "m.csv", relative=False)
    back = load_dataset("csv", out, target="megc3")
    assert back.labels() == ds.labels() and back.classes == ds.classes
    assert set(back.groups()) == set(ds.groups())
    assert back[0].path.is_absolute()


def test_csv_rows_with_problems(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x")
    (tmp_path / "clip").mkdir()
    for n in (1, 2, 3, 5):
        (tmp_path / "clip" / f"{n}.jpg").write_bytes(b"x")
    rows = [
        ["path", "subject", "label", "onset", "apex", "offset", "aus", "extra"],
        ["a.png", "s1", "Happy", "", "", "", "12", "7"],
        ["missing.png", "s1", "sad", "", "", "", "", ""],
        ["", "s2", "sad", "", "", "", "", ""],
        ["clip", "s2", "pain", 1, "/", 5, "4+b@d", "x"],
        ["a.png", "s3", "fear", "", "", "", "", ""],
    ]
    write_csv(tmp_path / "m.csv", rows)
    ds = load_dataset("csv", tmp_path / "m.csv", classes="happiness, pain, fear")
    kinds = Counter(p.kind for p in ds.problems)
    assert kinds == {
        "missing-file": 1,
        "bad-row": 1,
        "apex-missing": 1,
        "au-unparsable": 1,
        "frame-gap": 1,
    }
    assert ds.classes == ("happiness", "pain", "fear")
    by = {s.subject: s for s in ds}
    assert by["s1"].label == "happiness" and by["s1"].meta["extra"] == 7
    assert by["s2"].kind == "frames" and (by["s2"].apex, by["s2"].apex_rule) == (3, "midpoint")
    assert by["s2"].label == "pain"  # not an emotion: kept as written
    assert by["s2"].au_string == "4" and by["s2"].meta["aus_unreadable"] == ["b@d"]
    assert len(ds) == 3
    with pytest.raises(DatasetError, match=r"missing column\(s\) \['subject'\]"):
        write_csv(tmp_path / "bad.csv", [["path", "label"], ["a.png", "x"]])
        load_dataset("csv", tmp_path / "bad.csv")
    with pytest.raises(DatasetError, match="the csv dataset's root is the file"):
        load_dataset("csv", tmp_path)
