"""Zoom maps back to the original exactly, however deeply nested."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facscope.errors import ConfigError
from facscope.face import region_box, zoom
from facscope.types import BBox, View, apply_transform

SRC = np.random.default_rng(0).integers(0, 256, (300, 400, 3), dtype=np.uint8)


def _box(draw, w, h):
    x1 = draw(st.floats(0, w * 0.8))
    y1 = draw(st.floats(0, h * 0.8))
    bw = draw(st.floats(min(w * 0.3, w - x1), w - x1))
    bh = draw(st.floats(min(h * 0.3, h - y1), h - y1))
    return BBox(x1, y1, x1 + bw, y1 + bh)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_zoom_of_zoom_of_zoom_maps_back_within_half_a_pixel(data):
    view = View.of(SRC)
    expected = np.eye(3)  # view pixel -> source pixel, tracked by hand
    for _ in range(3):
        w, h = view.size
        b = _box(data.draw, w, h)
        size = data.draw(st.integers(32, 256))
        view = zoom(view, b, frame="view", size=size)
        # by hand: the box's corners in the parent's frame, via the parent's map
        expected_corners = apply_transform(expected, b.corners())
        sx, sy = b.width / view.size[0], b.height / view.size[1]
        expected = expected @ np.array([[sx, 0, b.x1], [0, sy, b.y1], [0, 0, 1]])
        assert np.abs(view.corners_in_source() - expected_corners).max() < 0.5
    # and pixel content agrees: the final view's centre pixel is the source at the mapped point
    cx, cy = view.size[0] // 2, view.size[1] // 2
    sx, sy = apply_transform(view.to_source, [[cx + 0.5, cy + 0.5]])[0]
    if 1 <= sx < 399 and 1 <= sy < 299:
        import cv2

        ref = cv2.getRectSubPix(SRC.astype(np.float32), (1, 1), (sx - 0.5, sy - 0.5))[0, 0]
        got = view.image[cy, cx].astype(np.float32)
        local = SRC[int(sy) - 1 : int(sy) + 2, int(sx) - 1 : int(sx) + 2].astype(float)
        tol = np.ptp(local) + 2  # resampling may blur when a zoom shrinks
        assert np.abs(got - ref).max() <= tol


def test_source_frame_box_round_trips(aligned):
    box = BBox(200.0, 130.0, 250.0, 165.0)  # around the mouth, in original pixels
    z = zoom(aligned.view, box)  # rotated aligned view: covers the box
    quad = z.corners_in_source()
    assert quad[:, 0].min() <= 200.5 and quad[:, 0].max() >= 249.5
    z_plain = zoom(View.of(aligned.view.source), box, size=100)
    assert np.allclose(z_plain.box_in_source().to_list(None), box.to_list(None), atol=1e-6)


def test_region_zoom_is_sharp_and_in_place(aligned):
    mouth = zoom(aligned.view, "mouth", size=224)
    assert max(mouth.size) == 224
    # the region maps back to the same place whether asked from the aligned view or a nested zoom
    direct = region_box("mouth", aligned.view).transformed(aligned.view.to_source)
    assert np.allclose(mouth.box_in_source().to_list(None), direct.to_list(None), atol=1e-6)
    lip = zoom(mouth, "left_lip_corner")
    lip_direct = zoom(aligned.view, "left_lip_corner")
    assert np.abs(lip.corners_in_source() - lip_direct.corners_in_source()).max() < 0.5
    assert np.abs(lip.image.astype(int) - lip_direct.image.astype(int)).mean() < 2


def test_zoom_errors(aligned):
    with pytest.raises(ConfigError, match="outside"):
        zoom(aligned.view, [5000, 5000, 5100, 5100])
    with pytest.raises(ConfigError, match="4 numbers"):
        zoom(aligned.view, [1, 2, 3])
    with pytest.raises(ConfigError, match="x2 > x1"):
        zoom(aligned.view, [10, 10, 5, 20])
    with pytest.raises(ConfigError, match="scale"):
        zoom(aligned.view, "mouth", scale=0)
    with pytest.raises(ConfigError, match="align the face first"):
        zoom(View.of(SRC), "mouth")
