"""FACS vocabulary shared by every part of facscope.

Three things live here, all pure standard-library code:

* **The Action Unit catalogue** (:data:`AU_CATALOGUE`): FACS name, muscular basis, the coarse
  face region an AU is seen in (:data:`REGION_GROUPS`, the groups used by region-level rewards),
  a one-line description of the visible motion and its dominant direction in image coordinates
  (:data:`DIRECTIONS`). Names follow the 2002 FACS manual.
* **The AU-string parser** (:func:`parse_aus`, :func:`format_aus`): annotation strings exactly as
  the ME spreadsheets write them (``R12+L14A``, ``4+7(?)``, ``12 or 14``, ``12.0`` from Excel).
* **Emotion taxonomies**: canonical label names, each dataset's own label set and its mapping to
  them (:data:`DATASET_LABELS`, :func:`dataset_label`), the MEGC 2019 3-class relabelling
  (:func:`megc3`) and EMFACS-style emotion → AU prototypes (:data:`EMOTION_PROTOTYPES`) with a
  small overlap-based AU → emotion heuristic (:func:`emotion_scores`, :func:`infer_emotion`).

Canonical emotion names are lower-case nouns: ``anger contempt disgust fear happiness sadness
surprise neutral``, plus the ME-specific ``repression`` and ``others`` and SMIC's ``positive`` and
``negative``. Label orders that matter for integer ids:

* :data:`BASIC_EMOTIONS` / :data:`ME7`: the seven basic emotions in alphabetical order, which is
  also DFME's label order (anger 0, contempt 1, …, surprise 6).
* :data:`FER7`: the 7-class still-image FER set, six basic emotions (no contempt) + neutral;
  :data:`FER8` adds contempt (FERPlus / AffectNet 8-class).
* :data:`MEGC3`: ``negative positive surprise`` (ids 0, 1, 2 as in the public composite code).
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from facscope.errors import AUParseError, ConfigError

__all__ = [
    "AU",
    "AU_CATALOGUE",
    "BASIC_EMOTIONS",
    "DATASET_LABELS",
    "DIRECTIONS",
    "EMOTIONS",
    "EMOTION_PROTOTYPES",
    "FER7",
    "FER8",
    "INTENSITIES",
    "ME7",
    "MEGC3",
    "REGION_AUS",
    "REGION_GROUPS",
    "ActionUnit",
    "au_from_name",
    "au_numbers",
    "dataset_label",
    "emotion_scores",
    "format_aus",
    "get_au",
    "infer_emotion",
    "megc3",
    "normalize_emotion",
    "parse_aus",
    "prototype_aus",
]

# --------------------------------------------------------------------------- AU catalogue

REGION_GROUPS: tuple[str, ...] = ("brows", "eyes", "nose", "cheeks", "mouth", "jaw")
"""Coarse face regions; forehead motion counts as ``brows`` and chin motion as ``jaw``."""

DIRECTIONS: tuple[str, ...] = (
    "up",
    "down",
    "inward",  # toward the face midline
    "outward",  # away from the face midline
    "up-outward",
    "up-inward",
    "down-outward",
    "down-inward",
    "forward",  # toward the camera (lips pushed out)
    "backward",  # away from the camera, into the face (lip corners or lips drawn in)
    "closing",  # an aperture (eye, lips) narrows or shuts
    "opening",  # an aperture widens
    "none-visible",
)
"""Closed vocabulary for :attr:`ActionUnit.direction`, in image coordinates of a frontal face."""


@dataclass(frozen=True)
class ActionUnit:
    """One FACS Action Unit: what it is called, what moves it, where and how it shows."""

    number: int
    name: str
    muscles: str
    region: str
    motion: str
    direction: str

    def __post_init__(self) -> None:
        if self.region not in REGION_GROUPS:
            raise ConfigError(
                f"AU {self.number} region must be one of {REGION_GROUPS}; got {self.region!r}"
            )
        if self.direction not in DIRECTIONS:
            raise ConfigError(
                f"AU {self.number} direction must be one of {DIRECTIONS}; got {self.direction!r}"
            )


_OO_PALP = "orbicularis oculi, pars palpebralis"
_LPS_RELAX = "relaxation of levator palpebrae superioris"
# fmt: off
_CATALOGUE_ROWS: tuple[tuple[int, str, str, str, str, str], ...] = (
    (1, "Inner Brow Raiser", "frontalis, pars medialis", "brows", "inner ends of the brows lift, giving an oblique brow and central forehead lines", "up"),
    (2, "Outer Brow Raiser", "frontalis, pars lateralis", "brows", "outer parts of the brows lift, arching the brow and wrinkling the lateral forehead", "up"),
    (4, "Brow Lowerer", "depressor glabellae, depressor supercilii, corrugator supercilii", "brows", "brows are pulled down and drawn together, with vertical furrows between them", "down-inward"),
    (5, "Upper Lid Raiser", "levator palpebrae superioris, superior tarsal muscle", "eyes", "upper eyelid lifts, widening the eye and showing more sclera above the iris", "up"),
    (6, "Cheek Raiser", "orbicularis oculi, pars orbitalis", "cheeks", "cheeks lift and skin gathers toward the eye, bagging the lower lid and forming crow's feet", "up"),
    (7, "Lid Tightener", _OO_PALP, "eyes", "eyelids tighten and the lower lid rises and straightens, narrowing the eye", "closing"),
    (8, "Lips Toward Each Other", "orbicularis oris", "mouth", "lips move toward each other, closing a parted mouth without pressing", "closing"),
    (9, "Nose Wrinkler", "levator labii superioris alaeque nasi", "nose", "skin along the sides of the nose is pulled up into wrinkles, flaring the nostrils", "up"),
    (10, "Upper Lip Raiser", "levator labii superioris", "mouth", "centre of the upper lip is drawn straight up, deepening the upper nasolabial furrow", "up"),
    (11, "Nasolabial Deepener", "zygomaticus minor", "cheeks", "upper lip is pulled up and slightly out, deepening the middle of the nasolabial furrow", "up-outward"),
    (12, "Lip Corner Puller", "zygomaticus major", "mouth", "lip corners are pulled up and out toward the cheekbones, as in a smile", "up-outward"),
    (13, "Sharp Lip Puller", "levator anguli oris (caninus)", "mouth", "lip corners are pulled up sharply and narrowly, puffing the cheeks below the eyes", "up"),
    (14, "Dimpler", "buccinator", "mouth", "lip corners tighten and are drawn back into the cheeks, forming dimples", "backward"),
    (15, "Lip Corner Depressor", "depressor anguli oris (triangularis)", "mouth", "lip corners are pulled down, angling the lips downward", "down"),
    (16, "Lower Lip Depressor", "depressor labii inferioris", "mouth", "lower lip is pulled down and slightly sideways, exposing the lower teeth", "down"),
    (17, "Chin Raiser", "mentalis", "jaw", "chin boss is pushed up, wrinkling the chin and pushing the lower lip up", "up"),
    (18, "Lip Pucker", "incisivii labii superioris and incisivii labii inferioris", "mouth", "lip corners are drawn toward the midline and the lips pushed out into a pucker", "inward"),
    (20, "Lip Stretcher", "risorius with platysma", "mouth", "lip corners are pulled sideways, stretching and flattening the lips", "outward"),
    (22, "Lip Funneler", "orbicularis oris", "mouth", "lips are pushed out into a funnel, turning outward and often parting", "forward"),
    (23, "Lip Tightener", "orbicularis oris", "mouth", "lips tighten and narrow, making the red margins thinner", "inward"),
    (24, "Lip Pressor", "orbicularis oris", "mouth", "closed lips are pressed together, bulging the skin around them", "closing"),
    (25, "Lips Part", "depressor labii inferioris, or relaxation of mentalis or orbicularis oris", "mouth", "lips separate, showing the teeth or the mouth opening", "opening"),
    (26, "Jaw Drop", "masseter; relaxed temporalis and internal pterygoid", "jaw", "jaw is lowered by relaxation so that the mouth falls open", "down"),
    (27, "Mouth Stretch", "pterygoids, digastric", "jaw", "jaw is actively pulled far down, stretching the mouth wide open", "down"),
    (28, "Lip Suck", "orbicularis oris", "mouth", "lips are sucked into the mouth over the teeth", "backward"),
    (38, "Nostril Dilator", "nasalis, pars alaris", "nose", "nostril wings flare out, widening the nostrils", "outward"),
    (39, "Nostril Compressor", "nasalis, pars transversa and depressor septi nasi", "nose", "nostril wings are drawn in, narrowing the nostrils", "inward"),
    (41, "Lid Droop", _LPS_RELAX, "eyes", "upper eyelid sags, partly covering the eye", "down"),
    (42, "Slit", "orbicularis oculi", "eyes", "eyelids close almost completely, leaving a narrow slit", "closing"),
    (43, "Eyes Closed", f"{_LPS_RELAX}; {_OO_PALP}", "eyes", "eyelids close fully and stay closed", "closing"),
    (44, "Squint", _OO_PALP, "eyes", "eyelids narrow sharply while the eye stays open, as when squinting", "closing"),
    (45, "Blink", f"{_LPS_RELAX}; {_OO_PALP}", "eyes", "both eyes close and reopen quickly", "closing"),
    (46, "Wink", f"{_LPS_RELAX}; {_OO_PALP}", "eyes", "one eye closes and reopens briefly", "closing"),
)
# fmt: on

AU_CATALOGUE: Mapping[int, ActionUnit] = MappingProxyType(
    {row[0]: ActionUnit(*row) for row in _CATALOGUE_ROWS}
)
"""Read-only map from AU number to :class:`ActionUnit` (facial AUs only; head/eye codes such as
51-64 are valid in :func:`parse_aus` but not described here)."""

REGION_AUS: Mapping[str, tuple[int, ...]] = MappingProxyType(
    {r: tuple(n for n, au in AU_CATALOGUE.items() if au.region == r) for r in REGION_GROUPS}
)
"""AU numbers seen in each region of :data:`REGION_GROUPS`, in ascending order."""


def get_au(number: int) -> ActionUnit:
    """Return the catalogue entry of AU ``number``; raise :class:`AUParseError` if unknown."""
    au = (
        AU_CATALOGUE.get(number)
        if isinstance(number, int) and not isinstance(number, bool)
        else None
    )
    if au is None:
        known = ", ".join(str(n) for n in AU_CATALOGUE)
        raise AUParseError(f"AU {number!r} is not in the FACS catalogue; known AUs: {known}")
    return au


def _name_key(text: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text.lower()).split())


_NAME_ALIASES: dict[str, int] = {
    "cheek puffer": 13,  # the 1978 manual's name for AU13
    "upper eyelid raiser": 5,
    "lip part": 25,
    "lips apart": 25,
    "eye closure": 43,
    "eyes close": 43,
    "eye closed": 43,
}
_NAME_INDEX: dict[str, int] = {
    _name_key(au.name): n for n, au in AU_CATALOGUE.items()
} | _NAME_ALIASES
_AU_CODE = re.compile(r"^(?:au\s*)?(\d{1,3})(?:\.0+)?$", re.IGNORECASE)


def au_from_name(text: str) -> int:
    """Return the AU number named by ``text``, a FACS name or an AU code.

    Names match case-, space- and punctuation-insensitively (``"lip corner puller"``,
    ``"Lip-Corner Puller"``); codes may be ``"AU12"``, ``"au 12"`` or ``"12"``. A code is accepted
    for any plausible FACS number 1..99, as in :func:`parse_aus`.
    """
    stripped = text.strip()
    code = _AU_CODE.match(stripped)
    if code:
        number = int(code.group(1))
        if 1 <= number <= 99:
            return number
        raise AUParseError(f"AU code {text!r} is outside 1..99")
    key = _name_key(stripped)
    if key in _NAME_INDEX:
        return _NAME_INDEX[key]
    close = difflib.get_close_matches(key, list(_NAME_INDEX), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise AUParseError(
        f"{text!r} is not a FACS Action Unit name or code (e.g. 'lip corner puller', 'AU12'){hint}"
    )


# --------------------------------------------------------------------------- AU strings

INTENSITIES: tuple[str, ...] = ("A", "B", "C", "D", "E")
"""FACS intensity letters, trace (A) to maximum (E)."""

_SIDES = (None, "L", "R", "U")
_EXPECTED = "expected forms like '12', 'L12', 'R14A', '4(?)', '12 or 14'"
_EMPTY_MARKERS = frozenset({"", "/", "-", "--", "none", "null", "nan", "n/a", "na"})
_TOKEN = re.compile(
    r"""^(?:au\s*)?(?P<side>[lrub])?\s*(?:au\s*)?(?P<num>\d{1,3})(?:\.0+)?\s*
        (?P<intensity>[a-e])?\s*(?P<unc>\(\s*\?\s*\)|\?)?$""",
    re.IGNORECASE | re.VERBOSE,
)
_SEPARATORS = re.compile(r"[+,;]")
_ALTERNATIVES = re.compile(r"\s+or\s+|\s*/\s*", re.IGNORECASE)


@dataclass(frozen=True)
class AU:
    """One coded Action Unit as written in an annotation.

    Attributes:
        number: FACS code, 1..99 (head and eye codes such as 53 or 61 are allowed).
        side: ``"L"`` / ``"R"`` for a unilateral AU, ``"U"`` for unilateral with the side not
            given, ``None`` for bilateral or unspecified.
        intensity: ``"A"`` (trace) .. ``"E"`` (maximum), or ``None`` if not coded.
        uncertain: the coder marked the AU with ``(?)`` or ``?``.
        alternatives: other AU numbers the coder offered instead (``12 or 14``).
    """

    number: int
    side: str | None = None
    intensity: str | None = None
    uncertain: bool = False
    alternatives: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for n in (self.number, *self.alternatives):
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 99:
                raise AUParseError(f"AU numbers must be integers in 1..99; got {n!r}")
        if self.side not in _SIDES:
            raise AUParseError(f"AU side must be one of {_SIDES}; got {self.side!r}")
        if self.intensity is not None and self.intensity not in INTENSITIES:
            raise AUParseError(
                f"AU intensity must be one of {INTENSITIES} or None; got {self.intensity!r}"
            )
        object.__setattr__(self, "alternatives", tuple(self.alternatives))
        if self.number in self.alternatives:
            raise AUParseError(
                f"AU {self.number} lists itself among its alternatives {self.alternatives}"
            )

    @property
    def doubtful(self) -> bool:
        """True if the coder was unsure: marked ``(?)`` or offered alternatives."""
        return self.uncertain or bool(self.alternatives)

    def __str__(self) -> str:
        text = (
            f"{self.side or ''}{self.number}{self.intensity or ''}{'(?)' if self.uncertain else ''}"
        )
        return " or ".join([text, *(str(n) for n in self.alternatives)])


def _parse_token(token: str, source: object) -> AU:
    match = _TOKEN.match(token)
    if not match:
        raise AUParseError(
            f"cannot parse AU string {source!r}: token {token!r} is not an AU ({_EXPECTED})"
        )
    number = int(match["num"])
    if not 1 <= number <= 99:
        raise AUParseError(
            f"cannot parse AU string {source!r}: AU number {number} in token {token!r} is outside 1..99"
        )
    side = (match["side"] or "").upper() or None
    return AU(
        number,
        side=None if side == "B" else side,
        intensity=(match["intensity"] or "").upper() or None,
        uncertain=bool(match["unc"]),
    )


def _parse_segment(segment: str, source: object) -> list[AU]:
    parts = _ALTERNATIVES.split(segment)
    if len(parts) > 1:  # "12 or 14", "12/14": first is the AU, the rest its alternatives
        if any(not p for p in parts):
            raise AUParseError(
                f"cannot parse AU string {source!r}: incomplete alternative in {segment!r} ({_EXPECTED})"
            )
        first, *rest = (_parse_token(p, source) for p in parts)
        alts = tuple(dict.fromkeys(a.number for a in rest if a.number != first.number))
        uncertain = first.uncertain or any(a.uncertain for a in rest)
        return [AU(first.number, first.side, first.intensity, uncertain, alts)]
    if _TOKEN.match(segment) or not segment.split()[1:]:
        return [_parse_token(segment, source)]
    return [_parse_token(piece, source) for piece in segment.split()]  # "1 2 4"


def _merge(a: AU, b: AU) -> AU:
    intensity = max((i for i in (a.intensity, b.intensity) if i), default=None)
    alts = tuple(n for n in dict.fromkeys((*a.alternatives, *b.alternatives)) if n != a.number)
    return AU(a.number, a.side, intensity, a.uncertain and b.uncertain, alts)


def parse_aus(text: str | int | float | None, *, strict: bool = False) -> tuple[AU, ...]:
    """Parse an AU annotation string into :class:`AU` records, in written order.

    Rules:

    * Separators are ``+``, ``,`` and ``;`` (spaces around them are ignored); a segment that is
      whitespace-separated codes (``"1 2 4"``) yields one AU per code.
    * A token is ``[AU][side]number[intensity][(?)]``, case-insensitive: side ``L``/``R``/``U``
      (``B`` means bilateral and is stored as ``None``), intensity ``A``..``E``, ``(?)`` or ``?``
      marks uncertainty. ``12.0`` (Excel) reads as 12. Numbers must be in 1..99; codes outside the
      catalogue (head and eye codes like 53 or 61) are kept.
    * ``"12 or 14"`` and ``"12/14"`` give one AU 12 with ``alternatives=(14,)``: the first code is
      taken, the rest recorded; side and intensity of the alternatives are dropped. ``uncertain``
      stays the explicit ``(?)`` marker; :attr:`AU.doubtful` covers both.
    * Repeats of the same number and side merge into the first: the highest intensity is kept,
      ``uncertain`` only if every copy was uncertain, alternatives are united.
    * ``None``, NaN, ``""``, ``"/"``, ``"-"``, ``"none"``, ``"null"``, ``"nan"``, ``"n/a"`` → ``()``.
      Empty segments (``"1+2+"``, ``"1++2"``, a lone ``"+"``) are skipped.

    With ``strict=True`` empty segments and repeated AUs raise instead of being tolerated. Any
    other malformed token raises :class:`AUParseError` (a ``ValueError``) naming the input.
    """
    if text is None:
        return ()
    if isinstance(text, bool) or not isinstance(text, (str, numbers.Real)):
        raise AUParseError(
            f"cannot parse AU string {text!r}: expected str, int or float, not {type(text).__name__}"
        )
    if isinstance(text, numbers.Integral):
        body = str(int(text))
    elif isinstance(text, numbers.Real):
        value = float(text)
        if math.isnan(value):
            return ()
        if not value.is_integer():
            raise AUParseError(
                f"cannot parse AU string {text!r}: {value} is not a whole AU number ({_EXPECTED})"
            )
        body = str(int(value))
    else:
        body = text.strip()
    if body.lower() in _EMPTY_MARKERS:
        return ()
    merged: dict[tuple[int, str | None], AU] = {}
    for raw in _SEPARATORS.split(body):
        segment = raw.strip()
        if not segment:
            if strict:
                raise AUParseError(
                    f"cannot parse AU string {text!r}: empty segment between separators (strict mode)"
                )
            continue
        for au in _parse_segment(segment, text):
            key = (au.number, au.side)
            if key in merged:
                if strict:
                    raise AUParseError(
                        f"cannot parse AU string {text!r}: AU {au} is repeated (strict mode)"
                    )
                au = _merge(merged[key], au)
            merged[key] = au
    return tuple(merged.values())


def format_aus(aus: Iterable[AU | int]) -> str:
    """Write AUs in canonical form, e.g. ``"1+2+L12A+4(?)"``; ``""`` for none."""
    return "+".join(str(a if isinstance(a, AU) else AU(a)) for a in aus)


def au_numbers(aus: str | Iterable[AU | int]) -> frozenset[int]:
    """The set of AU numbers coded in ``aus`` (a string is parsed first); alternatives excluded."""
    if isinstance(aus, str):
        aus = parse_aus(aus)
    return frozenset(a.number if isinstance(a, AU) else int(a) for a in aus)


# --------------------------------------------------------------------------- emotions

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
    "rafdb": tuple((x, x) for x in ("surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral")),
    "ferplus": (*((x, x) for x in ("neutral", "happiness", "surprise", "sadness", "anger", "disgust", "fear",
                                   "contempt")), ("unknown", None), ("NF", None)),
    # AffectNet "None" means an emotion outside the eight, i.e. "others".
    "affectnet": (("neutral", "neutral"), ("happy", "happiness"), ("sad", "sadness"), ("surprise", "surprise"),
                  ("fear", "fear"), ("disgust", "disgust"), ("anger", "anger"), ("contempt", "contempt"),
                  ("none", "others"), ("uncertain", None), ("no-face", None)),
}
# fmt: on
_ID_BASE: dict[str, int] = {"rafdb": 1, "affectnet": 0, "dfme": 0}

DATASET_LABELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {name: tuple(raw for raw, _ in rows) for name, rows in _DATASET_TABLE.items()}
)
"""Each dataset's label set as written in its files, in the dataset's order. Integer ids:
RAF-DB 1..7, AffectNet 0..10 and DFME 0..6 index these tuples (RAF-DB from 1)."""


def dataset_label(dataset: str, raw: str | int | float) -> str | None:
    """Canonical emotion for a dataset's raw label (a name, or an id for rafdb/affectnet/dfme).

    Returns ``None`` for labels that name no emotion (FERPlus ``unknown``/``NF``, AffectNet
    ``uncertain``/``no-face``). An unknown dataset, id or label raises :class:`ConfigError`.
    """
    key = re.sub(r"[^a-z0-9]", "", dataset.lower())
    key = {"casmeii": "casme2", "casme": "casme2", "raf": "rafdb"}.get(key, key)
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


# --------------------------------------------------------------------------- prototypes

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
