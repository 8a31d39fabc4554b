"""Precomputed flow files (kind ``flow``): the csv, folder and flowfolds adapters read them,
the flow models train on them with no face or flow step, and wrong-looking files are named."""

from __future__ import annotations

import csv
import warnings

import cv2
import numpy as np
import pytest
from _flow_data import CLASSES, make_flow_folds, make_flow_manifest, to_png_values, write_png

from facscope.data import load_dataset
from facscope.data.flowsets import read_flow
from facscope.errors import FacscopeDataWarning, InputFileError
from facscope.mer.config import TrainConfig
from facscope.mer.train import train


@pytest.fixture(scope="module")
def flowset(tmp_path_factory):
    root = tmp_path_factory.mktemp("flowset")
    return root, make_flow_manifest(root, subjects=21, per_class=2)


def test_csv_reads_flow_pngs_with_kind_flow(flowset):
    _, manifest = flowset
    ds = load_dataset("csv", manifest, kind="flow", flow_order="bgr")
    assert len(ds) == 21 * 3 * 2 and all(s.kind == "flow" and s.is_flow for s in ds)
    assert not any(s.is_clip for s in ds)
    s = ds[0]
    assert s.meta["flow_order"] == "bgr" and s.meta["flow_channels"] == "u,v,strain"
    # without kind the rows are photos, as before
    assert load_dataset("csv", manifest)[0].kind == "image"


def test_read_flow_order_and_scale(tmp_path):
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 10, 20, 30
    write_png(tmp_path / "a.png", rgb)
    as_rgb = read_flow(tmp_path / "a.png", {"flow_order": "rgb"})
    assert as_rgb[0, 0].tolist() == [10, 20, 30]
    assert read_flow(tmp_path / "a.png", {"flow_order": "bgr"})[0, 0].tolist() == [30, 20, 10]
    unit = read_flow(tmp_path / "a.png", {"flow_scale": "unit"})
    assert np.allclose(unit[0, 0], [10 / 255, 20 / 255, 30 / 255])
    meta = {"flow_scale": "denorm", "u_min": -2, "u_max": 2, "v_min": 0, "v_max": 1,
            "strain_min": 0, "strain_max": 0.5}  # fmt: skip
    den = read_flow(tmp_path / "a.png", meta)
    assert np.allclose(den[0, 0], [10 / 255 * 4 - 2, 20 / 255, 30 / 255 * 0.5])
    np.save(tmp_path / "b.npy", np.ones((5, 5, 2), np.float32))
    assert read_flow(tmp_path / "b.npy", {"flow_channels": "u,v"}).shape == (5, 5, 2)


def test_four_channel_png_is_an_error_naming_the_file(tmp_path):
    path = tmp_path / "rgba.png"
    cv2.imwrite(str(path), np.full((8, 8, 4), 100, np.uint8))
    with pytest.raises(InputFileError, match="rgba.png.*4 channels.*alpha"):
        read_flow(path)


def test_flowfolds_reads_the_fold_per_folder_layout(tmp_path):
    root = make_flow_folds(tmp_path / "folds", subjects=6, per_class=2)
    ds = load_dataset("flowfolds", root, class_names=list(CLASSES))
    assert len(ds) == 6 * 3 * 2
    assert sorted(ds.classes) == sorted(CLASSES)
    assert {s.dataset for s in ds} == {"casme2", "samm", "smic"}
    assert all(s.kind == "flow" for s in ds)
    by_subject = {s.subject for s in ds}
    assert len(by_subject) == 6
    # a u_train that does not hold the other subjects' samples is a warning
    extra = root / "sub01" / "u_train" / "0" / "stray.png"
    write_png(extra, np.zeros((28, 28, 3), np.uint8))
    with pytest.warns(FacscopeDataWarning, match="u_train of 1 subject"):
        load_dataset("flowfolds", root)


def test_folder_adapter_reads_npy_flow(tmp_path):
    for c in CLASSES:
        (tmp_path / c).mkdir()
        np.save(tmp_path / c / "s1_a.npy", np.random.default_rng(0).random((28, 28, 3)))
    ds = load_dataset("folder", tmp_path, subject_pattern=r"^(s\d+)_")
    assert [s.kind for s in ds] == ["flow"] * 3


def _config(root, manifest, name, **kw):
    values = dict(
        data="csv", root=str(manifest), data_options={"kind": "flow"}, classes=CLASSES,
        model="ststnet", protocol="loso", epochs=12, batch_size=16, lr=0.01, seed=0,
        cache_dir=str(root / "cache"), output_dir=str(root / name), cpu=True,
    )  # fmt: skip
    values.update(kw)
    return TrainConfig(**values)


def test_ststnet_trains_on_flow_pngs_under_loso_above_chance(flowset):
    root, manifest = flowset
    with warnings.catch_warnings():
        warnings.simplefilter("error", FacscopeDataWarning)  # clean data: no warning
        cfg = _config(root, manifest, "ststnet", epochs=6, batch_size=32, lr=0.02)
        result = train(cfg, progress=False)
    m = result.metrics
    assert m["folds"] == 21 and m["n"] == 126
    assert m["uf1"] > 0.6 and m["uar"] > 0.6  # chance is 1/3
    # a composite: MEGC 2019's Full / per-source breakdown, in the metrics and the report
    by = m["by_source"]
    assert list(by) == ["Full", "casme2", "samm", "smic"]
    assert by["Full"]["uf1"] == pytest.approx(m["uf1"]) and by["samm"]["n"] == 42
    assert "| smic | 42 |" in (root / "ststnet" / "report.md").read_text()
    assert not (root / "ststnet" / "cache" / "clip").exists()  # no clip/flow step ran


def test_off_apexnet_reads_the_u_v_channels(flowset):
    root, manifest = flowset
    cfg = _config(root, manifest, "offapex", model="off_apexnet", folds=(0, 1), epochs=2)
    result = train(cfg, progress=False)
    assert result.metrics["n"] == 12


def test_wrong_looking_files_warn_with_the_file_named(tmp_path):
    rows = []
    rng = np.random.default_rng(1)
    for s in range(3):
        for c, label in enumerate(CLASSES):
            img = to_png_values(rng.random((28, 28, 3)).astype(np.float32))
            if s == 0 and c == 0:
                img[..., 2] = 0  # a constant strain channel
            if s == 1 and c == 1:
                img = cv2.resize(img, (32, 32))  # another size
            path = tmp_path / f"s{s}_{label}.png"
            write_png(path, img)
            rows.append({"path": path.name, "subject": f"s{s}", "label": label})
    manifest = tmp_path / "m.csv"
    with open(manifest, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["path", "subject", "label"])
        w.writeheader()
        w.writerows(rows)
    cfg = _config(tmp_path, manifest, "bad", epochs=1, folds=(0,))
    with pytest.warns(FacscopeDataWarning) as record:
        train(cfg, progress=False)
    text = " | ".join(str(r.message) for r in record)
    assert "s0_negative.png, channel strain" in text
    assert "differ in size" in text and "s1_positive.png, 32x32" in text
