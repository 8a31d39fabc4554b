import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.types import BBox, Face, View, apply_transform, invert, scale_translate


def test_bbox_geometry():
    b = BBox(10, 20, 30, 60)
    assert (b.width, b.height, b.area, b.center) == (20, 40, 800, (20, 40))
    assert b.scaled(2) == BBox(0, 0, 40, 80)
    assert b.clipped(25, 50) == BBox(10, 20, 25, 50)
    assert BBox.from_xywh(1, 2, 3, 4) == BBox(1, 2, 4, 6)
    assert b.iou(b) == 1.0 and b.iou(BBox(100, 100, 110, 110)) == 0.0


@pytest.mark.parametrize("vals", [(0, 0, 0, 1), (5, 0, 1, 3), (0, float("nan"), 1, 1)])
def test_bbox_rejects_degenerate(vals):
    with pytest.raises(ConfigError):
        BBox(*vals)


def test_clipped_outside_image():
    with pytest.raises(ConfigError, match="outside"):
        BBox(200, 200, 300, 300).clipped(100, 100)


def test_transforms_compose_and_invert():
    m = scale_translate(2, 3, 5, 7)
    pts = np.array([[0.0, 0.0], [1.0, 2.0]])
    assert np.allclose(apply_transform(m, pts), [[5, 7], [7, 13]])
    assert np.allclose(apply_transform(invert(m), apply_transform(m, pts)), pts)


def test_face_validates_landmarks_and_is_immutable():
    with pytest.raises(ConfigError, match=r"\(5, 2\)"):
        Face(BBox(0, 0, 1, 1), 0.9, np.zeros((4, 2)))
    f = Face(BBox(0, 0, 10, 10), 0.9, np.ones((5, 2)))
    with pytest.raises(ValueError):
        f.landmarks[0, 0] = 3
    g = f.mapped(scale_translate(2, 2))
    assert g.box == BBox(0, 0, 20, 20) and np.allclose(g.landmarks, 2)
    assert f.to_dict()["box"] == [0, 0, 10, 10]


def test_identity_view():
    img = np.zeros((30, 40, 3), np.uint8)
    v = View.of(img)
    assert v.size == (40, 30)
    assert v.box_in_source() == BBox(0, 0, 40, 30)
