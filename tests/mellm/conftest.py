"""Shared fixtures: a tiny synthetic CASME II dataset and its instruction build (64-px maps)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest

from facscope.errors import FacscopeDataWarning


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    """3 synthetic subjects × 2 clips in the CASME II layout (2 px motion, 320×240 frames)."""
    from facscope.synth.dataset import write_dataset

    root = tmp_path_factory.mktemp("mellm_synth") / "casme2"
    write_dataset(
        root, "casme2", subjects=3, clips_per_subject=2, amplitude=2.0, seed=5,
        frame_size=(320, 240), progress=False,
    )  # fmt: skip
    return root


@pytest.fixture(scope="session")
def truth(synth_root) -> dict[str, dict]:
    """truth.json samples by sample id (true AUs with side/intensity, emotion)."""
    data = json.loads((synth_root / "truth.json").read_text())
    return {s["sample_id"]: s for s in data["samples"]}


@pytest.fixture(scope="session")
def samples(synth_root):
    from facscope.data import load_dataset

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FacscopeDataWarning)  # laterality notes of the adapter
        return list(load_dataset("casme2", synth_root))


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory, samples) -> Path:
    """A colour-map build of the synthetic dataset: flow on 128-px crops, 64-px images (small
    images for the tiny VLM)."""
    from facscope.mellm.build import BuildConfig, build_records
    from facscope.mellm.formats import write_format
    from facscope.motion.pipeline import MotionConfig

    out = tmp_path_factory.mktemp("mellm_build") / "build"
    cfg = BuildConfig(motion=MotionConfig(size=128), image_size=64)
    result = build_records(samples, out, cfg, progress=False)
    assert not result.failures, result.failures
    write_format("mevqa", result.records, out)
    return out
