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
from dataclasses import replace
from pathlib import Path
from typing import Any

from facscope.data.clips import ClipOptions, ClipSpec, clip_adapter, parse_au_cell
from facscope.data.common import build_clips, check_root, finish
from facscope.data.dataset import DATASETS, Dataset, infer_classes
from facscope.data.flowsets import ARRAY_SUFFIXES, class_label, flow_meta
from facscope.data.problems import ProblemLog
from facscope.data.sample import KINDS, Sample
from facscope.data.tables import Row, Table, cell_int, cell_text, header_key, read_csv
from facscope.errors import ConfigError, DatasetError
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


def _kind_of(path: Path, image_kind: str = "image") -> str:
    """``frames`` (a folder), ``video``, ``flow`` (an array file) or ``image_kind`` (an image:
    ``image``, or ``flow`` when the adapter was told ``kind="flow"``)."""
    if path.is_dir():
        return "frames"
    suffix = path.suffix.lower()
    if suffix in ARRAY_SUFFIXES:
        return "flow"
    return "video" if suffix in VIDEO_SUFFIXES else image_kind


def _image_kind(kind: str | None) -> str:
    if kind not in (None, "image", "flow"):
        raise ConfigError(f"kind must be 'image' or 'flow' (what image files hold); got {kind!r}")
    return kind or "image"


def _flow_options(flow: dict[str, str]) -> dict[str, str]:
    """The flow options a dataset records: only when they were given (kind or a flow_*)."""
    return flow if flow != {"kind": "image", **flow_meta()} else {}


def _flow_fields(kind: str, fields: dict[str, Any], flow: dict[str, str]) -> dict[str, Any]:
    """A flow sample's fields get the adapter's ``flow_*`` meta (a row's own columns win)."""
    if kind != "flow":
        return fields
    return fields | {"meta": flow | fields.get("meta", {})}


def _folder_item(
    item: Path,
    cdir: Path,
    rx: re.Pattern[str] | None,
    fps: float | None,
    log: ProblemLog,
    flow: dict[str, str],
) -> Sample | ClipSpec | None:
    """One item of a class folder: a Sample (image, video, flow), a ClipSpec (frame folder) or
    None. ``flow`` holds the ``flow_*`` meta and ``kind`` (what an image is)."""
    if item.name.startswith("."):
        return None
    kind = _kind_of(item, flow["kind"])
    if kind in ("image", "flow") and item.suffix.lower() not in IMAGE_SUFFIXES + ARRAY_SUFFIXES:
        return None
    m = rx.search(item.name) if rx else None
    if rx is not None and m is None:
        log.add(
            "bad-row",
            f"{item.name!r} does not match subject_pattern {rx.pattern!r}",
            action="skipped",
            sample_id=item.name,
        )
        return None
    subject = m.group(1) if m else item.stem
    sid = f"{cdir.name}/{item.name}"
    fields: dict[str, Any] = {"dataset": "folder", "subject": subject, "sample_id": sid}
    fields |= {"emotion": cdir.name, "label": class_label(cdir.name)}
    if kind == "frames":
        return ClipSpec(frames_dir=item, fps=fps, has_apex=False, bounds_from_frames=True, **fields)
    fields = _flow_fields(kind, fields, {k: v for k, v in flow.items() if k != "kind"})
    return Sample(**{kind: item}, fps=fps if kind == "video" else None, **fields)


@DATASETS.register("folder")
@clip_adapter("apex", "apex_fn", "target")
def folder(
    root: str | os.PathLike[str],
    options: ClipOptions | None = None,
    *,
    subject_pattern: str | None = None,
    fps: float | None = None,
    kind: str | None = None,
    flow_channels: Sequence[str] | str | None = None,
    flow_order: str = "rgb",
    flow_scale: str = "stored",
) -> Dataset:
    """A folder of class folders: ROOT/<class>/<image | video | frame folder | flow file>.

    ``kind="flow"`` reads images as precomputed model inputs (apex-flow PNGs) instead of
    photos; ``.npy`` / ``.npz`` files are always flow. ``flow_channels`` / ``flow_order`` /
    ``flow_scale`` say how to read them (:mod:`facscope.data.flowsets`).

    The label is the class folder name (the canonical emotion when it names one, e.g. ``happy``
    → ``happiness``; else the name lower-cased). The subject is the first group of
    ``subject_pattern`` (a regex searched in the item's name), else the item's stem (each item
    its own subject). Frame folders are clips from their first to last frame (apex: midpoint).
    """
    opts = replace(options or ClipOptions(), scan=True)
    base = check_root(root, "folder")
    rx = re.compile(subject_pattern) if subject_pattern else None
    if rx is not None and rx.groups < 1:
        raise ConfigError(
            f"subject_pattern must have a group, e.g. r'^(sub\\d+)_'; got {subject_pattern!r}"
        )
    log = ProblemLog("folder", strict=opts.strict)
    flow = {"kind": _image_kind(kind), **flow_meta(flow_channels, flow_order, flow_scale)}
    samples: list[Sample] = []
    specs: list[ClipSpec] = []
    class_dirs = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    for cdir in class_dirs:
        for item in sorted(cdir.iterdir(), key=lambda p: p.name):
            got = _folder_item(item, cdir, rx, fps, log, flow)
            if isinstance(got, ClipSpec):
                specs.append(got)
            elif got is not None:
                samples.append(got)
    samples += build_clips(specs, log, opts)
    samples.sort(key=lambda s: s.sample_id)
    classes = infer_classes(class_label(c.name) for c in class_dirs)
    return finish(
        "folder",
        base,
        samples,
        log,
        classes=classes,
        target=opts.target,
        options={"subject_pattern": subject_pattern, "fps": fps, **_flow_options(flow)},
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


def _manifest_kind(kind: str | None, p: Path, image_kind: str = "image") -> str:
    """The row's ``kind``, else guessed from the path (what is on disk, else its suffix)."""
    if kind:
        return kind
    if p.exists():
        return _kind_of(p, image_kind)
    if p.suffix.lower() in VIDEO_SUFFIXES:
        return "video"
    if p.suffix.lower() in ARRAY_SUFFIXES:
        return "flow"
    return "frames" if not p.suffix else image_kind


class _ManifestRows:
    """The row rules of a manifest: paths, kinds, unique sample ids, meta columns."""

    def __init__(
        self,
        table: Table,
        base: Path,
        log: ProblemLog,
        *,
        check_files: bool,
        flow: dict[str, str] | None = None,
    ) -> None:
        self.table, self.base, self.log, self.check_files = table, base, log, check_files
        self.flow = flow or {"kind": "image", **flow_meta()}
        self.extra = _extra(table.header)
        self.seen: dict[str, int] = {}  # sample id → row
        self.rules: dict[int, str] = {}  # row → apex_rule written (frame folders)

    def _add(self, kind: str, message: str, action: str, r: Row, sid: str | None = None) -> None:
        self.log.add(kind, message, action=action, sample_id=sid, row=r.number)

    def _sample_id(self, r: Row, subject: str, p: Path) -> str:
        sid = cell_text(r.get("sample_id")) or f"{subject}/{p.stem}"
        if sid in self.seen:
            new = f"{sid}@{r.number}"
            message = f"sample_id {sid!r} repeats row {self.seen[sid]}; this row is {new}"
            self._add("duplicate-filename", message, "kept", r, new)
            sid = new
        self.seen[sid] = r.number
        return sid

    def read(self, r: Row) -> Sample | ClipSpec | None:
        """A Sample (image, video), a ClipSpec (frame folder), or None (row skipped)."""
        raw_path, subject = cell_text(r.get("path")), cell_text(r.get("subject"))
        if raw_path is None or subject is None:
            self._add("bad-row", "no path or subject", "skipped", r)
            return None
        p = Path(raw_path)
        p = Path(os.path.normpath(p if p.is_absolute() else self.base / p))
        kind = _manifest_kind(cell_text(r.get("kind")), p, self.flow["kind"])
        if kind not in KINDS:
            sid = cell_text(r.get("sample_id")) or f"{subject}/{p.stem}"
            self._add("bad-row", f"kind {kind!r} is not one of {KINDS}", "skipped", r, sid)
            return None
        sid = self._sample_id(r, subject, p)
        raw_label = cell_text(r.get("label"))
        fields: dict[str, Any] = {
            "dataset": cell_text(r.get("dataset")) or "csv",
            "subject": subject,
            "sample_id": sid,
            "fps": _fps(cell_text(r.get("fps"))),
            "emotion": cell_text(r.get("emotion")) or raw_label,
            "label": None if raw_label is None else class_label(raw_label),
            "meta": {
                name[5:] if name.startswith("meta.") else name: _meta_value(v)
                for name, key in self.extra
                if (v := r.cells.get(key)) is not None
            },
        }
        if kind == "frames":
            self.rules[r.number] = cell_text(r.get("apex_rule")) or ""
            return ClipSpec(
                frames_dir=p,
                **{k: r.get(k) for k in ("onset", "apex", "offset", "aus")},
                row=r.number,
                has_apex=self.table.has("apex"),
                bounds_from_frames=True,
                **fields,
            )
        return self._file_sample(r, kind, p, fields)

    def _file_sample(self, r: Row, kind: str, p: Path, fields: dict[str, Any]) -> Sample | None:
        sid = fields["sample_id"]
        if self.check_files and not p.exists():
            self._add("missing-file", f"no {kind} {p}", "skipped", r, sid)
            return None
        aus, au_meta = parse_au_cell(r.get("aus"), self.log, sample_id=sid, row=r.number)
        onset, apex_i, offset = (cell_int(r.get(k)) for k in ("onset", "apex", "offset"))
        rule = cell_text(r.get("apex_rule")) or ("annotated" if apex_i is not None else "none")
        fields = fields | {"meta": fields["meta"] | au_meta}
        fields = _flow_fields(kind, fields, {k: v for k, v in self.flow.items() if k != "kind"})
        try:
            return Sample(
                **{kind: p},
                onset=onset,
                apex=apex_i,
                offset=offset,
                apex_rule=rule,
                aus=aus,
                **fields,
            )
        except ConfigError as exc:
            self._add("bad-row", str(exc), "skipped", r, sid)
            return None


@DATASETS.register("csv")
@clip_adapter("scan", "apex", "apex_fn", "target")
def manifest(
    root: str | os.PathLike[str],
    options: ClipOptions | None = None,
    *,
    check_files: bool = True,
    classes: Sequence[str] | str | None = None,
    kind: str | None = None,
    flow_channels: Sequence[str] | str | None = None,
    flow_order: str = "rgb",
    flow_scale: str = "stored",
) -> Dataset:
    """A generic CSV manifest (the root is the CSV file), e.g. of preprocessed flow images.

    Columns: path, subject, label and optionally dataset, sample_id, kind, fps, onset, apex,
    offset, apex_rule, aus, emotion, meta.* (other columns also go to meta). Relative paths
    resolve against the CSV's folder. ``kind="flow"`` reads image rows without a ``kind`` as
    precomputed model inputs (apex-flow PNGs; ``.npy`` / ``.npz`` rows always are), with
    ``flow_channels`` / ``flow_order`` / ``flow_scale`` (:mod:`facscope.data.flowsets`; a row's
    own ``flow_*`` columns win)."""
    opts = options or ClipOptions()
    path = Path(root)
    if not path.is_file():
        raise DatasetError(f"{path}: no such CSV manifest; the csv dataset's root is the file")
    table = read_csv(path, header=("path", "subject", "label"))
    log = ProblemLog("csv", strict=opts.strict)
    flow = {"kind": _image_kind(kind), **flow_meta(flow_channels, flow_order, flow_scale)}
    rows = _ManifestRows(table, path.parent, log, check_files=check_files, flow=flow)
    samples: list[Sample] = []
    specs: list[ClipSpec] = []
    for r in table:
        got = rows.read(r)
        if isinstance(got, ClipSpec):
            specs.append(got)
        elif got is not None:
            samples.append(got)
    samples += _keep_rules(build_clips(specs, log, opts), specs, rows.rules)
    order = {sid: i for i, sid in enumerate(sorted(rows.seen, key=lambda k: rows.seen[k]))}
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
        target=opts.target,
        options={
            "scan": opts.scan,
            "check_files": check_files,
            "apex": opts.apex,
            **_flow_options(flow),
        },
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
