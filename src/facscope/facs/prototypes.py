"""EMFACS-style emotion → AU prototypes and a small overlap-based AU → emotion heuristic."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import MappingProxyType

from facscope.errors import ConfigError
from facscope.facs.aus import AU, au_numbers
from facscope.facs.emotions import BASIC_EMOTIONS, normalize_emotion

# Emotion → AU prototypes after the EMFACS-derived table commonly cited from Friesen & Ekman's
# EMFACS-7 and later summaries. The first prototype of each emotion is the main one (happiness
# 6+12, sadness 1+4+15, surprise 1+2+5B+26, fear 1+2+4+5+7+20+26, anger 4+5+7+23, disgust 9+15+16,
# contempt R12A+R14A); the others are published variants. Sides and intensities are dropped, so
# contempt's unilateral R12A+R14A becomes {12, 14}. This is a heuristic, not ground truth: ME
# datasets label emotion from context and self-report, and their AUs often match no prototype.
_P = frozenset
# fmt: off
EMOTION_PROTOTYPES: Mapping[str, tuple[frozenset[int], ...]] = MappingProxyType({
    "anger": (_P({4, 5, 7, 23}), _P({4, 5, 7, 24}), _P({4, 5, 7, 17, 23}), _P({4, 5, 7, 17, 24}),
              _P({4, 5, 7, 10, 23, 25})),
    "contempt": (_P({12, 14}), _P({14})),
    "disgust": (_P({9, 15, 16}), _P({9}), _P({9, 17}), _P({10}), _P({10, 16, 25}), _P({10, 17})),
    "fear": (_P({1, 2, 4, 5, 7, 20, 26}), _P({1, 2, 4, 5, 20, 26}), _P({1, 2, 4, 5}), _P({5, 20})),
    "happiness": (_P({6, 12}), _P({12})),
    "sadness": (_P({1, 4, 15}), _P({6, 15}), _P({1, 4, 15, 17})),
    "surprise": (_P({1, 2, 5, 26}), _P({1, 2, 5, 27}), _P({1, 2, 5}), _P({1, 2, 26}), _P({1, 2, 27})),
})
# fmt: on


def prototype_aus(emotion: str) -> frozenset[int]:
    """The main EMFACS prototype of ``emotion`` (any spelling); ``neutral`` → empty set."""
    canonical = normalize_emotion(emotion, strict=True)
    if canonical == "neutral":
        return frozenset()
    if canonical not in EMOTION_PROTOTYPES:
        raise ConfigError(
            f"no AU prototype for {emotion!r}; emotions with prototypes: {BASIC_EMOTIONS}"
        )
    return EMOTION_PROTOTYPES[canonical][0]


def emotion_scores(aus: str | Iterable[AU | int], *, metric: str = "jaccard") -> dict[str, float]:
    """Best overlap in [0, 1] between ``aus`` and any prototype of each basic emotion.

    ``metric`` is ``"jaccard"`` (|A∩P| / |A∪P|) or ``"f1"`` (2|A∩P| / (|A|+|P|)); both rank the
    same. Keys follow :data:`BASIC_EMOTIONS`. Alternatives of an AU are not counted.
    """
    if metric not in ("jaccard", "f1"):
        raise ConfigError(f"metric must be 'jaccard' or 'f1'; got {metric!r}")
    given = au_numbers(aus)
    scores: dict[str, float] = {}
    for emotion in BASIC_EMOTIONS:
        best = 0.0
        for proto in EMOTION_PROTOTYPES[emotion]:
            common = len(given & proto)
            denom = len(given | proto) if metric == "jaccard" else (len(given) + len(proto)) / 2
            best = max(best, common / denom if denom else 0.0)
        scores[emotion] = best
    return scores


def infer_emotion(aus: str | Iterable[AU | int]) -> str:
    """Heuristic emotion for an AU set: the emotion with the highest :func:`emotion_scores`.

    An empty set, or one sharing no AU with any prototype, gives ``"neutral"``. Ties go to the
    emotion earlier in :data:`BASIC_EMOTIONS` (alphabetical order).
    """
    scores = emotion_scores(aus)
    best = max(BASIC_EMOTIONS, key=lambda e: scores[e])  # max keeps the first of equal scores
    return best if scores[best] > 0 else "neutral"
