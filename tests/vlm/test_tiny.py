"""The tiny offline VLMs: offline tokenizer, config checks, save/load, scripted generation."""

from __future__ import annotations

import pytest

pytest.importorskip("transformers")
pytest.importorskip("torchvision")

from facscope.errors import ConfigError
from facscope.testing.tiny_vlm import ScriptedGeneration
from facscope.vlm.tiny import (
    SPECIAL_TOKENS,
    TOOL_TOKENS,
    TinyVLMConfig,
    build_tiny_vlm,
    build_tokenizer,
    save_tiny_vlm,
)


@pytest.fixture(scope="module")
def tokenizer():
    return build_tokenizer(400)


def test_tokenizer_round_trips_and_keeps_tool_tags(tokenizer):
    text = 'Why? <tool_call>\n{"name": "zoom", "arguments": {"region": "mouth"}}\n</tool_call> é😀'
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    for t in TOOL_TOKENS:  # single added tokens, not special: decoding keeps them
        (tid,) = tokenizer.encode(t, add_special_tokens=False)
        assert tokenizer.decode([tid], skip_special_tokens=True) == t
    for t in SPECIAL_TOKENS:  # special tokens are single ids and vanish on decoding
        (tid,) = tokenizer.encode(t, add_special_tokens=False)
        assert tokenizer.decode([tid], skip_special_tokens=True) == ""
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.pad_token == "<|endoftext|>"


@pytest.mark.parametrize("family", ["qwen3_vl", "qwen2_5_vl"])
def test_tiny_models_are_tiny_and_load_by_path(family, tmp_path):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = save_tiny_vlm(tmp_path / family, family=family, hidden_size=16, num_heads=2)
    model = AutoModelForImageTextToText.from_pretrained(path, local_files_only=True)
    processor = AutoProcessor.from_pretrained(path, local_files_only=True)
    assert model.config.model_type == family
    assert sum(p.numel() for p in model.parameters()) < 200_000
    assert processor.tokenizer.convert_tokens_to_ids("<|image_pad|>") == model.config.image_token_id
    assert (
        "tools" in processor.chat_template
        if family == "qwen3_vl"
        else "tools" not in processor.chat_template
    )


def test_scripted_generation_records_and_restores():
    import numpy as np
    from PIL import Image

    model, processor = build_tiny_vlm(hidden_size=16, num_heads=2)
    original = model.generate
    image = Image.fromarray(np.zeros((40, 40, 3), np.uint8))
    msgs = [
        {
            "role": "user",
            "content": [{"type": "image", "image": image}, {"type": "text", "text": "hi"}],
        }
    ]
    text = processor.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    inputs = processor(text=[text, text], images=[image, image], padding=True, return_tensors="pt")
    with ScriptedGeneration(
        model, processor, ["<tool_call>{}</tool_call>", lambda call: f"batch {call['batch']}"]
    ) as s:
        out = model.generate(**inputs, max_new_tokens=8)
    assert model.generate == original
    new = out[:, inputs["input_ids"].shape[1] :]
    assert processor.batch_decode(new, skip_special_tokens=True) == [
        "<tool_call>{}</tool_call>",
        "batch 2",
    ]
    assert (
        s.calls[0]["images"] == 2 and s.calls[0]["batch"] == 2 and s.calls[0]["max_new_tokens"] == 8
    )


def test_config_checks():
    with pytest.raises(ConfigError, match="family"):
        TinyVLMConfig(family="llava")
    with pytest.raises(ConfigError, match="multiple of 8"):
        TinyVLMConfig(hidden_size=24, num_heads=2)
