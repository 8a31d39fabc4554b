"""Bad files given to MELLM commands: one clear error naming the file, never a traceback."""

from __future__ import annotations

import json

import pytest

from facscope.errors import ConfigError, InputFileError
from facscope.mellm.build import check_preprocessed
from facscope.mellm.predict import read_generated
from facscope.mellm.splits import read_split
from facscope.motion.pipeline import MotionConfig


def test_a_binary_predictions_file_is_refused(tmp_path):
    p = tmp_path / "preds.jsonl"
    p.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(InputFileError, match="no prediction rows"):
        read_generated(p)


def test_predictions_keep_their_readable_rows_around_a_garbled_line(tmp_path):
    p = tmp_path / "preds.jsonl"
    p.write_bytes(b'{"id": "a", "text": "x"}\n\xff\xfe\n{"id": "b", "text": "y"}\n')
    assert sorted(read_generated(p)) == ["a", "b"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"hello world\n", "not valid JSON"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b'{"name": "x"}', "not a split file"),
    ],
)
def test_a_file_that_is_no_split_is_refused(tmp_path, content, message):
    p = tmp_path / "split.json"
    p.write_bytes(content)
    with pytest.raises(InputFileError, match=message):
        read_split(p)


def test_a_preprocessed_folder_with_other_motion_settings_is_refused(tmp_path):
    made = MotionConfig(size=512, flow="tvl1.fine")
    (tmp_path / "config.json").write_text(json.dumps(made.to_dict()), encoding="utf-8")
    check_preprocessed(tmp_path, made)  # the same settings are fine
    with pytest.raises(ConfigError, match=r"flow: 'tvl1.fine' there, 'tvl1' here; size: 512"):
        check_preprocessed(tmp_path, MotionConfig())
    with pytest.raises(InputFileError, match="not a 'facscope preprocess' output"):
        check_preprocessed(tmp_path / "elsewhere", made)
