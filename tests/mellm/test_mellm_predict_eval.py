"""Prediction (resumable, split-aware, errors recorded) and scoring with a scripted backend."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facscope.mellm.evaluate import (
    INVALID,
    evaluate_describe,
    evaluate_mevqa,
    label_scores,
    read_mevqa,
)
from facscope.mellm.predict import PredictOptions, load_items, predict, read_generated
from facscope.mellm.records import read_records
from facscope.mellm.splits import Split
from facscope.vlm.backends.base import Backend, Generation


class Scripted(Backend):
    """Answers with ``answer(prompt)``; records what it was sent."""

    name = "scripted"

    def __init__(self, answer, fail_on: str | None = None) -> None:
        self.answer = answer
        self.fail_on = fail_on
        self.seen: list[tuple[str, int]] = []

    def generate(self, requests):
        out = []
        for r in requests:
            content = r.messages[0]["content"]
            text = next(b["text"] for b in content if b["type"] == "text")
            images = sum(b["type"] == "image" for b in content)
            self.seen.append((text, images))
            if self.fail_on and self.fail_on in text:
                out.append(Generation("", error="HTTP 500"))
            else:
                out.append(Generation(self.answer(text), seconds=0.01))
        return out


def _oracle(build_dir, skip: int = 0):
    """The true targets in build order (every colour-map prompt is the same text)."""
    targets = iter([r.target for r in read_records(build_dir)][skip:])
    return lambda prompt: next(targets)


def test_perfect_answers_score_one(build_dir, tmp_path):
    backend = Scripted(_oracle(build_dir))
    res = predict(build_dir, tmp_path / "p.jsonl", backend, progress=False)
    assert (res.total, res.generated, res.errors) == (len(read_records(build_dir)), res.total, 0)
    assert all(n == 1 for _, n in backend.seen)  # the colour map reached the backend
    report = evaluate_describe(read_records(build_dir), read_generated(tmp_path / "p.jsonl"))
    assert report["fine"]["uf1"] == 1.0 and report["fine"]["uar"] == 1.0
    assert report["coarse"]["uf1"] == pytest.approx(1.0) or report["coarse"]["n"] == 0
    assert report["au"]["exact_set"] == 1.0 and report["parse"] == {"ok": report["n"]}


def test_resume_skips_done_items_and_drops_a_cut_line(build_dir, tmp_path):
    out = tmp_path / "p.jsonl"
    first = predict(build_dir, out, Scripted(_oracle(build_dir)), options=PredictOptions(limit=2, batch_size=1),
                    progress=False)  # fmt: skip
    assert first.generated == 2
    with out.open("a") as fh:  # a kill in the middle of a write
        fh.write('{"id": "casme2/half')
    backend = Scripted(_oracle(build_dir, skip=2))
    second = predict(build_dir, out, backend, progress=False)
    assert second.done_before == 2 and second.generated == second.total - 2
    assert len(backend.seen) == second.total - 2
    lines = out.read_text().splitlines()
    assert len(lines) == second.total == len({json.loads(x)["id"] for x in lines})


def test_errors_are_recorded_and_retried(build_dir, tmp_path):
    out = tmp_path / "p.jsonl"
    prompt = read_records(build_dir)[0].prompt  # every item has this prompt: all fail
    res = predict(build_dir, out, Scripted(_oracle(build_dir), fail_on=prompt), progress=False)
    assert res.errors == res.total
    preds = read_generated(out)
    assert sum(bool(p["error"]) for p in preds.values()) == res.errors
    fixed = predict(build_dir, out, Scripted(_oracle(build_dir)), options=PredictOptions(retry_errors=True),
                    progress=False)  # fmt: skip
    assert fixed.generated == res.errors
    assert not any(p["error"] for p in read_generated(out).values())


def test_predictions_of_other_settings_are_refused_then_overwritten(build_dir, tmp_path):
    from facscope.errors import ConfigError

    out = tmp_path / "p.jsonl"
    one = PredictOptions(limit=1, batch_size=1)
    predict(build_dir, out, Scripted(_oracle(build_dir)), options=one, progress=False)
    longer = PredictOptions(limit=1, batch_size=1, max_new_tokens=64)
    with pytest.raises(ConfigError, match="max_new_tokens: 512 → 64"):
        predict(build_dir, out, Scripted(_oracle(build_dir)), options=longer, progress=False)
    again = PredictOptions(limit=1, batch_size=1, max_new_tokens=64, overwrite=True)
    res = predict(build_dir, out, Scripted(_oracle(build_dir)), options=again, progress=False)
    assert res.generated == 1 and len(out.read_text().splitlines()) == 1


def test_split_restricts_to_the_test_subjects(build_dir, tmp_path):
    records = read_records(build_dir)
    groups = sorted({r.group for r in records})
    split = Split("x", "kfold", tuple(groups[1:]), (), (groups[0],))
    backend = Scripted(lambda p: "ANSWER: AUs=none; emotion=happiness; class=positive")
    res = predict(build_dir, tmp_path / "p.jsonl", backend, split=split, progress=False)
    assert res.total == sum(r.group == groups[0] for r in records)


def test_wrong_and_unreadable_answers_lower_the_scores(build_dir, tmp_path):
    records = read_records(build_dir)
    preds = {r.id: {"text": "ANSWER: AUs=none; emotion=happiness; class=positive"} for r in records}
    preds[records[0].id] = {"text": "I cannot tell."}
    report = evaluate_describe(records, preds)
    assert report["fine"]["invalid"] == 1 and report["parse"].get("failed") == 1
    assert report["fine"]["uf1"] < 1 and report["au"]["mean_f1"] == 0.0


def test_label_scores_match_sklearn_and_count_invalid_as_wrong():
    from sklearn.metrics import balanced_accuracy_score, f1_score

    rng = np.random.default_rng(0)
    labels = ["negative", "positive", "surprise"]
    y = list(rng.choice(labels, 60))
    p = list(rng.choice(labels, 60))
    s = label_scores(y, p, labels)
    assert s["uf1"] == pytest.approx(f1_score(y, p, labels=labels, average="macro"))
    assert s["uar"] == pytest.approx(balanced_accuracy_score(y, p))
    with_invalid = label_scores(y, [INVALID if i % 5 == 0 else q for i, q in enumerate(p)], labels)
    assert with_invalid["n"] == 60 and with_invalid["invalid"] == 12
    assert with_invalid["acc"] <= s["acc"]


def test_mevqa_scores(build_dir, tmp_path):
    rows = read_mevqa(build_dir)
    perfect = {r["id"]: {"text": r["answer"]} for r in rows}
    report = evaluate_mevqa(rows, perfect)
    assert all(
        t["bleu"] == pytest.approx(1.0) and t["rouge1"] == 1.0 for t in report["types"].values()
    )
    assert report["fine"]["uf1"] == 1.0 and report["au"]["exact_set"] == 1.0
    assert report["au_present"]["accuracy"] == 1.0
    flipped = {
        r["id"]: {"text": {"yes": "no", "no": "yes"}.get(r["answer"], "no idea")} for r in rows
    }
    bad = evaluate_mevqa(rows, flipped)
    assert bad["au_present"]["accuracy"] == 0.0 and bad["types"]["fine"]["rouge1"] == 0.0
    # items reach the backend as image + question
    items = load_items(build_dir, "mevqa")
    backend = Scripted(lambda prompt: "yes")
    predict(
        build_dir,
        tmp_path / "v.jsonl",
        backend,
        options=PredictOptions(task="mevqa", limit=3),
        progress=False,
    )
    assert [n for _, n in backend.seen] == [1, 1, 1] and items[0]["prompt"].endswith(
        "Answer briefly."
    )


def test_prior_baseline_answers_the_most_frequent_training_answer():
    from facscope.mellm.experiment import prior_baseline

    q = "Is the action unit brow lowerer shown on the face?"
    train = [
        {"id": "a", "type": "fine", "question": "F?", "answer": "disgust"},
        {"id": "b", "type": "fine", "question": "F?", "answer": "disgust"},
        {"id": "c", "type": "fine", "question": "F?", "answer": "happiness"},
        {"id": "d", "type": "au_present", "question": q, "answer": "no"},
        {"id": "e", "type": "au_present", "question": "other?", "answer": "yes"},
        {"id": "f", "type": "au_present", "question": "other?", "answer": "yes"},
    ]
    test = [
        {"id": "x", "type": "fine", "question": "F?", "answer": "happiness"},
        {"id": "y", "type": "au_present", "question": q, "answer": "yes"},
        {"id": "z", "type": "au_side", "question": "side?", "answer": "left"},
    ]
    preds = prior_baseline(train, test)
    assert {k: v["text"] for k, v in preds.items()} == {"x": "disgust", "y": "no", "z": ""}
