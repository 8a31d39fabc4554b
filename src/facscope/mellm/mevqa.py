"""MEGC 2025 ME-VQA question–answer pairs from instruction records.

ME-VQA turns micro-expression annotations into questions about one clip. The question types
(:data:`QUESTION_TYPES`) and their wording follow the challenge's released files:

=============  ===========================================================  =====================
type           question                                                     answer
=============  ===========================================================  =====================
``coarse``     What is the coarse expression class?                         ``positive``
``fine``       What is the fine-grained expression class?                   ``happiness``
``au_names``   What are the action units? (``What is the action unit?``)    ``cheek raiser, lip
                                                                            corner puller``
``au_present`` Is the action unit {name} shown on the face?                 ``yes`` / ``no``
``au_side``    Is the action unit {name} shown on the left or right side    ``left`` / ``right``
               of the face?
``compound``   What are the action units present, and based on them, what   one sentence naming
               is the fine-grained expression and the coarse expression     AUs → fine → coarse
               class?
=============  ===========================================================  =====================

``au_present`` asks about every annotated AU (answer ``yes``) and about ``absent`` AUs drawn
(seeded) from the common ME AU list that the sample does not show (answer ``no``); ``au_side``
only about AUs coded with a side (L/R). A record labelled ``others`` gets no ``coarse`` question
(the class is outside the three-class scheme). AU names are the FACS names in lower case.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from facscope.facs import AU, AU_CATALOGUE, ME_AUS, parse_aus

__all__ = ["ME_AUS", "QUESTION_TYPES", "au_name", "compound_answer", "vqa_items", "vqa_prompt"]

QUESTION_TYPES = ("coarse", "fine", "au_names", "au_present", "au_side", "compound")

Q_COARSE = "What is the coarse expression class?"
Q_FINE = "What is the fine-grained expression class?"
Q_AUS = "What are the action units?"
Q_AU = "What is the action unit?"
Q_PRESENT = "Is the action unit {name} shown on the face?"
Q_SIDE = "Is the action unit {name} shown on the left or right side of the face?"
Q_COMPOUND = (
    "What are the action units present, and based on them, what is the fine-grained expression "
    "and the coarse expression class?"
)


def au_name(number: int) -> str:
    """The FACS name of an AU in lower case (``lip corner puller``), or ``au61`` if unnamed."""
    info = AU_CATALOGUE.get(number)
    return info.name.lower() if info else f"au{number}"


def _names_list(aus: Sequence[AU]) -> list[str]:
    return [au_name(a) for a in dict.fromkeys(a.number for a in aus)]


def compound_answer(aus: Sequence[AU], label: str, coarse: str | None) -> str:
    """The ``compound`` answer: AUs, then the fine class, then the coarse class."""
    names = _names_list(aus)
    if not names:
        head = "No action unit is annotated"
    elif len(names) == 1:
        head = f"The action unit is {names[0]}"
    else:
        head = f"The action units are {', '.join(names[:-1])} and {names[-1]}"
    tail = (
        f"so the fine-grained expression is {label} and the coarse expression class is {coarse}"
        if coarse
        else f"so the fine-grained expression is {label}, which has no coarse expression class"
    )
    return f"{head}, {tail}."


def vqa_items(
    record: Any,
    *,
    absent: int = 1,
    types: Iterable[str] = QUESTION_TYPES,
    seed: int | str = 0,
) -> list[dict[str, Any]]:
    """The ME-VQA rows of one :class:`~facscope.mellm.records.InstructionRecord`.

    Args:
        record: the instruction record (its images, subject, AUs and labels are used).
        absent: ``no`` questions per sample for AUs it does not show.
        types: the question types to emit (see :data:`QUESTION_TYPES`).
        seed: seeds the choice of absent AUs (combined with the record id).

    Returns:
        Rows with ``id``, ``dataset``, ``image`` (the first image, build-relative; None for
        text-only records), ``images``, ``subject``, ``group``, ``sample``, ``type``,
        ``question``, ``answer`` and ``mode`` (and ``context``, the region statistics text, for a
        text-only ``stats`` record).
    """
    wanted = set(types)
    unknown = wanted - set(QUESTION_TYPES)
    if unknown:
        from facscope.errors import ConfigError

        raise ConfigError(f"question types must be among {QUESTION_TYPES}; got {sorted(unknown)}")
    aus = parse_aus(record.aus) if record.aus else ()
    rng = random.Random(f"facscope.mevqa:{seed}:{record.id}")
    qa: list[tuple[str, str, str]] = []
    if "coarse" in wanted and record.coarse:
        qa.append(("coarse", Q_COARSE, record.coarse))
    if "fine" in wanted:
        qa.append(("fine", Q_FINE, record.label))
    names = _names_list(aus)
    if "au_names" in wanted and names:
        qa.append(("au_names", Q_AU if len(names) == 1 else Q_AUS, ", ".join(names)))
    if "au_present" in wanted:
        present = list(dict.fromkeys(a.number for a in aus))
        for n in present:
            qa.append(("au_present", Q_PRESENT.format(name=au_name(n)), "yes"))
        pool = [n for n in ME_AUS if n not in present]
        for n in rng.sample(pool, min(absent, len(pool))):
            qa.append(("au_present", Q_PRESENT.format(name=au_name(n)), "no"))
    if "au_side" in wanted:
        for a in aus:
            if a.side in ("L", "R"):
                side = "left" if a.side == "L" else "right"
                qa.append(("au_side", Q_SIDE.format(name=au_name(a.number)), side))
    if "compound" in wanted:
        qa.append(("compound", Q_COMPOUND, compound_answer(aus, record.label, record.coarse)))
    images = list(record.images)
    context = None
    if record.mode == "stats":  # text-only: the question needs the statistics beside it
        from facscope.motion.stats import RegionMotion, stats_text

        context = stats_text([RegionMotion(**s) for s in record.stats])
    return [
        {
            "id": f"{record.id}#{k}",
            "dataset": record.dataset,
            "image": images[0] if images else None,
            "images": images,
            "subject": record.subject,
            "group": record.group,
            "sample": record.id,
            "type": qtype,
            "question": question,
            "answer": answer,
            "mode": record.mode,
            **({"context": context} if context else {}),
        }
        for k, (qtype, question, answer) in enumerate(qa)
    ]


def vqa_prompt(item: dict[str, Any]) -> str:
    """The user prompt of one ME-VQA row: what the input is, then the question.

    Colour-map rows state the legend (:func:`facscope.motion.colormap.legend_text`); frame rows
    say which image is the onset and which the apex; text-only rows carry the statistics.
    """
    mode = item.get("mode", "colormap")
    if mode == "colormap":
        from facscope.motion.colormap import legend_text

        head = (
            "The image is a motion-enhanced colour map of a facial micro-expression (onset to "
            f"apex): hue is the direction of motion ({legend_text()}), brightness its magnitude."
        )
    elif mode == "frames":
        head = "The images are the onset and apex frames of a facial micro-expression."
    else:
        head = item.get("context") or "Motion statistics of a facial micro-expression."
    return f"{head}\n{item['question']} Answer briefly."
