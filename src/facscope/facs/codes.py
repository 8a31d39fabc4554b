"""One FACS code as annotation sheets write it: :class:`AU` (any numbered code: action unit,
action descriptor, head/eye position or movement, visibility, gross behaviour) and
:class:`Descriptor` (free text written between codes). The grammar that reads cells into these
is :mod:`facscope.facs.grammar`; the meaning of every prefix and mark is in docs/facs.md.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass

from facscope.errors import AUParseError

__all__ = ["AU", "INTENSITIES", "KINDS", "SIDES", "Descriptor", "default_kind"]

INTENSITIES: tuple[str, ...] = ("A", "B", "C", "D", "E")
"""FACS intensity letters, trace (A) to maximum (E)."""

#: What a code is (FACS 2002 manual's code groups). ``au`` action unit; ``ad`` action
#: descriptor; ``head`` / ``eye`` position (51-58, 61-66) or, with ``movement``, an M-code;
#: ``visibility`` (70-74); ``gross`` gross behaviour (40, 50, 80-98).
KINDS: tuple[str, ...] = ("au", "ad", "head", "eye", "visibility", "gross")

#: Side marks written before a number: L / R one side (left / right of the subject), U one side
#: not given, T / B top / bottom (lip), A asymmetric, A/L / A/R asymmetric, stronger left / right.
SIDES: tuple[str | None, ...] = (None, "L", "R", "U", "T", "B", "A", "A/L", "A/R")

_AD = frozenset({19, 29, 30, 32, 33, 34, 35, 36, 37})
_HEAD = frozenset({*range(51, 61), 83})
_EYE = frozenset({*range(61, 67), 68, 69})
_VISIBILITY = frozenset(range(70, 75))
_GROSS = frozenset({40, 50, 80, 81, 82, 84, 85, 91, 92, 97, 98})


def default_kind(number: int) -> str:
    """The kind of a code written as a bare number (FACS 2002 numbering)."""
    for kind, numbers in (
        ("ad", _AD),
        ("head", _HEAD),
        ("eye", _EYE),
        ("visibility", _VISIBILITY),
        ("gross", _GROSS),
    ):
        if number in numbers:
            return kind
    return "au"


def _check_number(n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 99:
        raise AUParseError(f"AU numbers must be integers in 1..99; got {n!r}")


@dataclass(frozen=True)
class AU:
    """One numbered FACS code as written in an annotation.

    Attributes:
        number: FACS number, 1..99.
        side: a mark of :data:`SIDES` (``None``: bilateral or not given).
        intensity: ``"A"`` (trace) .. ``"E"`` (maximum), or ``None`` if not coded; the lower
            end of a range (``10A/B``).
        uncertain: the coder marked the code ``(?)`` or ``?``.
        alternatives: other numbers the coder offered instead (``12 or 14``, ``(R6 or R12)``).
        kind: one of :data:`KINDS`; ``None`` (default) takes the number's own kind
            (:func:`default_kind`); ``"ad"`` for an ``AD`` prefix on any number.
        intensity_to: the upper end of an intensity range (``10A/B`` → ``"B"``).
        referenced: written ``ref(…)`` (see docs/facs.md: not counted by AU metrics).
        movement: an ``M`` code (``M58``, ``M61``): a head or eye movement, not a position.
    """

    number: int
    side: str | None = None
    intensity: str | None = None
    uncertain: bool = False
    alternatives: tuple[int, ...] = ()
    _: KW_ONLY
    kind: str | None = None
    intensity_to: str | None = None
    referenced: bool = False
    movement: bool = False

    def __post_init__(self) -> None:
        for n in (self.number, *self.alternatives):
            _check_number(n)
        own = default_kind(self.number)
        kind = own if self.kind is None else self.kind
        if kind not in (own, "ad"):
            raise AUParseError(f"code {self.number} is a {own!r} code; kind {kind!r} does not fit")
        object.__setattr__(self, "kind", kind)
        if self.side not in SIDES:
            raise AUParseError(f"AU side must be one of {SIDES}; got {self.side!r}")
        for letter in (self.intensity, self.intensity_to):
            if letter is not None and letter not in INTENSITIES:
                raise AUParseError(
                    f"AU intensity must be one of {INTENSITIES} or None; got {letter!r}"
                )
        if self.intensity_to is not None and (
            self.intensity is None or self.intensity_to <= self.intensity
        ):
            raise AUParseError(
                f"an intensity range runs low to high (10A/B); got "
                f"{self.intensity}/{self.intensity_to}"
            )
        if self.movement and kind not in ("head", "eye"):
            raise AUParseError(f"M-codes are head or eye movements; {self.number} is {kind!r}")
        object.__setattr__(self, "alternatives", tuple(self.alternatives))
        if self.number in self.alternatives:
            raise AUParseError(
                f"AU {self.number} lists itself among its alternatives {self.alternatives}"
            )

    @property
    def doubtful(self) -> bool:
        """True if the coder was unsure: marked ``(?)`` or offered alternatives."""
        return self.uncertain or bool(self.alternatives)

    @property
    def is_action_unit(self) -> bool:
        """An action unit (not an AD, head/eye, visibility or gross-behaviour code)."""
        return self.kind == "au"

    @property
    def marked(self) -> bool:
        """Written with notation beyond the bare number (side, intensity, prefix, ``ref``)."""
        return bool(
            self.side or self.intensity or self.referenced or self.movement or self.kind == "ad"
        )

    def __str__(self) -> str:
        prefix = "AD" if self.kind == "ad" else "M" if self.movement else ""
        letters = (self.intensity or "") + (f"/{self.intensity_to}" if self.intensity_to else "")
        text = f"{prefix}{self.side or ''}{self.number}{letters}"
        if self.referenced:
            text = f"ref({text})"
        text += "(?)" if self.uncertain else ""
        return " or ".join([text, *(str(n) for n in self.alternatives)])


@dataclass(frozen=True)
class Descriptor:
    """Free text written among the codes (``soft focus``), kept as written."""

    text: str
    kind: str = "descriptor"

    def __str__(self) -> str:
        return self.text
