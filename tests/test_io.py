"""Bad input gives one clear error naming the file; odd-but-valid images load as RGB uint8."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from facscope.errors import FacscopeError, ImageDecodeError, InputFileError
from facscope.io import (
    VIDEO_SUFFIXES,
    JsonlLog,
    atomic_path,
    is_image,
    is_video,
    load_image,
    save_image,
    to_rgb_uint8,
    write_json,
)


@pytest.fixture
def rgb() -> np.ndarray:
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="nope.jpg: no such file"):
        load_image(tmp_path / "nope.jpg")


def test_directory(tmp_path):
    with pytest.raises(InputFileError, match="is a directory"):
        load_image(tmp_path)


def test_zero_bytes(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(ImageDecodeError, match=r"empty.jpg: file is empty"):
        load_image(p)


def test_truncated_jpeg(tmp_path, rgb):
    p = tmp_path / "full.jpg"
    Image.fromarray(np.kron(rgb, np.ones((8, 8, 1), np.uint8))).save(p, quality=95)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    with pytest.raises(ImageDecodeError, match="cut.jpg: cannot decode image .*truncated"):
        load_image(cut)


def test_not_an_image(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("hello, I am text")
    with pytest.raises(FacscopeError, match="notes.png: not a recognised image format"):
        load_image(p)
    # also catchable as the builtin it behaves like
    with pytest.raises(ValueError):
        load_image(p)


def test_grayscale_rgba_16bit_palette(tmp_path, rgb):
    gray = rgb[:, :, 0]
    Image.fromarray(gray).save(tmp_path / "g.png")
    out = load_image(tmp_path / "g.png")
    assert out.shape == (40, 60, 3) and out.dtype == np.uint8
    assert np.array_equal(out[:, :, 0], gray) and np.array_equal(out[:, :, 2], gray)

    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[0, 0, 3] = 0  # transparent pixel composites over white
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    assert np.array_equal(out[1:, 1:], rgb[1:, 1:]) and tuple(out[0, 0]) == (255, 255, 255)

    g16 = (gray.astype(np.uint16) * 257).astype(np.uint16)
    Image.fromarray(g16).save(tmp_path / "g16.png")
    out = load_image(tmp_path / "g16.png")
    assert np.abs(out[:, :, 0].astype(int) - gray).max() <= 1

    Image.fromarray(rgb).convert("P").save(tmp_path / "p.png")
    assert load_image(tmp_path / "p.png").shape == (40, 60, 3)


def test_exif_orientation_applied(tmp_path, rgb):
    im = Image.fromarray(rgb)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    im.save(tmp_path / "rot.jpg", exif=exif, quality=100)
    assert load_image(tmp_path / "rot.jpg").shape == (60, 40, 3)


def test_too_large_is_refused(tmp_path, monkeypatch):
    import facscope.io as fio

    Image.new("RGB", (300, 200)).save(tmp_path / "big.png")
    monkeypatch.setattr(fio, "MAX_IMAGE_PIXELS", 50_000)
    with pytest.raises(ImageDecodeError, match=r"big.png: image is 300×200"):
        load_image(tmp_path / "big.png")


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.full((2, 2), 0.5), 128),
        (np.full((2, 2), 65535, np.uint16), 255),
        (np.ones((2, 2), bool), 255),
        (np.full((2, 2, 4), 7, np.uint8), 7),
        (np.full((2, 2, 1), 9, np.uint8), 9),
    ],
)
def test_to_rgb_uint8(array, expected):
    out = to_rgb_uint8(array)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8 and (out == expected).all()


def test_to_rgb_uint8_rejects_bad_shapes():
    with pytest.raises(ImageDecodeError, match="shape"):
        to_rgb_uint8(np.zeros((2, 2, 2)))
    with pytest.raises(ImageDecodeError, match="no pixels"):
        to_rgb_uint8(np.zeros((0, 5, 3)))


def test_save_round_trip_and_atomicity(tmp_path, rgb):
    p = save_image(tmp_path / "sub" / "x.png", rgb)
    assert np.array_equal(load_image(p), rgb)
    # an exception inside atomic_path leaves neither the target nor a temp file behind
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "y.json") as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["sub"]
    write_json(tmp_path / "z.json", {"a": 1})
    assert (tmp_path / "z.json").read_text() == '{\n  "a": 1\n}\n'


def test_frames_sorted_numerically_and_gaps(tmp_path):
    from facscope.errors import ConfigError
    from facscope.io import frame_gaps, frame_number, list_frames

    for n in (1, 2, 10, 9, 100, 4):
        (tmp_path / f"img{n}.jpg").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("ignored")
    frames = list_frames(tmp_path)
    nums = [frame_number(p) for p in frames]
    assert nums == [1, 2, 4, 9, 10, 100]
    assert frame_gaps(nums) == [(3, 3), (5, 8), (11, 99)]
    assert frame_number("006_3_120.jpg") == 120 and frame_number("reg_img007.jpg") == 7
    (tmp_path / "img004.jpg").write_bytes(b"x")
    with pytest.raises(ConfigError, match="share frame number 4"):
        list_frames(tmp_path)
    with pytest.raises(InputFileError, match="no such frame folder"):
        list_frames(tmp_path / "missing")


def test_atomic_writes_honour_the_umask(tmp_path, rgb):
    import stat

    from facscope.io import _UMASK

    p = save_image(tmp_path / "m.png", rgb)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~_UMASK != 0o600


def test_atomic_dir_replaces_whole_or_not_at_all(tmp_path):
    import stat

    from facscope.io import _UMASK, atomic_dir

    dest = tmp_path / "out"
    with atomic_dir(dest) as tmp:
        (tmp / "a.txt").write_text("1")
    assert (dest / "a.txt").read_text() == "1"
    assert stat.S_IMODE(dest.stat().st_mode) == 0o777 & ~_UMASK
    with pytest.raises(RuntimeError), atomic_dir(dest) as tmp:
        (tmp / "b.txt").write_text("2")
        raise RuntimeError("killed")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in dest.iterdir()) == ["a.txt"]


@pytest.mark.parametrize(
    ("name", "video", "image"),
    [
        ("a.mp4", True, False),
        ("a.MPG", True, False),
        ("a.mpeg", True, False),
        ("a.wmv", True, False),
        ("a.png", False, True),
        ("a.JPEG", False, True),
        ("frames", False, False),
        ("a.txt", False, False),
    ],
)
def test_is_video_and_is_image_by_suffix(name, video, image):
    assert is_video(name) is video and is_video(Path(name)) is video
    assert is_image(name) is image


def test_one_video_suffix_list_everywhere():
    from facscope.data import generic

    assert generic.VIDEO_SUFFIXES is VIDEO_SUFFIXES
    assert {".mpg", ".mpeg", ".m4v", ".wmv"} <= set(VIDEO_SUFFIXES)


def test_jsonl_log_appends_whole_lines_and_reads_them_back(tmp_path):
    log = JsonlLog(tmp_path / "sub" / "log.jsonl")
    assert log.records() == [] and log.latest() == {}
    log.append({"id": "a", "v": 1}, {"id": 2, "v": "é"})
    log.append()  # nothing to write
    log.append({"id": "a", "v": 3}, {"no_id": True})
    assert (tmp_path / "sub" / "log.jsonl").read_text(encoding="utf-8") == (
        '{"id": "a", "v": 1}\n{"id": 2, "v": "é"}\n{"id": "a", "v": 3}\n{"no_id": true}\n'
    )
    assert [r.get("v") for r in log.records()] == [1, "é", 3, None]
    assert log.latest() == {"a": {"id": "a", "v": 3}, "2": {"id": 2, "v": "é"}}
    log.append({"id": "b", "v": "é"}, ensure_ascii=True)
    assert log.path.read_text(encoding="utf-8").endswith('{"id": "b", "v": "\\u00e9"}\n')


def test_jsonl_log_skips_a_torn_last_line_and_resumes_after_repair(tmp_path):
    path = tmp_path / "log.jsonl"
    path.write_text('{"id": "a"}\n\n{"id": "b", "text": "line\u2028sep"}\n{"id": "c", "te', "utf-8")
    log = JsonlLog(path, key="id")
    assert list(log.latest()) == ["a", "b"]  # U+2028 inside a string does not split a line
    assert log.repair() is log
    assert path.read_text("utf-8").endswith('sep"}\n')
    log.append({"id": "c"})
    assert list(log.latest()) == ["a", "b", "c"]
    before = path.read_bytes()
    log.repair()  # a whole file is left as it is
    assert path.read_bytes() == before
    JsonlLog(tmp_path / "missing.jsonl").repair()  # nothing to repair
    assert not (tmp_path / "missing.jsonl").exists()
