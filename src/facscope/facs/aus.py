"""AU annotation strings as the ME spreadsheets write them (``R12+L14A``, ``4+7(?)``,
``12 or 14``, ``12.0`` from Excel): :func:`parse_aus`, :func:`format_aus`, :func:`au_numbers`."""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Iterable
from dataclasses import dataclass

from facscope.errors import AUParseError

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
