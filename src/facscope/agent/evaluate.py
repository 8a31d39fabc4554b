"""Evaluating an agent over a dataset: per-sample JSONL written as it goes, resumable, then
accuracy / macro-F1 over the 7 classes, AU F1, zoom rate and turns per emotion, parse failures
and latency.

:func:`evaluate_agent` takes any iterable of :class:`facscope.data.sample.Sample` (still images
or clips). One JSON line per sample is appended to ``results.jsonl`` and fsync'd as soon as its
episode ends, so a killed run resumes where it stopped: samples whose id is already in the file
are skipped. A sample that cannot be loaded or whose episode fails is recorded with its error
and the run carries on. :func:`summarize` turns the lines into ``metrics.json``.

Emotion metrics are over a fixed class list (``FER7`` for still-image FER, ``ME7`` for
micro-expressions): a failed answer, or an answer outside the list, counts as wrong for its true
class and as a prediction of no class (it is a false negative, never a false positive).
Samples whose label is outside the list are not scored.

A sample where no face is found (status ``no_face``: the model is not asked) is a failed item,
not a prediction: it counts as wrong for its true class like a failed answer (so accuracy is
over every scored sample, never inflated by dropping the hard ones), is never a prediction of a
class, and is counted on its own under ``no_face`` (with ``face_found_rate``).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from facscope.agent.loop import Agent, AgentInput
from facscope.errors import ConfigError
from facscope.facs import FER7, ME7, format_aus
from facscope.io import JsonlLog

__all__ = [
    "CLASS_SETS",
    "au_scores",
    "choose_classes",
    "evaluate_agent",
    "read_results",
    "sample_input",
    "summarize",
]

CLASS_SETS: dict[str, tuple[str, ...]] = {"fer7": FER7, "me7": ME7}
_OTHER = "<no valid answer>"


def choose_classes(labels: Iterable[str | None], name: str = "auto") -> tuple[str, ...]:
    """The 7 classes to score: ``fer7``, ``me7``, or ``auto`` (ME7 when the labels hold contempt
    and no neutral, FER7 otherwise)."""
    if name != "auto":
        if name not in CLASS_SETS:
            raise ConfigError(
                f"classes must be 'auto' or one of {sorted(CLASS_SETS)}; got {name!r}"
            )
        return CLASS_SETS[name]
    seen = {lab for lab in labels if lab}
    return ME7 if "contempt" in seen and "neutral" not in seen else FER7


def sample_input(sample: Any) -> AgentInput:
    """The agent input of a dataset sample: its image, or its clip with onset and apex.

    A clip without an annotated apex uses the middle of onset..offset (or of the clip).
    """
    labels = {
        "id": sample.sample_id,
        "emotion": sample.label,
        "aus": [a.number for a in sample.aus] if sample.aus else None,
    }
    if sample.image is not None:
        from facscope.io import load_image

        return AgentInput(image=load_image(sample.image), name=sample.sample_id, labels=labels)
    from facscope.motion.clip import sample_clip

    clip, onset, apex = sample_clip(sample)
    return AgentInput(clip=clip, onset=onset, apex=apex, name=sample.sample_id, labels=labels)


def read_results(path: str | Path) -> list[dict[str, Any]]:
    """The records of a results JSONL file (a torn last line from a kill is ignored)."""
    return JsonlLog(path).records()


def _base_record(sample: Any) -> dict[str, Any]:
    return {
        "id": sample.sample_id,
        "dataset": sample.dataset,
        "subject": sample.subject,
        "label": sample.label,
        # what AU metrics count (action units, not ref(); groups as their first code) and the
        # string they are scored from (a group of alternatives met by either member)
        "aus_true": sorted(sample.au_set) if sample.aus else None,
        "aus_true_code": format_aus(sample.aus) if sample.aus else None,
    }


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _run_isolated(agent: Agent, items: list[AgentInput]) -> list[Any]:
    """The episodes of ``items`` run as one batch; when the batch raises, each item is run
    alone, so a failing input gets its own error (the exception in its place) and the others
    their episodes."""
    try:
        return list(agent.run_batch(items))
    except Exception as exc:
        if len(items) == 1:
            return [exc]
    out: list[Any] = []
    for item in items:
        try:
            out.extend(agent.run_batch([item]))
        except Exception as exc:
            out.append(exc)
    return out


def evaluate_agent(
    samples: Iterable[Any],
    agent: Agent,
    *,
    out_dir: str | Path,
    classes: Sequence[str] = FER7,
    limit: int | None = None,
    batch_size: int = 1,
    traces: bool = False,
    progress: bool = True,
    retry_errors: bool = False,
) -> dict[str, Any]:
    """Run ``agent`` on ``samples``, appending one JSON line per sample, and return the metrics.

    Args:
        samples: :class:`~facscope.data.sample.Sample` records (images or clips).
        agent: the agent (its backend decides how a batch runs: one padded batch locally,
            concurrent requests over HTTP).
        out_dir: where ``results.jsonl``, ``metrics.json`` and (``traces=True``) one trace per
            sample go. Existing results are kept and their samples skipped (resume).
        classes: the class list scored.
        limit: stop after this many samples (counting ones already done).
        batch_size: episodes run together.
        traces: also write each episode's trace as ``traces/<id>.json``.
        progress: show a progress bar.
        retry_errors: run again the samples whose recorded result is an error (a file that
            could not be read, a backend or agent failure); their new line replaces the old.

    Returns:
        The metrics (also written to ``metrics.json``); see :func:`summarize`.
    """
    from tqdm.auto import tqdm

    from facscope.io import write_json

    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1; got {batch_size}")
    if limit is not None and limit < 1:
        raise ConfigError(f"limit must be >= 1; got {limit}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = JsonlLog(out / "results.jsonl").repair()
    done = {k for k, r in results.latest().items() if not (retry_errors and r.get("error"))}
    todo = []
    for i, sample in enumerate(samples):
        if limit is not None and i >= limit:
            break
        if sample.sample_id not in done:
            todo.append(sample)
    bar = tqdm(total=len(todo), desc="agent eval", unit="sample", disable=not progress)
    for chunk in _chunks(todo, batch_size):
        lines: dict[int, dict[str, Any]] = {}
        inputs: list[tuple[int, AgentInput]] = []
        for k, sample in enumerate(chunk):
            try:
                inputs.append((k, sample_input(sample)))
            except Exception as exc:  # unreadable file, missing frames: record and carry on
                lines[k] = {
                    **_base_record(sample),
                    "status": "failed",
                    "error": f"load: {type(exc).__name__}: {exc}",
                }
        if inputs:
            start = time.perf_counter()
            episodes = _run_isolated(agent, [item for _, item in inputs])
            wall = time.perf_counter() - start
            for (k, _), ep in zip(inputs, episodes):
                if isinstance(ep, Exception):
                    lines[k] = {**_base_record(chunk[k]), "status": "failed",
                                "error": f"agent: {type(ep).__name__}: {ep}"}  # fmt: skip
                    continue
                lines[k] = {
                    **_base_record(chunk[k]),
                    **ep.summary(),
                    "batch_seconds": round(wall, 6),
                }
                if traces:
                    name = "".join(
                        c if c.isalnum() or c in "-_." else "_" for c in chunk[k].sample_id
                    )
                    write_json(out / "traces" / f"{name}.json", ep.to_dict())
        results.append(*(lines[k] for k in sorted(lines)))
        bar.update(len(chunk))
    bar.close()
    metrics = summarize(results.records(), classes=classes)
    write_json(out / "metrics.json", metrics)
    report = au_scores(results.records())
    if report is not None:  # au_table.md / .csv, au_f1.png
        report.save(out)
    return metrics


def au_scores(records: Sequence[dict[str, Any]], *, dataset: str = "") -> Any:
    """The pooled AU report (:func:`facscope.eval.aus.au_report`) of the records with AU labels,
    over the AUs in the labels, stating ``au_basis`` (answers ``measured`` from the face vs
    ``inferred`` from the emotion, each also scored alone when both occur); None without labels.
    """
    from facscope.eval.aus import au_report, label_aus

    records = list({r["id"]: r for r in records}.values())
    labelled = [r for r in records if r.get("aus_true") is not None]
    if not labelled or not label_aus(labelled):
        return None
    return au_report(labelled, dataset=dataset, mode="agent")


def _pct(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def summarize(
    records: Sequence[dict[str, Any]], *, classes: Sequence[str] = FER7
) -> dict[str, Any]:
    """Metrics of results records (as :func:`evaluate_agent` writes them).

    Returns a dict with ``n``, ``scored``, ``accuracy``, ``macro_f1`` (mean F1 over ``classes``),
    ``per_class`` F1 and support, ``confusion``, ``au_f1`` (mean over the annotated AUs, and per
    AU) where AUs are labelled, ``zoom_rate`` / ``mean_zooms`` / ``mean_turns`` per true emotion,
    ``parse`` status counts with the commonest failure reasons, ``errors`` and ``latency``.
    """
    from facscope.eval.metrics import confusion_matrix

    classes = tuple(classes)
    records = list({r["id"]: r for r in records}.values())  # a re-run sample counts once
    scored = [r for r in records if r.get("label") in classes]
    y_true = [r["label"] for r in scored]
    y_pred = [r.get("emotion") if r.get("emotion") in classes else _OTHER for r in scored]
    metrics: dict[str, Any] = {"n": len(records), "scored": len(scored), "classes": list(classes)}
    if scored:
        cm = confusion_matrix(y_true, y_pred, labels=(*classes, _OTHER))[: len(classes)]
        tp = np.diag(cm[:, : len(classes)]).astype(float)
        support = cm.sum(axis=1).astype(float)
        predicted = cm[:, : len(classes)].sum(axis=0).astype(float)
        denom = support + predicted
        f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
        metrics["accuracy"] = float(tp.sum() / len(scored))
        metrics["macro_f1"] = float(f1.mean())
        metrics["per_class"] = {
            c: {"f1": round(float(f), 4), "support": int(s)}
            for c, f, s in zip(classes, f1, support)
        }
        metrics["confusion"] = {
            "labels": [*classes, _OTHER],
            "matrix": cm.tolist(),
        }
    else:
        metrics.update(accuracy=None, macro_f1=None)
    report = au_scores(records)
    if report is not None:
        d = report.to_dict()
        metrics["au_f1"] = {
            "mean": report.mean_f1,
            "per_au": {r.au: r.f1 for r in report.rows},
            "n": report.n,
            **{k: d[k] for k in ("aus", "label_set", "au_basis", "au_basis_counts",
                                 "mean_f1_by_basis", "pooling")},
            "detail": d["per_au"],
        }  # fmt: skip
    by_emotion: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        by_emotion[str(r.get("label"))].append(r)
    metrics["per_emotion"] = {
        e: {
            "n": len(rs),
            "zoom_rate": float(np.mean([(r.get("zooms") or 0) > 0 for r in rs])),
            "mean_zooms": float(np.mean([r.get("zooms") or 0 for r in rs])),
            "mean_turns": float(np.mean([r.get("turns") or 0 for r in rs])),
        }
        for e, rs in sorted(by_emotion.items())
    }
    statuses = Counter(r.get("status", "failed") for r in records)
    reasons = Counter(
        str(r.get("reason") or r.get("error")) for r in records if r.get("status") == "failed"
    )
    metrics["parse"] = {
        "ok": statuses.get("ok", 0),
        "repaired": statuses.get("repaired", 0),
        "failed": statuses.get("failed", 0),
        "top_failures": reasons.most_common(5),
    }
    metrics["no_face"] = statuses.get("no_face", 0)
    metrics["face_found_rate"] = 1 - metrics["no_face"] / len(records) if records else None
    metrics["zoom_rate"] = (
        float(np.mean([(r.get("zooms") or 0) > 0 for r in records])) if records else None
    )
    metrics["errors"] = sum(1 for r in records if r.get("error"))
    latency = [float(r["seconds"]) for r in records if r.get("seconds") is not None]
    metrics["latency"] = {
        "mean": float(np.mean(latency)) if latency else None,
        "p50": _pct(latency, 50),
        "p95": _pct(latency, 95),
    }
    return metrics
