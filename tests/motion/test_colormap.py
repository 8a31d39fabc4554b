"""MELLM colour map against hand-computed pixels, and the legend against what is rendered."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.motion.colormap import (
    LEGEND,
    flow_colour,
    legend_image,
    legend_text,
    motion_colormap,
    quantized_angle,
)


def field_with(*pixels: tuple[int, int, float, float], shape=(4, 4)) -> np.ndarray:
    """A zero field with (row, col, u, v) set."""
    f = np.zeros((*shape, 2), np.float32)
    for r, c, u, v in pixels:
        f[r, c] = (u, v)
    return f


def test_hand_computed_pixels():
    """Gray 100; (1,1) moves 2 px right, (2,2) 1 px up, the rest is still.

    Magnitudes 0..2 → V = 255 at (1,1) and round(127.5) = 128 at (2,2).
    Right: angle 0 → H 0 → RGB (255, 0, 0); + 100 saturates to (255, 100, 100).
    Up (v = −1, y down): angle 270 → H 135 (hue 270°, violet) → RGB (V/2, 0, V) = (64, 0, 128)
    → (164, 100, 228). Still pixels: V = 0 → unchanged grey.
    """
    onset = np.full((4, 4), 100, np.uint8)
    out = motion_colormap(onset, field_with((1, 1, 2.0, 0.0), (2, 2, 0.0, -1.0)))
    assert out.dtype == np.uint8 and out.shape == (4, 4, 3)
    assert tuple(out[1, 1]) == (255, 100, 100)
    assert tuple(out[2, 2]) == (164, 100, 228)
    still = np.ones((4, 4), bool)
    still[1, 1] = still[2, 2] = False
    assert np.all(out[still] == 100)


def test_zero_motion_leaves_the_grey_onset_unchanged():
    rng = np.random.default_rng(0)
    onset = rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)
    out = motion_colormap(onset, np.zeros((8, 9, 2), np.float32))
    gray = (onset @ [0.299, 0.587, 0.114]).round()
    assert np.all(out[..., 0] == out[..., 1]) and np.all(out[..., 1] == out[..., 2])
    assert np.abs(out[..., 0].astype(int) - gray).max() <= 1


def test_the_add_saturates_at_255():
    onset = np.full((2, 2), 200, np.uint8)
    out = motion_colormap(onset, field_with((0, 0, 1.0, 0.0), shape=(2, 2)))
    assert tuple(out[0, 0]) == (255, 200, 200)  # 200 + 255 clips, no wrap-around to 199


def test_rightward_is_red_and_upward_purple_in_the_saved_png(tmp_path):
    """The returned map is RGB and save_image writes it so that any viewer shows red."""
    from PIL import Image

    from facscope.io import save_image

    onset = np.full((4, 4), 0, np.uint8)
    out = motion_colormap(onset, field_with((0, 0, 1.0, 0.0), (3, 3, 0.0, -1.0)))
    save_image(tmp_path / "map.png", out)
    png = np.asarray(Image.open(tmp_path / "map.png").convert("RGB"))
    assert tuple(png[0, 0]) == (255, 0, 0)
    assert tuple(png[3, 3]) == (128, 0, 255)


def test_quantisation_formula():
    angles = np.array([0, 14, 16, 44, 46, 89, 269, 271, 344, 346, 359])
    a = np.radians(angles)
    f = np.stack([np.cos(a), np.sin(a)], -1)[None].astype(np.float32)
    assert quantized_angle(f)[0].tolist() == [0, 0, 30, 30, 60, 90, 270, 270, 330, 0, 0]


_HUES = {  # hue ranges (degrees) a colour name covers
    "red": (345, 15),
    "orange-yellow": (15, 75),
    "yellow-green": (75, 105),
    "green": (105, 165),
    "cyan": (165, 195),
    "blue": (195, 255),
    "purple": (255, 285),
    "magenta/pink": (285, 345),
}
_VECTORS = {
    "up": (0, -1),
    "up-right": (1, -1),
    "right": (1, 0),
    "down-right": (1, 1),
    "down": (0, 1),
    "down-left": (-1, 1),
    "left": (-1, 0),
    "up-left": (-1, -1),
}


@pytest.mark.parametrize(("direction", "colour", "angle"), LEGEND)
@pytest.mark.parametrize("wobble", [-12, 0, 12])
def test_legend_text_matches_the_rendered_hue(direction, colour, angle, wobble):
    """A motion pointing `direction` (± 12°) renders in the hue range of the legend's name."""
    dx, dy = _VECTORS[direction]
    a = np.arctan2(dy, dx) + np.radians(wobble)
    assert np.degrees(np.arctan2(dy, dx)) % 360 == pytest.approx(angle)
    rgb = flow_colour(np.array([[[np.cos(a), np.sin(a)], [0, 0]]], np.float32))[0, 0] / 255
    hue = colorsys.rgb_to_hsv(*rgb)[0] * 360
    lo, hi = _HUES[colour]
    assert (lo <= hue < hi) if lo < hi else (hue >= lo or hue < hi), (direction, hue)


def test_legend_text_is_the_prompts():
    assert legend_text() == (
        "up = purple, up-right = magenta/pink, right = red, down-right = orange-yellow, "
        "down = yellow-green, down-left = green, left = cyan, up-left = blue"
    )


def test_legend_image_top_is_purple_and_right_is_red():
    img = legend_image(320)
    h, w = img.shape[:2]
    assert img.dtype == np.uint8 and h == 320 and w == 512
    r = int(0.32 * h * 0.9)
    top = img[h // 2 - r, w // 2]
    right = img[h // 2, w // 2 + r]
    assert top[2] > 200 and top[1] < 80 and 60 < top[0] < 200  # violet
    assert right[0] > 200 and right[1] < 80 and right[2] < 80  # red


def test_size_mismatch_and_bad_step():
    with pytest.raises(ConfigError, match="same size"):
        motion_colormap(np.zeros((4, 4), np.uint8), np.zeros((4, 5, 2), np.float32))
    with pytest.raises(ConfigError, match="divide 360"):
        flow_colour(np.zeros((2, 2, 2), np.float32), step=7)
