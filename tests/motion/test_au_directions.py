"""TV-L1 on the onset-aligned crop recovers the direction of each AU's motion in its regions.

Ground truth comes from the synthetic generator: the clip's true onset → apex flow in frame
pixels, mapped into the crop (sampled at the crop's pixel centres, vectors rotated and scaled
by the alignment). In each of the AU's canonical regions, the pixels the AU moves strongly
(at least half its peak) are compared one by one: the median angle between the estimated and
the true vector must be under 30°. Lengths are only required to be clearly non-zero: TV-L1 with
OpenCV's defaults (λ = 0.15) smooths sub-pixel motion on weak texture (nose, cheeks) and
underestimates it there by up to 5× (``benchmarks/flow_accuracy.py`` measures the error).
"""

from __future__ import annotations

import numpy as np
import pytest

from facscope.face import AU_REGIONS, REGIONS

#: The AUs the issue requires the generator to move.
AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26)
SIZE = 128  # the face is ~144 px tall in a 240 × 180 frame: TV-L1 on 128 px stays fast


def region_pixels(field: np.ndarray, name: str) -> np.ndarray:
    b = REGIONS[name]
    n = field.shape[0]
    patch = field[int(b.y1 * n) : int(np.ceil(b.y2 * n)), int(b.x1 * n) : int(np.ceil(b.x2 * n))]
    return patch.reshape(-1, 2)


@pytest.mark.parametrize("au", AUS)
def test_tvl1_recovers_each_au_direction(au):
    from facscope.motion.clip import Clip
    from facscope.motion.flow import compute_flow
    from facscope.synth.clips import synth_clip

    sc = synth_clip(
        aus=str(au), amplitude=2.0, fps=200, rise=0.01, fall=0.01, frame_size=(240, 180), noise=1.0
    )
    clip = Clip.from_frames(sc.frames, fps=sc.fps)
    al = clip.align(sc.onset, size=SIZE)
    flow = compute_flow(al.crop_gray(clip[sc.onset]), al.crop_gray(clip[sc.apex]), "tvl1")
    truth = al.vectors_from_source(al.sample_source_field(sc.flow))
    peak = np.hypot(truth[..., 0], truth[..., 1]).max()
    assert peak > 0.5  # 2 px at 256 px is 1 px at 128 px
    checked = []
    for region in AU_REGIONS[au]:
        t, e = region_pixels(truth, region), region_pixels(flow, region)
        strong = np.hypot(t[:, 0], t[:, 1]) >= 0.5 * peak
        if strong.sum() < 5:
            continue  # the AU barely moves this region
        t, e = t[strong], e[strong]
        cos = (t * e).sum(1) / (np.hypot(t[:, 0], t[:, 1]) * np.hypot(e[:, 0], e[:, 1]) + 1e-9)
        angle = np.degrees(np.arccos(np.clip(cos, -1, 1)))
        ratio = np.hypot(e[:, 0], e[:, 1]) / np.hypot(t[:, 0], t[:, 1])
        assert np.median(angle) < 30, (au, region, np.median(angle))
        assert 0.05 < np.median(ratio) < 1.5, (au, region, np.median(ratio))
        checked.append(region)
    assert checked, f"AU {au} moves none of its regions {AU_REGIONS[au]} strongly"
