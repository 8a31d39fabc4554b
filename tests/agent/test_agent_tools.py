"""The face tools: real detection, alignment and zoom; boxes in original pixels; errors as text."""

from __future__ import annotations

import numpy as np
import pytest

from facscope.agent.coords import BoxFrame
from facscope.agent.tools import FaceTools, ToolsConfig, call_tool, tool_methods
from facscope.errors import ConfigError
from facscope.face import REGION_NAMES, align_face, region_box


def _text(blocks) -> str:
    return "\n".join(b["text"] for b in blocks if b["type"] == "text")


def _images(blocks) -> list:
    return [b["image"] for b in blocks if b["type"] == "image"]


@pytest.fixture
def tools(astronaut):
    t = FaceTools(view_size=96)
    t.reset(astronaut)
    return t


def test_detect_align_zoom_region(tools, astronaut, astronaut_face):
    out = tools.detect_faces()
    assert _images(out) == [] and "Found 1 face" in _text(out)
    x1, y1, x2, y2 = (round(v) for v in astronaut_face.box.to_list(None))
    assert f"[{x1}, {y1}, {x2}, {y2}]" in _text(out)  # original pixels by default

    out = tools.align_face(face_index=0)
    (aligned_img,) = _images(out)
    assert aligned_img.size == (96, 96) and "mouth" in _text(out)

    out = tools.zoom(region="left_lip_corner", scale=1.2)
    (crop,) = _images(out)
    assert max(crop.size) == 96
    rec = tools.records[-1]
    assert rec.ok and rec.name == "zoom" and rec.data["target"] == "left_lip_corner"
    # the recorded box is the region's box in original pixels, as facscope.face computes it
    ref = align_face(astronaut, astronaut_face)
    expected = region_box("left_lip_corner", ref.view).scaled(1.2).transformed(ref.view.to_source)
    assert np.allclose(rec.data["box"], expected.to_list(), atol=0.05)
    # the subject's left lip corner is on the viewer's right of the face
    assert np.mean(rec.data["box"][::2]) > astronaut_face.box.center[0]
    assert tools.zoom_count == 1 and tools.error_count == 0


def test_region_zoom_aligns_first_when_needed(tools):
    out = tools.zoom(region="mouth")
    assert "detected and aligned first" in _text(out)
    assert tools.aligned is not None and tools.aligned_index == 0


def test_box_zoom_in_pixels_and_clipping(tools, astronaut):
    out = tools.zoom(box=[100, 50, 300, 250])
    assert tools.records[-1].data["box"] == [100.0, 50.0, 300.0, 250.0]
    (crop,) = _images(out)
    assert crop.size == (96, 96)
    # the crop shows those source pixels: compare with a plain resize of the same window
    import cv2

    ref = cv2.resize(astronaut[50:250, 100:300], (96, 96), interpolation=cv2.INTER_AREA)
    assert np.abs(np.asarray(crop).astype(int) - ref.astype(int)).mean() < 8
    tools.zoom(box=[400, 400, 900, 900])
    assert tools.records[-1].ok and "clipped" in tools.records[-1].text
    assert tools.records[-1].data["box"] == [400.0, 400.0, 512.0, 512.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"box": [600, 600, 700, 700]}, "outside the image"),
        ({"box": [10, 10, 5, 20]}, "x2 > x1"),
        ({"box": [1, 2, 3]}, "4 numbers"),
        ({"region": "ear"}, "unknown region 'ear'"),
        ({}, "exactly one of"),
        ({"region": "mouth", "box": [0, 0, 9, 9]}, "exactly one of"),
        ({"region": "mouth", "scale": 50.0}, "scale must be between"),
    ],
)
def test_bad_zooms_return_errors_and_are_counted(tools, kwargs, message):
    out = tools.zoom(**kwargs)
    assert _images(out) == [] and _text(out).startswith("Error:") and message in _text(out)
    assert tools.error_count == 1 and not tools.records[-1].ok


def test_zoom_cap(astronaut):
    t = FaceTools(max_zooms=2, view_size=32)
    t.reset(astronaut)
    for _ in range(2):
        assert t.zoom(box=[0, 0, 100, 100])[0]["type"] == "image"
    assert "zoom limit reached (2 zooms)" in _text(t.zoom(box=[0, 0, 100, 100]))
    assert t.zoom_count == 2 and t.error_count == 1


def test_face_index_out_of_range_and_no_face(tools, noise_image):
    assert "out of range" in _text(tools.align_face(face_index=3))
    t = FaceTools()
    t.reset(noise_image)
    assert "No face found" in _text(t.detect_faces())
    assert "no face was found" in _text(t.align_face())
    assert "no face was found" in _text(t.zoom(region="mouth"))
    assert t.zoom(box=[10, 10, 60, 60])[0]["type"] == "image"  # boxes still work


def test_call_tool_validates_names_and_arguments(tools):
    assert "no tool named 'rotate'" in _text(call_tool(tools, "rotate", {}))
    assert "no argument(s) ['angle']" in _text(call_tool(tools, "zoom", {"angle": 3}))
    assert "must be a JSON object" in _text(call_tool(tools, "zoom", [1, 2]))
    assert "must be an integer" in _text(call_tool(tools, "align_face", {"face_index": "first"}))
    assert "must be a number" in _text(
        call_tool(tools, "zoom", {"region": "mouth", "scale": "big"})
    )
    assert "no tool named 'motion_map'" in _text(call_tool(tools, "motion_map", {}))  # still image
    assert tools.error_count == 6 and len(tools.records) == 6
    # lenient but exact coercions
    out = call_tool(tools, "align_face", {"face_index": 0.0})
    assert out[0]["type"] == "image"
    out = call_tool(tools, "zoom", {"box": "[10, 20, 110, 120]", "scale": "1"})
    assert tools.records[-1].ok and tools.records[-1].data["box"] == [10.0, 20.0, 110.0, 120.0]


def test_motion_map_on_a_still_image_is_an_error(tools):
    assert "needs a clip" in _text(tools.motion_map())


def test_relative_coordinates_both_ways(astronaut, astronaut_face):
    t = FaceTools(coords="relative-1000", view_size=32)
    t.reset(astronaut)
    text = _text(t.detect_faces())
    b = astronaut_face.box
    expect = [round(v / 512 * 1000) for v in (b.x1, b.y1, b.x2, b.y2)]
    assert "[" + ", ".join(map(str, expect)) + "]" in text
    t.zoom(box=[0, 0, 500, 250])  # 0–1000 → half the width, a quarter of the height
    assert t.records[-1].data["box"] == [0.0, 0.0, 256.0, 128.0]


def test_box_frame_conversions():
    f = BoxFrame(system="resized", image_size=(640, 480), model_size=(320, 240))
    assert f.to_pixels([10, 10, 20, 20]) == [20.0, 20.0, 40.0, 40.0]
    assert f.from_pixels([20, 20, 40, 40]) == [10, 10, 20, 20]
    rel = BoxFrame(system="relative-1000", image_size=(200, 100))
    assert rel.to_pixels([500, 500, 1000, 1000]) == [100.0, 50.0, 200.0, 100.0]
    assert "0–1000" in rel.describe() and "640×480" in BoxFrame(image_size=(640, 480)).describe()
    with pytest.raises(ConfigError, match="model_size"):
        BoxFrame(system="resized", image_size=(10, 10))
    with pytest.raises(ConfigError, match="coordinate system"):
        BoxFrame(system="normalized")


def test_reset_forgets_state_and_keeps_labels(tools, astronaut, small_image):
    tools.detect_faces()
    tools.align_face()
    tools.reset(image=small_image, aus=[6, 12], emotion="happiness", prompt=[])
    assert tools.records == [] and tools.faces is None and tools.aligned is None
    assert tools.labels == {"aus": [6, 12], "emotion": "happiness", "prompt": []}
    assert tools.image.shape == (48, 64, 3)
    from PIL import Image

    tools.reset(images=[Image.fromarray(astronaut)])  # a TRL row with an ``images`` column
    assert tools.image.shape == (512, 512, 3)
    with pytest.raises(ConfigError, match="needs an image or a clip"):
        tools.reset()


def test_clip_input_offers_motion_map(small_image):
    frames = [small_image, small_image[::-1].copy(), small_image]
    t = FaceTools()
    t.reset(clip=frames, onset=0, apex=1)
    assert t.is_clip and np.array_equal(t.image, frames[1]) and np.array_equal(t.onset, frames[0])
    assert [m.__name__ for m in tool_methods(t)][-1] == "motion_map"
    with pytest.raises(ConfigError, match="apex position 7"):
        t.reset(clip=frames, apex=7)


def test_tools_config_checks():
    with pytest.raises(ConfigError, match="view_size"):
        ToolsConfig(view_size=4)
    with pytest.raises(ConfigError, match="max_zooms"):
        ToolsConfig(max_zooms=-1)
    assert len(REGION_NAMES) == 15
