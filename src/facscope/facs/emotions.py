"""Emotion taxonomies: canonical names, each dataset's label set and its mapping to them, and
the MEGC 2019 3-class relabelling."""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from types import MappingProxyType

from facscope.errors import ConfigError
from facscope.facs.catalogue import _name_key

BASIC_EMOTIONS: tuple[str, ...] = (
    "anger",
    "contempt",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
)
"""The seven basic emotions, alphabetical."""
ME7: tuple[str, ...] = BASIC_EMOTIONS
"""DFME's 7-class label order (ids 0..6)."""
EMOTIONS: tuple[str, ...] = (*BASIC_EMOTIONS, "neutral")
"""The seven basic emotions + neutral."""
FER7: tuple[str, ...] = ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
"""Still-image 7-class FER: the six basic emotions (no contempt) + neutral."""
FER8: tuple[str, ...] = (*FER7, "contempt")
"""FER7 + contempt, the FERPlus / AffectNet 8-class set."""
MEGC3: tuple[str, ...] = ("negative", "positive", "surprise")
"""MEGC 2019 composite classes, ids 0..2."""

_SYNONYMS: dict[str, tuple[str, ...]] = {
    "anger": ("anger", "angry", "rage", "furious", "annoyed", "annoyance"),
    "contempt": ("contempt", "contemptuous", "disdain", "scorn"),
    "disgust": ("disgust", "disgusted", "disgusting", "revulsion"),
    "fear": ("fear", "fearful", "afraid", "scared", "frightened", "fright", "terror"),
    "happiness": ("happiness", "happy", "joy", "joyful", "joyous", "glad"),
    "sadness": ("sadness", "sad", "sorrow", "unhappy", "unhappiness"),
    "surprise": ("surprise", "surprised", "astonished", "astonishment", "amazed", "amazement"),
    "neutral": ("neutral", "neutrality", "calm", "no emotion"),
    "repression": ("repression", "repressed"),
    "others": ("others", "other"),
    "positive": ("positive",),
    "negative": ("negative",),
}
_EMOTION_INDEX: dict[str, str] = {_name_key(s): c for c, syns in _SYNONYMS.items() for s in syns}
# Labels that datasets write but that name no emotion: recognised, mapped to None.
_NON_EMOTIONS = frozenset({"unknown", "nf", "not face", "no face", "none", "uncertain"})


def normalize_emotion(text: str | None, *, strict: bool = False) -> str | None:
    """Map an emotion word (any case, synonyms, stray spaces and punctuation) to its canonical name.

    ``"Happy "`` → ``"happiness"``, ``"scared"`` → ``"fear"``, ``"Other"`` → ``"others"``. Known
    non-emotion labels (``unknown``, ``NF``, ``no-face``, ``uncertain``, ``none``) and ``None`` give
    ``None``; so does unrecognised text, unless ``strict=True``, which raises :class:`ConfigError`.
    """
    if text is None:
        return None
    key = _name_key(str(text))
    if key in _EMOTION_INDEX:
        return _EMOTION_INDEX[key]
    if key in _NON_EMOTIONS or not strict:
        return None
    raise ConfigError(f"unknown emotion label {text!r}; expected one of {sorted(_EMOTION_INDEX)}")


_MEGC3_MAP: dict[str, str | None] = {
    "happiness": "positive",
    "positive": "positive",
    "surprise": "surprise",
    **dict.fromkeys(
        ("disgust", "repression", "anger", "contempt", "fear", "sadness", "negative"), "negative"
    ),
    "others": None,
    "neutral": None,
}


def megc3(emotion: str | None) -> str | None:
    """MEGC 2019 3-class label of ``emotion``, or ``None`` if the composite drops it.

    positive = happiness; negative = disgust, repression, anger, contempt, fear, sadness;
    surprise = surprise; SMIC's positive/negative/surprise map to themselves; ``others`` (and
    neutral, absent from the composite) → ``None``. Unrecognised text raises :class:`ConfigError`.
    """
    if emotion is None:
        return None
    canonical = normalize_emotion(emotion, strict=True)
    if canonical is None:
        return None
    return _MEGC3_MAP[canonical]


# Each dataset's labels as its files write them, paired with the canonical name (None: no emotion).
# Order is the dataset's own (its id order where labels are integers).
# fmt: off
_DATASET_TABLE: dict[str, tuple[tuple[str, str | None], ...]] = {
    "casme2": tuple((x, x) for x in ("happiness", "disgust", "repression", "surprise", "fear", "sadness", "others")),
    "samm": (("Anger", "anger"), ("Contempt", "contempt"), ("Disgust", "disgust"), ("Fear", "fear"),
             ("Happiness", "happiness"), ("Other", "others"), ("Sadness", "sadness"), ("Surprise", "surprise")),
    "smic": tuple((x, x) for x in ("positive", "negative", "surprise")),
    "casme3": (("anger", "anger"), ("disgust", "disgust"), ("fear", "fear"), ("happy", "happiness"),
               ("others", "others"), ("sad", "sadness"), ("surprise", "surprise")),
    "dfme": tuple((x, x) for x in ME7),
    # CK+ Emotion/*_emotion.txt codes 0..7
    "ckplus": (("neutral", "neutral"), ("anger", "anger"), ("contempt", "contempt"), ("disgust", "disgust"),
               ("fear", "fear"), ("happy", "happiness"), ("sadness", "sadness"), ("surprise", "surprise")),
    "rafdb": tuple((x, x) for x in ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")),
    "ferplus": (*((x, x) for x in ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                                   "contempt")), ("unknown", None), ("NF", None)),
    # AffectNet "None" means an emotion outside the eight, i.e. "others".
    "affectnet": (("neutral", "neutral"), ("happy", "happiness"), ("sad", "sadness"), ("surprise", "surprise"),
                  ("fear", "fear"), ("disgust", "disgust"), ("anger", "anger"), ("contempt", "contempt"),
                  ("none", "others"), ("uncertain", None), ("no-face", None)),
}
# fmt: on
_ID_BASE: dict[str, int] = {"rafdb": 1, "affectnet": 0, "dfme": 0, "ckplus": 0}

DATASET_LABELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {name: tuple(raw for raw, _ in rows) for name, rows in _DATASET_TABLE.items()}
)
"""Each dataset's label set as written in its files, in the dataset's order. Integer ids:
RAF-DB 1..7, AffectNet 0..10, DFME 0..6 and CK+ 0..7 index these tuples (RAF-DB from 1)."""


def dataset_label(dataset: str, raw: str | int | float) -> str | None:
    """Canonical emotion for a dataset's raw label (a name, or an id for rafdb/affectnet/dfme).

    Returns ``None`` for labels that name no emotion (FERPlus ``unknown``/``NF``, AffectNet
    ``uncertain``/``no-face``). An unknown dataset, id or label raises :class:`ConfigError`.
    """
    key = re.sub(r"[^a-z0-9]", "", dataset.lower())
    key = {"casmeii": "casme2", "casme": "casme2", "raf": "rafdb", "ck": "ckplus"}.get(key, key)
    if key not in _DATASET_TABLE:
        raise ConfigError(f"dataset must be one of {sorted(_DATASET_TABLE)}; got {dataset!r}")
    rows = _DATASET_TABLE[key]
    if isinstance(raw, str) and re.fullmatch(r"\s*\d+(\.0+)?\s*", raw):
        raw = float(raw)
    if isinstance(raw, numbers.Real) and not isinstance(raw, bool):
        if key not in _ID_BASE:
            raise ConfigError(
                f"{key} labels are names, not integer ids; got {raw!r}; names: {DATASET_LABELS[key]}"
            )
        base = _ID_BASE[key]
        if not float(raw).is_integer() or not base <= int(raw) < base + len(rows):
            raise ConfigError(
                f"{key} label id must be an integer in {base}..{base + len(rows) - 1}; got {raw!r}"
            )
        return rows[int(raw) - base][1]
    if not isinstance(raw, str):
        raise ConfigError(f"{key} label must be a string or an integer id; got {raw!r}")
    lookup = {_name_key(r): c for r, c in rows}
    if _name_key(raw) in lookup:
        return lookup[_name_key(raw)]
    canonical = normalize_emotion(raw)
    if canonical is not None and canonical in lookup.values():
        return canonical
    raise ConfigError(f"{raw!r} is not a {key} label; expected one of {DATASET_LABELS[key]}")
