"""Cold-start data: labelled images turned into tool-use trajectories for supervised warm-up.

For each labelled row the real tools (:class:`facscope.rl.env.FaceEnv`) are run along a fixed
expert plan — ``detect_faces`` → ``align_face`` → ``zoom`` into the most telling region of each
labelled AU (:func:`facscope.face.regions_for_au`, capped at ``max_zooms``) — and the episode is
written in TRL's conversational format: assistant turns with ``tool_calls``, ``tool`` turns with
the tools' text and images, and a final turn that lists the AU evidence region by region and
ends with the answer block (:func:`facscope.vlm.answers.format_answer`).

Storage follows what ``datasets`` (Arrow) can hold: images are ``{"type": "image"}``
placeholders in the messages and live, in order of appearance, in the ``images`` column;
tool-call arguments are JSON strings (Arrow would otherwise pad every call with the other
tools' argument names). :class:`TrajectoryCollator` puts the images back and trains only the
assistant turns (tool results and prompts are masked).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from facscope.errors import ConfigError

__all__ = [
    "TrajectoryCollator",
    "assistant_mask",
    "episode_tokens",
    "fill_images",
    "plan_zooms",
    "trajectories",
    "trajectory",
]


def plan_zooms(aus: Iterable[int], max_zooms: int) -> list[str]:
    """The regions to zoom into for ``aus``: each AU's most telling region, deduplicated."""
    from facscope.face.regions import AU_REGIONS

    regions: list[str] = []
    for au in sorted(set(aus)):
        if au in AU_REGIONS and AU_REGIONS[au][0] not in regions:
            regions.append(AU_REGIONS[au][0])
    return regions[:max_zooms]


def _evidence(aus: Sequence[int]) -> str:
    from facscope.facs import AU_CATALOGUE, REGION_GROUPS

    lines = []
    for group in REGION_GROUPS:
        found = [a for a in aus if a in AU_CATALOGUE and AU_CATALOGUE[a].region == group]
        for a in found:
            au = AU_CATALOGUE[a]
            lines.append(f"{group.capitalize()}: AU{a} ({au.name}) — {au.motion}.")
    return "\n".join(lines) if lines else "No Action Unit is clearly active: the face is at rest."


def _blocks_to_message(blocks: list[dict[str, Any]], images: list[Any]) -> list[dict[str, Any]]:
    content = []
    for block in blocks:
        if block.get("type") == "image":
            images.append(block["image"])
            content.append({"type": "image"})
        else:
            content.append({"type": "text", "text": str(block.get("text", ""))})
    return content


def trajectory(
    row: Mapping[str, Any],
    *,
    tools_config: Any = None,
    system: str | None = None,
    max_zooms: int | None = None,
    passive: bool = False,
) -> dict[str, Any]:
    """One expert tool-use episode for a labelled row (``image``, ``aus``, ``emotion``).

    With ``passive=True`` the episode has no tool calls: the row's image (the aligned face, see
    :func:`facscope.rl.data.rl_rows`) is followed directly by the evidence and the answer.

    Returns:
        ``{"messages": [...], "images": [...]}`` in the storage format of the module docstring.
    """
    from facscope.rl.data import build_prompt
    from facscope.rl.env import FaceEnv
    from facscope.rl.rewards import gold_aus
    from facscope.vlm.answers import format_answer

    env = FaceEnv(tools_config)
    budget = env.config.max_zooms if max_zooms is None else max_zooms
    emotion = row.get("emotion")
    if not emotion:
        raise ConfigError("a cold-start trajectory needs an emotion label; this row has none")
    aus = sorted(gold_aus(row.get("aus")) or ())
    env.reset(**dict(row))
    prompt = build_prompt(system=system, max_zooms=env.config.max_zooms, passive=passive)
    images: list[Any] = [row["image"]]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": [{"type": "text", "text": prompt[0]["content"]}]},
        {
            "role": "user",
            "content": [{"type": "image"}, {"type": "text", "text": prompt[1]["content"]}],
        },
    ]

    def step(say: str, name: str, arguments: dict[str, Any]) -> None:
        call = {"type": "function", "function": {"name": name, "arguments": json.dumps(arguments)}}
        messages.append(
            {"role": "assistant", "content": [{"type": "text", "text": say}], "tool_calls": [call]}
        )
        blocks = getattr(env, name)(**arguments)
        if env.records and not env.records[-1].ok:
            raise ConfigError(
                f"the expert plan failed at {name}({arguments}): {env.records[-1].error}"
            )
        messages.append(
            {"role": "tool", "name": name, "content": _blocks_to_message(blocks, images)}
        )

    if not passive:
        step("First I locate the face.", "detect_faces", {})
        step("I align the largest face to an upright view.", "align_face", {"face_index": 0})
        for region in plan_zooms(aus, budget):
            say = f"I zoom into the {region.replace('_', ' ')} to check the Action Units there."
            step(say, "zoom", {"region": region})
    final = f"{_evidence(aus)}\nThese Action Units together indicate {emotion}.\n{format_answer(emotion, aus)}"
    messages.append({"role": "assistant", "content": [{"type": "text", "text": final}]})
    return {"messages": messages, "images": images}


def trajectories(rows: Iterable[Mapping[str, Any]], **kwargs: Any) -> Any:
    """A :class:`datasets.Dataset` of :func:`trajectory` episodes (columns ``messages``, ``images``)."""
    from datasets import Dataset

    episodes = [trajectory(row, **kwargs) for row in rows]
    if not episodes:
        raise ConfigError("no rows to turn into trajectories")
    return Dataset.from_list(episodes)


# --------------------------------------------------------------------------- collation


def episode_tokens(
    row: Mapping[str, Any],
    processor: Any,
    tools: Sequence[Any],
    *,
    tools_config: Any = None,
    system: str | None = None,
) -> tuple[int, int]:
    """``(prompt, completion)`` token counts of the expert episode of ``row`` as the policy sees
    it, image tokens included. The completion holds the assistant turns and the tool responses:
    what TRL's ``max_completion_length`` bounds in a tool rollout, so a budget below it cuts an
    episode that follows the expert plan before its answer."""
    episode = trajectory(
        {k: v for k, v in row.items() if k != "prompt"}, tools_config=tools_config, system=system
    )
    messages = fill_images(episode["messages"], episode["images"])

    def count(msgs: list[dict[str, Any]], **kw: Any) -> int:
        out = processor.apply_chat_template(
            msgs, tools=list(tools), tokenize=True, return_dict=True, return_tensors="pt", **kw
        )
        return int(out["input_ids"].shape[1])

    prompt = count(messages[:2], add_generation_prompt=True)
    return prompt, count(messages) - prompt


def fill_images(
    messages: Sequence[Mapping[str, Any]], images: Sequence[Any]
) -> list[dict[str, Any]]:
    """Messages with every ``{"type": "image"}`` placeholder (tool turns included) filled in order,
    ``None`` fields left by Arrow dropped, and tool-call arguments parsed back from JSON."""
    out: list[dict[str, Any]] = []
    it = iter(images)
    for message in messages:
        msg = {k: v for k, v in message.items() if v is not None}
        content = []
        for part in msg.get("content") or []:
            part = {k: v for k, v in part.items() if v is not None}
            if part.get("type") == "image" and "image" not in part:
                try:
                    part["image"] = next(it)
                except StopIteration:
                    raise ConfigError(
                        "more image placeholders than images in a trajectory"
                    ) from None
            content.append(part)
        msg["content"] = content
        if "tool_calls" in msg:
            msg["tool_calls"] = [
                {**c, "function": {**c["function"], "arguments": _args(c["function"]["arguments"])}}
                for c in msg["tool_calls"]
            ]
        out.append(msg)
    if next(it, None) is not None:
        raise ConfigError("more images than image placeholders in a trajectory")
    return out


def _args(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def assistant_mask(input_ids: Any, tokenizer: Any) -> Any:
    """1 on the tokens of assistant turns (after ``<|im_start|>assistant\\n`` up to and including
    ``<|im_end|>``), 0 elsewhere: the Qwen chat format."""
    import torch

    head = tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False)
    end_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
    mask = torch.zeros_like(input_ids)
    for b, row in enumerate(input_ids.tolist()):
        t = 0
        while t <= len(row) - len(head):
            if row[t : t + len(head)] == head:
                start = t + len(head)
                stop = next((k for k in range(start, len(row)) if row[k] == end_id), len(row) - 1)
                mask[b, start : stop + 1] = 1
                t = stop + 1
            else:
                t += 1
    return mask


class TrajectoryCollator:
    """Batches trajectories for ``SFTTrainer``: tokenises with the processor's chat template and
    labels only assistant tokens (tool results, prompts and padding are -100).

    Args:
        processor: the VLM processor (its chat template must render tools and tool images).
        tools: the tools (functions or schemas) rendered into the system prompt, as GRPO renders
            them, so the warm-up sees the prompt RL will use.
        max_length: refuse longer sequences (image tokens included); None accepts any length.
    """

    def __init__(
        self, processor: Any, *, tools: Sequence[Any] | None = None, max_length: int | None = None
    ) -> None:
        self.processor = processor
        self.tools = list(tools) if tools else None
        self.max_length = max_length

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        conversations = [fill_images(ex["messages"], ex.get("images") or []) for ex in examples]
        out = self.processor.apply_chat_template(
            conversations,
            tools=self.tools,
            tokenize=True,
            return_dict=True,
            return_tensors="pt",
            processor_kwargs={"padding": True, "padding_side": "right"},
        )
        ids = out["input_ids"]
        if self.max_length is not None and ids.shape[1] > self.max_length:
            raise ConfigError(
                f"a trajectory has {ids.shape[1]} tokens, more than max_length={self.max_length}; "
                "raise max_length or lower the processor's max_pixels (cutting image tokens would "
                "break the images)"
            )
        labels = ids.clone()
        keep = assistant_mask(ids, self.processor.tokenizer).bool() & out["attention_mask"].bool()
        labels[~keep] = -100
        out["labels"] = labels
        return dict(out)
