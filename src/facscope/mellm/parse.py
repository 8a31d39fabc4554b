"""Reading AUs and labels back from free text: model outputs and built targets.

:func:`parse_prediction` reads a model's answer in three passes and records which one worked
(``source``):

1. ``line`` — the structured ``ANSWER: AUs=…; emotion=…; class=…`` line the prompt asks for
   (:func:`facscope.mellm.answer.parse_answer_line`);
2. ``tags`` — an ActFER-style ``<answer>{"aus": […], "emotion": "…"}</answer>`` block, read by
   the agent's lenient parser (:func:`facscope.vlm.answers.parse_answer`);
3. ``text`` — plain prose: every AU code (``AU12``, ``AU 12``, ``L12``… after "AU") and FACS
   name (``lip corner puller``) mentioned, and the **last** emotion word written (conclusions
   come last).

A field the first pass misses is filled from the later ones. The status is ``ok`` (all from the
answer line), ``partial`` (some fields from later passes or missing) or ``failed`` (no emotion
and no AU found). It never raises.

:func:`mentioned_aus` and :func:`mentioned_emotions` list everything a text names, which is how
the tests check that a target contradicts nothing in the annotation.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from facscope.facs import AU_CATALOGUE, MEGC3, megc3, normalize_emotion
from facscope.mellm.answer import parse_answer_line

__all__ = ["PARSE_SOURCES", "Prediction", "mentioned_aus", "mentioned_emotions", "parse_prediction"]

PARSE_SOURCES = ("line", "tags", "text", "none")
_AU_CODE = re.compile(r"\bAU\s*[-_]?\s*[LRUB]?\s*(\d{1,2})", re.IGNORECASE)
_NAMES = sorted(((au.name.lower(), n) for n, au in AU_CATALOGUE.items()), key=lambda t: -len(t[0]))
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)?")
# Ordinary English words that are also emotion synonyms; only counted when asked for.
_COMMON = {"other", "others", "positive", "negative", "calm", "glad"}


def mentioned_aus(text: str) -> set[int]:
    """Every AU number ``text`` names: AU codes (``AU12``, ``AU 6``) and FACS names (any case).

    The answer line's ``AUs=`` field is included (its codes are written without "AU").
    """
    found = {int(m.group(1)) for m in _AU_CODE.finditer(text)}
    low = " ".join(text.lower().split())
    for name, number in _NAMES:
        if re.search(rf"\b{re.escape(name)}\b", low):
            found.add(number)
    line = parse_answer_line(text)
    if line is not None and line.aus:
        found |= {a.number for a in line.aus}
    return found


def mentioned_emotions(text: str, *, include_common: bool = False) -> list[str]:
    """Canonical emotions named in ``text``, in order of appearance (repeats kept).

    Words that are ordinary English as well (``other``, ``positive``, ``negative``, ``calm``,
    ``glad``) are skipped unless ``include_common``.
    """
    out = []
    for m in _WORD.finditer(text.lower()):
        word = m.group(0)
        if word in _COMMON and not include_common:
            continue
        canonical = normalize_emotion(word)
        if canonical is not None:
            out.append(canonical)
    return out


@dataclass(frozen=True)
class Prediction:
    """What a model's text says: AUs, fine-grained emotion, three-class label.

    Attributes:
        aus: AU numbers (sorted); empty when the model named none; None when unreadable.
        sides: AU number → ``"L"``/``"R"`` for the AUs the answer line gives a side.
        emotion: canonical fine-grained emotion (or a generic label as written), or None.
        coarse: ``negative``/``positive``/``surprise``, ``none``, or None when unknown; derived
            from ``emotion`` when the text gives no class.
        status: ``ok``, ``partial`` or ``failed``.
        source: which pass gave the emotion (see :data:`PARSE_SOURCES`).
    """

    aus: tuple[int, ...] | None
    emotion: str | None
    coarse: str | None
    status: str
    source: str
    sides: dict[int, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "aus": None if self.aus is None else list(self.aus),
            "sides": {str(k): v for k, v in self.sides.items()},
            "emotion": self.emotion,
            "coarse": self.coarse,
            "status": self.status,
            "source": self.source,
        }


def _emotion(value: str | None, allowed: Sequence[str] | None) -> str | None:
    if not value:
        return None
    canonical = normalize_emotion(value) or value.strip().lower()
    if allowed is not None and canonical not in allowed:
        return None
    return canonical


def _coarse(value: str | None) -> str | None:
    if value is None:
        return None
    v = value.strip().lower()
    if v in MEGC3 or v == "none":
        return v
    canonical = normalize_emotion(v)
    try:
        return megc3(canonical) if canonical else None
    except ValueError:
        return None


def parse_prediction(text: str, *, emotions: Sequence[str] | None = None) -> Prediction:
    """Read AUs, emotion and class from a model's output (see the module docstring).

    Args:
        text: the model's answer.
        emotions: canonical labels accepted as the fine-grained emotion; None accepts any.
    """
    if not isinstance(text, str) or not text.strip():
        return Prediction(None, None, None, "failed", "none")
    aus: tuple[int, ...] | None = None
    sides: dict[int, str] = {}
    emotion: str | None = None
    coarse: str | None = None
    source = "none"
    complete = False

    line = parse_answer_line(text)
    if line is not None:
        if line.aus is not None:
            aus = tuple(sorted({a.number for a in line.aus}))
            sides = {a.number: a.side for a in line.aus if a.side in ("L", "R")}
        emotion = _emotion(line.emotion, emotions)
        coarse = _coarse(line.coarse)
        if emotion is not None:
            source = "line"
        complete = aus is not None and emotion is not None and coarse is not None

    if not complete and "<answer>" in text.lower():
        from facscope.vlm.answers import parse_answer

        tagged = parse_answer(text, emotions=tuple(emotions) if emotions else _any_emotion())
        if tagged.ok:
            if aus is None:
                aus = tagged.aus
            if emotion is None and tagged.emotion is not None:
                emotion, source = tagged.emotion, "tags"

    if aus is None:
        found = mentioned_aus(text)
        aus = tuple(sorted(found)) if found else None
    if emotion is None:
        named = [e for e in mentioned_emotions(text) if emotions is None or e in emotions]
        if named:
            emotion, source = named[-1], "text"
    if coarse is None:
        coarse = _coarse(emotion) if emotion else _last_class(text)
    if aus is None and emotion is None and coarse is None:
        return Prediction(None, None, None, "failed", "none")
    status = "ok" if complete else "partial"
    return Prediction(aus, emotion, coarse, status, source, sides)


def _any_emotion() -> tuple[str, ...]:
    from facscope.facs import EMOTIONS

    return (*EMOTIONS, "repression", "others", "positive", "negative")


def _last_class(text: str) -> str | None:
    found = re.findall(r"\b(negative|positive|surprise)\b", text.lower())
    return found[-1] if found else None
