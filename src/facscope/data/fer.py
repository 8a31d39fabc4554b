"""Still-image FER datasets: RAF-DB (basic), FERPlus, AffectNet.

None of them has subject ids, so each image is its own subject (``subject == sample_id``): a
subject-grouped protocol then splits images, and the official splits are in ``meta["split"]``
(``train`` / ``val`` / ``test``). ``check_files`` (default True) skips images missing on disk
with a ``missing-file`` problem (one folder listing per folder, not one stat per image).
"""

from __future__ import annotations

import contextlib
import csv
import os
from pathlib import Path
from typing import Any

from facscope.data.common import DirIndex, check_root, finish
from facscope.data.dataset import DATASETS, Dataset
from facscope.data.layouts import SHEETS
from facscope.data.problems import ProblemLog
from facscope.data.sample import Sample
from facscope.data.tables import cell_int, cell_text, find_file, read_csv
from facscope.errors import ConfigError, DatasetError
from facscope.facs import dataset_label

__all__ = ["affectnet", "ferplus", "rafdb"]

SPLITS = ("train", "val", "test")


def _check_split(split: str | None) -> None:
    if split is not None and split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS} or None (all); got {split!r}")


def _image(
    log: ProblemLog,
    index: DirIndex,
    check: bool,
    dataset: str,
    sid: str,
    path: Path,
    row: int | None,
    **fields: Any,
) -> Sample | None:
    if check and not index.exists(path):
        log.add("missing-file", f"no image {path}", action="skipped", sample_id=sid, row=row)
        return None
    return Sample(dataset=dataset, subject=sid, sample_id=sid, image=path, **fields)


@DATASETS.register("rafdb")
def rafdb(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    aligned: bool = True,
    split: str | None = None,
    check_files: bool = True,
) -> Dataset:
    """RAF-DB basic: EmoLabel/list_patition_label.txt + Image/aligned/*_aligned.jpg, 7 classes.

    ``aligned=False`` reads Image/original/*.jpg; labels are ids 1..7; the split (train/test)
    comes from the file names.
    """
    _check_split(split)
    base = check_root(root, "rafdb")
    labels = find_file(
        base, ["list_patition_label.txt", "list_partition_label.txt"], "RAF-DB label list"
    )
    top = labels.parent.parent
    folder = top / "Image" / ("aligned" if aligned else "original")
    log = ProblemLog("rafdb", strict=strict)
    index = DirIndex()
    samples = []
    for number, line in enumerate(labels.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        name = parts[0]
        stem = Path(name).stem
        kind = "train" if stem.startswith("train") else "test" if stem.startswith("test") else None
        lab_id = cell_int(parts[1]) if len(parts) == 2 else None
        if kind is None or lab_id is None:
            log.add(
                "bad-row",
                f"line {line!r} is not '<train|test>_NNNNN.jpg <1..7>'",
                action="skipped",
                row=number,
            )
            continue
        if split is not None and kind != split:
            continue
        try:
            label = dataset_label("rafdb", lab_id)
        except ConfigError as exc:
            log.add("unknown-label", str(exc), action="skipped", sample_id=stem, row=number)
            continue
        path = folder / (f"{stem}_aligned.jpg" if aligned else name)
        s = _image(
            log,
            index,
            check_files,
            "rafdb",
            stem,
            path,
            number,
            emotion=str(lab_id),
            label=label,
            meta={"split": kind},
        )
        if s is not None:
            samples.append(s)
    classes = tuple(dataset_label("rafdb", i) or "" for i in range(1, 8))
    return finish(
        "rafdb", base, samples, log, classes=classes, options={"aligned": aligned, "split": split}
    )


_FERPLUS_FOLDERS = {
    "Training": ("train", "FER2013Train"),
    "PublicTest": ("val", "FER2013Valid"),
    "PrivateTest": ("test", "FER2013Test"),
}
FERPLUS_MODES = ("majority", "plurality")


@DATASETS.register("ferplus")
def ferplus(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    mode: str = "majority",
    split: str | None = None,
    check_files: bool = True,
) -> Dataset:
    """FERPlus: fer2013new.csv votes over FER2013Train|Valid|Test/*.png; 8 classes by vote.

    ``mode="majority"``: the emotion with more than half of all ten vote columns;
    ``"plurality"``: the single most-voted emotion (ties dropped). Images whose winner is
    ``unknown``/``NF``, or with no winner, or with no file name, are dropped by the protocol
    (counted in ``options``, not problems).
    """
    if mode not in FERPLUS_MODES:
        raise ConfigError(f"FERPlus mode must be one of {FERPLUS_MODES}; got {mode!r}")
    _check_split(split)
    base = check_root(root, "ferplus")
    sheet = SHEETS["ferplus"]
    usage_col, name_col = sheet.fields["split"], sheet.fields["filename"]
    table = read_csv(find_file(base, sheet.patterns, sheet.what), header=(usage_col, name_col))
    top = table.path.parent
    votes_cols = sheet.columns[2:]
    log = ProblemLog("ferplus", strict=strict)
    index = DirIndex()
    samples: list[Sample] = []
    dropped = {"no_image": 0, "no_label": 0}
    for r in table:
        usage, name = cell_text(r.get(usage_col)), cell_text(r.get(name_col))
        if name is None:
            dropped["no_image"] += 1
            continue
        votes = [cell_int(r.get(c)) for c in votes_cols]
        if usage not in _FERPLUS_FOLDERS or any(v is None or v < 0 for v in votes):
            log.add(
                "bad-row",
                f"usage {usage!r} / votes {votes} unreadable",
                action="skipped",
                sample_id=name,
                row=r.number,
            )
            continue
        kind, folder = _FERPLUS_FOLDERS[usage]
        if split is not None and kind != split:
            continue
        counts = [int(v or 0) for v in votes]
        top_n = max(counts)
        winners = [c for c, v in zip(votes_cols, counts) if v == top_n]
        ok = top_n > 0 and (top_n * 2 > sum(counts) if mode == "majority" else len(winners) == 1)
        label = dataset_label("ferplus", winners[0]) if ok else None
        if label is None:
            dropped["no_label"] += 1
            continue
        sid = f"{folder}/{name}"
        s = _image(
            log,
            index,
            check_files,
            "ferplus",
            sid,
            top / folder / name,
            r.number,
            emotion=winners[0],
            label=label,
            meta={"split": kind, "votes": dict(zip(votes_cols, counts))},
        )
        if s is not None:
            samples.append(s)
    classes = tuple(c for c in votes_cols if dataset_label("ferplus", c))
    return finish(
        "ferplus",
        base,
        samples,
        log,
        classes=classes,
        options={"mode": mode, "split": split, **{f"dropped_{k}": v for k, v in dropped.items()}},
    )


_AFFECTNET_HEADER = SHEETS["affectnet"].columns


def _affectnet_rows(path: Path) -> list[tuple[int, dict[str, str]]]:
    """Rows of an AffectNet list; a file without a header line gets the standard header."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    start = 1 if rows and rows[0] and rows[0][0].strip() == _AFFECTNET_HEADER[0] else 0
    header = rows[0] if start else list(_AFFECTNET_HEADER)
    return [(i + 1, dict(zip(header, r))) for i, r in enumerate(rows) if i >= start and r]


@DATASETS.register("affectnet")
def affectnet(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    classes: int = 8,
    split: str | None = None,
    check_files: bool = True,
) -> Dataset:
    """AffectNet: training.csv / validation.csv lists over Manually_Annotated_Images/.

    Expression ids 0..10. ``classes=8`` keeps 0..7, ``classes=7`` also drops contempt; none / uncertain /
    no-face (8..10) are dropped (counted in ``options``). The validation list is the test set
    (``meta["split"] == "test"``)."""
    if classes not in (7, 8):
        raise ConfigError(f"AffectNet classes must be 7 or 8; got {classes!r}")
    _check_split(split)
    base = check_root(root, "affectnet")
    lists = {}
    for kind, names in (("train", ["training.csv"]), ("test", ["validation.csv"])):
        try:
            lists[kind] = find_file(base, names, f"AffectNet {kind} list")
        except DatasetError:
            continue
    if not lists:
        raise DatasetError(
            f"{base}: no AffectNet training.csv or validation.csv found; pass the "
            "folder holding them"
        )
    images = next(
        (
            d
            for d in (
                base / "Manually_Annotated_Images",
                base / "Manually_Annotated" / "Manually_Annotated_Images",
            )
            if d.is_dir()
        ),
        base / "Manually_Annotated_Images",
    )
    log = ProblemLog("affectnet", strict=strict)
    index = DirIndex()
    keep = range(classes)
    samples = []
    dropped = 0
    for kind, path in lists.items():
        if split is not None and split != kind:
            continue
        for number, row in _affectnet_rows(path):
            rel, expr = (
                (row.get("subDirectory_filePath") or "").strip(),
                cell_int(row.get("expression")),
            )
            if not rel or expr is None or not 0 <= expr <= 10:
                log.add(
                    "bad-row",
                    f"{path.name}: path {rel!r}, expression {row.get('expression')!r}",
                    action="skipped",
                    row=number,
                )
                continue
            if expr not in keep:
                dropped += 1
                continue
            box = [cell_int(row.get(k)) for k in _AFFECTNET_HEADER[1:5]]
            meta: dict[str, Any] = {"split": kind, "list": path.name}
            if all(v is not None for v in box):
                meta["box_xywh"] = box
            for k in ("valence", "arousal"):
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    meta[k] = float(row[k])
            s = _image(
                log,
                index,
                check_files,
                "affectnet",
                rel,
                images / rel,
                number,
                emotion=str(expr),
                label=dataset_label("affectnet", expr),
                meta=meta,
            )
            if s is not None:
                samples.append(s)
    names = tuple(dataset_label("affectnet", i) or "" for i in keep)
    return finish(
        "affectnet",
        base,
        samples,
        log,
        classes=names,
        options={"classes": classes, "split": split, "dropped_8_to_10": dropped},
    )
