"""check_dataset: files that went missing or broke after loading are found."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from facscope.data import check_dataset, check_sample, load_dataset

pytestmark = pytest.mark.filterwarnings("ignore::facscope.errors.FacscopeDataWarning")


def test_check_finds_changes_on_disk(layouts, tmp_path):
    src, _ = layouts["samm"]
    root = tmp_path / "samm"
    shutil.copytree(src, root)
    ds = load_dataset("samm", root)
    assert [p.kind for p in check_dataset(ds) if p.is_file_problem] == ["bad-index"]
    assert check_dataset(ds) == ds.problems  # nothing new on disk
    first = ds[0]
    (first.frames_dir / f"006_{first.apex:05d}.jpg").unlink()  # the apex frame
    (first.frames_dir / f"006_{first.apex + 1:05d}.jpg").write_bytes(b"")  # unreadable
    shutil.rmtree(ds[1].frames_dir)
    found = check_dataset(ds, decode=True)
    new = [p for p in found if p not in ds.problems]
    assert Counter(p.kind for p in new) == {
        "index-outside-frames": 1,
        "frame-gap": 1,
        "missing-frames": 1,
    }
    assert "apex" in next(p.message for p in new if p.kind == "index-outside-frames")
    # decode reads onset/apex/offset only: the empty frame is not a key frame, so no error
    assert all(p.kind != "missing-file" for p in new)


def test_check_images_and_decode(layouts, tmp_path):
    src, _ = layouts["rafdb"]
    root = tmp_path / "rafdb"
    shutil.copytree(src, root)
    ds = load_dataset("rafdb", root)
    ds[0].image.write_bytes(b"not a jpeg")
    ds[1].image.unlink()
    assert [p.kind for p in check_sample(ds[1])] == ["missing-file"]
    assert check_sample(ds[0]) == []  # existence only
    bad = check_sample(ds[0], decode=True)
    assert [p.kind for p in bad] == ["missing-file"] and "unreadable" in bad[0].message
