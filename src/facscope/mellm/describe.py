"""FACS-grounded descriptions: the targets of MELLM instruction data.

:func:`describe` turns an annotation (AUs, emotion label) and the *measured* motion of each
facial region into a three-step description:

1. **regions and AUs** — the regions that move (:func:`facscope.mellm.regions.moving_regions`)
   with their direction and strength (colour and brightness for colour-map input, magnitudes for
   statistics input), then each annotated AU with its FACS name, side and intensity when coded,
   and the moving regions that show it (or a note that its region barely moves);
2. **reasoning** — from the AU combination to the emotion through the EMFACS prototypes
   (:data:`facscope.facs.EMOTION_PROTOTYPES`), then the MEGC three-class grouping;
3. **conclusion** — one sentence, then the structured answer line
   (:func:`facscope.mellm.answer.format_answer_line`).

Phrasings are drawn per sample from :mod:`facscope.mellm.templates` with a seeded generator,
so a dataset gets varied wording and the same seed gives the same text. Nothing in a target
comes from anywhere but the annotation and the measurement: no AU outside the annotation and no
emotion other than the label is ever named.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

from facscope.errors import ConfigError
from facscope.facs import AU, AU_CATALOGUE, EMOTION_PROTOTYPES, megc3
from facscope.mellm import templates as T
from facscope.mellm.answer import format_answer_line
from facscope.mellm.regions import (
    main_regions,
    moving_regions,
    region_phrase,
    regions_prose,
    strength_word,
)
from facscope.motion.stats import RegionMotion

__all__ = ["INPUT_MODES", "DescribeOptions", "Description", "au_phrase", "describe"]

#: What the model sees: the colour map, the onset + apex frames, or the statistics as text.
INPUT_MODES = ("colormap", "frames", "stats")


@dataclass(frozen=True, kw_only=True)
class DescribeOptions:
    """How descriptions are written.

    Attributes:
        mode: the model's input (see :data:`INPUT_MODES`); colour words for ``colormap``,
            magnitudes for ``stats``, direction and strength words for ``frames``.
        relative, noise_factor, floor: the moving-region rule
            (:func:`~facscope.mellm.regions.moving_regions`).
        max_regions: describe at most this many moving regions (strongest first); None = all.
        explain_unattributed: mention moving regions that no annotated AU accounts for.
    """

    mode: str = "colormap"
    relative: float = 0.2
    noise_factor: float = 3.0
    floor: float = 0.03
    max_regions: int | None = None
    explain_unattributed: bool = True

    def __post_init__(self) -> None:
        if self.mode not in INPUT_MODES:
            raise ConfigError(f"mode must be one of {INPUT_MODES}; got {self.mode!r}")
        if self.max_regions is not None and self.max_regions < 1:
            raise ConfigError(f"max_regions must be >= 1 or None; got {self.max_regions}")
        if not 0 <= self.relative <= 1 or self.floor < 0 or self.noise_factor < 0:
            raise ConfigError(
                f"need 0 <= relative <= 1, noise_factor >= 0 and floor >= 0; got "
                f"{self.relative}, {self.noise_factor}, {self.floor}"
            )


@dataclass(frozen=True)
class Description:
    """A built target and the facts it states.

    Attributes:
        text: the whole target (three steps and the answer line).
        steps: the three step paragraphs, without the answer line.
        answer: the structured answer line.
        moving: the regions described as moving, strongest first.
        aus: the annotated AUs, as given.
        label: the fine-grained label; coarse: its MEGC three-class label (None: outside).
        evidence: AU number → the moving regions named as showing it.
    """

    text: str
    steps: tuple[str, str, str]
    answer: str
    moving: tuple[str, ...]
    aus: tuple[AU, ...]
    label: str
    coarse: str | None
    evidence: dict[int, tuple[str, ...]] = field(default_factory=dict)


def au_phrase(au: AU) -> str:
    """``AU12 (Lip Corner Puller) on the left side at intensity B (slight)``."""
    info = AU_CATALOGUE.get(au.number)
    text = f"AU{au.number} ({info.name})" if info else f"AU{au.number}"
    if au.side == "L":
        text += " on the left side"
    elif au.side == "R":
        text += " on the right side"
    elif au.side == "U":
        text += " on one side only"
    if au.intensity:
        text += f" at intensity {au.intensity} ({T.INTENSITY_WORDS[au.intensity]})"
    if au.uncertain:
        text += " (coded as uncertain)"
    return text


def _codes(aus: Sequence[AU]) -> str:
    return " + ".join(f"AU{a.number}" for a in aus)


def _brightness(strength: str) -> str:
    return {"strong": "bright", "moderate": "moderately bright", "slight": "dim"}[strength]


def _region_text(m: RegionMotion, top: float, mode: str, rng: random.Random) -> str:
    from facscope.motion.colormap import LEGEND

    strength = strength_word(m.mean, top)
    region = region_phrase(m.region)
    if m.compass is None:
        return rng.choice(T.REGION_MIXED).format(region=region, strength=strength)
    words = T.DIRECTION_WORDS[m.compass]
    if mode == "colormap":
        colour = {d: c for d, c, _ in LEGEND}[m.compass]
        return rng.choice(T.REGION_COLOUR).format(
            region=region, colour=colour, direction=words, brightness=_brightness(strength)
        )
    if mode == "stats":
        return rng.choice(T.REGION_STATS).format(
            region=region, direction=words, strength=strength, mean=m.mean, max=m.max
        )
    return rng.choice(T.REGION_PLAIN).format(region=region, direction=words, strength=strength)


def _au_regions(au: AU) -> tuple[str, ...]:
    from facscope.face import AU_REGIONS, regions_for_au

    return regions_for_au(au.number, au.side) if au.number in AU_REGIONS else ()


def _reasoning(aus: Sequence[AU], label: str, rng: random.Random) -> str:
    numbers = {a.number for a in aus}
    codes = _codes(aus)
    if not aus:
        return rng.choice(T.REASON_NO_AUS).format(label=label)
    if label in EMOTION_PROTOTYPES:
        protos = EMOTION_PROTOTYPES[label]
        best = max(protos, key=lambda p: (len(numbers & p) / len(numbers | p), -len(p)))
        common = [a for a in aus if a.number in best]
        if best <= numbers:
            return rng.choice(T.REASON_FULL).format(aus=codes, label=label)
        if common:
            verb = "is" if len({a.number for a in common}) == 1 else "are"
            return rng.choice(T.REASON_PARTIAL).format(
                common=_codes(common), verb=verb, label=label
            )
        return rng.choice(T.REASON_NONE).format(aus=codes, label=label)
    if label == "repression":
        return rng.choice(T.REASON_REPRESSION).format(aus=codes, label=label)
    if label in ("positive", "negative", "surprise"):
        return rng.choice(T.REASON_VALENCE).format(aus=codes, label=label)
    return rng.choice(T.REASON_OTHERS).format(aus=codes, label=label)


def describe(
    aus: Sequence[AU],
    label: str,
    motions: Sequence[RegionMotion],
    *,
    options: DescribeOptions | None = None,
    seed: int | str = 0,
) -> Description:
    """Write the FACS-grounded description of one sample.

    Args:
        aus: the annotated Action Units (side, intensity and uncertainty are kept).
        label: the canonical fine-grained emotion (``happiness``, ``repression``, ``others``…).
        motions: the measured statistics of every region
            (:func:`~facscope.mellm.regions.read_region_stats`).
        options: input mode and the moving-region rule.
        seed: picks the phrasings; use a per-sample value (the sample id) for variety.
    """
    opts = options or DescribeOptions()
    if not label:
        raise ConfigError("a description needs the sample's emotion label; got none")
    # The salt is the package's former name, kept so that builds reproduce across the rename.
    rng = random.Random(f"facscope.instruct:{seed}")
    coarse = megc3(label)
    moving = moving_regions(
        motions, relative=opts.relative, noise_factor=opts.noise_factor, floor=opts.floor
    )
    if opts.max_regions is not None:
        moving = moving[: opts.max_regions]
    moving_names = [m.region for m in moving]
    top = max((m.mean for m in motions), default=0.0)

    # step 1a: the regions that move
    if moving:
        parts = [_region_text(m, top, opts.mode, rng) for m in moving]
        step1 = [
            rng.choice(T.MOTION_INTRO).format(regions="; ".join(parts)),
            rng.choice(T.STILL_REST),
        ]
    else:
        step1 = [rng.choice(T.NO_MOTION)]

    # step 1b: the AUs they show
    evidence: dict[int, tuple[str, ...]] = {}
    if aus:
        items = []
        for a in aus:
            candidates = _au_regions(a)
            seen = tuple(r for r in moving_names if r in candidates)
            evidence[a.number] = seen
            if seen:
                items.append(
                    rng.choice(T.AU_EVIDENCE).format(au=au_phrase(a), regions=regions_prose(seen))
                )
            elif candidates:
                items.append(
                    rng.choice(T.AU_FAINT).format(
                        au=au_phrase(a), regions=regions_prose(main_regions(a.number, a.side))
                    )
                )
            else:
                items.append(au_phrase(a))
        step1.append(rng.choice(T.AU_INTRO).format(aus="; ".join(items)))
        if opts.explain_unattributed:
            explained = {r for regs in evidence.values() for r in regs}
            rest = [r for r in moving_names if r not in explained]
            if rest:
                step1.append(rng.choice(T.UNEXPLAINED).format(regions=regions_prose(rest)))
    else:
        step1.append(rng.choice(T.NO_AUS))

    # step 2: reasoning
    step2 = [_reasoning(aus, label, rng)]
    template = rng.choice(T.COARSE if coarse else T.COARSE_NONE)
    step2.append(template.format(label=label, label_cap=label.capitalize(), coarse=coarse))

    # step 3: conclusion
    codes = _codes(aus) if aus else "no coded Action Unit"
    step3 = rng.choice(T.CONCLUSION).format(
        aus=codes, label=label, coarse=f" ({coarse})" if coarse else ""
    )
    answer = format_answer_line(aus, label, coarse)
    steps = (" ".join(step1), " ".join(step2), step3)
    return Description(
        text="\n\n".join(steps) + "\n" + answer,
        steps=steps,
        answer=answer,
        moving=tuple(moving_names),
        aus=tuple(aus),
        label=label,
        coarse=coarse,
        evidence=evidence,
    )
