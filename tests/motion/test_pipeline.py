"""The onset → apex pipeline end to end on a clip with known motion; its record and files."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.motion.clip import Clip
from facscope.motion.pipeline import OUTPUT_FILES, MotionConfig, analyse_clip, analyse_pair


def test_clip_pipeline_finds_the_motion(demo):
    clip = Clip.from_frames(demo.frames, fps=demo.fps)
    res = analyse_clip(clip)  # apex spotted
    assert (res.onset, res.apex, res.offset) == (0, demo.apex, len(demo.frames) - 1)
    assert res.apex_rule == "max-motion" and res.apex_signal == "diff"
    assert res.flow.shape == (256, 256, 2) and res.colormap.shape == (256, 256, 3)
    assert res.stack.shape == (28, 28, 3) and res.strain.shape == (256, 256)
    stats = {r.region: r for r in res.regions}
    for brow in ("left_brow", "right_brow"):
        assert stats[brow].direction == "up" and stats[brow].mean > 0.3
    # lip corners go up and outward: the subject's left corner (viewer's right) up-right
    assert stats["left_lip_corner"].direction == "up-right"
    assert stats["right_lip_corner"].direction == "up-left"
    assert stats["chin"].mean < 0.1
    # the flow agrees with the truth mapped into the crop
    al = res.alignment
    truth = al.vectors_from_source(al.sample_source_field(demo.flow))
    moving = np.hypot(truth[..., 0], truth[..., 1]) > 0.3
    err = np.hypot(*(res.flow - truth)[moving].T).mean()
    assert err < 0.25


def test_pair_pipeline_with_global_fit_and_json_record(demo):
    cfg = MotionConfig(global_model="similarity", region_set="mellm29", flow="dis")
    res = analyse_pair(demo.frames[0], demo.frames[demo.apex], config=cfg)
    rec = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert rec["apex_rule"] == "annotated" and rec["onset"] is None
    assert rec["flow"]["method"] == "dis" and rec["flow"]["params"]["preset"] == "medium"
    assert rec["compensation"]["global_model"] == "similarity"
    assert len(rec["compensation"]["global_matrix"]) == 2
    assert len(rec["regions"]) == 29
    with pytest.raises(ConfigError, match="same size"):
        analyse_pair(demo.frames[0], demo.frames[0][:100], config=cfg)


def test_save_writes_every_output(tmp_path, small_demo):
    clip = Clip.from_frames(small_demo.frames, fps=200)
    res = analyse_clip(clip, apex=small_demo.apex, config=MotionConfig(flow="farneback"))
    out = res.save(tmp_path / "s1", extra={"id": "s1"})
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    assert np.load(out / "flow.npy").shape == (256, 256, 2)
    meta = json.loads((out / "meta.json").read_text())
    assert meta["id"] == "s1" and meta["result"]["apex_rule"] == "annotated"
    assert meta["config"]["flow"] == "farneback"
    assert MotionConfig.from_dict(meta["config"]) == res.config
    assert json.loads((out / "regions.json").read_text())["regions"][0]["region"] == "forehead"


def test_config_checks():
    with pytest.raises(ConfigError, match=r"flow method must be one of \[.*'tvl1'"):
        MotionConfig(flow="raft")
    with pytest.raises(ConfigError, match=r"motion config: unknown key"):
        MotionConfig.from_dict({"flow": "dis", "windw": 3})
    with pytest.raises(ConfigError, match="nose_window"):
        MotionConfig(nose_window=4)
    with pytest.raises(ConfigError, match="apex_signal"):
        MotionConfig(apex_signal="energy")
