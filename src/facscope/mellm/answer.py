"""The one-line structured answer that ends every target and that the prompt asks models for.

Format (one line, fields in this order, separated by ``;``)::

    ANSWER: AUs=6+L12B; emotion=happiness; class=positive

* ``AUs``: the Action Units in FACS annotation form (:func:`facscope.facs.format_aus`: side
  prefix ``L``/``R``/``U``, intensity suffix ``A``–``E``, ``(?)`` for an uncertain code), or
  ``none``;
* ``emotion``: the fine-grained label (canonical name, e.g. ``happiness``, ``repression``);
* ``class``: the MEGC 2019 three-class label (``negative``/``positive``/``surprise``), or
  ``none`` for a label outside the scheme (``others``).

:func:`parse_answer_line` reads it back tolerantly (any case, ``:`` or ``=`` after a key,
``,`` or ``|`` between fields, stray spaces and markdown emphasis).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from facscope.errors import AUParseError
from facscope.facs import AU, format_aus, parse_aus

__all__ = ["ANSWER_PREFIX", "AnswerLine", "format_answer_line", "parse_answer_line"]

ANSWER_PREFIX = "ANSWER:"
_LINE = re.compile(
    r"^[\s>*_`#-]*answer[\s*_`]*[:：]\s*(?P<body>.+?)\s*$", re.IGNORECASE | re.MULTILINE
)
_FIELD = re.compile(
    r"(?P<key>aus?|action\s*units?|emotion|fine(?:[\s-]*grained)?|label|class|coarse)"
    r"\s*[:=]\s*(?P<value>[^;|\n]*?)\s*(?=(?:[;|,]\s*(?:aus?|action\s*units?|emotion|fine|label|class|coarse)\b)|[;|]|$)",
    re.IGNORECASE,
)
_NONE = {"", "none", "null", "n/a", "na", "-", "nil"}


@dataclass(frozen=True)
class AnswerLine:
    """A parsed answer line; a field is None when it is missing or unreadable."""

    aus: tuple[AU, ...] | None
    emotion: str | None
    coarse: str | None
    raw: str

    @property
    def complete(self) -> bool:
        """All three fields were read."""
        return self.aus is not None and self.emotion is not None and self.coarse is not None


def format_answer_line(aus: Iterable[AU], emotion: str | None, coarse: str | None) -> str:
    """The answer line for ``aus``, fine label ``emotion`` and three-class ``coarse``."""
    codes = format_aus(aus) or "none"
    return f"{ANSWER_PREFIX} AUs={codes}; emotion={emotion or 'none'}; class={coarse or 'none'}"


def _clean(value: str) -> str:
    return value.strip().strip("*_`\"'.").strip()


def parse_answer_line(text: str) -> AnswerLine | None:
    """The last ``ANSWER:`` line of ``text`` parsed into fields, or None if there is none.

    ``emotion`` and ``coarse`` are returned lower-cased as written; map them with
    :func:`facscope.facs.normalize_emotion` as needed. ``emotion=none`` reads as None (missing);
    ``class=none`` reads as ``"none"`` (the label is outside the three-class scheme). An AU
    field that does not parse gives ``aus=None``.
    """
    matches = list(_LINE.finditer(text or ""))
    if not matches:
        return None
    body = matches[-1].group("body")
    aus: tuple[AU, ...] | None = None
    emotion: str | None = None
    coarse: str | None = None
    seen_aus = seen_emotion = seen_coarse = False
    for m in _FIELD.finditer(body):
        key = m.group("key").lower()
        value = _clean(m.group("value"))
        if key.startswith(("au", "action")) and not seen_aus:
            seen_aus = True
            if value.lower() in _NONE:
                aus = ()
            else:
                try:
                    aus = parse_aus(re.sub(r"(?i)\bau\s*", "", value))
                except AUParseError:
                    aus = None
        elif key.startswith(("emotion", "fine", "label")) and not seen_emotion:
            seen_emotion = True
            emotion = None if value.lower() in _NONE else value.lower()
        elif key.startswith(("class", "coarse")) and not seen_coarse:
            seen_coarse = True
            coarse = "none" if value.lower() in _NONE else value.lower()
    return AnswerLine(aus=aus, emotion=emotion, coarse=coarse, raw=matches[-1].group(0).strip())
