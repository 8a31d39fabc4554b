"""``facscope analyze``: which inputs are read as clips and which as images."""

from __future__ import annotations

from pathlib import Path

import pytest

from facscope.cli.analyze import _load_input
from facscope.io import save_image


@pytest.mark.parametrize("name", ["x.mpg", "x.MPEG", "x.wmv", "x.mp4"])
def test_every_video_suffix_is_opened_as_a_clip(tmp_path, monkeypatch, name):
    # ``.mpg`` used to be read as an image here while the dataset loader read it as a video
    import facscope.motion.clip as clip

    opened: list[Path] = []
    monkeypatch.setattr(clip, "open_clip", lambda path, fps=None: opened.append(path) or "CLIP")
    inputs, label = _load_input(tmp_path / name, onset=1, apex=3, fps=None)
    assert inputs == {"clip": "CLIP", "onset": 1, "apex": 3}
    assert opened == [tmp_path / name] and label == str(tmp_path / name)


def test_an_image_suffix_is_loaded_as_an_image(tmp_path, noise_image):
    save_image(tmp_path / "x.png", noise_image)
    inputs, _ = _load_input(tmp_path / "x.png", onset=None, apex=None, fps=None)
    assert set(inputs) == {"image"} and inputs["image"].ndim == 3
