"""The FACS code grammar: every form the published sheets write → the structured codes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facscope.errors import AUParseError
from facscope.facs import (
    AU,
    INTENSITIES,
    SIDES,
    Descriptor,
    au_numbers,
    au_targets,
    default_kind,
    format_aus,
    parse_aus,
    parse_codes,
)

R = {"referenced": True}

# cell → (items in written order, unreadable tokens)
GRAMMAR_TABLE: list[tuple[object, tuple[object, ...], tuple[str, ...]]] = [
    # prefixes other than L/R
    ("T18", (AU(18, side="T"),), ()),
    ("T23", (AU(23, side="T"),), ()),
    ("T28+14", (AU(28, side="T"), AU(14)), ()),
    ("B28", (AU(28, side="B"),), ()),
    ("A12", (AU(12, side="A"),), ()),
    ("A1B+A2C", (AU(1, "A", "B"), AU(2, "A", "C")), ()),
    ("A/L12", (AU(12, side="A/L"),), ()),
    ("a/r12c", (AU(12, side="A/R", intensity="C"),), ()),
    ("A9E", (AU(9, side="A", intensity="E"),), ()),
    ("U4", (AU(4, side="U"),), ()),
    ("L12+R14A", (AU(12, side="L"), AU(14, side="R", intensity="A")), ()),
    # intensity ranges and intensity-only letters
    ("10A/B", (AU(10, intensity="A", intensity_to="B"),), ()),
    ("4A/B", (AU(4, intensity="A", intensity_to="B"),), ()),
    ("15A", (AU(15, intensity="A"),), ()),
    ("A12B", (AU(12, side="A", intensity="B"),), ()),
    ("R12C/E", (AU(12, side="R", intensity="C", intensity_to="E"),), ()),
    # referenced codes
    ("ref(7B)+43", (AU(7, intensity="B", **R), AU(43)), ()),
    ("7B+ ref(43)", (AU(7, intensity="B"), AU(43, **R)), ()),
    ("ref(L10)+A12B", (AU(10, side="L", **R), AU(12, side="A", intensity="B")), ()),
    ("4D+ref(6)+7C+43E", (AU(4, None, "D"), AU(6, **R), AU(7, None, "C"), AU(43, None, "E")), ()),
    ("REF (12)(?)", (AU(12, uncertain=True, **R),), ()),
    # alternatives
    ("(R6 or R12)+R15", (AU(6, side="R", alternatives=(12,)), AU(15, side="R")), ()),
    ("(R6 or R12) + R15", (AU(6, side="R", alternatives=(12,)), AU(15, side="R")), ()),
    ("12 or 14", (AU(12, alternatives=(14,)),), ()),
    ("12/14", (AU(12, alternatives=(14,)),), ()),
    ("4(?)", (AU(4, uncertain=True),), ()),
    ("4+7(?)", (AU(4), AU(7, uncertain=True)), ()),
    # action descriptors and movement codes
    ("AD31", (AU(31, kind="ad"),), ()),
    ("AD38", (AU(38, kind="ad"),), ()),
    ("AD39", (AU(39, kind="ad"),), ()),
    ("23+AD31", (AU(23), AU(31, kind="ad")), ()),
    ("4+7+AD38", (AU(4), AU(7), AU(38, kind="ad")), ()),
    ("19+32", (AU(19, kind="ad"), AU(32, kind="ad")), ()),  # ADs by number (FACS 2002)
    ("M58", (AU(58, movement=True),), ()),
    ("1+2+5+M58", (AU(1), AU(2), AU(5), AU(58, movement=True)), ()),
    ("M61+M83", (AU(61, movement=True), AU(83, movement=True)), ()),
    ("51+54+55+58", (AU(51), AU(54), AU(55), AU(58)), ()),
    ("61+62+63+64+65+66", tuple(AU(n) for n in range(61, 67)), ()),
    ("70+74", (AU(70), AU(74)), ()),  # visibility
    ("50+80+85", (AU(50), AU(80), AU(85)), ()),  # gross behaviour
    # free text, uncoded cells, decimal slips
    ("R14+17+soft focus", (AU(14, side="R"), AU(17), Descriptor("soft focus")), ()),
    ("12+smile", (AU(12), Descriptor("smile")), ()),
    ("?", (), ()),
    ("1.7", (AU(1), AU(7)), ()),
    ("4+1.7", (AU(4), AU(1), AU(7)), ()),
    (1.7, (AU(1), AU(7)), ()),
    # plain forms stay as they were
    ("12.0", (AU(12),), ()),
    (12.0, (AU(12),), ()),
    ("AU 1 + AU 2", (AU(1), AU(2)), ()),
    ("1 2 4", (AU(1), AU(2), AU(4)), ()),
    ("1+2+", (AU(1), AU(2)), ()),
    ("", (), ()),
    # unreadable tokens never take the rest of the cell with them
    ("1+2+12x", (AU(1), AU(2)), ("12x",)),
    ("4+0+100", (AU(4),), ("0", "100")),
    ("12 or", (AU(12),), ("or",)),
    ("M12+6", (AU(6),), ("M12",)),
    ("L+12", (AU(12),), ("L",)),
]


@pytest.mark.parametrize(("cell", "items", "unreadable"), GRAMMAR_TABLE)
def test_grammar_table(cell: object, items: tuple[object, ...], unreadable: tuple[str, ...]):
    read = parse_codes(cell)  # type: ignore[arg-type]
    assert read.items == items
    assert read.unreadable == unreadable
    assert read.uncoded == (cell == "?")
    assert read.slips == (("1.7",) if "1.7" in str(cell) else ())


@pytest.mark.parametrize(("cell", "items", "unreadable"), GRAMMAR_TABLE)
def test_strict_raises_only_on_unreadable(cell, items, unreadable):
    if unreadable:
        with pytest.raises(AUParseError, match=repr(unreadable[0])):
            parse_codes(cell, strict=True)
    elif cell != "1+2+":
        assert parse_codes(cell, strict=True).items == items


def test_kinds_and_marks() -> None:
    kinds = {str(a): a.kind for a in parse_codes("1+AD31+31+19+53+M57+61+71+50").codes}
    assert kinds == {"1": "au", "AD31": "ad", "31": "au", "AD19": "ad", "53": "head",
                     "M57": "head", "61": "eye", "71": "visibility", "50": "gross"}  # fmt: skip
    assert default_kind(38) == "au" and default_kind(83) == "head"
    assert not AU(12).marked and AU(12, side="T").marked and AU(31, kind="ad").marked
    with pytest.raises(AUParseError):
        AU(12, kind="head")
    with pytest.raises(AUParseError):
        AU(12, movement=True)
    with pytest.raises(AUParseError):
        AU(10, intensity="B", intensity_to="A")


def test_parse_aus_reads_codes_but_rejects_free_text() -> None:
    assert parse_aus("T28+14+ref(7B)+AD31") == parse_codes("T28+14+ref(7B)+AD31").codes
    assert parse_aus("?") == ()
    with pytest.raises(AUParseError, match="'soft focus' is not an AU"):
        parse_aus("R14+17+soft focus")


def test_metric_rule() -> None:
    """Action units only, no ref(); (?) counts; alternatives are a group."""
    coded, groups = au_targets("4D+ref(6)+7C(?)+43E+AD31+M58+53+(R6 or R12)")
    assert coded == {4, 7, 43} and groups == ((6, 12),)
    assert au_numbers("4D+ref(6)+7C(?)+43E+AD31+M58+53+(R6 or R12)") == {4, 6, 7, 43}
    assert au_targets("14+12 or 14") == (frozenset({14}), ())  # 14 is coded: the group is met


# --------------------------------------------------------------------------- round trip

_numbers = st.integers(1, 99)


@st.composite
def _codes(draw: st.DrawFn) -> AU:
    number = draw(_numbers)
    kind = draw(st.sampled_from([None, "ad"]))
    lo = draw(st.sampled_from([None, *INTENSITIES]))
    hi = draw(st.sampled_from([None, *(i for i in INTENSITIES if lo and i > lo)]))
    head_eye = AU(number).kind in ("head", "eye") and kind is None
    alts = draw(st.lists(_numbers.filter(lambda n: n != number), max_size=2, unique=True))
    return AU(
        number,
        side=draw(st.sampled_from(SIDES)),
        intensity=lo,
        uncertain=draw(st.booleans()),
        alternatives=tuple(alts),
        kind=kind,
        intensity_to=hi,
        referenced=draw(st.booleans()),
        movement=head_eye and draw(st.booleans()),
    )


_words = st.from_regex(r"[a-z]{3,8}( [a-z]{3,8})?", fullmatch=True).filter(
    lambda w: "or" not in w.split() and not w.startswith(("ad", "au", "ref"))
)


@given(st.lists(st.one_of(_codes(), _words.map(Descriptor)), max_size=6))
def test_join_and_parse_again_is_stable(items: list[AU | Descriptor]) -> None:
    text = "+".join(str(i) for i in items)
    once = parse_codes(text)
    assert not once.unreadable
    again = parse_codes(str(once))
    assert again.items == once.items and str(again) == str(once)

    def key(a: AU) -> tuple[object, ...]:
        return (a.kind, a.number, a.side, a.movement)

    # no written code is lost (repeats merge into the first)
    assert [key(a) for a in once.codes] == list(
        dict.fromkeys(key(a) for a in items if isinstance(a, AU))
    )


@given(st.lists(_codes(), max_size=5, unique_by=lambda a: (a.kind, a.number, a.side, a.movement)))
def test_format_aus_round_trips_every_field(aus: list[AU]) -> None:
    assert parse_aus(format_aus(aus)) == tuple(aus)
