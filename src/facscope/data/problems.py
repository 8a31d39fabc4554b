"""Annotation and file problems found while loading a dataset, and the rule applied to each.

Adapters never crash on a doubtful row: each problem is recorded as a :class:`Problem`, repaired
or skipped by the rule documented in :data:`PROBLEM_KINDS`, and summarised in **one**
:class:`~facscope.errors.FacscopeDataWarning` per kind at the end of the load (not for
:data:`QUIET_KINDS`: normal FACS notation is only counted). With
``strict=True`` the first problem raises instead (:class:`~facscope.errors.DatasetError` for
missing files, :class:`~facscope.errors.AnnotationError` for everything else).
"""

from __future__ import annotations

import os
import sys
import warnings
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from facscope.errors import AnnotationError, ConfigError, DatasetError, FacscopeDataWarning

__all__ = ["ACTIONS", "FILE_KINDS", "PROBLEM_KINDS", "QUIET_KINDS", "Problem", "ProblemLog"]

#: What was done about a problem.
ACTIONS = ("fixed", "skipped", "kept")

#: kind → the rule applied (the same text appears in docs/datasets.md).
PROBLEM_KINDS: dict[str, str] = {
    "bad-row": "a row lacks a subject, file name or a numeric onset, or a value cannot be read; "
    "the row is skipped",
    "bad-index": "onset after offset, or a negative frame number; the row is skipped",
    "offset-missing": "no usable offset; set to the last frame on disk (skipped when frames "
    "are not scanned)",
    "apex-missing": "apex written as '/' or blank; set by the apex rule (onset/offset midpoint, "
    "rounded down, unless apex='max-motion')",
    "apex-outside": "apex outside [onset, offset]; replaced by the apex rule (the midpoint unless "
    "apex='max-motion')",
    "au-notation": "FACS marks: sides (L, R, U, T, B, A), intensities (A-E, 10A/B), ref(), AD and "
    "M codes, head/eye codes, free text; parsed into the AU record (docs/facs.md), counted but "
    "not warned about (normal FACS)",
    "au-doubtful": "AUs marked '(?)', written 'A or B', a decimal slip ('1.7' read as 1+7) or an "
    "uncoded '?' cell; kept, flagged AU.uncertain / AU.alternatives",
    "au-unparsable": "a token of the AU cell is no FACS form; the readable codes kept, the "
    "token in meta['aus_unreadable'] and the cell in meta['aus_raw']",
    "unknown-label": "emotion label not in the dataset's label set; the row is skipped",
    "duplicate-filename": "a file name repeats within a subject; every row is kept and its "
    "sample_id gets '@<onset>'",
    "duplicate-row": "a row repeats another (same subject, file, onset, offset); the copy is "
    "skipped",
    "missing-frames": "the frame folder is missing, empty, or has two files with one frame "
    "number; the sample is skipped",
    "missing-file": "an image or video file is missing; the sample is skipped",
    "frame-gap": "frame numbers have gaps inside [onset, offset]; kept (frames are addressed by "
    "number), a key frame inside a gap moves to the nearest frame on disk",
    "index-outside-frames": "onset/offset outside the frames on disk; clamped to the frames "
    "present when they overlap, skipped otherwise",
}

#: Kinds that are normal notation: recorded and counted, never a warning.
QUIET_KINDS = frozenset({"au-notation"})

#: Kinds about files on disk (``facscope data check`` fails on these).
FILE_KINDS = frozenset(
    {"missing-frames", "missing-file", "frame-gap", "index-outside-frames", "bad-index"}
)


@dataclass(frozen=True)
class Problem:
    """One problem found in a dataset.

    Attributes:
        dataset: the dataset name.
        kind: a key of :data:`PROBLEM_KINDS`.
        action: ``fixed``, ``skipped`` or ``kept`` (see :data:`ACTIONS`).
        message: what was found, with the values.
        sample_id: the sample concerned, when known.
        row: 1-based row in the annotation file (the spreadsheet row number), when known.
    """

    dataset: str
    kind: str
    action: str
    message: str
    sample_id: str | None = None
    row: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in PROBLEM_KINDS:
            raise ConfigError(
                f"problem kind must be one of {sorted(PROBLEM_KINDS)}; got {self.kind!r}"
            )
        if self.action not in ACTIONS:
            raise ConfigError(f"problem action must be one of {ACTIONS}; got {self.action!r}")

    @property
    def is_file_problem(self) -> bool:
        return self.kind in FILE_KINDS

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def __str__(self) -> str:
        where = " ".join(
            x for x in (self.sample_id or "", f"(row {self.row})" if self.row else "") if x
        )
        return f"[{self.kind}] {where + ': ' if where else ''}{self.message} → {self.action}"


class ProblemLog:
    """Collects problems during one load; raises at once in strict mode; warns once per kind."""

    def __init__(self, dataset: str, *, strict: bool = False) -> None:
        self.dataset = dataset
        self.strict = strict
        self.problems: list[Problem] = []

    def add(
        self,
        kind: str,
        message: str,
        *,
        action: str,
        sample_id: str | None = None,
        row: int | None = None,
    ) -> Problem:
        problem = Problem(self.dataset, kind, action, message, sample_id, row)
        if self.strict and kind not in QUIET_KINDS:
            cls = DatasetError if kind in ("missing-frames", "missing-file") else AnnotationError
            raise cls(
                f"{self.dataset}: {problem}. strict=True turns this into an error; "
                f"load with strict=False to apply the rule instead ({PROBLEM_KINDS[kind]})"
            )
        self.problems.append(problem)
        return problem

    def warn(self) -> None:
        """Emit one FacscopeDataWarning per problem kind, naming the count, examples and rule
        (attributed to the first caller outside facscope, i.e. the user's load call); the
        :data:`QUIET_KINDS` (normal FACS notation) are counted in ``problems`` only."""
        stacklevel = _outside_level()
        counts = Counter(p.kind for p in self.problems if p.kind not in QUIET_KINDS)
        for kind, n in counts.items():
            examples = [p for p in self.problems if p.kind == kind][:3]
            shown = "; ".join(str(p) for p in examples)
            more = f"; … {n - len(examples)} more" if n > len(examples) else ""
            warnings.warn(
                f"{self.dataset}: {n} × {kind}: {PROBLEM_KINDS[kind]}. e.g. {shown}{more} "
                "(all listed in Dataset.problems; strict=True makes this an error)",
                FacscopeDataWarning,
                stacklevel=stacklevel,
            )


def _outside_level() -> int:
    """The ``stacklevel`` for a ``warnings.warn`` made by this function's caller that points at
    the first frame outside the facscope package."""
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    frame = sys._getframe(1)  # the frame that calls warnings.warn (stacklevel 1)
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(package):
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return level
