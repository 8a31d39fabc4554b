"""Clips from frame folders, videos and memory: order, gaps, lazy loading, onset alignment."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from facscope.errors import ConfigError, FaceNotFoundError, FacscopeDataWarning, InputFileError
from facscope.motion.clip import Clip, align_frame, open_clip


def frames(n: int, h: int = 24, w: int = 32) -> list[np.ndarray]:
    """Frames whose red channel holds their index × 10 (recoverable after lossless I/O)."""
    out = []
    for i in range(n):
        f = np.zeros((h, w, 3), np.uint8)
        f[..., 0] = i * 10
        f[..., 1] = 77
        out.append(f)
    return out


def test_folder_frames_sorted_numerically_and_loaded_lazily(tmp_path, write_frames, monkeypatch):
    write_frames(tmp_path, frames(12), start=1)  # img1 … img12: lexical order would put 10 first
    import facscope.io

    calls = []
    real = facscope.io.load_image
    monkeypatch.setattr(facscope.io, "load_image", lambda p: calls.append(p) or real(p))
    clip = Clip.from_folder(tmp_path, fps=200)
    assert calls == []  # nothing read yet
    assert len(clip) == 12 and clip.numbers == tuple(range(1, 13)) and clip.gaps == []
    assert [int(f[0, 0, 0]) for f in clip.load([0, 9, 11])] == [0, 90, 110]
    assert len(calls) == 3
    clip[9]  # cached
    assert len(calls) == 3
    assert clip.frame(10)[0, 0, 0] == 90 and clip.index_of(10) == 9
    assert clip[-1][0, 0, 0] == 110
    assert [int(f[0, 0, 0]) for f in clip.iter_range(8, 20)] == [80, 90, 100, 110]
    assert clip.duration == pytest.approx(12 / 200)
    assert clip.seconds_to_frames(0.02) == 4


def test_gaps_warn_or_raise_and_numbers_snap_to_nearest(tmp_path, write_frames):
    files = write_frames(tmp_path, frames(6), start=1)
    files[2].unlink()  # img3
    files[3].unlink()  # img4
    with pytest.warns(FacscopeDataWarning, match="frame numbers 3-4 are missing"):
        clip = Clip.from_folder(tmp_path)
    assert clip.numbers == (1, 2, 5, 6) and clip.gaps == [(3, 4)]
    with pytest.raises(ConfigError, match="missing"):
        Clip.from_folder(tmp_path, strict=True)
    with pytest.warns(FacscopeDataWarning, match="using the nearest frame 2"):
        assert clip.index_of(3) == 1
    with pytest.raises(ConfigError, match="a gap"):
        clip.index_of(4, strict=True)
    with pytest.raises(ConfigError, match="outside the clip's frames 1..6"):
        clip.index_of(9)


def test_video_clip_reads_frames_and_rate(tmp_path):
    from facscope.io import write_video

    path = write_video(tmp_path / "clip.mkv", frames(10), fps=200, codec="ffv1")
    clip = open_clip(path)
    assert len(clip) == 10 and clip.fps == pytest.approx(200)
    assert clip.numbers == tuple(range(10))
    got = clip.load([7, 2])
    assert [int(f[0, 0, 0]) for f in got] == [70, 20]
    assert [int(f[0, 0, 0]) for f in clip.iter_range(3, 6)] == [30, 40, 50]  # one pass
    assert open_clip(path, fps=100).fps == 100  # given rate overrides the container's


def test_video_and_clip_errors(tmp_path):
    from facscope.io import VideoReader

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(ValueError, match="bad.mp4"):
        VideoReader(bad)
    with pytest.raises(InputFileError, match="no such frame folder or video"):
        open_clip(tmp_path / "missing")
    with pytest.raises(ConfigError, match="fps must be a positive number"):
        Clip.from_frames(frames(2), fps=0)
    with pytest.raises(ConfigError, match="position 5 is outside"):
        Clip.from_frames(frames(2))[5]


def test_alignment_vector_maps_are_inverse_and_sampling_is_exact(small_demo):
    clip = Clip.from_frames(small_demo.frames, fps=small_demo.fps)
    al = clip.align(0)
    assert al.mode == "detect" and not al.approximate
    rng = np.random.default_rng(0)
    v = rng.normal(size=(5, 7, 2)).astype(np.float32)
    assert np.allclose(al.vectors_from_source(al.vectors_to_source(v)), v, atol=1e-5)
    # a linear field sampled at the crop's pixel centres equals the field at their source points
    h, w = clip[0].shape[:2]
    gx, gy = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    field = np.stack([gx, gy], -1).astype(np.float32)  # the source coordinate itself
    got = al.sample_source_field(field)
    c = np.arange(al.size) + 0.5
    cx, cy = np.meshgrid(c, c)
    inv = al.inverse
    want_x = inv[0, 0] * cx + inv[0, 1] * cy + inv[0, 2]
    inside = (want_x > 1) & (want_x < w - 1)
    assert np.abs(got[..., 0] - want_x)[inside].max() < 1e-3
    # the crop is the aligned face: RGB and gray versions agree
    assert al.crop(clip[0]).shape == (256, 256, 3) and al.crop_gray(clip[0]).shape == (256, 256)


def test_full_mode_and_no_face():
    blank = np.full((60, 80, 3), 128, np.uint8)
    al = align_frame(blank, face="full", size=64)
    assert al.mode == "full" and al.crop(blank).shape == (64, 64, 3)
    assert np.allclose(al.vectors_to_source(np.array([[1.0, 1.0]])), [[80 / 64, 60 / 64]])
    with pytest.raises(FaceNotFoundError, match="no face found on the onset frame"):
        align_frame(blank)
    with pytest.raises(ConfigError, match="face must be one of"):
        align_frame(blank, face="nope")


def test_from_frames_numbers_must_increase():
    with pytest.raises(ConfigError, match="strictly increasing"):
        Clip.from_frames(frames(3), numbers=[1, 3, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clip = Clip.from_frames(frames(3), numbers=[5, 6, 7])
    assert clip.frame(6)[0, 0, 0] == 10
