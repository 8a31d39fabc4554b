"""Turning one annotated clip row into a :class:`Sample`, applying the documented rules.

Shared by every clip adapter (CASME II, SAMM, SMIC, CAS(ME)³, DFME, ``folder``, ``csv``), so a
quirk is handled the same way everywhere. The order of the checks:

1. onset/offset read as whole frame numbers (``bad-row``, ``offset-missing``, ``bad-index``);
2. when frames are scanned: the folder is listed (``missing-frames``), onset/offset are checked
   against the frames on disk (``index-outside-frames``) and gaps inside [onset, offset] noted
   (``frame-gap``);
3. the apex: ``/`` or blank (``apex-missing``) or outside [onset, offset] (``apex-outside``)
   falls back to the apex rule;
4. AUs parsed with :func:`facscope.facs.parse_aus` (``au-notation``, ``au-doubtful``,
   ``au-unparsable``).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from facscope.data.problems import ProblemLog
from facscope.data.sample import Sample
from facscope.data.tables import cell_int, cell_text
from facscope.errors import AUParseError, ConfigError, InputFileError
from facscope.facs import AU, dataset_label, parse_aus
from facscope.io import frame_gaps, frame_number, list_frames

__all__ = ["APEX_MODES", "ApexFn", "ClipSpec", "make_clip", "parse_au_cell", "resolve_label"]

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


def max_motion_apex_fn(fps: float | None = None) -> ApexFn:
    """``facscope.motion.apex.max_motion_apex`` (imported lazily), given the clip's fps."""
    try:
        from facscope.motion.apex import max_motion_apex  # type: ignore[attr-defined]

        fn = functools.partial(max_motion_apex, fps=fps)
    except (ImportError, AttributeError):
        raise ConfigError(
            "apex='max-motion' needs facscope.motion.apex.max_motion_apex(frames, onset, offset), "
            "which is not available; pass apex_fn=<callable(frames, onset, offset) -> int> or "
            "use apex='annotated' (midpoint for missing apexes)"
        ) from None
    return fn  # type: ignore[no-any-return]


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
    """Parse an AU cell; returns the AUs and meta to add (``aus_raw`` when unparsable)."""
    if isinstance(raw, str):
        raw = raw.strip()
    try:
        aus = parse_aus(raw)
    except AUParseError as exc:
        log.add("au-unparsable", str(exc), action="fixed", sample_id=sample_id, row=row)
        return (), {"aus_raw": str(raw)}
    doubtful = [str(a) for a in aus if a.doubtful]
    if doubtful:
        log.add(
            "au-doubtful",
            f"AUs {raw!r}: doubtful {doubtful}",
            action="kept",
            sample_id=sample_id,
            row=row,
        )
    notation = [str(a) for a in aus if a.side or a.intensity]
    if notation:
        log.add(
            "au-notation",
            f"AUs {raw!r}: coded with side/intensity {notation}",
            action="kept",
            sample_id=sample_id,
            row=row,
        )
    return aus, {}


def _nearest(numbers: list[int], value: int, lo: int, hi: int) -> int:
    """The frame number on disk nearest ``value`` within [lo, hi] (ties: the earlier)."""
    i = bisect.bisect_left(numbers, value)
    cands = [n for n in numbers[max(0, i - 1) : i + 1] if lo <= n <= hi]
    return min(cands, key=lambda n: (abs(n - value), n)) if cands else value


def make_clip(
    spec: ClipSpec,
    log: ProblemLog,
    *,
    scan: bool = True,
    apex: str = "annotated",
    apex_fn: ApexFn | None = None,
) -> Sample | None:
    """Apply the rules to ``spec``; the Sample, or None when the row is skipped.

    Args:
        scan: list the frame folder and check the indices against the frames on disk.
        apex: ``"annotated"`` (the annotation's apex; the midpoint when missing or invalid),
            ``"midpoint"`` (always the onset/offset midpoint) or ``"max-motion"`` (missing or
            invalid apexes from ``apex_fn``, by default ``facscope.motion.apex``).
    """
    if apex not in APEX_MODES:
        raise ConfigError(f"apex must be one of {APEX_MODES}; got {apex!r}")
    sid, row = spec.sample_id, spec.row

    def add(kind: str, message: str, action: str) -> None:
        log.add(kind, message, action=action, sample_id=sid, row=row)

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

    meta = dict(spec.meta)
    numbers: list[int] = []
    files: list[Path] = []
    if scan or apex == "max-motion":
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
        meta |= {"frames_on_disk": len(numbers), "first_frame": first, "last_frame": last}

    apex_value, rule = cell_int(spec.apex), "annotated"
    if onset is None or offset is None:  # bounds_from_frames without scanning
        apex_value, rule = None, "none"
    elif apex == "midpoint":
        apex_value, rule = _midpoint(onset, offset), "midpoint"
    else:
        if apex_value is None or not onset <= apex_value <= offset:
            how = (
                "the max-motion frame"
                if apex == "max-motion"
                else (f"the midpoint {_midpoint(onset, offset)}")
            )
            if apex_value is not None:
                add(
                    "apex-outside",
                    f"apex {apex_value} outside [{onset}, {offset}]; set to {how}",
                    "fixed",
                )
            elif spec.has_apex:
                add("apex-missing", f"apex written as {spec.apex!r}; set to {how}", "fixed")
            if apex == "max-motion":
                fn = apex_fn or max_motion_apex_fn(spec.fps)
                apex_value, rule = int(fn(files, onset, offset)), "max-motion"
            else:
                apex_value, rule = _midpoint(onset, offset), "midpoint"
        if numbers:
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
