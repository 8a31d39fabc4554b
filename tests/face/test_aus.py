"""AU measurements without a face: the flow-support rule and the record round trip."""

from __future__ import annotations

from facscope.face.aus import FLOW_SUPPORT, AUMeasurement, flow_supported


def _m(au: int, ratio: float) -> AUMeasurement:
    return AUMeasurement(au=au, value=ratio * 0.00285, threshold=0.00285, present=ratio >= 1,
                         intensity=None, confidence=0.6, mode="clip", evidence="corners rise")  # fmt: skip


def test_flow_lifts_a_near_threshold_au_only_when_its_region_moves_its_way():
    near, weak = _m(12, FLOW_SUPPORT + 0.05), _m(12, FLOW_SUPPORT - 0.05)
    up = [{"region": "left_lip_corner", "direction": "up-left"}]
    (lifted,) = flow_supported([near], up)
    assert lifted.present and lifted.intensity == "A"
    assert lifted.evidence == "corners rise; flow in the left_lip_corner agrees"
    assert not flow_supported([weak], up)[0].present  # too far below its threshold
    down = [{"region": "left_lip_corner", "direction": "down"}]
    assert not flow_supported([near], down)[0].present  # the flow moves the other way
    elsewhere = [{"region": "glabella", "direction": "up"}]
    assert not flow_supported([near], elsewhere)[0].present  # not one of AU12's regions
    assert flow_supported([near], []) == [near]


def test_a_recorded_measurement_rebuilds_exactly_at_small_thresholds():
    m = AUMeasurement(au=5, value=0.000287, threshold=0.00025, present=True, intensity="A",
                      confidence=0.71, mode="clip", evidence="lid rises")  # fmt: skip
    back = AUMeasurement(**m.to_dict())
    assert back.threshold == 0.00025 and back.value == 0.000287 and back.present


def test_a_region_holds_the_regions_inside_it():
    from facscope.face.measure import region_measurements, within

    assert within("mouth") == {"mouth", "left_lip_corner", "right_lip_corner"}
    assert within("right_cheek") == {"right_cheek", "right_nasolabial"}
    assert within("glabella") == {"glabella"} and within("left_lip_corner") == {"left_lip_corner"}
    at = {au: _m(au, 1.2) for au in (12, 4)}
    assert [m.au for m in region_measurements(list(at.values()), "mouth")] == [12]
    assert [m.au for m in region_measurements(list(at.values()), "glabella")] == [4]
