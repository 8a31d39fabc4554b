"""The ``transformers`` backend: a local Hugging Face VLM (Qwen2.5-VL, Qwen3-VL).

Loads a model id or a local directory with :func:`facscope.vlm.loading.load_vlm` (local files only
unless ``allow_download=True``). Conversations are rendered with the processor's chat template (tools
passed as ``tools=``), every image in the conversation goes to the processor in order — the
input image and each zoom — and a batch of conversations is generated in one padded call with
``stop_strings=["</tool_call>"]``.

Chat templates: Qwen2.5-VL's stock template renders neither tools nor tool results, so it is
replaced by the tool-capable ``qwen3_vl.jinja`` template shipped inside TRL (the template TRL's
GRPO trainer trains with). Without TRL the tool list is written into the system prompt instead.

Box coordinates: Qwen3-VL writes boxes relative to the image on a 0–1000 scale; Qwen2.5-VL in
pixels of the image as the processor resized it (``smart_resize``). The backend reports which,
and the tools convert to and from original-image pixels.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from facscope.errors import ConfigError
from facscope.vlm.backends.base import (
    BACKENDS,
    Backend,
    Generation,
    GenerationRequest,
    message_images,
)
from facscope.vlm.loading import DTYPES
from facscope.vlm.templates import align_chat_template, supports_tools, tool_template
from facscope.vlm.toolcalls import render_tool_section

__all__ = ["TransformersBackend", "supports_tools", "tool_template"]

#: model_type → how the family writes boxes
FAMILY_COORDINATES = {
    "qwen3_vl": "relative-1000",
    "qwen3_vl_moe": "relative-1000",
    "qwen2_5_vl": "resized",
    "qwen2_vl": "resized",
}


@BACKENDS.register("transformers")
class TransformersBackend(Backend):
    """A local Hugging Face vision-language model (Qwen2.5-VL, Qwen3-VL) run with transformers.

    Args:
        model: a model id or local directory.
        model_obj / processor: an already loaded model and processor (``model`` is then only a
            label).
        allow_download: let transformers fetch ``model`` from the Hub (off: local files only).
        device_map: passed to ``from_pretrained`` (``"auto"`` spreads over GPUs); None puts the
            model on the GPU when there is one, else the CPU.
        dtype: ``auto``, ``float32``, ``bfloat16`` or ``float16``.
        batch_size: conversations per generate call.
        temperature: 0 is greedy decoding.
        max_new_tokens: default token budget per turn.
        min_pixels / max_pixels: the image processor's resize bounds (token budget per image).
        coordinates: ``auto`` (from the model family) or an explicit coordinate system.
        attn_implementation: e.g. ``sdpa`` or ``flash_attention_2``.
    """

    name = "transformers"
    described = (
        "model=model_name",
        "family",
        "coordinates",
        "chat_template=template_source",
        "temperature",
        "batch_size",
    )

    def __init__(
        self,
        *,
        model: str | Path | None = None,
        model_obj: Any = None,
        processor: Any = None,
        allow_download: bool = False,
        device_map: str | dict[str, Any] | None = None,
        dtype: str = "auto",
        batch_size: int = 8,
        temperature: float = 0.0,
        max_new_tokens: int = 1024,
        min_pixels: int | None = None,
        max_pixels: int | None = None,
        coordinates: str = "auto",
        attn_implementation: str | None = None,
    ) -> None:
        if dtype not in DTYPES:
            raise ConfigError(f"dtype must be one of {DTYPES}; got {dtype!r}")
        if batch_size < 1 or max_new_tokens < 1 or temperature < 0:
            raise ConfigError(
                f"need batch_size >= 1, max_new_tokens >= 1, temperature >= 0; got "
                f"{batch_size}, {max_new_tokens}, {temperature}"
            )
        if model is None and model_obj is None:
            raise ConfigError(
                "the transformers backend needs model=<a Hugging Face model id or a local "
                "directory> (e.g. --model Qwen/Qwen3-VL-4B-Instruct with a local copy)"
            )
        self.model_name = str(model) if model is not None else type(model_obj).__name__
        self.batch_size = int(batch_size)
        self.temperature = float(temperature)
        self.max_new_tokens = int(max_new_tokens)
        if model_obj is None:
            model_obj, processor = self._load(
                model,
                allow_download,
                device_map,
                dtype,
                attn_implementation,  # type: ignore[arg-type]
            )
        elif processor is None:
            raise ConfigError("model_obj needs its processor= too")
        self.model = model_obj
        self.processor = processor
        ip = getattr(processor, "image_processor", None)
        if ip is not None and (min_pixels or max_pixels):
            lo, hi = _pixel_bounds(ip)
            ip.size = {
                "shortest_edge": int(min_pixels or lo),
                "longest_edge": int(max_pixels or hi),
            }
        processor.tokenizer.padding_side = "left"
        self.family = str(getattr(getattr(model_obj, "config", None), "model_type", "unknown"))
        self.coordinates = (
            FAMILY_COORDINATES.get(self.family, "pixels") if coordinates == "auto" else coordinates
        )
        self.template_source = align_chat_template(processor)
        self.tools_in_system = not supports_tools(getattr(processor, "chat_template", None))
        if self.tools_in_system:
            self.template_source = "model (tools in the system prompt)"

    @staticmethod
    def _load(
        model: str | Path, allow_download: bool, device_map: Any, dtype: str, attn: str | None
    ) -> tuple[Any, Any]:
        from facscope.vlm.loading import load_vlm

        net, processor = load_vlm(
            model,
            allow_download=allow_download,
            dtype=dtype,
            device_map=device_map,
            attn_implementation=attn,
        )
        if device_map is None:
            import torch

            net = net.to("cuda" if torch.cuda.is_available() else "cpu")
        net.eval()
        return net, processor

    def model_size(self, image_size: tuple[int, int]) -> tuple[int, int] | None:
        ip = getattr(self.processor, "image_processor", None)
        if ip is None:
            return None
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize

        w, h = image_size
        lo, hi = _pixel_bounds(ip)
        factor = int(ip.patch_size) * int(ip.merge_size)
        rh, rw = smart_resize(h, w, factor=factor, min_pixels=int(lo), max_pixels=int(hi))
        return int(rw), int(rh)

    # ------------------------------------------------------------------ generation

    def render(self, req: GenerationRequest) -> str:
        """The prompt text of one request (chat template applied, generation prompt added)."""
        messages = req.messages
        tools = list(req.tools) or None
        if tools and self.tools_in_system:
            first = dict(messages[0])
            first["content"] = f"{first['content']}\n\n{render_tool_section(tools)}"
            messages, tools = [first, *messages[1:]], None
        return self.processor.apply_chat_template(
            messages, tools=tools, tokenize=False, add_generation_prompt=True
        )

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        out: list[Generation] = []
        for i in range(0, len(requests), self.batch_size):
            out += self._chunk(requests[i : i + self.batch_size])
        return out

    def _chunk(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        import torch

        start = time.perf_counter()
        try:
            texts = [self.render(r) for r in requests]
            images = [im.convert("RGB") for r in requests for im in message_images(r.messages)]
            inputs = self.processor(
                text=texts, images=images or None, padding=True, return_tensors="pt"
            )
            inputs = inputs.to(self.model.device)
            stops = sorted({s for r in requests for s in r.stop})
            budget = max((r.max_new_tokens or self.max_new_tokens) for r in requests)
            kwargs: dict[str, Any] = {
                "max_new_tokens": int(budget),
                "do_sample": self.temperature > 0,
                "pad_token_id": self.processor.tokenizer.pad_token_id,
            }
            if self.temperature > 0:
                kwargs["temperature"] = self.temperature
            if stops:
                kwargs["stop_strings"] = stops
                kwargs["tokenizer"] = self.processor.tokenizer
            with torch.inference_mode():
                ids = self.model.generate(**inputs, **kwargs)
            new = ids[:, inputs["input_ids"].shape[1] :]
            decoded = self.processor.batch_decode(new, skip_special_tokens=True)
        except Exception as exc:  # e.g. out of memory: every request of the chunk fails
            message = f"{type(exc).__name__}: {exc}"
            return [
                Generation("", error=message, seconds=time.perf_counter() - start) for _ in requests
            ]
        seconds = time.perf_counter() - start
        results = []
        for r, text, row in zip(requests, decoded, new):
            for s in r.stop:  # other rows may have run on past this one's stop string
                k = text.find(s)
                if k >= 0:
                    text = text[: k + len(s)]
            n_tokens = int((row != self.processor.tokenizer.pad_token_id).sum())
            results.append(Generation(text, seconds=seconds, usage={"completion_tokens": n_tokens}))
        return results


def _pixel_bounds(image_processor: Any) -> tuple[int, int]:
    """(min_pixels, max_pixels) of a Qwen-VL image processor."""
    size = image_processor.size
    get = size.get if hasattr(size, "get") else lambda k: getattr(size, k, None)
    return int(get("shortest_edge") or 56 * 56), int(get("longest_edge") or 28 * 28 * 1280)
