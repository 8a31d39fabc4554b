"""The FACS Action Unit catalogue: names, muscles, region groups, visible motion and direction
(names follow the 2002 FACS manual)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from facscope.errors import AUParseError, ConfigError
from facscope.facs.directions import FACE_DIRECTIONS

REGION_GROUPS: tuple[str, ...] = ("brows", "eyes", "nose", "cheeks", "mouth", "jaw")
"""Coarse face regions; forehead motion counts as ``brows`` and chin motion as ``jaw``."""

#: Closed vocabulary for :attr:`ActionUnit.direction`
#: (:data:`facscope.facs.directions.FACE_DIRECTIONS`).
DIRECTIONS: tuple[str, ...] = FACE_DIRECTIONS


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

ME_AUS: tuple[int, ...] = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)
"""The AU list common in cross-dataset micro-expression work (evaluation and ME-VQA questions)."""


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
