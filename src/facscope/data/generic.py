"""Generic datasets: a folder of class folders (``folder``) and a CSV manifest (``csv``).

The manifest is also what ``facscope data export`` writes, so any dataset can be exported,
edited (e.g. paths pointed at preprocessed flow images) and read back with ``csv``.
"""

from __future__ import annotations

import csv
import json
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from facscope.data.clips import ApexFn, ClipSpec, parse_au_cell
from facscope.data.common import build_clips, check_root, finish
from facscope.data.dataset import DATASETS, Dataset, infer_classes
from facscope.data.problems import ProblemLog
from facscope.data.sample import KINDS, Sample
from facscope.data.tables import cell_int, cell_text, header_key, read_csv
from facscope.errors import ConfigError, DatasetError
from facscope.facs import normalize_emotion
from facscope.io import IMAGE_SUFFIXES, VIDEO_SUFFIXES, atomic_path

__all__ = ["MANIFEST_COLUMNS", "VIDEO_SUFFIXES", "folder", "manifest", "write_manifest"]

#: Columns of a manifest written by :func:`write_manifest`, in order (then ``meta.*``).
MANIFEST_COLUMNS = (
    "path",
    "subject",
    "label",
    "dataset",
    "sample_id",
    "kind",
    "fps",
    "onset",
    "apex",
    "offset",
    "apex_rule",
    "aus",
    "emotion",
)
_KNOWN = frozenset(MANIFEST_COLUMNS) | {"megc3"}


def class_label(name: str) -> str:
    """A class name as a label: the canonical emotion when it is one, else the name lower-cased."""
    return normalize_emotion(name) or name.strip().lower()


def _kind_of(path: Path) -> str:
    if path.is_dir():
        return "frames"
    return "video" if path.suffix.lower() in VIDEO_SUFFIXES else "image"


@DATASETS.register("folder")
def folder(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    subject_pattern: str | None = None,
    fps: float | None = None,
    apex: str = "annotated",
    apex_fn: ApexFn | None = None,
    target: str = "label",
) -> Dataset:
    """A folder of class folders: ROOT/<class>/<image | video | frame folder>.

    The label is the class folder name (the canonical emotion when it names one, e.g. ``happy``
    → ``happiness``; else the name lower-cased). The subject is the first group of
    ``subject_pattern`` (a regex searched in the item's name), else the item's stem (each item
    its own subject). Frame folders are clips from their first to last frame (apex: midpoint).
    """
    base = check_root(root, "folder")
    rx = re.compile(subject_pattern) if subject_pattern else None
    if rx is not None and rx.groups < 1:
        raise ConfigError(
            f"subject_pattern must have a group, e.g. r'^(sub\\d+)_'; got {subject_pattern!r}"
        )
    log = ProblemLog("folder", strict=strict)
    samples: list[Sample] = []
    specs: list[ClipSpec] = []
    class_dirs = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    for cdir in class_dirs:
        label = class_label(cdir.name)
        for item in sorted(cdir.iterdir(), key=lambda p: p.name):
            if item.name.startswith("."):
                continue
            kind = _kind_of(item)
            if kind == "image" and item.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            m = rx.search(item.name) if rx else None
            if rx is not None and m is None:
                log.add(
                    "bad-row",
                    f"{item.name!r} does not match subject_pattern {subject_pattern!r}",
                    action="skipped",
                    sample_id=item.name,
                )
                continue
            subject = m.group(1) if m else item.stem
            sid = f"{cdir.name}/{item.name}"
            if kind == "frames":
                specs.append(
                    ClipSpec(
                        dataset="folder",
                        subject=subject,
                        sample_id=sid,
                        frames_dir=item,
                        fps=fps,
                        emotion=cdir.name,
                        label=label,
                        has_apex=False,
                        bounds_from_frames=True,
                    )
                )
            else:
                samples.append(
                    Sample(
                        dataset="folder",
                        subject=subject,
                        sample_id=sid,
                        **{kind: item},
                        fps=fps if kind == "video" else None,
                        emotion=cdir.name,
                        label=label,
                    )
                )
    samples += build_clips(specs, log, scan=True, apex=apex, apex_fn=apex_fn)
    samples.sort(key=lambda s: s.sample_id)
    classes = infer_classes(class_label(c.name) for c in class_dirs)
    return finish(
        "folder",
        base,
        samples,
        log,
        classes=classes,
        target=target,
        options={"subject_pattern": subject_pattern, "fps": fps},
    )


def _meta_value(text: str) -> Any:
    if text[:1] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text
    n = cell_int(text)
    if n is not None and re.fullmatch(r"-?\d+", text):
        return n
    try:
        return float(text)
    except ValueError:
        return {"true": True, "false": False}.get(text.lower(), text)


@DATASETS.register("csv")
def manifest(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    scan: bool = True,
    check_files: bool = True,
    apex: str = "annotated",
    apex_fn: ApexFn | None = None,
    target: str = "label",
    classes: Sequence[str] | str | None = None,
) -> Dataset:
    """A generic CSV manifest (the root is the CSV file), e.g. of preprocessed flow images.

    Columns: path, subject, label and optionally dataset, sample_id, kind, fps, onset, apex, offset, apex_rule, aus, emotion,
    meta.* (other columns also go to meta). Relative paths resolve against the CSV's folder."""
    path = Path(root)
    if not path.is_file():
        raise DatasetError(f"{path}: no such CSV manifest; the csv dataset's root is the file")
    table = read_csv(path, header=("path", "subject", "label"))
    base = path.parent
    log = ProblemLog("csv", strict=strict)
    samples: list[Sample] = []
    specs: list[ClipSpec] = []
    seen: dict[str, int] = {}
    rules: dict[int, str] = {}
    extra = _extra(table.header)
    for r in table:
        raw_path, subject = cell_text(r.get("path")), cell_text(r.get("subject"))
        if raw_path is None or subject is None:
            log.add("bad-row", "no path or subject", action="skipped", row=r.number)
            continue
        p = Path(raw_path)
        p = Path(os.path.normpath(p if p.is_absolute() else base / p))
        kind = cell_text(r.get("kind")) or (
            _kind_of(p)
            if p.exists()
            else "video"
            if p.suffix.lower() in VIDEO_SUFFIXES
            else "frames"
            if not p.suffix
            else "image"
        )
        sid = cell_text(r.get("sample_id")) or f"{subject}/{p.stem}"
        if kind not in KINDS:
            log.add(
                "bad-row",
                f"kind {kind!r} is not one of {KINDS}",
                action="skipped",
                sample_id=sid,
                row=r.number,
            )
            continue
        if sid in seen:
            new = f"{sid}@{r.number}"
            log.add(
                "duplicate-filename",
                f"sample_id {sid!r} repeats row {seen[sid]}; this row is {new}",
                action="kept",
                sample_id=new,
                row=r.number,
            )
            sid = new
        seen[sid] = r.number
        raw_label = cell_text(r.get("label"))
        label = None if raw_label is None else class_label(raw_label)
        dataset = cell_text(r.get("dataset")) or "csv"
        meta = {
            name[5:] if name.startswith("meta.") else name: _meta_value(v)
            for name, key in extra
            if (v := r.cells.get(key)) is not None
        }
        emotion = cell_text(r.get("emotion")) or raw_label
        fps = _fps(cell_text(r.get("fps")))
        if kind == "frames":
            rules[r.number] = cell_text(r.get("apex_rule")) or ""
            specs.append(
                ClipSpec(
                    dataset=dataset,
                    subject=subject,
                    sample_id=sid,
                    frames_dir=p,
                    fps=fps,
                    onset=r.get("onset"),
                    apex=r.get("apex"),
                    offset=r.get("offset"),
                    aus=r.get("aus"),
                    emotion=emotion,
                    label=label,
                    meta=meta,
                    row=r.number,
                    has_apex=table.has("apex"),
                    bounds_from_frames=True,
                )
            )
            continue
        if check_files and not p.exists():
            log.add("missing-file", f"no {kind} {p}", action="skipped", sample_id=sid, row=r.number)
            continue
        aus, au_meta = parse_au_cell(r.get("aus"), log, sample_id=sid, row=r.number)
        onset, apex_i, offset = (cell_int(r.get(k)) for k in ("onset", "apex", "offset"))
        rule = cell_text(r.get("apex_rule")) or ("annotated" if apex_i is not None else "none")
        try:
            samples.append(
                Sample(
                    dataset=dataset,
                    subject=subject,
                    sample_id=sid,
                    **{kind: p},
                    fps=fps,
                    onset=onset,
                    apex=apex_i,
                    offset=offset,
                    apex_rule=rule,
                    aus=aus,
                    emotion=emotion,
                    label=label,
                    meta=meta | au_meta,
                )
            )
        except ConfigError as exc:
            log.add("bad-row", str(exc), action="skipped", sample_id=sid, row=r.number)
    clips = build_clips(specs, log, scan=scan, apex=apex, apex_fn=apex_fn)
    samples += _keep_rules(clips, specs, rules)
    order = {sid: i for i, sid in enumerate(sorted(seen, key=lambda k: seen[k]))}
    samples.sort(key=lambda s: order.get(s.sample_id, len(order)))
    if isinstance(classes, str):
        classes = [c.strip() for c in classes.split(",") if c.strip()]
    names = (
        tuple(class_label(c) for c in classes)
        if classes
        else infer_classes(s.label for s in samples)
    )
    return finish(
        "csv",
        path,
        samples,
        log,
        classes=names,
        target=target,
        options={"scan": scan, "check_files": check_files, "apex": apex},
    )


def _fps(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value and value > 0 else None


def _extra(header: Iterable[str]) -> list[tuple[str, str]]:
    """(column name, cell key) of the columns that go to meta."""
    known = {header_key(k) for k in _KNOWN}
    return [(name, header_key(name)) for name in header if header_key(name) not in known]


def _keep_rules(
    samples: list[Sample], specs: list[ClipSpec], rules: dict[int, str]
) -> list[Sample]:
    """A manifest's own ``apex_rule`` (e.g. ``midpoint`` from an export) is kept when the apex it
    wrote was used unchanged, so export → csv round-trips."""
    written = {s.sample_id: (cell_int(s.apex), rules.get(s.row or -1)) for s in specs}
    out = []
    for smp in samples:
        apex, rule = written.get(smp.sample_id, (None, None))
        if rule and rule != smp.apex_rule and smp.apex_rule == "annotated" and apex == smp.apex:
            smp = smp.with_(apex_rule=rule)
        out.append(smp)
    return out


def write_manifest(
    dataset: Dataset | Iterable[Sample], path: str | os.PathLike[str], *, relative: bool = True
) -> Path:
    """Write samples as a generic CSV manifest (atomically) that ``load_dataset("csv", path)``
    reads back. ``relative=True`` writes paths relative to the CSV's folder when possible."""
    dest = Path(path)
    rows = [s.to_dict() for s in dataset]
    meta_cols = sorted({k for r in rows for k in r if k.startswith("meta.")})
    header = [*MANIFEST_COLUMNS, *meta_cols]
    out_dir = dest.parent.resolve()
    with atomic_path(dest) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        for r in rows:
            if relative:
                r["path"] = _relative(Path(r["path"]), out_dir)
            w.writerow(["" if r.get(k) is None else r[k] for k in header])
    return dest


def _relative(p: Path, base: Path) -> str:
    try:
        return os.path.relpath(p.resolve(), base)
    except ValueError:  # another drive on Windows
        return str(p)
