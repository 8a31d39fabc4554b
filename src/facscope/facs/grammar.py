"""The FACS code grammar: a whole annotation cell → :class:`FacsCell` (every token read into
an :class:`~facscope.facs.codes.AU` or a :class:`~facscope.facs.codes.Descriptor`, the tokens
that cannot be read kept aside). The forms, and the meaning adopted for each, are in
docs/facs.md.

A cell is split on ``+ , ;``; each segment is, in this order of trial:

* one code: ``[AD|M|AU][side]number[intensity[/intensity]][(?)]`` (``R14A``, ``A/L12``,
  ``10A/B``, ``AD31``, ``M58``, ``12.0``), or ``ref(code)`` (``ref(7B)``);
* a group of alternatives, optionally in parentheses: ``12 or 14``, ``(R6 or R12)``, ``12/14``;
* a decimal slip ``1.7`` (a ``.`` typed for ``+``): read as ``1+7`` and recorded in ``slips``;
* whitespace-separated codes (``1 2 4``), with runs of words kept as one descriptor
  (``soft focus``) and anything else kept as an unreadable token.
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, replace

from facscope.errors import AUParseError
from facscope.facs.codes import AU, Descriptor

__all__ = ["EMPTY_MARKERS", "FacsCell", "parse_codes"]

#: Cells that hold no code (``?`` is an uncoded cell, see :attr:`FacsCell.uncoded`).
EMPTY_MARKERS = frozenset({"", "/", "-", "--", "none", "null", "nan", "n/a", "na"})
_UNCODED = frozenset({"?", "(?)", "??"})
_UNC = r"(?P<unc>\(\s*\?\s*\)|\?)?"
_CODE = re.compile(
    rf"""^(?:(?P<ad>ad)|(?P<m>m)|au)?\s*(?P<side>a\s*/\s*[lr]|[lrutba])?\s*(?:au\s*)?
        (?P<num>\d{{1,3}})(?:\.0+)?\s*(?P<int>[a-e])?(?:\s*/\s*(?P<int2>[a-e]))?\s*{_UNC}$""",
    re.IGNORECASE | re.VERBOSE,
)
_REF = re.compile(rf"^ref\s*\(\s*(?P<inner>[^()]+?)\s*\)\s*{_UNC}$", re.IGNORECASE)
_SLIP = re.compile(r"^(\d{1,2})\.(\d{1,2})$")
_WORDS = re.compile(r"^[a-z][a-z'\-]*(?:\s+[a-z][a-z'\-]*)*$", re.IGNORECASE)
_SEPARATORS = re.compile(r"[+,;]")
_OR = re.compile(r"\s+or\s+", re.IGNORECASE)


@dataclass(frozen=True)
class FacsCell:
    """One annotation cell, read.

    Attributes:
        raw: the cell as text.
        items: every read token in written order (:class:`AU` or :class:`Descriptor`).
        unreadable: tokens that are no FACS form (kept as written).
        slips: decimal slips read as two codes (``"1.7"``).
        uncoded: the cell says the sample was not coded (``?``).
    """

    raw: str
    items: tuple[AU | Descriptor, ...] = ()
    unreadable: tuple[str, ...] = ()
    slips: tuple[str, ...] = ()
    uncoded: bool = False

    @property
    def codes(self) -> tuple[AU, ...]:
        """The numbered codes (action units, ADs, head/eye, visibility, gross behaviour)."""
        return tuple(i for i in self.items if isinstance(i, AU))

    @property
    def descriptors(self) -> tuple[str, ...]:
        """The free-text descriptors."""
        return tuple(i.text for i in self.items if isinstance(i, Descriptor))

    def __str__(self) -> str:
        """The read tokens in canonical form (unreadable tokens left out)."""
        return "+".join(str(i) for i in self.items)


def _code(token: str) -> AU | None:
    """One code (or ``ref(code)``), or None when ``token`` is not one."""
    ref = _REF.match(token)
    if ref:
        inner = _code(ref["inner"])
        if inner is None or inner.referenced:
            return None
        return replace(inner, referenced=True, uncertain=inner.uncertain or bool(ref["unc"]))
    m = _CODE.match(token)
    if not m or not 1 <= int(m["num"]) <= 99:
        return None
    side = re.sub(r"\s", "", m["side"] or "").upper() or None
    try:
        return AU(
            int(m["num"]),
            side=side,
            intensity=(m["int"] or "").upper() or None,
            uncertain=bool(m["unc"]),
            kind="ad" if m["ad"] else None,
            intensity_to=(m["int2"] or "").upper() or None,
            movement=bool(m["m"]),
        )
    except AUParseError:  # e.g. M on a code that is no head or eye code, 10B/A
        return None


def _alternatives(segment: str) -> AU | None:
    """``12 or 14``, ``(R6 or R12)``, ``12/14``: the first code with the others' numbers."""
    parts = _OR.split(segment)
    if len(parts) == 1:
        parts = segment.split("/")
    if len(parts) < 2:
        return None
    codes = [_code(p.strip()) for p in parts]
    if any(c is None for c in codes):
        return None
    first, *rest = codes
    assert first is not None
    alts = tuple(
        dict.fromkeys(c.number for c in rest if c is not None and c.number != first.number)
    )
    uncertain = first.uncertain or any(c is not None and c.uncertain for c in rest)
    return replace(first, uncertain=uncertain, alternatives=alts)


def _strip_group(segment: str) -> str:
    """``(R6 or R12)`` → ``R6 or R12``; a lone ``(?)`` mark or ``ref(...)`` is left alone."""
    if segment.startswith("(") and segment.endswith(")") and segment.count("(") == 1:
        inner = segment[1:-1].strip()
        if inner and inner != "?":
            return inner
    return segment


@dataclass
class _Reader:
    items: list[AU | Descriptor]
    unreadable: list[str]
    slips: list[str]

    def segment(self, segment: str) -> None:
        text = _strip_group(segment)
        code = _code(text) or _alternatives(text)
        if code is not None:
            self.items.append(code)
        elif not self._slip(text):
            self._pieces(text)

    def _slip(self, text: str) -> bool:
        m = _SLIP.match(text)
        codes = [_code(g) for g in m.groups()] if m else []
        if not codes or any(c is None for c in codes):
            return False
        self.items.extend(c for c in codes if c is not None)
        self.slips.append(text)
        return True

    def _pieces(self, text: str) -> None:
        run: list[str] = []
        for piece in [*text.split(), None]:
            code = None if piece is None else _code(piece)
            if code is None and piece is not None and not self._is_slip(piece):
                run.append(piece)
                continue
            if run:
                self._run(" ".join(run))
                run = []
            if code is not None:
                self.items.append(code)
            elif piece is not None:
                self._slip(piece)

    @staticmethod
    def _is_slip(piece: str) -> bool:
        m = _SLIP.match(piece)
        return bool(m) and all(_code(g) is not None for g in m.groups())

    def _run(self, run: str) -> None:
        words = run.split()
        letters = sum(c.isalpha() for c in run)
        if _WORDS.match(run) and letters >= 2 and "or" not in (w.lower() for w in words):
            self.items.append(Descriptor(run))
        else:
            self.unreadable.append(run)


def _cell_text(text: object) -> str | None:
    """The cell as text; None for an empty cell. Whole floats (Excel's ``12.0``) read as ints."""
    if text is None:
        return None
    if isinstance(text, bool) or not isinstance(text, (str, numbers.Real)):
        raise AUParseError(
            f"cannot parse AU string {text!r}: expected str, int or float, not {type(text).__name__}"
        )
    if isinstance(text, numbers.Integral):
        return str(int(text))
    if isinstance(text, numbers.Real):
        value = float(text)
        if math.isnan(value):
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    return text.strip()


def _merge(a: AU, b: AU) -> AU:
    intensity = max((i for i in (a.intensity, b.intensity) if i), default=None)
    top = max((i for i in (a.intensity_to, b.intensity_to) if i), default=None)
    alts = tuple(n for n in dict.fromkeys((*a.alternatives, *b.alternatives)) if n != a.number)
    return replace(
        a,
        intensity=intensity,
        intensity_to=top if top and intensity and top > intensity else None,
        uncertain=a.uncertain and b.uncertain,
        alternatives=alts,
        referenced=a.referenced and b.referenced,
    )


def _dedupe(items: list[AU | Descriptor], source: object, strict: bool) -> list[AU | Descriptor]:
    """Repeats of one code (number, side, kind, M) merge into the first (see :func:`parse_codes`)."""
    merged: dict[object, AU | Descriptor] = {}
    for item in items:
        key: object = (
            ("text", item.text)
            if isinstance(item, Descriptor)
            else (item.kind, item.number, item.side, item.movement)
        )
        if key in merged:
            if strict:
                raise AUParseError(
                    f"cannot parse AU string {source!r}: {item} is repeated (strict mode)"
                )
            old = merged[key]
            if isinstance(item, AU) and isinstance(old, AU):
                item = _merge(old, item)
        merged[key] = item
    return list(merged.values())


def parse_codes(text: str | int | float | None, *, strict: bool = False) -> FacsCell:
    """Read an annotation cell into a :class:`FacsCell`; never drops a readable code.

    Repeats of the same code merge into the first (the highest intensity kept, ``uncertain`` and
    ``referenced`` only if every copy was), empty segments (``1+2+``) are skipped, and tokens
    that are no FACS form go to :attr:`FacsCell.unreadable`. With ``strict=True`` an empty
    segment, a repeat or an unreadable token raises :class:`AUParseError` (a ``ValueError``)
    naming the cell and the token. Only a value that is no text or number always raises.
    """
    body = _cell_text(text)
    if body is None or body.lower() in EMPTY_MARKERS:
        return FacsCell(body or "")
    if body in _UNCODED:
        return FacsCell(body, uncoded=True)
    reader = _Reader([], [], [])
    for raw in _SEPARATORS.split(body):
        segment = raw.strip()
        if not segment:
            if strict:
                raise AUParseError(
                    f"cannot parse AU string {text!r}: empty segment between separators (strict mode)"
                )
            continue
        reader.segment(segment)
    if strict and reader.unreadable:
        raise AUParseError(
            f"cannot parse AU string {text!r}: token {reader.unreadable[0]!r} is no FACS code "
            "(forms: '12', 'L12', 'R14A', 'A12B', '10A/B', '4(?)', '12 or 14', 'ref(7B)', "
            "'AD31', 'M58'; see docs/facs.md)"
        )
    return FacsCell(
        body,
        tuple(_dedupe(reader.items, text, strict)),
        tuple(reader.unreadable),
        tuple(reader.slips),
    )
