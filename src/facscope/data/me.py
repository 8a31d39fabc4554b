"""Micro-expression datasets with a spreadsheet of onset/apex/offset: CASME II, SAMM, CAS(ME)³.

Every adapter here takes the same options:

* ``annotations``: the annotation file, when it is not where the release puts it;
* ``frames_root``: the folder holding the subject folders, when not found automatically;
* ``scan`` (default True): list each frame folder and check the indices against the frames on
  disk (missing folders, gaps, indices outside the clip); False trusts the sheet;
* ``apex``: ``"annotated"`` (default; a missing or invalid apex becomes the onset/offset
  midpoint), ``"midpoint"`` (always), or ``"max-motion"`` (missing or invalid apexes from
  ``apex_fn`` or ``facscope.motion.apex``); the rule used is in ``Sample.apex_rule``;
* ``target``: ``"label"`` (the dataset's emotions) or ``"megc3"`` (3 classes, others dropped).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from facscope.data.clips import ApexFn, ClipSpec, resolve_label
from facscope.data.common import build_clips, check_root, finish, pick_root, row_meta, subject_id
from facscope.data.dataset import DATASETS, Dataset
from facscope.data.problems import ProblemLog
from facscope.data.tables import Table, cell_text, find_file, read_xlsx
from facscope.facs import DATASET_LABELS, dataset_label

__all__ = ["casme2", "casme3", "samm"]

FPS = {"casme2": 200.0, "samm": 200.0, "casme3": 30.0}


def _classes(key: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for raw in DATASET_LABELS[key] if (c := dataset_label(key, raw))))


def _specs(
    key: str,
    table: Table,
    log: ProblemLog,
    *,
    columns: dict[str, str],
    subject: dict[str, Any],
    meta_columns: tuple[str, ...] = (),
) -> list[tuple[ClipSpec, str, str]]:
    """ClipSpecs (frames_dir still relative: subject/filename) for the rows of ``table``."""
    out = []
    for r in table:
        subj = subject_id(r.get(columns["subject"]), **subject)
        fname = cell_text(r.get(columns["filename"]))
        if subj is None or fname is None:
            log.add(
                "bad-row",
                f"no subject or file name ({r.get(columns['subject'])!r}, "
                f"{r.get(columns['filename'])!r})",
                action="skipped",
                row=r.number,
            )
            continue
        sid = f"{subj}/{fname}"
        ok, label = resolve_label(key, r.get(columns["emotion"]), log, sample_id=sid, row=r.number)
        if not ok:
            continue
        spec = ClipSpec(
            dataset=key,
            subject=subj,
            sample_id=sid,
            frames_dir=Path(subj, fname),
            fps=FPS[key],
            onset=r.get(columns["onset"]),
            apex=r.get(columns["apex"]),
            offset=r.get(columns["offset"]),
            aus=r.get(columns["aus"]),
            emotion=r.get(columns["emotion"]),
            label=label,
            meta=row_meta(r, meta_columns),
            row=r.number,
        )
        out.append((spec, subj, fname))
    return out


def _load(
    key: str,
    root: str | os.PathLike[str],
    *,
    strict: bool,
    annotations: str | os.PathLike[str] | None,
    patterns: list[str],
    what: str,
    header: tuple[str, ...],
    columns: dict[str, str],
    subject: dict[str, Any],
    frame_candidates: list[str],
    frame_suffix: tuple[str, ...] = (),
    frames_root: str | os.PathLike[str] | None,
    meta_columns: tuple[str, ...] = (),
    scan: bool,
    apex: str,
    apex_fn: ApexFn | None,
    target: str,
    name: str | None = None,
    options: dict[str, Any],
) -> Dataset:
    base = check_root(root, key)
    log = ProblemLog(name or key, strict=strict)
    ann = Path(annotations) if annotations else find_file(base, patterns, what)
    table = read_xlsx(ann, header=header)
    rows = _specs(key, table, log, columns=columns, subject=subject, meta_columns=meta_columns)
    frames = (
        Path(frames_root)
        if frames_root
        else pick_root(base, frame_candidates, (s for _, s, _ in rows))
    )
    specs = []
    for spec, _, _ in rows:
        spec.frames_dir = frames.joinpath(spec.frames_dir, *frame_suffix)
        specs.append(spec)
    samples = build_clips(specs, log, scan=scan, apex=apex, apex_fn=apex_fn)
    opts = {"annotations": str(ann), "frames_root": str(frames), "scan": scan, "apex": apex}
    return finish(
        name or key,
        base,
        samples,
        log,
        classes=_classes(key),
        target=target,
        options=opts | options,
    )


@DATASETS.register("casme2")
def casme2(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    annotations: str | os.PathLike[str] | None = None,
    frames_root: str | os.PathLike[str] | None = None,
    cropped: bool = False,
    scan: bool = True,
    apex: str = "annotated",
    apex_fn: ApexFn | None = None,
    target: str = "label",
) -> Dataset:
    """CASME II (200 fps): CASME2-coding-*.xlsx and sub??/EP??_??*/img*.jpg frame folders.

    Subjects are ``sub01`` … (the sheet's ``1`` or ``"01"`` becomes ``sub01``); sample ids are
    ``sub01/EP02_01f``. ``cropped=True`` reads the official crops under ``Cropped/``.
    """
    cands = (
        ["Cropped", "Cropped/Cropped"]
        if cropped
        else ["CASME2_RAW_selected", "CASME2_RAW_selected/CASME2_RAW_selected", "CASME2_RAW", "."]
    )
    return _load(
        "casme2",
        root,
        strict=strict,
        annotations=annotations,
        patterns=["CASME2-coding-*.xlsx", "CASME2*coding*.xlsx"],
        what="CASME II coding sheet",
        header=("Subject", "Filename", "OnsetFrame"),
        columns={
            "subject": "Subject",
            "filename": "Filename",
            "onset": "OnsetFrame",
            "apex": "ApexFrame",
            "offset": "OffsetFrame",
            "aus": "Action Units",
            "emotion": "Estimated Emotion",
        },
        subject={"prefix": "sub", "width": 2},
        frame_candidates=cands,
        frames_root=frames_root,
        scan=scan,
        apex=apex,
        apex_fn=apex_fn,
        target=target,
        options={"cropped": cropped},
    )


@DATASETS.register("samm")
def samm(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    annotations: str | os.PathLike[str] | None = None,
    frames_root: str | os.PathLike[str] | None = None,
    scan: bool = True,
    apex: str = "annotated",
    apex_fn: ApexFn | None = None,
    target: str = "label",
) -> Dataset:
    """SAMM (200 fps, grayscale): SAMM_Micro_FACS_Codes_v2.xlsx over SAMM/{Subject}/{Filename}/.

    The sheet's header is on row 13; frames are SAMM/{Subject}/{Filename}/{Subject}_{N}.jpg.

    Subjects are 3-digit (``6`` in the sheet becomes ``006``); the header row is found by its
    column names (row 13 in v2). Inducement code, duration, type, notes and objective class go to
    ``meta``.
    """
    return _load(
        "samm",
        root,
        strict=strict,
        annotations=annotations,
        patterns=["SAMM_Micro_FACS_Codes*.xlsx", "SAMM*.xlsx"],
        what="SAMM FACS codes sheet",
        header=("Subject", "Filename", "Onset Frame"),
        columns={
            "subject": "Subject",
            "filename": "Filename",
            "onset": "Onset Frame",
            "apex": "Apex Frame",
            "offset": "Offset Frame",
            "aus": "Action Units",
            "emotion": "Estimated Emotion",
        },
        subject={"width": 3},
        frame_candidates=["SAMM", "SAMM/SAMM", "."],
        frames_root=frames_root,
        meta_columns=("Inducement Code", "Duration", "Type", "Notes", "Objective Classes"),
        scan=scan,
        apex=apex,
        apex_fn=apex_fn,
        target=target,
        options={},
    )


@DATASETS.register("casme3")
def casme3(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    annotations: str | os.PathLike[str] | None = None,
    frames_root: str | os.PathLike[str] | None = None,
    scan: bool = True,
    apex: str = "annotated",
    apex_fn: ApexFn | None = None,
    target: str = "label",
) -> Dataset:
    """CAS(ME)³ part A (30 fps): the JpgIndex label sheet over {Subject}/{Filename}/color/.

    Reads cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx; frames {Subject}/{Filename}/color/{N}.jpg
    are those of the long videos.

    Several MEs share one file name within a subject (they come from the same video): every row
    is kept and its sample id gets ``@<onset>`` (``spNO.1/a@123``), with a ``duplicate-filename``
    warning. The objective class goes to ``meta``.
    """
    return _load(
        "casme3",
        root,
        strict=strict,
        annotations=annotations,
        patterns=["cas(me)3_part_A_ME_label*.xlsx", "*part_A*ME*label*.xlsx"],
        what="CAS(ME)³ part A label sheet",
        header=("Subject", "Filename", "Onset"),
        columns={
            "subject": "Subject",
            "filename": "Filename",
            "onset": "Onset",
            "apex": "Apex",
            "offset": "Offset",
            "aus": "AU",
            "emotion": "emotion",
        },
        subject={},
        frame_candidates=["part_A", "Part_A", "data/part_A", "part_A/data/part_A", "."],
        frame_suffix=("color",),
        frames_root=frames_root,
        meta_columns=("Objective class",),
        scan=scan,
        apex=apex,
        apex_fn=apex_fn,
        target=target,
        options={},
    )
