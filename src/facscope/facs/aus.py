"""AU annotation strings as the ME spreadsheets write them (``R12+L14A``, ``4+7(?)``,
``12 or 14``, ``T28+14``, ``ref(7B)+43``, ``23+AD31``, ``12.0`` from Excel): :func:`parse_aus`,
:func:`format_aus`, and what AU metrics count (:func:`au_numbers`, :func:`au_targets`).

The grammar is :func:`facscope.facs.grammar.parse_codes` (it keeps free text and unreadable
tokens aside); :func:`parse_aus` is its strict-about-content form: every token must be a code.

**What AU metrics use** (docs/facs.md): action units only (``kind == "au"``: no ADs, head/eye,
visibility or gross-behaviour codes), not ``ref(…)`` codes; an uncertain ``(?)`` AU counts as
coded; a group of alternatives (``12 or 14``) counts as *either*: it is satisfied by a
prediction of any of its members (:func:`au_targets`), and counts as its first code where no
prediction is at hand (:func:`au_numbers`).
"""

from __future__ import annotations

from collections.abc import Iterable

from facscope.errors import AUParseError
from facscope.facs.codes import AU, INTENSITIES
from facscope.facs.grammar import parse_codes

__all__ = ["AU", "INTENSITIES", "au_numbers", "au_targets", "format_aus", "parse_aus"]

_EXPECTED = "expected forms like '12', 'L12', 'R14A', '4(?)', '12 or 14', 'ref(7B)', 'AD31'"


def parse_aus(text: str | int | float | None, *, strict: bool = False) -> tuple[AU, ...]:
    """Parse an AU annotation string into :class:`AU` records, in written order.

    Every FACS form of docs/facs.md is read: sides ``L R U T B A A/L A/R``, intensities
    ``A``..``E`` and ranges ``10A/B``, ``(?)``, ``ref(7B)``, alternatives ``12 or 14`` /
    ``(R6 or R12)`` / ``12/14`` (the first code, ``alternatives`` the other numbers), ``AD31``,
    ``M58``, head/eye codes 51-69, decimal slips ``1.7`` (read ``1+7``), ``12.0``. Repeats
    merge; empty segments are skipped; ``None``, NaN, ``""``, ``"/"``, ``"-"``, ``"none"``,
    ``"?"`` (uncoded) → ``()``.

    Unlike :func:`~facscope.facs.grammar.parse_codes`, a token that is no code (free text such
    as ``smile``, or garbage) raises :class:`AUParseError` (a ``ValueError``) naming the input;
    ``strict=True`` also raises on empty segments and repeats.
    """
    cell = parse_codes(text, strict=strict)
    bad = [*cell.unreadable, *cell.descriptors]
    if bad:
        raise AUParseError(
            f"cannot parse AU string {text!r}: token {bad[0]!r} is not an AU ({_EXPECTED})"
        )
    return cell.codes


def format_aus(aus: Iterable[AU | int]) -> str:
    """Write AUs in canonical form, e.g. ``"1+2+L12A+4(?)"``; ``""`` for none."""
    return "+".join(str(a if isinstance(a, AU) else AU(a)) for a in aus)


def _records(aus: str | Iterable[AU | int]) -> list[AU]:
    if isinstance(aus, str):
        return list(parse_aus(aus))
    return [a if isinstance(a, AU) else AU(int(a)) for a in aus]


def au_targets(aus: str | Iterable[AU | int]) -> tuple[frozenset[int], tuple[tuple[int, ...], ...]]:
    """What AU metrics score for one sample: (the AUs coded, the groups of alternatives).

    Only action units count (ADs, head/eye, visibility and gross-behaviour codes do not), and
    not ``ref(…)`` codes; ``(?)`` AUs count. Each group (``12 or 14`` → ``(12, 14)``, written
    order) is satisfied by any one of its members (see :func:`facscope.eval.metrics.au_f1_scores`).
    """
    coded: set[int] = set()
    groups: list[tuple[int, ...]] = []
    for a in _records(aus):
        if not a.is_action_unit or a.referenced:
            continue
        if a.alternatives:
            groups.append((a.number, *a.alternatives))
        else:
            coded.add(a.number)
    return frozenset(coded), tuple(g for g in dict.fromkeys(groups) if not coded & set(g))


def au_numbers(aus: str | Iterable[AU | int]) -> frozenset[int]:
    """The AU numbers AU metrics count in ``aus`` (a string is parsed first): action units,
    not ``ref(…)``, each group of alternatives as its first code (see :func:`au_targets`)."""
    coded, groups = au_targets(aus)
    return coded | {g[0] for g in groups}
