"""CK+ (the Extended Cohn-Kanade dataset): posed sequences from neutral to peak, AU-coded.

The release layout (docs/layouts.md)::

    ROOT/cohn-kanade-images/S005/001/S005_001_00000001.png …   one folder per sequence
    ROOT/Emotion/S005/001/S005_001_00000011_emotion.txt        one float: 0 neutral, 1 anger,
                                                               2 contempt, 3 disgust, 4 fear,
                                                               5 happy, 6 sadness, 7 surprise
    ROOT/FACS/S005/001/S005_001_00000011_facs.txt              lines "AU intensity" (floats;
                                                               intensity 0 = not given)

Each file is written as MATLAB's ``save -ascii`` writes numbers (``   3.0000000e+00``). Only
some sequences carry an emotion file (327 of 593 in the release): the others have
``label=None``. The label and AU files name the sequence's last (peak) frame.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from facscope.data.common import DirIndex, check_root, finish
from facscope.data.dataset import DATASETS, Dataset
from facscope.data.problems import ProblemLog
from facscope.data.sample import Sample
from facscope.errors import ConfigError, DatasetError
from facscope.facs import AU, DATASET_LABELS, INTENSITIES, dataset_label

__all__ = ["CKPLUS_CLASSES", "ckplus"]

#: CK+'s classes in the order of its codes 0..7 (canonical names).
CKPLUS_CLASSES = tuple(c for raw in DATASET_LABELS["ckplus"] if (c := dataset_label("ckplus", raw)))


def _numbers(path: Path) -> list[list[float]] | None:
    """The rows of floats in a CK+ text file; None when a line is not numbers."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        return [[float(x) for x in line.split()] for line in lines if line.strip()]
    except (OSError, ValueError):
        return None


def _label_file(folder: Path, suffix: str) -> Path | None:
    found = sorted(folder.glob(f"*{suffix}")) if folder.is_dir() else []
    return found[-1] if found else None


def _emotion(path: Path | None, log: ProblemLog, sid: str) -> tuple[bool, str | None, Any]:
    """(ok, label, code) of a sequence's emotion file (no file: ok, unlabelled)."""
    if path is None:
        return True, None, None
    rows = _numbers(path)
    if not rows or len(rows) != 1 or len(rows[0]) != 1:
        log.add("bad-row", f"{path.name} is not one number", action="skipped", sample_id=sid)
        return False, None, None
    code = rows[0][0]
    try:
        return True, dataset_label("ckplus", code), int(code)
    except ConfigError as exc:
        log.add("unknown-label", f"{path.name}: {exc}", action="skipped", sample_id=sid)
        return False, None, None


def _aus(path: Path | None, log: ProblemLog, sid: str) -> tuple[AU, ...]:
    """The sequence's AUs: intensity 1..5 → A..E, 0 → not given."""
    if path is None:
        return ()
    rows = _numbers(path)
    out: list[AU] = []
    for row in rows or [[]]:
        ok = len(row) == 2 and all(v.is_integer() for v in row)
        number, level = (int(v) for v in row) if ok else (0, -1)
        if not (1 <= number <= 99 and 0 <= level <= 5):
            log.add(
                "bad-row",
                f"{path.name}: {row or 'unreadable'} is not 'AU intensity(0..5)'; line skipped",
                action="fixed",
                sample_id=sid,
            )
            continue
        out.append(AU(number, intensity=INTENSITIES[level - 1] if level else None))
    return tuple(out)


def _samples(
    common: dict[str, Any], frames: dict[int, Path], *, last: int | None, neutral: bool
) -> list[Sample]:
    """One clip (``last=None``) or the last ``last`` frames as images, plus the first frame as
    a neutral image when ``neutral``."""
    numbers = sorted(frames)
    first, peak = numbers[0], numbers[-1]
    sid = common["sample_id"]
    out = []
    if last is None:
        out.append(
            Sample(
                frames_dir=frames[peak].parent,
                onset=first,
                apex=peak,
                offset=peak,
                apex_rule="annotated",
                **common,
            )
        )
    else:
        for n in numbers[-last:]:
            out.append(Sample(**(common | {"sample_id": f"{sid}/{n}"}), image=frames[n]))
    if neutral and (last is None or first not in numbers[-last:]):
        out.append(
            Sample(
                **(
                    common
                    | {
                        "sample_id": f"{sid}/{first}",
                        "aus": (),
                        "emotion": "0",
                        "label": "neutral",
                        "meta": common["meta"] | {"neutral": True},
                    }
                ),
                image=frames[first],
            )
        )
    return out


@DATASETS.register("ckplus")
def ckplus(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    peak_only: bool = False,
    last: int | None = None,
    neutral: bool = False,
    labelled_only: bool = False,
) -> Dataset:
    """CK+: cohn-kanade-images/ sequences with Emotion/ and FACS/ label files (subject ``S005``).

    Each sequence is one clip from its first frame (onset) to its peak (apex = offset, the
    frame the label files name). ``peak_only=True`` gives the peak frame as an image instead,
    ``last=N`` the last N frames as images (each with the sequence's label and AUs), and
    ``neutral=True`` adds each sequence's first frame as a ``neutral`` image without AUs.
    ``labelled_only=True`` drops sequences without an emotion file.
    """
    if peak_only and last not in (None, 1):
        raise ConfigError(f"CK+: give peak_only or last=N, not both; got last={last}")
    if last is not None and (isinstance(last, bool) or not isinstance(last, int) or last < 1):
        raise ConfigError(f"CK+: last must be a whole number of frames >= 1; got {last!r}")
    last = 1 if peak_only else last
    base = check_root(root, "ckplus")
    images = base / "cohn-kanade-images"
    if not images.is_dir():
        raise DatasetError(f"{base}: no cohn-kanade-images folder; pass the CK+ root (--root)")
    log = ProblemLog("ckplus", strict=strict)
    index = DirIndex()
    samples: list[Sample] = []
    for seq in sorted(p for p in images.glob("*/*") if p.is_dir()):
        subject, name = seq.parent.name, seq.name
        sid = f"{subject}/{name}"
        frames = index.by_number(seq)
        if not frames:
            log.add("missing-frames", f"no frames in {seq}", action="skipped", sample_id=sid)
            continue
        emotion_file = _label_file(base / "Emotion" / subject / name, "_emotion.txt")
        ok, label, code = _emotion(emotion_file, log, sid)
        if not ok or (labelled_only and label is None):
            continue
        facs_file = _label_file(base / "FACS" / subject / name, "_facs.txt")
        common: dict[str, Any] = {
            "dataset": "ckplus", "subject": subject, "sample_id": sid, "fps": None,
            "aus": _aus(facs_file, log, sid), "emotion": None if code is None else str(code),
            "label": label, "meta": {"sequence": name, "frames_on_disk": len(frames)},
        }  # fmt: skip
        samples += _samples(common, frames, last=last, neutral=neutral)
    return finish(
        "ckplus",
        base,
        samples,
        log,
        classes=CKPLUS_CLASSES,
        options={"peak_only": peak_only, "last": last, "neutral": neutral},
    )
