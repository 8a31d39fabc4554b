"""Scoring predictions: UF1/UAR (fine and three-class), AU F1, and ME-VQA BLEU / ROUGE-1.

**describe** (:func:`evaluate_describe`): each prediction is parsed with
:func:`facscope.mellm.parse.parse_prediction` and compared with its record:

* fine-grained ACC / UF1 / UAR over the label set of the evaluated records (or ``labels``);
* three-class ACC / UF1 / UAR over ``negative positive surprise`` (records outside the scheme,
  e.g. ``others``, are left out);
* AU F1 per AU over a stated list (default: the common ME list 1, 2, 4, 5, 6, 7, 9, 10, 12, 14,
  15, 17) and its mean, plus the exact-set match rate;
* parse statuses and generation errors.

A prediction with no readable label (or a label outside the set) is **wrong**, never dropped: it
counts as a false negative of its true class and as a prediction of no class, so K stays the
label set (metrics from :func:`facscope.eval.metrics.confusion_matrix` with an extra "invalid"
column that is not a class). Predictions are pooled over the evaluated items.

**mevqa** (:func:`evaluate_mevqa`): per question type, the mean sentence BLEU-4 (add-one
smoothing for n ≥ 2) and mean ROUGE-1 F1 of the answers (:mod:`facscope.mellm.textmetrics`)
and the exact-match rate after normalisation; coarse/fine UF1 and UAR from the class questions,
AU F1 from the AU-name questions, accuracy of the yes/no and left/right questions.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facscope.facs import MEGC3, normalize_emotion

__all__ = [
    "INVALID",
    "evaluate_describe",
    "evaluate_mevqa",
    "label_scores",
    "read_mevqa",
    "render_markdown",
]

#: Stand-in prediction for "no readable class"; it is never one of the classes scored.
INVALID = "<invalid>"


def label_scores(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """ACC, UF1, UAR over ``labels``; predictions outside ``labels`` count as wrong."""
    from facscope.eval.metrics import confusion_matrix

    labs = list(labels)
    pred = [p if p in labs else INVALID for p in y_pred]
    cm = confusion_matrix(y_true, pred, labels=[*labs, INVALID])[: len(labs)].astype(np.float64)
    tp = np.diag(cm[:, : len(labs)])
    support, predicted = cm.sum(1), cm[:, : len(labs)].sum(0)
    den = support + predicted
    f1 = np.divide(2 * tp, den, out=np.zeros_like(tp), where=den > 0)
    rec = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    n = int(cm.sum())
    return {
        "n": n,
        "labels": labs,
        "acc": float(tp.sum() / n) if n else 0.0,
        "uf1": float(f1.mean()),
        "uar": float(rec.mean()),
        "invalid": int(sum(p == INVALID for p in pred)),
        "confusion": cm.astype(int).tolist(),
    }


def _au_scores(
    truth: list[frozenset[int]], pred: list[frozenset[int]], aus: Sequence[int]
) -> dict[str, Any]:
    from facscope.eval.metrics import au_f1_scores

    res = au_f1_scores(truth, pred, aus=aus)
    exact = float(np.mean([t == p for t, p in zip(truth, pred)])) if truth else 0.0
    return {
        "aus": list(res.aus),
        "mean_f1": res.mean,
        "f1": {str(k): v for k, v in res.f1.items()},
        "support": {str(k): v for k, v in res.support.items()},
        "exact_set": exact,
    }


def evaluate_describe(
    records: Sequence[Any],
    predictions: dict[str, dict[str, Any]],
    *,
    labels: Sequence[str] | None = None,
    aus: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Scores of ``describe`` predictions (by id) against their records (see module doc)."""
    from facscope.eval.metrics import ME_AUS
    from facscope.facs import au_numbers
    from facscope.mellm.parse import parse_prediction

    scored = [r for r in records if r.id in predictions]
    fine_labels = list(labels) if labels else sorted({r.label for r in scored})
    parsed = [parse_prediction(predictions[r.id].get("text") or "", emotions=None) for r in scored]
    status = Counter(p.status for p in parsed)
    errors = sum(bool(predictions[r.id].get("error")) for r in scored)
    fine = label_scores(
        [r.label for r in scored], [p.emotion or INVALID for p in parsed], fine_labels
    )
    pairs = [(r.coarse, p.coarse) for r, p in zip(scored, parsed) if r.coarse in MEGC3]
    coarse = label_scores([t for t, _ in pairs], [p or INVALID for _, p in pairs], MEGC3)
    truth_aus = [au_numbers(r.aus) for r in scored]
    pred_aus = [frozenset(p.aus or ()) for p in parsed]
    return {
        "task": "describe",
        "n": len(scored),
        "missing": len(records) - len(scored),
        "parse": dict(status),
        "errors": errors,
        "fine": fine,
        "coarse": coarse,
        "au": _au_scores(truth_aus, pred_aus, tuple(aus or ME_AUS)),
    }


def _norm(text: str) -> str:
    return " ".join(str(text).lower().replace(".", " ").replace(",", " ").split())


def _first_word_label(text: str, allowed: Sequence[str]) -> str:
    from facscope.mellm.parse import mentioned_emotions

    t = _norm(text)
    for word in t.split():
        if word in allowed:
            return word
    named = [e for e in mentioned_emotions(text, include_common=True) if e in allowed]
    return named[0] if named else INVALID


def evaluate_mevqa(
    rows: Sequence[dict[str, Any]],
    predictions: dict[str, dict[str, Any]],
    *,
    aus: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Scores of ME-VQA predictions (by row id) against the ``mevqa.jsonl`` rows."""
    from facscope.eval.metrics import ME_AUS
    from facscope.mellm.parse import mentioned_aus
    from facscope.mellm.textmetrics import rouge1, sentence_bleu

    by_type: dict[str, list[tuple[dict[str, Any], str]]] = {}
    for row in rows:
        if row["id"] in predictions:
            by_type.setdefault(row["type"], []).append(
                (row, predictions[row["id"]].get("text") or "")
            )
    per_type: dict[str, Any] = {}
    for qtype, pairs in by_type.items():
        refs, hyps = [r["answer"] for r, _ in pairs], [h for _, h in pairs]
        per_type[qtype] = {
            "n": len(pairs),
            "bleu": float(np.mean([sentence_bleu(a, b) for a, b in zip(refs, hyps)])),
            "rouge1": float(np.mean([rouge1(a, b).f1 for a, b in zip(refs, hyps)])),
            "exact": float(np.mean([_norm(a) == _norm(b) for a, b in zip(refs, hyps)])),
        }
    out: dict[str, Any] = {
        "task": "mevqa",
        "n": sum(len(v) for v in by_type.values()),
        "types": per_type,
    }
    if "coarse" in by_type:
        pairs = by_type["coarse"]
        out["coarse"] = label_scores(
            [r["answer"] for r, _ in pairs], [_first_word_label(h, MEGC3) for _, h in pairs], MEGC3
        )
    if "fine" in by_type:
        pairs = by_type["fine"]
        labs = sorted({r["answer"] for r, _ in pairs})
        pred = [normalize_emotion(_first_word_label(h, _all_labels())) or INVALID for _, h in pairs]
        out["fine"] = label_scores([r["answer"] for r, _ in pairs], pred, labs)
    if "au_names" in by_type:
        pairs = by_type["au_names"]
        truth = [frozenset(mentioned_aus(r["answer"])) for r, _ in pairs]
        pred = [frozenset(mentioned_aus(h)) for _, h in pairs]
        out["au"] = _au_scores(truth, pred, tuple(aus or ME_AUS))
    for qtype, words in (("au_present", ("yes", "no")), ("au_side", ("left", "right"))):
        if qtype in by_type:
            pairs = by_type[qtype]
            got = [next((w for w in _norm(h).split() if w in words), INVALID) for _, h in pairs]
            out[qtype] = {
                "accuracy": float(np.mean([g == r["answer"] for g, (r, _) in zip(got, pairs)]))
            }
    return out


def _all_labels() -> tuple[str, ...]:
    from facscope.facs import EMOTIONS

    return (*EMOTIONS, "repression", "others", "positive", "negative")


def read_mevqa(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The ME-VQA rows of a build folder."""
    p = Path(root) / "mevqa.jsonl"
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]


def render_markdown(report: dict[str, Any]) -> str:
    """A short Markdown summary of an evaluation report."""
    lines = [f"# MELLM evaluation ({report['task']}, n = {report['n']})", ""]
    head = "| metric | ACC | UF1 | UAR | n |\n|---|---|---|---|---|"
    rows = [
        f"| {name} | {report[name]['acc']:.3f} | {report[name]['uf1']:.3f} | "
        f"{report[name]['uar']:.3f} | {report[name]['n']} |"
        for name in ("fine", "coarse")
        if name in report
    ]
    if rows:
        lines += [head, *rows, ""]
    if "au" in report:
        au = report["au"]
        lines.append(
            f"AU F1 (mean over AUs {au['aus']}): {au['mean_f1']:.3f}; exact AU set: {au['exact_set']:.3f}"
        )
        lines.append("")
    if report.get("types"):
        lines += ["| question type | n | BLEU-4 | ROUGE-1 F1 | exact |", "|---|---|---|---|---|"]
        for qtype, s in report["types"].items():
            lines.append(
                f"| {qtype} | {s['n']} | {s['bleu']:.3f} | {s['rouge1']:.3f} | {s['exact']:.3f} |"
            )
        lines.append("")
    if "parse" in report:
        lines.append(f"Parse statuses: {report['parse']}; generation errors: {report['errors']}")
    return "\n".join(lines) + "\n"
