"""Turning one annotated clip row into a :class:`Sample`, applying the documented rules.

Shared by every clip adapter (CASME II, SAMM, SMIC, CAS(ME)³, DFME, ``folder``, ``csv``), so a
quirk is handled the same way everywhere. The order of the checks:

1. onset/offset read as whole frame numbers (``bad-row``, ``offset-missing``, ``bad-index``);
2. when frames are scanned: the folder is listed (``missing-frames``), onset/offset are checked
   against the frames on disk (``index-outside-frames``) and gaps inside [onset, offset] noted
   (``frame-gap``);
3. the apex: ``/`` or blank (``apex-missing``) or outside [onset, offset] (``apex-outside``)
   falls back to the apex rule;
4. AUs read with :func:`facscope.facs.parse_codes` (``au-notation``, counted without a
   warning; ``au-doubtful``; ``au-unparsable`` for a token that is no FACS form, the rest kept).
"""

from __future__ import annotations

import bisect
import functools
import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from facscope.data.problems import ProblemLog
from facscope.data.sample import TARGETS, Sample
from facscope.data.tables import cell_int, cell_text
from facscope.errors import AUParseError, ConfigError, InputFileError
from facscope.facs import AU, dataset_label, parse_codes
from facscope.io import frame_gaps, frame_number, list_frames
from facscope.registry import Registry

__all__ = [
    "APEX_FINDERS",
    "APEX_MODES",
    "CLIP_OPTIONS",
    "ApexFn",
    "ClipOptions",
    "ClipSpec",
    "clip_adapter",
    "make_clip",
    "parse_au_cell",
    "resolve_label",
]

#: ``apex=`` options of the clip adapters.
APEX_MODES = ("annotated", "midpoint", "max-motion")

ApexFn = Callable[[list[Path], int, int], int]
"""``apex_fn(frames, onset, offset) -> apex frame number`` (frames sorted by number)."""


@dataclass
class ClipSpec:
    """What an adapter read from one row, before the rules are applied (values as written)."""

    dataset: str
    subject: str
    sample_id: str
    frames_dir: Path
    fps: float | None
    onset: Any = None
    apex: Any = None
    offset: Any = None
    aus: Any = None
    emotion: Any = None
    label: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    row: int | None = None
    has_apex: bool = True  # the annotation has an apex column (SMIC has none)
    bounds_from_frames: bool = False  # onset/offset default to the first/last frame on disk


def _midpoint(onset: int, offset: int) -> int:
    return (onset + offset) // 2


#: Apex finders by ``apex=`` mode, ``finder(frames, onset, offset, *, fps) -> frame number``.
#: The data layer cannot compute motion: :mod:`facscope.motion.apex` registers ``max-motion``
#: when it is imported (the CLI, the MER runner and the preprocessing loader import it).
APEX_FINDERS: Registry[int] = Registry("apex finder")


def _apex_finder(fps: float | None) -> ApexFn:
    """The registered ``max-motion`` finder, given the clip's fps."""
    if "max_motion" not in APEX_FINDERS:
        raise ConfigError(
            "apex='max-motion' needs a max-motion apex finder: import facscope.motion.apex "
            "(it registers max_motion_apex(frames, onset, offset)), pass "
            "apex_fn=<callable(frames, onset, offset) -> int> or use apex='annotated' "
            "(midpoint for missing apexes)"
        )
    return functools.partial(APEX_FINDERS.get("max_motion"), fps=fps)


@dataclass(frozen=True, kw_only=True)
class ClipOptions:
    """The options every clip adapter shares (each adapter accepts those it lists in
    :func:`clip_adapter`; ``load_dataset(name, root, **options)`` builds this from them).

    Attributes:
        strict: raise on the first doubtful row instead of warning and applying the rule.
        annotations: the annotation file, when it is not where the release puts it.
        frames_root: the folder holding the subject folders, when not found automatically.
        scan: list each frame folder and check the indices against the frames on disk.
        apex: ``"annotated"`` (the annotation's apex; the midpoint when missing or invalid),
            ``"midpoint"`` (always the onset/offset midpoint) or ``"max-motion"`` (missing or
            invalid apexes from ``apex_fn``, by default the finder :data:`APEX_FINDERS` holds).
        apex_fn: ``apex_fn(frames, onset, offset) -> apex frame number``.
        target: ``"label"`` (the dataset's emotions) or ``"megc3"`` (3 classes, others dropped).
    """

    strict: bool = False
    annotations: str | os.PathLike[str] | None = None
    frames_root: str | os.PathLike[str] | None = None
    scan: bool = True
    apex: str = "annotated"
    apex_fn: ApexFn | None = None
    target: str = "label"

    def __post_init__(self) -> None:
        if self.apex not in APEX_MODES:
            raise ConfigError(f"apex must be one of {APEX_MODES}; got {self.apex!r}")
        if self.target not in TARGETS:
            raise ConfigError(f"target must be one of {TARGETS}; got {self.target!r}")
        if self.apex_fn is not None and not callable(self.apex_fn):
            raise ConfigError(
                f"apex_fn must be callable(frames, onset, offset); got {self.apex_fn!r}"
            )


#: The :class:`ClipOptions` fields a user may set (``strict`` is passed on its own).
CLIP_OPTIONS = tuple(f.name for f in fields(ClipOptions) if f.name != "strict")

F = TypeVar("F", bound=Callable[..., Any])


def clip_adapter(*accepts: str) -> Callable[[F], F]:
    """Mark an adapter ``factory(root, options: ClipOptions, **own)`` as taking the
    :class:`ClipOptions` fields ``accepts`` (see :func:`facscope.data.load_dataset`)."""
    unknown = sorted(set(accepts) - set(CLIP_OPTIONS))
    if unknown:
        raise ConfigError(f"no ClipOptions field(s) {unknown}; fields are {CLIP_OPTIONS}")

    def deco(factory: F) -> F:
        factory.clip_options = accepts  # type: ignore[attr-defined]
        return factory

    return deco


def resolve_label(
    key: str, raw: Any, log: ProblemLog, *, sample_id: str, row: int | None
) -> tuple[bool, str | None]:
    """(ok, canonical label) for a dataset's raw label; logs ``unknown-label`` when not ok."""
    text = cell_text(raw)
    try:
        if text is None:
            raise ConfigError("the label is empty")
        return True, dataset_label(key, text)
    except ConfigError as exc:
        log.add(
            "unknown-label",
            f"emotion {raw!r}: {exc}",
            action="skipped",
            sample_id=sample_id,
            row=row,
        )
        return False, None


def parse_au_cell(
    raw: Any, log: ProblemLog, *, sample_id: str, row: int | None
) -> tuple[tuple[AU, ...], dict[str, Any]]:
    """Parse an AU cell with :func:`facscope.facs.parse_codes`; returns the codes and meta to add.

    No readable code is ever dropped. Free text goes to ``meta["aus_text"]``; unreadable tokens
    to ``meta["aus_unreadable"]`` (with the cell in ``meta["aus_raw"]``) and an
    ``au-unparsable`` problem; ``(?)``, alternatives, decimal slips and an uncoded ``?`` cell
    are ``au-doubtful``; side, intensity and prefix marks are counted as ``au-notation``
    (normal FACS: no warning).
    """
    if isinstance(raw, str):
        raw = raw.strip()
    try:
        cell = parse_codes(raw)
    except AUParseError as exc:  # not text or a number at all
        log.add("au-unparsable", str(exc), action="fixed", sample_id=sample_id, row=row)
        return (), {"aus_raw": str(raw)}

    def add(kind: str, what: str, action: str) -> None:
        log.add(kind, f"AUs {raw!r}: {what}", action=action, sample_id=sample_id, row=row)

    meta: dict[str, Any] = {}
    if cell.unreadable:
        add("au-unparsable", f"unreadable {list(cell.unreadable)}, the rest kept", "fixed")
        meta |= {"aus_raw": cell.raw, "aus_unreadable": list(cell.unreadable)}
    if cell.descriptors:
        meta["aus_text"] = list(cell.descriptors)
    doubtful = [str(a) for a in cell.codes if a.doubtful]
    doubtful += [f"{s!r} read as {s.replace('.', '+')}" for s in cell.slips]
    doubtful += ["'?': not coded"] if cell.uncoded else []
    if doubtful:
        add("au-doubtful", f"doubtful {doubtful}", "kept")
    notation = [str(a) for a in cell.codes if a.marked] + [repr(d) for d in cell.descriptors]
    if notation:
        add("au-notation", f"FACS marks {notation}", "kept")
    return cell.codes, meta


def _nearest(numbers: list[int], value: int, lo: int, hi: int) -> int:
    """The frame number on disk nearest ``value`` within [lo, hi] (ties: the earlier)."""
    i = bisect.bisect_left(numbers, value)
    cands = [n for n in numbers[max(0, i - 1) : i + 1] if lo <= n <= hi]
    return min(cands, key=lambda n: (abs(n - value), n)) if cands else value


def make_clip(spec: ClipSpec, log: ProblemLog, options: ClipOptions | None = None) -> Sample | None:
    """Apply the rules to ``spec`` under ``options`` (``scan``, ``apex``, ``apex_fn``; see
    :class:`ClipOptions`); the Sample, or None when the row is skipped."""
    opts = options or ClipOptions()
    sid, row = spec.sample_id, spec.row

    def add(kind: str, message: str, action: str) -> None:
        log.add(kind, message, action=action, sample_id=sid, row=row)

    bounds = _read_bounds(spec, add, scan=opts.scan)
    if bounds is None:
        return None
    onset, offset = bounds
    meta = dict(spec.meta)
    files: list[Path] = []
    numbers: list[int] = []
    if opts.scan or opts.apex == "max-motion":
        scanned = _scan_frames(spec, add, onset, offset)
        if scanned is None:
            return None
        files, onset, offset = scanned
        numbers = [frame_number(p) for p in files]
        meta |= {
            "frames_on_disk": len(numbers),
            "first_frame": numbers[0],
            "last_frame": numbers[-1],
        }
    apex_value, rule = _pick_apex(spec, add, opts, files, onset, offset)
    if numbers and apex_value is not None and opts.apex != "midpoint":
        snapped = _nearest(numbers, apex_value, onset, offset)
        if snapped != apex_value:  # the apex frame fell in a gap (see frame-gap)
            meta["apex_written"] = apex_value
        apex_value = snapped
    aus, au_meta = parse_au_cell(spec.aus, log, sample_id=sid, row=row)
    return Sample(
        dataset=spec.dataset,
        subject=spec.subject,
        sample_id=sid,
        frames_dir=spec.frames_dir,
        fps=spec.fps,
        onset=onset,
        apex=apex_value,
        offset=offset,
        apex_rule=rule,
        aus=aus,
        emotion=cell_text(spec.emotion),
        label=spec.label,
        meta=meta | au_meta,
    )


_Add = Callable[[str, str, str], None]


def _read_bounds(spec: ClipSpec, add: _Add, *, scan: bool) -> tuple[int | None, int | None] | None:
    """Rule 1: onset/offset as whole frame numbers (None = from the frames on disk); None when
    the row is skipped."""
    onset, offset = cell_int(spec.onset), cell_int(spec.offset)
    if onset is None and (cell_text(spec.onset) is not None or not spec.bounds_from_frames):
        add("bad-row", f"onset {spec.onset!r} is not a frame number", "skipped")
        return None
    if onset is not None and onset < 0:
        add("bad-index", f"onset {onset} is negative", "skipped")
        return None
    bad_offset = offset is None or offset < 0
    offset_written = cell_text(spec.offset) is not None
    if bad_offset and (offset_written or not spec.bounds_from_frames):
        if not scan:
            add(
                "offset-missing",
                f"offset {spec.offset!r} is not a frame number and frames are not scanned",
                "skipped",
            )
            return None
        add(
            "offset-missing",
            f"offset {spec.offset!r} is not a frame number; set to the last frame on disk",
            "fixed",
        )
    if bad_offset:
        offset = None
    if onset is not None and offset is not None and onset > offset:
        add("bad-index", f"onset {onset} is after offset {offset}", "skipped")
        return None
    return onset, offset


def _scan_frames(
    spec: ClipSpec, add: _Add, onset: int | None, offset: int | None
) -> tuple[list[Path], int, int] | None:
    """Rule 2: the frame files, and onset/offset checked against them (clamped, moved past
    gaps); None when the row is skipped."""
    try:
        files = list_frames(spec.frames_dir)
    except (InputFileError, ConfigError) as exc:
        add("missing-frames", str(exc), "skipped")
        return None
    numbers = [frame_number(p) for p in files]
    first, last = numbers[0], numbers[-1]
    onset = first if onset is None else onset
    offset = last if offset is None else offset
    if onset > last or offset < first:
        add(
            "index-outside-frames",
            f"[{onset}, {offset}] does not overlap the frames on disk [{first}, {last}]",
            "skipped",
        )
        return None
    if onset < first or offset > last:
        add(
            "index-outside-frames",
            f"[{onset}, {offset}] clamped to the frames on disk [{first}, {last}]",
            "fixed",
        )
        onset, offset = max(onset, first), min(offset, last)
    inside = numbers[bisect.bisect_left(numbers, onset) : bisect.bisect_right(numbers, offset)]
    if not inside:
        add("index-outside-frames", f"no frame on disk within [{onset}, {offset}]", "skipped")
        return None
    gaps = frame_gaps([onset - 1, *inside, offset + 1])
    if gaps:
        moved = ""
        if (inside[0], inside[-1]) != (onset, offset):
            moved = f"; onset/offset moved to {inside[0]}/{inside[-1]}"
        add("frame-gap", f"missing frames {gaps} within [{onset}, {offset}]{moved}", "kept")
        onset, offset = inside[0], inside[-1]
    return files, onset, offset


def _pick_apex(
    spec: ClipSpec,
    add: _Add,
    opts: ClipOptions,
    files: list[Path],
    onset: int | None,
    offset: int | None,
) -> tuple[int | None, str]:
    """Rule 3: the apex frame number and the rule that gave it."""
    if onset is None or offset is None:  # bounds_from_frames without scanning
        return None, "none"
    if opts.apex == "midpoint":
        return _midpoint(onset, offset), "midpoint"
    apex_value = cell_int(spec.apex)
    if apex_value is not None and onset <= apex_value <= offset:
        return apex_value, "annotated"
    max_motion = opts.apex == "max-motion"
    how = "the max-motion frame" if max_motion else f"the midpoint {_midpoint(onset, offset)}"
    if apex_value is not None:
        add("apex-outside", f"apex {apex_value} outside [{onset}, {offset}]; set to {how}", "fixed")
    elif spec.has_apex:
        add("apex-missing", f"apex written as {spec.apex!r}; set to {how}", "fixed")
    if max_motion:
        fn = opts.apex_fn or _apex_finder(spec.fps)
        return int(fn(files, onset, offset)), "max-motion"
    return _midpoint(onset, offset), "midpoint"
