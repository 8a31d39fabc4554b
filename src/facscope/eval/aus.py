"""AU evaluation where labels exist: per-AU occurrence F1 and intensity ICC(3,1) / MAE, pooled.

Every number is computed on the predictions **pooled over all samples** (one TP/FP/FN count per
AU, not a mean of per-subject scores), over a **stated label set**: the AUs in the labels (for
occurrence datasets, every AU coded in ``au_occ``), or the AUs a user names. Occurrence follows
:func:`facscope.eval.metrics.au_f1_scores` (action units only, no ``ref(…)``, a group of
alternatives met by either member, BP4D's "not coded" left out).

Intensity uses the FACS scale 0 (absent), A = 1 … E = 5 (DISFA's own 0–5 scale is the same).
An AU of a sample has a true intensity when the dataset codes one: DISFA's per-frame values, or
an AU string whose codes carry letters (then an absent AU is 0 and a present AU without a letter
is unknown). ICC(3,1) (Shrout & Fleiss 1979: two-way mixed, consistency, single rater; the
truth and the prediction are the two "judges") and the mean absolute error are computed per AU
over the samples where both sides have an intensity; the ICC only from :data:`MIN_ICC_PAIRS`
such samples.

Records are JSON objects (one line per sample in ``results.jsonl``) with these keys:

* ``aus_true_code``: the sample's AU string (what is scored); ``aus_true``: its AU numbers;
* ``au_occ``: ``{"1": 1, "2": 0, "4": null}`` for occurrence datasets (null: not coded);
* ``intensity_true`` / ``intensity``: ``{"12": 3, ...}`` true / predicted levels (optional);
* ``aus``: the predicted AUs; ``au_basis``: ``measured`` or ``inferred`` (how they were got).
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from facscope.errors import ConfigError
from facscope.eval.metrics import au_f1_scores, au_truth_matrix
from facscope.facs import INTENSITIES, au_targets

__all__ = [
    "MIN_ICC_PAIRS",
    "REPORT_FILES",
    "AUReport",
    "AURow",
    "au_report",
    "icc_3_1",
    "intensity_level",
    "label_aus",
]


#: the files :meth:`AUReport.save` writes
REPORT_FILES = {"markdown": "au_table.md", "csv": "au_table.csv", "png": "au_f1.png"}


def intensity_level(letter: str | None) -> int:
    """FACS intensity on a 0–5 scale: None (absent) 0, A 1, B 2, C 3, D 4, E 5."""
    if letter is None:
        return 0
    if letter not in INTENSITIES:
        raise ConfigError(f"intensity must be one of {INTENSITIES} or None; got {letter!r}")
    return INTENSITIES.index(letter) + 1


#: fewest (true, measured) intensity pairs an AU's ICC is reported for: with 2 targets each
#: mean square has one degree of freedom and ICC(3,1) swings to ±1 on a single disagreement
MIN_ICC_PAIRS = 3


def icc_3_1(ratings: Any) -> float | None:
    """ICC(3,1) of an (n targets, k judges) table: (BMS − EMS) / (BMS + (k − 1)·EMS).

    Shrout & Fleiss (1979), case 3 (each target rated by the same k fixed judges), single
    rating, consistency. None when there are fewer than 2 targets or the table has no variance
    left to share (every target rated alike and no error).
    """
    y = np.asarray(ratings, dtype=np.float64)
    if y.ndim != 2 or y.shape[1] < 2:
        raise ConfigError(f"ratings must be (n targets, k >= 2 judges); got shape {y.shape}")
    n, k = y.shape
    if n < 2:
        return None
    grand = y.mean()
    ss_rows = k * ((y.mean(1) - grand) ** 2).sum()
    ss_cols = n * ((y.mean(0) - grand) ** 2).sum()
    ss_err = ((y - grand) ** 2).sum() - ss_rows - ss_cols
    bms = ss_rows / (n - 1)
    ems = max(ss_err, 0.0) / ((n - 1) * (k - 1))
    den = bms + (k - 1) * ems
    return None if den <= 1e-12 else float((bms - ems) / den)


def _numbers(mapping: Mapping[str, Any] | None) -> dict[int, Any]:
    return {int(k): v for k, v in (mapping or {}).items()}  # JSON keys are strings


def _labelled(record: Mapping[str, Any]) -> bool:
    return any(record.get(k) is not None for k in ("au_occ", "aus_true_code", "aus_true"))


def _truth_code(record: Mapping[str, Any]) -> Any:
    code = record.get("aus_true_code")
    return code if code is not None else frozenset(record.get("aus_true") or ())


def label_aus(records: Iterable[Mapping[str, Any]]) -> tuple[int, ...]:
    """The AUs in the labels: every AU an AU string codes (each member of a group of
    alternatives; not ``ref(…)``), and every AU an occurrence table codes."""
    found: set[int] = set()
    for r in records:
        if r.get("au_occ") is not None:
            found |= set(_numbers(r["au_occ"]))
        code = _truth_code(r)
        coded, groups = au_targets(code) if isinstance(code, str) else (frozenset(code), ())
        found |= set(coded) | {a for g in groups for a in g}
    return tuple(sorted(found))


@dataclass(frozen=True)
class AURow:
    """One AU's pooled scores: occurrence over ``coded`` samples, intensity over
    ``n_intensity`` samples where both sides have one (``icc`` / ``mae`` None without)."""

    au: int
    f1: float
    precision: float
    recall: float
    support: int
    predicted: int
    coded: int
    icc: float | None = None
    mae: float | None = None
    n_intensity: int = 0


def _mean(values: Iterable[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return float(np.mean(vals)) if vals else None


@dataclass(frozen=True, kw_only=True)
class AUReport:
    """AU scores over a stated label set, pooled over all samples, and what they were read from.

    Attributes:
        aus: the label set scored; ``label_set``: where it came from (``labels`` / ``given``).
        not_scored: AUs in the labels that were left out (not measurable by the predictor).
        n: samples scored; ``au_basis``: how many answers were ``measured`` / ``inferred``.
        rows: one :class:`AURow` per AU of ``aus``.
    """

    aus: tuple[int, ...]
    label_set: str
    n: int
    rows: tuple[AURow, ...]
    not_scored: tuple[int, ...] = ()
    au_basis: Mapping[str, int] = field(default_factory=dict)
    by_basis: Mapping[str, float] = field(default_factory=dict)
    dataset: str = ""
    mode: str = ""
    notes: str = ""

    @property
    def mean_f1(self) -> float:
        return float(np.mean([r.f1 for r in self.rows]))

    @property
    def mean_icc(self) -> float | None:
        return _mean(r.icc for r in self.rows)

    @property
    def mean_mae(self) -> float | None:
        return _mean(r.mae for r in self.rows)

    @property
    def basis(self) -> str:
        """``measured``, ``inferred``, ``mixed`` or ``unstated``: what the predicted AUs are."""
        kinds = [k for k, v in self.au_basis.items() if v]
        return kinds[0] if len(kinds) == 1 else "mixed" if kinds else "unstated"

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "mode": self.mode,
            "pooling": "pooled over all samples",
            "aus": list(self.aus),
            "label_set": self.label_set,
            "not_scored": list(self.not_scored),
            "n": self.n,
            "au_basis": self.basis,
            "au_basis_counts": dict(self.au_basis),
            "mean_f1_by_basis": dict(self.by_basis),
            "mean_f1": self.mean_f1,
            "mean_icc": self.mean_icc,
            "mean_mae": self.mean_mae,
            "per_au": {
                str(r.au): {k: v for k, v in r.__dict__.items() if k != "au"} for r in self.rows
            },
            "notes": self.notes,
        }

    def _header(self) -> list[str]:
        where = "the AUs in the labels" if self.label_set == "labels" else "given with --aus"
        lines = [
            f"- dataset: {self.dataset or '?'}; mode: {self.mode or '?'}; samples: {self.n}, "
            "pooled over all samples",
            f"- label set ({where}): {', '.join(map(str, self.aus))}",
            f"- AU basis: {self.basis} ({', '.join(f'{k} {v}' for k, v in self.au_basis.items())})",
        ]
        if self.not_scored:
            lines.append(
                f"- in the labels but not scored (not measurable): "
                f"{', '.join(map(str, self.not_scored))}"
            )
        if self.notes:
            lines.append(f"- {self.notes}")
        return lines

    def to_markdown(self) -> str:
        def num(v: float | None) -> str:
            return "–" if v is None else f"{v:.3f}"

        lines = [
            "# AU evaluation",
            "",
            *self._header(),
            "",
            "| AU | coded | present | predicted | precision | recall | F1 | ICC(3,1) | MAE | n intensity |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in self.rows:
            lines.append(
                f"| {r.au} | {r.coded} | {r.support} | {r.predicted} | {r.precision:.3f} | "
                f"{r.recall:.3f} | {r.f1:.3f} | {num(r.icc)} | {num(r.mae)} | {r.n_intensity} |"
            )
        lines.append(
            f"| **mean** | | | | | | **{self.mean_f1:.3f}** | {num(self.mean_icc)} | "
            f"{num(self.mean_mae)} | |"
        )
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["au", "coded", "present", "predicted", "precision", "recall", "f1", "icc_3_1",
                    "mae", "n_intensity"])  # fmt: skip
        for r in self.rows:
            w.writerow([r.au, r.coded, r.support, r.predicted, f"{r.precision:.4f}",
                        f"{r.recall:.4f}", f"{r.f1:.4f}", "" if r.icc is None else f"{r.icc:.4f}",
                        "" if r.mae is None else f"{r.mae:.4f}", r.n_intensity])  # fmt: skip
        mi, mm = self.mean_icc, self.mean_mae
        w.writerow(["mean", "", "", "", "", "", f"{self.mean_f1:.4f}",
                    "" if mi is None else f"{mi:.4f}", "" if mm is None else f"{mm:.4f}", ""])  # fmt: skip
        return buf.getvalue()

    def f1_image(self) -> np.ndarray:
        """A bar plot of per-AU F1 (RGB uint8, drawn with OpenCV), the mean as a line."""
        return au_f1_image(self)

    def save(self, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
        """Write ``au_table.md``, ``au_table.csv`` and ``au_f1.png``."""
        from facscope.io import save_image, write_text

        d = Path(out_dir)
        f = REPORT_FILES
        return {
            "markdown": write_text(d / f["markdown"], self.to_markdown()),
            "csv": write_text(d / f["csv"], self.to_csv()),
            "png": save_image(d / f["png"], self.f1_image()),
        }


def _predicted(records: Sequence[Mapping[str, Any]], aus: Sequence[int]) -> np.ndarray:
    return np.array(
        [[1.0 if a in set(r.get("aus") or ()) else 0.0 for a in aus] for r in records]
    ).reshape(len(records), len(aus))


def _truth(
    records: Sequence[Mapping[str, Any]], pred: np.ndarray, aus: Sequence[int]
) -> np.ndarray:
    rows = []
    for r, p in zip(records, pred):
        if r.get("au_occ") is not None:
            occ = _numbers(r["au_occ"])
            rows.append([-1.0 if occ.get(a) is None else float(occ[a]) for a in aus])
        else:
            rows.append(au_truth_matrix([_truth_code(r)], p[None], aus=aus)[0])
    return np.array(rows, dtype=np.float64).reshape(len(records), len(aus))


def _intensity(
    records: Sequence[Mapping[str, Any]], au: int
) -> tuple[float | None, float | None, int]:
    pairs = []
    for r in records:
        if r.get("intensity_true") is None:
            continue
        true = _numbers(r["intensity_true"])
        # an AU string with letters codes every AU it leaves out as absent (0); an occurrence
        # table (DISFA) leaves out the AUs it does not code
        t = true[au] if au in true else (None if r.get("au_occ") is not None else 0)
        p = _numbers(r.get("intensity")).get(au)
        if t is not None and p is not None:
            pairs.append((float(t), float(p)))
    if not pairs:
        return None, None, 0
    y = np.array(pairs)
    icc = icc_3_1(y) if len(pairs) >= MIN_ICC_PAIRS else None
    return icc, float(np.abs(y[:, 0] - y[:, 1]).mean()), len(pairs)


def au_report(
    records: Iterable[Mapping[str, Any]],
    *,
    aus: Sequence[int] | None = None,
    scorable: Collection[int] | None = None,
    dataset: str = "",
    mode: str = "",
    notes: str = "",
) -> AUReport:
    """Pooled AU scores of ``records`` (those with AU labels; the rest are left out).

    Args:
        aus: the label set; None: the AUs in the labels (:func:`label_aus`), less any outside
            ``scorable``, which are listed as ``not_scored``.
        scorable: the AUs the predictor can answer (None: any); a given ``aus`` outside it is
            an error, so a score of 0 for an AU that cannot be predicted is never reported.
    """
    recs = [r for r in records if _labelled(r)]
    if not recs:
        raise ConfigError("no record has AU labels: AU scores need a dataset with AU annotations")
    found = label_aus(recs)
    if aus is None:
        chosen = tuple(a for a in found if scorable is None or a in scorable)
        not_scored = tuple(a for a in found if scorable is not None and a not in scorable)
        label_set = "labels"
    else:
        chosen = tuple(int(a) for a in aus)
        bad = [a for a in chosen if scorable is not None and a not in scorable]
        if bad:
            raise ConfigError(f"AU(s) {bad} cannot be predicted here; scorable: {sorted(scorable)}")
        not_scored, label_set = (), "given"
    if not chosen:
        raise ConfigError(f"no AU to score: the labels hold {list(found)}, none scorable")
    pred = _predicted(recs, chosen)
    truth = _truth(recs, pred, chosen)
    scores = au_f1_scores(truth, pred, aus=chosen)
    rows = []
    for a in chosen:
        icc, mae, n_int = _intensity(recs, a)
        rows.append(
            AURow(
                a,
                scores.f1[a],
                scores.precision[a],
                scores.recall[a],
                scores.support[a],
                scores.predicted[a],
                scores.coded[a],
                icc,
                mae,
                n_int,
            )
        )
    basis = Counter(str(r.get("au_basis") or "unstated") for r in recs)
    by_basis = {}
    if len(basis) > 1:  # never let inferred answers pass as measured: score each kind alone
        for kind in sorted(basis):
            keep = np.array([str(r.get("au_basis") or "unstated") == kind for r in recs])
            by_basis[kind] = au_f1_scores(truth[keep], pred[keep], aus=chosen).mean
    return AUReport(
        aus=chosen,
        label_set=label_set,
        n=len(recs),
        rows=tuple(rows),
        not_scored=not_scored,
        au_basis=dict(sorted(basis.items())),
        by_basis=by_basis,
        dataset=dataset,
        mode=mode,
        notes=notes,
    )


def au_f1_image(report: AUReport, *, bar: int = 44, plot_height: int = 260) -> np.ndarray:
    """Per-AU F1 bars (0–1 axis, value above each bar, AU and support below), mean dashed."""
    import cv2

    from facscope.eval.report import _text, _text_size

    k = len(report.rows)
    left, top, bottom = 56, 70, 58
    width = max(left + k * bar + 30, 640)
    height = top + plot_height + bottom
    img = np.full((height, width, 3), 255, np.uint8)
    title = f"AU F1 | {report.dataset or 'dataset'} | {report.mode or 'mode'} | {report.basis}"
    sub = (
        f"mean F1 {report.mean_f1:.3f} (dashed) over {k} AUs ({report.label_set}) | "
        f"{report.n} samples, pooled | n = samples with the AU"
    )
    _text(img, title, (10, 24), 0.55, (0, 0, 0), 2)
    _text(img, sub, (10, 48), 0.45, (60, 60, 60))
    y0, y1 = top + plot_height, top
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = round(y0 - v * plot_height)
        cv2.line(img, (left, y), (left + k * bar, y), (225, 225, 225), 1)
        w, h = _text_size(f"{v:.2f}", 0.4)
        _text(img, f"{v:.2f}", (left - w - 6, y + h // 2), 0.4, (90, 90, 90))
    for i, r in enumerate(report.rows):
        x = left + i * bar
        y = round(y0 - r.f1 * plot_height)
        cv2.rectangle(img, (x + 6, y), (x + bar - 6, y0), (44, 111, 171), -1)
        for text, yy, sc in ((f"{r.f1:.2f}", y - 5, 0.38), (f"AU{r.au}", y0 + 18, 0.4),
                             (f"n{r.support}", y0 + 36, 0.35)):  # fmt: skip
            w, _ = _text_size(text, sc)
            _text(img, text, (x + (bar - w) // 2, yy), sc, (0, 0, 0))
    ym = round(y0 - report.mean_f1 * plot_height)
    for x in range(left, left + k * bar, 12):
        cv2.line(img, (x, ym), (min(x + 6, left + k * bar), ym), (200, 40, 40), 2)
    cv2.line(img, (left, y1), (left, y0), (0, 0, 0), 1)
    cv2.line(img, (left, y0), (left + k * bar, y0), (0, 0, 0), 1)
    return img
