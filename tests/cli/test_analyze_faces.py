"""``facscope analyze`` as a user runs it on photos nobody on the project made: no face, many
faces, batches of files, folders, globs; the honest status and exit code of each."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data
from tests.agent.conftest import StubClassifier
from tests.conftest import LFW_FACES, upscale_gray

from facscope.cli.main import cli
from facscope.io import save_image


@pytest.fixture(autouse=True)
def stub_expert(monkeypatch):
    """The expert's classifier is a stub, so the tests need no FER weights."""
    import facscope.agent.backends.expert as expert

    monkeypatch.setattr(expert, "_default_classifier", lambda: StubClassifier("happiness"))


def _run(*args: str):
    return CliRunner().invoke(cli, ["analyze", *args])


@pytest.mark.parametrize("name", ["coffee", "rocket", "noise", "1x1"])
def test_no_face_is_no_face_exit_3_and_no_emotion(tmp_path, name):
    rng = np.random.default_rng(0)
    image = {
        "coffee": lambda: data.coffee(),
        "rocket": lambda: data.rocket(),
        "noise": lambda: rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
        "1x1": lambda: np.zeros((1, 1, 3), np.uint8),
    }[name]()
    path = save_image(tmp_path / f"{name}.png", image)
    res = _run(str(path), "--json", "--out", str(tmp_path / "out"))
    assert res.exit_code == 3, res.output
    out = json.loads(res.output)
    assert out["status"] == "no_face" and out["emotion"] is None and out["aus"] is None
    assert out["faces_found"] == 0 and out["turns"] == 0
    trace = json.loads((tmp_path / "out" / "trace.json").read_text())
    assert trace["summary"]["status"] == "no_face" and trace["answer"]["emotion"] is None
    page = (tmp_path / "out" / "report.html").read_text()
    assert "No face was found" in page and "no emotion or AUs are given" in page
    res = _run(str(path), "--out", str(tmp_path / "out2"))
    assert res.exit_code == 3 and "status: no_face" in res.output
    assert "No face was found (detector mtcnn)" in res.output


def test_the_real_entry_point_exits_3_on_a_landscape(tmp_path):
    path = save_image(tmp_path / "coffee.jpg", data.coffee())
    res = subprocess.run(
        [sys.executable, "-m", "facscope.cli", "analyze", str(path), "--out", str(tmp_path / "o")],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )  # fmt: skip
    assert res.returncode == 3, res.stderr
    assert "emotion:" not in res.stdout and "no_face" in res.stdout


def test_every_face_of_a_group_photo_gets_an_answer(tmp_path, lfw_composite):
    path = save_image(tmp_path / "group.png", lfw_composite)
    out = tmp_path / "out"
    res = _run(str(path), "--json", "--out", str(out))
    assert res.exit_code == 0, res.output
    result = json.loads(res.output)
    assert result["faces_found"] == len(LFW_FACES) and len(result["faces"]) == len(LFW_FACES)
    assert [f["face"] for f in result["faces"]] == [0, 1, 2, 3]
    boxes = [f["box"] for f in result["faces"]]
    assert len({tuple(b) for b in boxes}) == 4  # each answer has its own face's box
    assert all(f["status"] == "ok" and f["emotion"] == "happiness" for f in result["faces"])
    assert all(f["probabilities"]["happiness"] == 1.0 for f in result["faces"])
    for i in range(4):
        trace = json.loads((out / f"face{i}" / "trace.json").read_text())
        assert trace["face"]["index"] == i and trace["face"]["box"] == boxes[i]
        detect = next(r for r in trace["tool_records"] if r["name"] == "detect_faces")
        assert detect["data"]["faces"][0]["box"] == boxes[i]  # the tools offer that face only
    page = (out / "report.html").read_text()
    assert all(f"id='face-{i}'" in page for i in range(4)) and "4 face(s) found" in page
    text = _run(str(path), "--out", str(out)).output
    assert "4 face(s) found by mtcnn" in text and text.count("emotion: happiness") == 4


def test_face_largest_and_index(tmp_path, lfw_composite):
    path = save_image(tmp_path / "group.png", lfw_composite)
    one = json.loads(_run(str(path), "--json", "--face", "2", "--out", str(tmp_path / "a")).output)
    assert [f["face"] for f in one["faces"]] == [2] and one["faces_found"] == 4
    assert (tmp_path / "a" / "trace.json").exists()
    big = json.loads(
        _run(str(path), "--json", "--face", "largest", "--out", str(tmp_path / "b")).output
    )
    assert [f["face"] for f in big["faces"]] == [0]
    res = _run(str(path), "--face", "7", "--out", str(tmp_path / "c"))
    assert res.exit_code == 1 and "has 4 face(s), indices 0..3" in res.output
    res = _run(str(path), "--face", "middle")
    assert res.exit_code == 1 and "--face must be 'all', 'largest' or a face index" in res.output


def test_out_into_a_used_folder_replaces_its_own_crops(tmp_path, lfw_composite, astronaut):
    out = tmp_path / "out"
    group = save_image(tmp_path / "group.png", lfw_composite)
    assert _run(str(group), "--out", str(out)).exit_code == 0
    (out / "notes.txt").write_text("mine")
    assert (out / "face3" / "images").is_dir()
    astro = save_image(tmp_path / "astro.png", astronaut)
    assert _run(str(astro), "--out", str(out)).exit_code == 0
    assert not list(out.glob("face*")) and (out / "notes.txt").read_text() == "mine"
    trace = json.loads((out / "trace.json").read_text())
    on_disk = sorted(p.name for p in (out / "images").iterdir())
    assert on_disk == sorted(os.path.basename(i["file"]) for i in trace["images"])


def _faces_folder(tmp_path, n=4):
    from facscope.embedded import lfw_faces

    lfw = lfw_faces()
    folder = tmp_path / "people"
    names = ["alice", "bob", "carol", "dave"][:n]
    for name, i in zip(names, LFW_FACES):
        save_image(folder / f"{name}.png", upscale_gray(lfw[i]))
    return folder, names


def test_a_folder_of_different_people_is_a_batch_with_one_row_each(tmp_path):
    folder, names = _faces_folder(tmp_path)
    save_image(folder / "landscape.jpg", data.coffee())
    (folder / "broken.png").write_bytes(b"not an image")
    out = tmp_path / "batch"
    res = _run(str(folder), "--out", str(out), "--no-progress")
    assert res.exit_code == 0, res.output
    assert "6 input(s): 4 with faces (4 face(s) found), 1 with no face, 1 failed" in res.output
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert len(rows) == 6
    by_input = {os.path.basename(r["input"]): r for r in rows}
    for name in names:
        r = by_input[f"{name}.png"]
        assert r["status"] == "ok" and r["emotion"] == "happiness" and r["face"] == "0"
        assert float(r["p_happiness"]) == 1.0 and float(r["x2"]) > float(r["x1"])
    assert (
        by_input["landscape.jpg"]["status"] == "no_face"
        and not by_input["landscape.jpg"]["emotion"]
    )
    assert (
        by_input["broken.png"]["status"] == "failed"
        and "broken.png" in by_input["broken.png"]["error"]
    )
    pytest.importorskip("pyarrow")
    import pandas as pd

    assert len(pd.read_parquet(out / "results.parquet")) == 6
    page = (out / "index.html").read_text()
    assert page.count("class='input'") == 6 and page.count("<img class='thumb'") == 5
    assert all((out / r["report"]).is_file() for r in _records(out) if r.get("report"))


def _records(out):
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def test_a_batch_resumes_and_takes_files_and_globs(tmp_path):
    folder, _ = _faces_folder(tmp_path)
    out = tmp_path / "batch"
    first = [str(folder / "alice.png"), str(folder / "bob.png")]
    res = _run(*first, "--out", str(out), "--no-progress")
    assert res.exit_code == 0 and "2 input(s): 2 with faces" in res.output
    with (out / "results.jsonl").open("a") as f:
        f.write('{"input": "torn')  # a kill in the middle of a line
    res = _run(str(folder / "*.png"), "--out", str(out), "--no-progress", "--json")
    result = json.loads(res.output)
    assert result["inputs"] == 4 and result["done_before"] == 2 and result["faces"] == 4
    assert len(_records(out)) == 4  # the two done before were not run again
    assert len(list(csv.DictReader((out / "results.csv").open()))) == 4


def test_numbered_frames_are_a_clip_and_the_rule_is_said(tmp_path, astronaut):
    frames = tmp_path / "frames"
    for i in range(1, 4):
        save_image(frames / f"img{i}.png", np.roll(astronaut, i, axis=1))
    from facscope.cli.analyze import plan_inputs

    single, files, note = plan_inputs((frames,), None)
    assert single == frames and files == [] and "read as one clip (3 numbered frames" in note
    assert plan_inputs((frames,), False)[1] == sorted(frames.glob("*.png"))  # --images
    (frames / "img5.png").write_bytes((frames / "img3.png").read_bytes())  # a gap: photos
    assert plan_inputs((frames,), None)[0] is None
    folder, _ = _faces_folder(tmp_path)
    assert plan_inputs((folder,), None)[0] is None
    assert plan_inputs((folder,), True)[0] == folder  # --clip
    from facscope.cli.common import frame_folder_rule

    (frames / "img5.png").unlink()
    assert frame_folder_rule(frames) == "3 numbered frames img1.png … img3.png of one size"
    save_image(frames / "img4.png", astronaut[:100])
    assert frame_folder_rule(frames) is None  # sizes differ


def test_detector_model_errors_are_one_line(tmp_path):
    res = _run("--detector", "yunet")
    assert res.exit_code == 1 and "--detector-model PATH" in res.output
    res = _run("--detector", "yunet", "--detector-model", str(tmp_path / "none.onnx"))
    assert res.exit_code == 1 and "none.onnx: YuNet model file not found" in res.output
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    res = _run("--detector", "yunet", "--detector-model", str(bad))
    assert res.exit_code == 1 and "cannot load it as a YuNet ONNX model" in res.output
    res = _run("--detector-model", str(bad))
    assert res.exit_code == 1 and "detector 'mtcnn' takes no model file" in res.output
    assert res.output.count("\n") == 1


def test_an_unreachable_openai_endpoint_exits_non_zero(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    res = _run("--backend", "openai", "--base-url", f"http://127.0.0.1:{port}/v1",
               "--timeout", "2", "--json", "--out", str(tmp_path / "o"))  # fmt: skip
    assert res.exit_code == 4, res.output
    out = json.loads(res.output[res.output.index("{") :])
    assert out["status"] == "failed" and out["emotion"] is None and out["error"]


def test_detect_lists_every_face_and_align_writes_one_per_face(tmp_path, lfw_composite):
    path = save_image(tmp_path / "group.png", lfw_composite)
    res = CliRunner().invoke(cli, ["detect", str(path), "--json"])
    out = json.loads(res.output)
    assert out["count"] == 4 and len(out["faces"]) == 4 and out["rejected"] == []
    assert all(f["plausible"] and f["doubts"] == [] for f in out["faces"])
    res = CliRunner().invoke(cli, ["detect", str(path), "--face", "1"])
    assert "group.png: 4 face(s)" in res.output and res.output.count("[1] box=") == 1
    assert "[0] box=" not in res.output
    dest = tmp_path / "al.png"
    res = CliRunner().invoke(cli, ["align", str(path), "--face", "all", "-o", str(dest)])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in tmp_path.glob("al_face*.png")) == [
        f"al_face{i}.png" for i in range(4)
    ]
    res = CliRunner().invoke(cli, ["detect", str(path), "--detector", "haar", "--json"])
    faces = json.loads(res.output)["faces"]
    assert faces and all("boxes only" in f["doubts"] for f in faces)


def test_a_batch_refuses_to_mix_settings_unless_overwritten(tmp_path):
    folder, _ = _faces_folder(tmp_path)
    out = tmp_path / "batch"
    one = str(folder / "alice.png")
    assert _run(one, str(folder / "bob.png"), "--out", str(out), "--no-progress").exit_code == 0
    res = _run(
        one, str(folder / "bob.png"), "--out", str(out), "--no-progress", "--face", "largest"
    )
    assert res.exit_code == 1 and "other settings" in res.output and "face: 'all'" in res.output
    res = _run(one, str(folder / "bob.png"), "--out", str(out), "--no-progress", "--face",
               "largest", "--overwrite")  # fmt: skip
    assert res.exit_code == 0 and len(_records(out)) == 2
