import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.face import AU_REGIONS, REGION_NAMES, REGIONS, TEMPLATE, region_box, regions_for_au
from facscope.types import View

REQUIRED = {
    "forehead",
    "left_brow",
    "right_brow",
    "glabella",
    "left_eye",
    "right_eye",
    "nose",
    "left_cheek",
    "right_cheek",
    "left_nasolabial",
    "right_nasolabial",
    "mouth",
    "left_lip_corner",
    "right_lip_corner",
    "chin",
}


def test_all_required_regions_exist_inside_the_unit_square():
    assert set(REGION_NAMES) == REQUIRED
    for b in REGIONS.values():
        assert 0 <= b.x1 < b.x2 <= 1 and 0 <= b.y1 < b.y2 <= 1


def test_regions_contain_their_landmarks_and_follow_facs_laterality():
    eye_img_left, eye_img_right, nose, mouth_img_left, mouth_img_right = TEMPLATE

    def inside(name, p):
        b = REGIONS[name]
        return b.x1 <= p[0] <= b.x2 and b.y1 <= p[1] <= b.y2

    # the subject's right eye is on the viewer's left
    assert inside("right_eye", eye_img_left) and inside("left_eye", eye_img_right)
    assert (
        inside("nose", nose)
        and inside("mouth", mouth_img_left)
        and inside("mouth", mouth_img_right)
    )
    assert inside("right_lip_corner", mouth_img_left) and inside("left_lip_corner", mouth_img_right)
    assert (
        REGIONS["forehead"].y2 <= REGIONS["left_eye"].y1 < REGIONS["mouth"].y1 < REGIONS["chin"].y1
    )


def test_mirror_symmetry_of_left_right_pairs():
    for name in REGION_NAMES:
        if name.startswith("left_"):
            a, b = REGIONS[name], REGIONS["right_" + name[5:]]
            assert np.isclose(a.x1, 1 - b.x2) and np.isclose(a.x2, 1 - b.x1) and a.y1 == b.y1


def test_au_regions():
    for au in (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26):
        assert set(AU_REGIONS[au]) <= REQUIRED
    assert "glabella" in regions_for_au(4)
    assert regions_for_au(12, "L") == ("left_lip_corner", "left_cheek")
    with pytest.raises(ConfigError, match="AU 99"):
        regions_for_au(99)


def test_region_box_in_views(aligned):
    assert region_box("mouth", size=100).to_list() == [34.0, 63.0, 66.0, 80.0]
    assert region_box("mouth", aligned.view) == region_box("mouth", size=256)
    with pytest.raises(ConfigError, match="align the face first"):
        region_box("mouth", View.of(np.zeros((10, 10, 3), np.uint8)))
    with pytest.raises(ConfigError, match="region must be one of"):
        region_box("elbow")
