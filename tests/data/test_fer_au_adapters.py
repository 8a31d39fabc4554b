"""Still-image FER (RAF-DB, FERPlus, AffectNet) and AU (DISFA, BP4D) adapters."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from facscope.data import au_matrix, load_dataset
from facscope.errors import ConfigError, DatasetError
from facscope.eval.metrics import DISFA_AUS

pytestmark = pytest.mark.filterwarnings("ignore::facscope.errors.FacscopeDataWarning")


def kinds(ds):
    return dict(Counter(p.kind for p in ds.problems))


def test_rafdb(layouts):
    root, exp = layouts["rafdb"]
    ds = load_dataset("rafdb", root)
    assert len(ds) == exp["samples"] and kinds(ds) == exp["problems"]
    assert {c: n for c, n in ds.summary()["classes"].items() if n} == exp["classes"]
    assert dict(Counter(s.meta["split"] for s in ds)) == exp["splits"]
    s = ds[0]
    assert (s.sample_id, s.subject, s.label, s.emotion) == (
        "train_00001",
        "train_00001",
        "sadness",
        "5",
    )
    assert s.image == root / "Image" / "aligned" / "train_00001_aligned.jpg"
    assert ds.classes[0] == "surprise" and ds.classes[6] == "neutral"  # ids 1..7
    orig = load_dataset("rafdb", root, aligned=False, split="test")
    assert [s.image.name for s in orig] == ["test_0001.jpg", "test_0002.jpg"]
    with pytest.raises(ConfigError, match="split must be one of"):
        load_dataset("rafdb", root, split="valid")


def test_ferplus_vote_modes(layouts):
    root, exp = layouts["ferplus"]
    maj = load_dataset("ferplus", root)
    assert len(maj) == exp["majority"] and kinds(maj) == exp["problems"]
    assert [s.label for s in maj] == ["neutral", "happiness", "fear"]
    assert [s.meta["split"] for s in maj] == ["train", "val", "test"]
    assert maj[0].meta["votes"]["neutral"] == 6
    assert maj.options["dropped_no_image"] == 1 and maj.options["dropped_no_label"] == 3
    plu = load_dataset("ferplus", root, mode="plurality")
    assert len(plu) == exp["plurality"] and plu[0].label == "neutral"
    assert plu[0].image == root / "FER2013Train" / "fer0000000.png"
    assert len(load_dataset("ferplus", root, split="test")) == 1
    with pytest.raises(ConfigError, match="mode must be one of"):
        load_dataset("ferplus", root, mode="vote")


def test_affectnet(layouts):
    root, exp = layouts["affectnet"]
    ds = load_dataset("affectnet", root)
    assert len(ds) == exp["samples8"] and kinds(ds) == exp["problems"]
    assert sorted(s.label for s in ds) == ["contempt", "happiness", "neutral", "surprise"]
    test = [s for s in ds if s.meta["split"] == "test"]
    assert [s.sample_id for s in test] == ["100/e.jpg"]  # list without a header line
    assert ds[0].meta["box_xywh"] == [134, 134, 899, 899]
    assert ds[0].meta["valence"] == pytest.approx(0.785714)
    seven = load_dataset("affectnet", root, classes=7)
    assert len(seven) == exp["samples7"] and "contempt" not in seven.classes
    with pytest.raises(ConfigError, match="classes must be 7 or 8"):
        load_dataset("affectnet", root, classes=11)


def test_disfa_video_and_frames(layouts):
    root, exp = layouts["disfa"]
    ds = load_dataset("disfa", root)
    assert len(ds) == exp["samples"] and kinds(ds) == exp["problems"]
    s = ds[2]  # frame 3: AU1 = 2, AU2 = 2, AU12 = 1
    assert s.video.name == "LeftVideoSN001_comp.avi" and s.onset == s.apex == s.offset == 3
    assert [str(a) for a in s.aus] == ["1B", "2B"]
    assert s.meta["au_occ"] == {1: 1, 2: 1, 12: 0}
    loose = load_dataset("disfa", root, threshold=1)
    assert loose[0].meta["au_occ"] == {1: 0, 2: 0, 12: 1}
    frames = load_dataset("disfa", root, frames=root / "frames", frame_offset=-1)
    sn1 = [s for s in frames if s.subject == "SN001"]
    assert [s.image.name for s in sn1] == [f"{n}.jpg" for n in range(6)]
    assert kinds(frames)["missing-file"] == 6  # SN002 has no extracted frames
    assert len(load_dataset("disfa", root, stride=2)) == 3
    m = au_matrix(ds, DISFA_AUS)
    assert m.shape == (6, 8)
    assert m[:, DISFA_AUS.index(4)].tolist() == [-1] * 6  # AU4 not coded in this fixture
    with pytest.raises(ConfigError, match="camera must be"):
        load_dataset("disfa", root, camera="top")


def test_bp4d(layouts):
    root, exp = layouts["bp4d"]
    ds = load_dataset("bp4d", root)
    assert len(ds) == exp["samples"] and kinds(ds) == exp["problems"]
    s = ds[1]
    assert (s.subject, s.meta["task"], s.meta["frame"]) == ("F001", "T1", 2441)
    assert s.meta["au_occ"][2] is None  # 9 = not coded
    assert s.au_set == {1, 6, 12} and 99 not in s.au_set
    m = au_matrix(ds, (1, 2, 4))
    assert m.tolist()[:3] == [[1, 0, 0], [1, -1, 0], [0, 0, 1]]


def test_au_matrix_on_me_samples(layouts):
    root, _ = layouts["casme2"]
    ds = load_dataset("casme2", root)
    m = au_matrix(ds, (1, 2, 12))
    expected = np.array([[int(a in s.au_set) for a in (1, 2, 12)] for s in ds])
    assert np.array_equal(m, expected) and m[0].tolist() == [1, 1, 1]


def test_missing_layouts(tmp_path):
    for name, msg in [
        ("rafdb", "list_patition_label"),
        ("ferplus", "fer2013new.csv"),
        ("affectnet", "training.csv"),
        ("disfa", "ActionUnit_Labels"),
        ("bp4d", "AU_OCC"),
    ]:
        with pytest.raises(DatasetError, match=msg):
            load_dataset(name, tmp_path)
