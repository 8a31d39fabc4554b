"""AU-coded video datasets: DISFA (intensity) and BP4D (occurrence). One sample per frame.

Each sample is one frame: ``image`` when a frame file is on disk, else ``video`` with
``onset == apex == offset ==`` the frame number. ``aus`` holds the AUs that occur;
``meta["au_occ"]`` maps every coded AU to 1 / 0 / None (None = not coded for this frame, BP4D's
9), which is what AU metrics read (:meth:`facscope.data.dataset.Dataset` users:
``facscope.data.au.au_matrix``). ``label`` is None (no emotion).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facscope.data.common import DirIndex, check_root, finish
from facscope.data.dataset import DATASETS, Dataset
from facscope.data.problems import ProblemLog
from facscope.data.sample import Sample
from facscope.data.tables import cell_int, read_csv
from facscope.errors import ConfigError, DatasetError
from facscope.facs import AU, INTENSITIES

__all__ = ["BP4D_CODED_AUS", "DISFA_CODED_AUS", "au_matrix", "bp4d", "code_counts", "disfa"]

#: AUs with intensity files in DISFA.
DISFA_CODED_AUS = (1, 2, 4, 5, 6, 9, 12, 15, 17, 20, 25, 26)
#: AUs with occurrence columns in the BP4D releases (FERA 2015 set, plus others if present).
BP4D_CODED_AUS = (1, 2, 4, 6, 7, 10, 12, 14, 15, 17, 23, 24)


def au_matrix(samples: Iterable[Sample], aus: Sequence[int]) -> np.ndarray:
    """(N, len(aus)) int8 matrix: 1 AU present, 0 absent, -1 not coded.

    AU datasets read ``meta["au_occ"]``; for others (ME datasets) an AU is present when it is in
    ``sample.aus`` and absent otherwise.
    """
    rows = []
    for s in samples:
        occ = s.meta.get("au_occ")
        if occ is None:
            have = s.au_set
            rows.append([1 if a in have else 0 for a in aus])
        else:
            values = [occ.get(a, occ.get(str(a))) for a in aus]  # str keys after a CSV trip
            rows.append([-1 if v is None else int(v) for v in values])
    return np.array(rows, dtype=np.int8).reshape(-1, len(aus))


def code_counts(samples: Iterable[Sample]) -> dict[str, int]:
    """How the samples' FACS codes are written: codes by kind, the marks on them (side,
    intensity, ``ref``, ``(?)``, alternatives, M-codes), free text and unreadable tokens."""
    counts: Counter[str] = Counter()
    for s in samples:
        for a in s.aus:
            counts[f"kind {a.kind}"] += 1
            marks = {
                "side": a.side, "intensity": a.intensity, "intensity range": a.intensity_to,
                "ref()": a.referenced, "(?)": a.uncertain, "alternatives": a.alternatives,
                "M-code": a.movement,
            }  # fmt: skip
            counts.update(k for k, v in marks.items() if v)
        counts["free text"] += len(s.meta.get("aus_text", ()))
        counts["unreadable"] += len(s.meta.get("aus_unreadable", ()))
    return {k: n for k, n in sorted(counts.items()) if n}


_DISFA_FILE = re.compile(r"_au(\d+)\.txt$", re.IGNORECASE)


def _read_disfa_file(path: Path, log: ProblemLog, subject: str) -> dict[int, int]:
    out: dict[int, int] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = [p.strip() for p in line.split(",")]
        frame = cell_int(parts[0]) if len(parts) == 2 else None
        value = cell_int(parts[1]) if len(parts) == 2 else None
        if frame is None or value is None or not 0 <= value <= 5:
            log.add(
                "bad-row",
                f"{path.name} line {number}: {line!r} is not 'frame,0..5'",
                action="skipped",
                sample_id=subject,
                row=number,
            )
            continue
        out[frame] = value
    return out


@DATASETS.register("disfa")
def disfa(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    camera: str = "left",
    threshold: int = 2,
    stride: int = 1,
    frames: str | os.PathLike[str] | None = None,
    frame_offset: int = 0,
    check_files: bool = True,
) -> Dataset:
    """DISFA: per-frame AU intensities (ActionUnit_Labels/) over the left or right videos.

    ActionUnit_Labels/SN001/SN001_au1.txt holds ``frame,intensity`` lines (0..5); videos are
    Videos_LeftCamera/LeftVideoSN001_comp.avi; occurrence = intensity >= ``threshold`` (2).

    ``frames=DIR`` points at extracted frames ``DIR/SN001/<N>.jpg`` (label frame + ``frame_offset``
    = file frame number); ``stride`` keeps every n-th frame.
    """
    if camera not in ("left", "right"):
        raise ConfigError(f"DISFA camera must be 'left' or 'right'; got {camera!r}")
    if not 1 <= threshold <= 5 or stride < 1:
        raise ConfigError(
            f"DISFA threshold must be in 1..5 and stride >= 1; got {threshold}, {stride}"
        )
    base = check_root(root, "disfa")
    labels = base / "ActionUnit_Labels"
    if not labels.is_dir():
        raise DatasetError(f"{base}: no ActionUnit_Labels folder; pass the DISFA root")
    cam = camera.capitalize()
    log = ProblemLog("disfa", strict=strict)
    index = DirIndex()
    samples: list[Sample] = []
    for subj_dir in sorted(p for p in labels.iterdir() if p.is_dir()):
        subject = subj_dir.name
        per_au = {}
        for f in sorted(subj_dir.iterdir()):
            m = _DISFA_FILE.search(f.name)
            if m:
                per_au[int(m.group(1))] = _read_disfa_file(f, log, subject)
        if not per_au:
            continue
        video = base / f"Videos_{cam}Camera" / f"{cam}Video{subject}_comp.avi"
        frame_dir = None if frames is None else Path(frames) / subject
        if frame_dir is None and check_files and not video.is_file():
            log.add("missing-file", f"no video {video}", action="skipped", sample_id=subject)
            continue
        numbers = sorted(set().union(*per_au.values()))[::stride]
        table = index.by_number(frame_dir) if frame_dir is not None else {}
        for n in numbers:
            intens = {a: v.get(n) for a, v in sorted(per_au.items())}
            occ = {a: None if v is None else int(v >= threshold) for a, v in intens.items()}
            aus = tuple(
                AU(a, intensity=INTENSITIES[v - 1])
                for a, v in intens.items()
                if v is not None and v >= threshold
            )
            meta: dict[str, Any] = {"frame": n, "au_intensity": intens, "au_occ": occ}
            sid = f"{subject}/{n}"
            common = {
                "dataset": "disfa",
                "subject": subject,
                "sample_id": sid,
                "fps": 20.0,
                "aus": aus,
                "meta": meta,
            }
            if frame_dir is not None:
                path = table.get(n + frame_offset)
                if path is None:
                    log.add(
                        "missing-file",
                        f"no frame {n + frame_offset} in {frame_dir}",
                        action="skipped",
                        sample_id=sid,
                    )
                    continue
                samples.append(Sample(image=path, **common))
            else:
                samples.append(
                    Sample(video=video, onset=n, apex=n, offset=n, apex_rule="annotated", **common)
                )
    return finish(
        "disfa",
        base,
        samples,
        log,
        classes=(),
        options={"camera": camera, "threshold": threshold, "stride": stride},
    )


def _au_column(name: str) -> int | None:
    m = re.fullmatch(r"\s*(?:au)?\s*(\d{1,2})\s*", name, re.IGNORECASE)
    return int(m.group(1)) if m and 1 <= int(m.group(1)) <= 99 else None


@DATASETS.register("bp4d")
def bp4d(
    root: str | os.PathLike[str],
    *,
    strict: bool = False,
    frames_root: str | os.PathLike[str] | None = None,
    stride: int = 1,
    check_files: bool = True,
) -> Dataset:
    """BP4D: per-frame AU occurrence (AUCoding/AU_OCC/*.csv) over Sequences/ frames.

    AUCoding/AU_OCC/F001_T1.csv has a frame column then AU columns (0/1, 9 = not coded);
    frames are Sequences/F001/T1/<N>.jpg (25 fps).
    """
    if stride < 1:
        raise ConfigError(f"BP4D stride must be >= 1; got {stride}")
    base = check_root(root, "bp4d")
    occ_dir = next(
        (
            d
            for d in (base / "AUCoding" / "AU_OCC", base / "AU_OCC", base / "AUCoding")
            if d.is_dir() and any(d.glob("*.csv"))
        ),
        None,
    )
    if occ_dir is None:
        raise DatasetError(f"{base}: no AUCoding/AU_OCC/*.csv files; pass the BP4D root")
    seq_root = (
        Path(frames_root)
        if frames_root
        else next(
            (d for d in (base / "Sequences", base / "BP4D-training", base / "2D+3D") if d.is_dir()),
            base,
        )
    )
    log = ProblemLog("bp4d", strict=strict)
    index = DirIndex()
    samples: list[Sample] = []
    for csv_path in sorted(occ_dir.glob("*.csv")):
        m = re.fullmatch(r"([A-Za-z]\d+)_(T\d+)", csv_path.stem)
        if not m:
            log.add(
                "bad-row", f"{csv_path.name} is not named <subject>_<task>.csv", action="skipped"
            )
            continue
        subject, task = m.groups()
        table = read_csv(csv_path)
        au_cols = [(h, _au_column(h)) for h in table.header[1:]]
        au_cols = [(h, a) for h, a in au_cols if a is not None]
        frame_dir = seq_root / subject / task
        on_disk = index.by_number(frame_dir) if check_files else {}
        if check_files and not on_disk:
            log.add(
                "missing-frames",
                f"no frames in {frame_dir}",
                action="skipped",
                sample_id=f"{subject}/{task}",
            )
            continue
        for r in table.rows[::stride]:
            frame = cell_int(r.get(table.header[0]))
            values = {a: cell_int(r.get(h)) for h, a in au_cols}
            sid = f"{subject}/{task}/{frame}"
            if frame is None or any(v not in (0, 1, 9) for v in values.values()):
                log.add(
                    "bad-row",
                    f"{csv_path.name}: frame {r.get(table.header[0])!r}, values must be 0/1/9",
                    action="skipped",
                    sample_id=sid,
                    row=r.number,
                )
                continue
            path = on_disk.get(frame) if check_files else frame_dir / f"{frame:04d}.jpg"
            if path is None:
                log.add(
                    "missing-file",
                    f"no frame {frame} in {frame_dir}",
                    action="skipped",
                    sample_id=sid,
                    row=r.number,
                )
                continue
            occ = {a: None if v == 9 else v for a, v in values.items()}
            samples.append(
                Sample(
                    dataset="bp4d",
                    subject=subject,
                    sample_id=sid,
                    image=path,
                    fps=25.0,
                    aus=tuple(AU(a) for a, v in occ.items() if v == 1),
                    meta={"task": task, "frame": frame, "au_occ": occ},
                )
            )
    return finish("bp4d", base, samples, log, classes=(), options={"stride": stride})
