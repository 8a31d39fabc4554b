"""Micro-expression datasets with a spreadsheet of onset/apex/offset: CASME II, SAMM, CAS(ME)³.

Every adapter here takes the same :class:`~facscope.data.clips.ClipOptions` (given to
``load_dataset`` as keyword arguments):

* ``annotations``: the annotation file, when it is not where the release puts it;
* ``frames_root``: the folder holding the subject folders, when not found automatically;
* ``scan`` (default True): list each frame folder and check the indices against the frames on
  disk (missing folders, gaps, indices outside the clip); False trusts the sheet;
* ``apex``: ``"annotated"`` (default; a missing or invalid apex becomes the onset/offset
  midpoint), ``"midpoint"`` (always), or ``"max-motion"`` (missing or invalid apexes from
  ``apex_fn`` or ``facscope.motion.apex``); the rule used is in ``Sample.apex_rule``;
* ``target``: ``"label"`` (the dataset's emotions) or ``"megc3"`` (3 classes, others dropped).

The sheets' file names and columns are in :data:`facscope.data.layouts.SHEETS`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from facscope.data.clips import ClipOptions, ClipSpec, clip_adapter, resolve_label
from facscope.data.common import build_clips, check_root, finish, pick_root, row_meta, subject_id
from facscope.data.dataset import DATASETS, Dataset
from facscope.data.layouts import SHEETS, SheetLayout
from facscope.data.problems import ProblemLog
from facscope.data.tables import Table, cell_text, find_file, read_xlsx
from facscope.facs import DATASET_LABELS, dataset_label

__all__ = ["ME_OPTIONS", "casme2", "casme3", "samm"]

FPS = {"casme2": 200.0, "samm": 200.0, "casme3": 30.0}


def _classes(key: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c for raw in DATASET_LABELS[key] if (c := dataset_label(key, raw))))


def _specs(
    sheet: SheetLayout, table: Table, log: ProblemLog, *, subject: dict[str, Any]
) -> list[ClipSpec]:
    """ClipSpecs (frames_dir still relative: subject/filename) for the rows of ``table``."""
    key, col = sheet.dataset, sheet.fields
    out = []
    for r in table:
        subj = subject_id(r.get(col["subject"]), **subject)
        fname = cell_text(r.get(col["filename"]))
        if subj is None or fname is None:
            log.add(
                "bad-row",
                f"no subject or file name ({r.get(col['subject'])!r}, {r.get(col['filename'])!r})",
                action="skipped",
                row=r.number,
            )
            continue
        sid = f"{subj}/{fname}"
        ok, label = resolve_label(key, r.get(col["emotion"]), log, sample_id=sid, row=r.number)
        if not ok:
            continue
        spec = ClipSpec(
            dataset=key,
            subject=subj,
            sample_id=sid,
            frames_dir=Path(subj, fname),
            fps=FPS[key],
            onset=r.get(col["onset"]),
            apex=r.get(col["apex"]),
            offset=r.get(col["offset"]),
            aus=r.get(col["aus"]),
            emotion=r.get(col["emotion"]),
            label=label,
            meta=row_meta(r, sheet.meta),
            row=r.number,
        )
        out.append(spec)
    return out


def _load(
    key: str,
    root: str | os.PathLike[str],
    options: ClipOptions | None,
    *,
    subject: dict[str, Any],
    frame_candidates: list[str],
    frame_suffix: tuple[str, ...] = (),
    extra: dict[str, Any] | None = None,
) -> Dataset:
    opts = options or ClipOptions()
    sheet = SHEETS[key]
    base = check_root(root, key)
    log = ProblemLog(key, strict=opts.strict)
    ann = (
        Path(opts.annotations) if opts.annotations else find_file(base, sheet.patterns, sheet.what)
    )
    table = read_xlsx(ann, header=sheet.header)
    specs = _specs(sheet, table, log, subject=subject)
    frames = (
        Path(opts.frames_root)
        if opts.frames_root
        else pick_root(base, frame_candidates, (s.subject for s in specs))
    )
    for spec in specs:
        spec.frames_dir = frames.joinpath(spec.frames_dir, *frame_suffix)
    samples = build_clips(specs, log, opts)
    used = {
        "annotations": str(ann),
        "frames_root": str(frames),
        "scan": opts.scan,
        "apex": opts.apex,
    }
    return finish(
        key,
        base,
        samples,
        log,
        classes=_classes(key),
        target=opts.target,
        options=used | (extra or {}),
    )


#: The :class:`ClipOptions` fields the spreadsheet adapters take.
ME_OPTIONS = ("annotations", "frames_root", "scan", "apex", "apex_fn", "target")


@DATASETS.register("casme2")
@clip_adapter(*ME_OPTIONS)
def casme2(
    root: str | os.PathLike[str], options: ClipOptions | None = None, *, cropped: bool = False
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
        options,
        subject={"prefix": "sub", "width": 2},
        frame_candidates=cands,
        extra={"cropped": cropped},
    )


@DATASETS.register("samm")
@clip_adapter(*ME_OPTIONS)
def samm(root: str | os.PathLike[str], options: ClipOptions | None = None) -> Dataset:
    """SAMM (200 fps, grayscale): SAMM_Micro_FACS_Codes_v2.xlsx over SAMM/{Subject}/{Filename}/.

    The sheet's header is on row 13; frames are SAMM/{Subject}/{Filename}/{Subject}_{N}.jpg.

    Subjects are 3-digit (``6`` in the sheet becomes ``006``); the header row is found by its
    column names (row 13 in v2). Inducement code, duration, type, notes and objective class go to
    ``meta``.
    """
    return _load(
        "samm", root, options, subject={"width": 3}, frame_candidates=["SAMM", "SAMM/SAMM", "."]
    )


@DATASETS.register("casme3")
@clip_adapter(*ME_OPTIONS)
def casme3(root: str | os.PathLike[str], options: ClipOptions | None = None) -> Dataset:
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
        options,
        subject={},
        frame_candidates=["part_A", "Part_A", "data/part_A", "part_A/data/part_A", "."],
        frame_suffix=("color",),
    )
