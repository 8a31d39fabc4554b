"""AU-grounded multi-level verifiable rewards, as pure functions and as TRL reward functions.

Four terms score one rollout; the trainer sums them with the weights of the config
(:class:`RewardWeights`):

* **format** (:func:`format_score`): the final message holds an ``<answer>`` block that parses
  (``aus`` and ``emotion``) and every tool call was well formed and ran. 1.0 for a clean answer
  and clean calls; ×0.5 if the answer needed repairs (status ``repaired`` of
  :func:`facscope.vlm.answers.parse_answer`); ×0.5 if any tool call was malformed or failed;
  0 when no answer can be read.
* **AU level** (:func:`au_f1`): F1 between the predicted and annotated AU sets.
* **region level** (:func:`region_agreement`): F1 between the sets of region groups
  (:data:`facscope.facs.REGION_GROUPS`) in which predicted and annotated AUs lie, so evidence
  in the right region earns credit even with the wrong AU number.
* **emotion** (:func:`emotion_score`): 1 if the parsed emotion, after synonym normalisation,
  equals the label.

A malformed answer (status ``failed``) scores 0 on every content term. A term whose label is
missing (no AU annotation, no emotion label) is **None**, "not applicable": TRL leaves it out
of the sum instead of counting it as 0. An annotated but empty AU set (a neutral face) is a
label: predicting no AU then scores 1.

The TRL functions (:func:`format_reward`, …) take ``(prompts, completions, environments=None,
**columns)`` and read the ``aus`` and ``emotion`` dataset columns. ``aus`` may be a FACS string
(``"6+12"``), a list of AU numbers, or None for "not annotated".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from facscope.errors import ConfigError
from facscope.facs import AU_CATALOGUE, au_numbers, normalize_emotion

__all__ = [
    "REWARD_TERMS",
    "RewardWeights",
    "au_f1",
    "au_reward",
    "completion_text",
    "emotion_reward",
    "emotion_score",
    "format_reward",
    "format_score",
    "gold_aus",
    "parse_completion",
    "region_agreement",
    "region_reward",
    "reward_functions",
    "tool_benefit_reward",
    "tool_bonus_reward",
    "tool_failures",
]

#: The reward terms, in the order the trainer passes them to TRL.
REWARD_TERMS = ("format", "au", "region", "emotion")


@dataclass(frozen=True, kw_only=True)
class RewardWeights:
    """Weights w_fmt, w_au, w_reg, w_emo of the reward terms (0 turns a term off)."""

    format: float = 0.5
    au: float = 1.0
    region: float = 0.5
    emotion: float = 1.0

    def __post_init__(self) -> None:
        for name in REWARD_TERMS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ConfigError(
                    f"reward weight {name!r} must be a finite number >= 0; got {value!r}"
                )

    def as_list(self) -> list[float]:
        return [float(getattr(self, n)) for n in REWARD_TERMS]


# --------------------------------------------------------------------------- pure terms


def _f1(pred: frozenset[Any], gold: frozenset[Any]) -> float:
    if not pred and not gold:
        return 1.0
    return 2 * len(pred & gold) / (len(pred) + len(gold))


def gold_aus(value: Any) -> frozenset[int] | None:
    """The annotated AU set of a dataset cell: a FACS string, a list of numbers, or None.

    None, NaN and the empty markers of :func:`facscope.facs.parse_aus` other than an explicit
    empty list mean "not annotated" (None). An empty list ``[]`` is an annotated empty set.
    """
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str):
        numbers = au_numbers(value)
        return numbers or None
    if isinstance(value, Iterable):
        return frozenset(int(v) for v in value)
    raise ConfigError(
        f"AU labels must be a FACS string, a list of AU numbers or None; got {value!r}"
    )


def au_f1(pred: Iterable[int] | None, gold: Iterable[int] | None) -> float | None:
    """Sample-level F1 of AU sets; None when ``gold`` is None, 0 when ``pred`` is None."""
    if gold is None:
        return None
    if pred is None:
        return 0.0
    return _f1(frozenset(pred), frozenset(gold))


def _regions(aus: Iterable[int]) -> frozenset[str]:
    return frozenset(AU_CATALOGUE[a].region for a in aus if a in AU_CATALOGUE)


def region_agreement(pred: Iterable[int] | None, gold: Iterable[int] | None) -> float | None:
    """F1 between the region groups of predicted and annotated AUs (see the module docstring).

    AUs outside the catalogue (head and eye codes) have no region and are ignored.
    """
    if gold is None:
        return None
    if pred is None:
        return 0.0
    return _f1(_regions(pred), _regions(gold))


def emotion_score(pred: str | None, gold: str | None) -> float | None:
    """1.0 if the emotions agree after synonym normalisation, else 0; None without a label."""
    label = normalize_emotion(gold) if gold is not None else None
    if label is None:
        return None
    return 1.0 if pred is not None and normalize_emotion(pred) == label else 0.0


def format_score(*, status: str, tool_failures: int = 0) -> float:
    """Format term from the answer's parse status and the number of bad tool calls."""
    if status == "failed":
        return 0.0
    if status not in ("ok", "repaired"):
        raise ConfigError(f"parse status must be 'ok', 'repaired' or 'failed'; got {status!r}")
    score = 1.0 if status == "ok" else 0.5
    return score * (0.5 if tool_failures > 0 else 1.0)


# --------------------------------------------------------------------------- completions


def _text_of(content: Any) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            str(part.get("text", ""))
            for part in content
            if isinstance(part, dict) and "text" in part
        )
    return str(content)


def completion_text(completion: Any) -> str:
    """The text of a rollout's final assistant message (a plain string completion as is)."""
    if isinstance(completion, str):
        return completion
    for message in reversed(list(completion)):
        if message.get("role") == "assistant":
            return _text_of(message.get("content"))
    return ""


def tool_failures(completion: Any) -> int:
    """Bad tool calls in a conversational completion.

    Counts tool results that report an error (the tools' ``Error: …`` text, or TRL's
    ``{'error': …}`` for an unknown tool) and assistant messages holding ``<tool_call>`` text that
    TRL could not parse into a call.
    """
    if isinstance(completion, str):
        return completion.count("<tool_call>")
    bad = 0
    for message in completion:
        role = message.get("role")
        text = _text_of(message.get("content"))
        failed_tool = role == "tool" and text.startswith(("Error:", "{'error'"))
        unparsed_call = role == "assistant" and "<tool_call>" in text
        bad += failed_tool or unparsed_call
    return bad


def parse_completion(completion: Any) -> Any:
    """The :class:`facscope.vlm.answers.ParsedAnswer` of a rollout's final message."""
    from facscope.vlm.answers import parse_answer

    return parse_answer(completion_text(completion))


# --------------------------------------------------------------------------- TRL functions


def _column(columns: dict[str, Any], name: str, n: int) -> list[Any]:
    values = columns.get(name)
    if values is None:
        return [None] * n
    if len(values) != n:
        raise ConfigError(f"column {name!r} has {len(values)} values for {n} completions")
    return list(values)


def format_reward(
    prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
) -> list[float]:
    """TRL reward: the format term of each completion."""
    return [
        format_score(status=parse_completion(c).status, tool_failures=tool_failures(c))
        for c in completions
    ]


def _au_term(answer: Any, gold: Any) -> float | None:
    """AU-level F1 against the ``aus`` column (None where not annotated)."""
    return au_f1(answer.aus if answer.ok else None, gold_aus(gold))


def _region_term(answer: Any, gold: Any) -> float | None:
    """region-group agreement against the ``aus`` column."""
    return region_agreement(answer.aus if answer.ok else None, gold_aus(gold))


def _emotion_term(answer: Any, gold: Any) -> float | None:
    """emotion correctness against the ``emotion`` column."""
    return emotion_score(answer.emotion if answer.ok else None, gold)


def _answer_reward(
    name: str, label: str, term: Callable[[Any, Any], float | None]
) -> Callable[..., list[float | None]]:
    """The TRL reward function ``name``: ``term`` of each completion's parsed answer
    (:func:`parse_completion`) and its row's ``label`` cell."""

    def reward(
        prompts: Sequence[Any], completions: Sequence[Any], **columns: Any
    ) -> list[float | None]:
        golds = _column(columns, label, len(completions))
        return [term(parse_completion(c), g) for c, g in zip(completions, golds)]

    reward.__name__ = reward.__qualname__ = name  # TRL logs rewards under the function's name
    reward.__doc__ = f"TRL reward: {term.__doc__}"
    return reward


au_reward = _answer_reward("au_reward", "aus", _au_term)
region_reward = _answer_reward("region_reward", "aus", _region_term)
emotion_reward = _answer_reward("emotion_reward", "emotion", _emotion_term)


def _zoomed(environments: Sequence[Any] | None, n: int) -> list[bool]:
    if environments is None:
        return [False] * n
    return [int(getattr(e, "zoom_count", 0)) > 0 for e in environments]


def tool_bonus_reward(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    environments: Sequence[Any] | None = None,
    **columns: Any,
) -> list[float | None]:
    """TRL reward of the DeepEyes baseline: 1 if the rollout zoomed and got the emotion right.

    The bonus size is this term's weight. None where the emotion label is missing.
    """
    from facscope.rl.credit import tool_success_bonus

    correct = emotion_reward(prompts, completions, **columns)
    bonus = tool_success_bonus(
        [None if c is None else c == 1.0 for c in correct], _zoomed(environments, len(completions))
    )
    return [None if c is None else b for c, b in zip(correct, bonus)]


def tool_benefit_reward(
    prompts: Sequence[Any],
    completions: Sequence[Any],
    environments: Sequence[Any] | None = None,
    **columns: Any,
) -> list[float | None]:
    """TRL reward of the AdaTooler-V baseline: the sample's offline ``tool_benefit`` if it zoomed.

    Reads the ``tool_benefit`` column (see :func:`facscope.rl.credit.tool_benefit_score`);
    rollouts that did not zoom get 0, samples without a score None.
    """
    benefits = _column(columns, "tool_benefit", len(completions))
    zoomed = _zoomed(environments, len(completions))
    out: list[float | None] = []
    for b, z in zip(benefits, zoomed):
        if b is None or (isinstance(b, float) and math.isnan(b)):
            out.append(None)
        else:
            out.append(float(b) if z else 0.0)
    return out


def reward_functions(
    weights: RewardWeights, *, extra: Sequence[tuple[Callable[..., list[Any]], float]] = ()
) -> tuple[list[Callable[..., list[Any]]], list[float]]:
    """The TRL reward functions of the four terms (and ``extra`` ones) with their weights."""
    funcs: list[Callable[..., list[Any]]] = [
        format_reward,
        au_reward,
        region_reward,
        emotion_reward,
    ]
    ws = weights.as_list()
    for func, w in extra:
        funcs.append(func)
        ws.append(float(w))
    return funcs, ws
