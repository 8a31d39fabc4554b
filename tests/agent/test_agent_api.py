"""``facscope.analyze_images``: one table row per face per image, as a DataFrame, CSV, Parquet."""

from __future__ import annotations

import subprocess
import sys

import pytest
from tests.conftest import LFW_FACES

from facscope.agent.analysis import ROW_COLUMNS
from facscope.io import save_image


def test_rows_per_face_with_boxes_probabilities_and_status(tmp_path, astronaut, lfw_composite,
                                                          noise_image, stub_classifier):  # fmt: skip
    import facscope
    from facscope.agent.backends import create_backend

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"nope")
    noise = save_image(tmp_path / "noise.png", noise_image)
    backend = create_backend("expert", classifier=stub_classifier("surprise"))
    res = facscope.analyze_images([astronaut, lfw_composite, noise, broken], backend=backend)
    rows = res.rows
    assert len(rows) == 1 + len(LFW_FACES) + 1 + 1 and len(res.analyses) == 4
    assert [r["input"] for r in rows[:2]] == ["image0", "image1"]
    assert [r["face"] for r in rows if r["input"] == "image1"] == [0, 1, 2, 3]
    astro = rows[0]
    assert astro["status"] == "ok" and astro["emotion"] == "surprise"
    assert (
        astro["p_surprise"] == 1.0
        and astro["au_basis"] in ("inferred", "measured")
        and astro["aus"]
    )
    assert 150 < astro["x1"] < astro["x2"] < 300 and astro["score"] > 0.95
    assert astro["nose_x"] is not None and astro["faces_found"] == 1
    no_face, failed = rows[-2], rows[-1]
    assert no_face["status"] == "no_face" and no_face["emotion"] is None
    assert no_face["input"] == str(noise)
    assert failed["status"] == "failed" and "broken.jpg" in failed["error"]
    df = res.to_pandas()
    assert list(df.columns) == list(ROW_COLUMNS) and len(df) == len(rows)
    assert (df["status"] == "ok").sum() == 5
    back = __import__("pandas").read_csv(res.to_csv(tmp_path / "r.csv"))
    assert len(back) == len(rows) and back.loc[0, "emotion"] == "surprise"
    pytest.importorskip("pyarrow")
    pq = __import__("pandas").read_parquet(res.to_parquet(tmp_path / "r.parquet"))
    assert pq["face"].tolist()[1:5] == [0, 1, 2, 3]


def test_one_image_and_face_largest(astronaut, lfw_composite, stub_classifier):
    from facscope import analyze_images
    from facscope.agent.backends import create_backend

    backend = create_backend("expert", classifier=stub_classifier("neutral"))
    res = analyze_images(lfw_composite, face="largest", backend=backend, names=["group"])
    assert len(res) == 1 and res.rows[0]["input"] == "group" and res.rows[0]["faces_found"] == 4
    # no AU is inferred for neutral; with the landmarks extra the AUs are measured instead
    row = res.rows[0]
    assert row["emotion"] == "neutral" and (row["aus"] == "" or row["au_basis"] == "measured")


def test_import_facscope_stays_light():
    code = (
        "import sys, facscope; assert callable(facscope.__getattr__); "
        "heavy = [m for m in ('pandas', 'torch', 'facscope.agent', 'cv2') if m in sys.modules]; "
        "print(heavy); assert 'analyze_images' in dir(facscope)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
