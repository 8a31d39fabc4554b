"""One options object for every clip adapter, and the apex-finder hook the motion layer fills."""

from __future__ import annotations

import dataclasses

import pytest

from facscope.data import DATASETS, load_dataset
from facscope.data import clips as clips_mod
from facscope.data.clips import CLIP_OPTIONS, ClipOptions
from facscope.errors import ConfigError
from facscope.registry import Registry


def test_clip_options_are_frozen_keyword_only_and_validated():
    opts = ClipOptions(apex="midpoint", scan=False)
    with pytest.raises(dataclasses.FrozenInstanceError):
        opts.apex = "annotated"  # type: ignore[misc]
    with pytest.raises(TypeError):
        ClipOptions("annotated")  # type: ignore[misc]
    with pytest.raises(ConfigError, match="apex must be one of"):
        ClipOptions(apex="peak")
    with pytest.raises(ConfigError, match="target must be one of"):
        ClipOptions(target="valence")
    with pytest.raises(ConfigError, match="apex_fn must be callable"):
        ClipOptions(apex_fn=3)  # type: ignore[arg-type]
    assert "strict" not in CLIP_OPTIONS and "apex_fn" in CLIP_OPTIONS


@pytest.mark.parametrize(
    ("name", "accepts"),
    [
        ("casme2", {"annotations", "frames_root", "scan", "apex", "apex_fn", "target"}),
        ("smic.hs", {"apex", "apex_fn", "target"}),
        ("dfme", {"scan", "apex", "apex_fn", "target"}),
        ("csv", {"scan", "apex", "apex_fn", "target"}),
        ("megc2019", {"scan", "apex", "apex_fn"}),
    ],
)
def test_each_clip_adapter_lists_the_options_it_takes(name, accepts, tmp_path):
    assert set(DATASETS.get(name).clip_options) == accepts
    rejected = sorted(set(CLIP_OPTIONS) - accepts)
    if rejected:
        with pytest.raises(ConfigError, match=rf"has no option\(s\) \['{rejected[0]}'\]"):
            load_dataset(name, tmp_path, **{rejected[0]: None})


@pytest.mark.filterwarnings("ignore::facscope.FacscopeDataWarning")
def test_max_motion_without_a_finder_is_a_clear_error(layouts, monkeypatch):
    root, _ = layouts["casme2"]
    monkeypatch.setattr(clips_mod, "APEX_FINDERS", Registry("apex finder"))
    with pytest.raises(ConfigError, match="import facscope.motion.apex"):
        load_dataset("casme2", root, apex="max-motion")


@pytest.mark.filterwarnings("ignore::facscope.FacscopeDataWarning")
def test_max_motion_uses_the_registered_finder(layouts, monkeypatch):
    root, _ = layouts["casme2"]
    finders: Registry[int] = Registry("apex finder")
    calls = []

    @finders.register("max_motion")
    def finder(frames, onset, offset, *, fps=None):
        calls.append(fps)
        return onset

    monkeypatch.setattr(clips_mod, "APEX_FINDERS", finders)
    ds = load_dataset("casme2", root, apex="max-motion")
    by = {s.sample_id: s for s in ds}
    assert (by["sub01/EP03_02"].apex, by["sub01/EP03_02"].apex_rule) == (10, "max-motion")
    assert calls and set(calls) == {200.0}  # the clip's fps is passed on
