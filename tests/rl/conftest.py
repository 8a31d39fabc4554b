"""Fixtures of the RL tests: tiny synthetic rows and a tiny random Qwen3-VL with scripted replies."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")


@pytest.fixture(scope="session")
def synthetic_rows():
    """Four 64-px synthetic faces: fear, happiness, fear, happiness (known face geometry)."""
    from facscope.rl.synthetic import SyntheticConfig, synthetic_rows

    return synthetic_rows(
        SyntheticConfig(n=4, size=64, emotions=("fear", "happiness"), subtle=("fear",), jitter=0.0)
    )


@pytest.fixture
def tiny_vlm():
    """A fresh tiny random Qwen3-VL (model, processor); images at most 64×64 pixels."""
    pytest.importorskip("trl")
    pytest.importorskip("torchvision")
    from facscope.vlm.tiny import build_tiny_vlm

    return build_tiny_vlm(hidden_size=16, num_heads=2, vocab_size=512)
