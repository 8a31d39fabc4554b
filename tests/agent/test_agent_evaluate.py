"""Evaluation: metrics by hand, JSONL written as it goes, resume, and per-sample failures."""

from __future__ import annotations

import json

import numpy as np
import pytest

from facscope.agent import Agent
from facscope.agent.evaluate import choose_classes, evaluate_agent, read_results, summarize
from facscope.data.sample import Sample
from facscope.facs import FER7, ME7, parse_aus
from facscope.io import save_image
from facscope.testing.scripted import ScriptedBackend


def _rec(i, label, emotion, status="ok", aus_true=None, aus=None, zooms=0, turns=1, seconds=1.0):
    return {"id": str(i), "label": label, "emotion": emotion, "status": status, "aus_true": aus_true,
            "aus": aus, "zooms": zooms, "turns": turns, "seconds": seconds}  # fmt: skip


def test_summarize_by_hand():
    records = [
        _rec(0, "happiness", "happiness", zooms=1, turns=3),
        _rec(1, "happiness", "happiness", zooms=0, turns=1),
        _rec(2, "happiness", None, status="failed", zooms=2, turns=6),
        _rec(3, "sadness", "sadness", zooms=1, turns=3),
        _rec(4, "sadness", "happiness", zooms=1, turns=3),
        _rec(5, "contempt", "happiness"),  # not in FER7: not scored
    ]
    m = summarize(records, classes=FER7)
    assert m["n"] == 6 and m["scored"] == 5
    assert m["accuracy"] == pytest.approx(3 / 5)
    # happiness: TP 2, support 3, predicted 3 → F1 4/6; sadness: TP 1, support 2, predicted 1 → 2/3
    assert m["per_class"]["happiness"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["per_class"]["sadness"]["f1"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3) / 7)
    # the failed answer is a miss for happiness, not a prediction of any class
    assert m["confusion"]["matrix"][FER7.index("happiness")][-1] == 1
    assert m["per_emotion"]["happiness"] == {
        "n": 3,
        "zoom_rate": pytest.approx(2 / 3),
        "mean_zooms": 1.0,
        "mean_turns": pytest.approx(10 / 3),
    }
    assert m["parse"]["failed"] == 1 and m["parse"]["ok"] == 5
    assert m["zoom_rate"] == pytest.approx(4 / 6) and m["latency"]["mean"] == 1.0


def test_perfect_predictions_score_one_and_order_does_not_matter():
    records = [_rec(i, c, c) for i, c in enumerate(FER7 * 2)]
    m = summarize(records, classes=FER7)
    assert m["accuracy"] == 1.0 and m["macro_f1"] == 1.0
    rng = np.random.default_rng(0)
    shuffled = [records[i] for i in rng.permutation(len(records))]
    assert summarize(shuffled, classes=FER7)["macro_f1"] == 1.0


def test_au_f1_where_aus_are_labelled():
    records = [
        _rec(0, "happiness", "happiness", aus_true=[6, 12], aus=[12]),
        _rec(1, "surprise", "surprise", aus_true=[1, 2], aus=[1, 2, 5]),
        _rec(2, "happiness", "happiness", aus_true=None, aus=[6]),  # not annotated: ignored
    ]
    m = summarize(records, classes=FER7)
    per = m["au_f1"]["per_au"]
    assert per == {1: 1.0, 2: 1.0, 6: 0.0, 12: 1.0} and m["au_f1"]["n"] == 2
    assert m["au_f1"]["mean"] == pytest.approx(0.75)


def test_choose_classes():
    assert choose_classes(["happiness", "neutral"]) == FER7
    assert choose_classes(["contempt", "anger"]) == ME7
    assert choose_classes(["contempt", "neutral"], "me7") == ME7


@pytest.fixture
def samples(tmp_path, small_image):
    out = []
    for i, label in enumerate(["happiness", "sadness", "happiness", "fear"]):
        path = save_image(tmp_path / "img" / f"{i}.png", np.roll(small_image, i, axis=1))
        out.append(Sample(dataset="toy", subject=f"s{i}", sample_id=f"id{i}", image=path, label=label,
                          aus=parse_aus("6+12") if label == "happiness" else ()))  # fmt: skip
    return out


def _answers(req, index):
    # the fake model reads the emotion off the image: always says happiness
    return '<answer>{"aus": [12], "emotion": "happiness"}</answer>'


def test_evaluate_writes_as_it_goes_and_resumes(tmp_path, samples):
    out = tmp_path / "eval"
    backend = ScriptedBackend(respond=_answers)
    m = evaluate_agent(
        samples,
        Agent(backend, mode="passive", require_face=False),
        out_dir=out,
        limit=2,
        progress=False,
    )
    assert m["n"] == 2 and len(read_results(out / "results.jsonl")) == 2
    with (out / "results.jsonl").open("a") as f:
        f.write('{"id": "torn')  # a kill in the middle of a line
    backend2 = ScriptedBackend(respond=_answers)
    m = evaluate_agent(
        samples,
        Agent(backend2, mode="passive", require_face=False),
        out_dir=out,
        batch_size=2,
        progress=False,
    )
    assert len(backend2.requests) == 2 and backend2.batches == [2]  # only the two new samples
    rows = read_results(out / "results.jsonl")
    assert [r["id"] for r in rows] == ["id0", "id1", "id2", "id3"]
    assert m["n"] == 4 and m["accuracy"] == pytest.approx(2 / 4)
    assert m["au_f1"]["per_au"] == {6: 0.0, 12: 1.0}
    assert json.loads((out / "metrics.json").read_text())["n"] == 4
    assert rows[0]["aus_true"] == [6, 12] and rows[1]["aus_true"] is None


def test_a_broken_sample_is_recorded_and_the_run_goes_on(tmp_path, samples):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    items = [samples[0], samples[0].with_(sample_id="bad", image=bad), samples[1]]
    m = evaluate_agent(items, Agent(ScriptedBackend(respond=_answers), mode="passive", require_face=False),
                       out_dir=tmp_path / "e", progress=False, traces=True)  # fmt: skip
    rows = {r["id"]: r for r in read_results(tmp_path / "e" / "results.jsonl")}
    assert rows["bad"]["status"] == "failed" and rows["bad"]["error"].startswith("load:")
    assert rows["id1"]["status"] == "ok" and m["errors"] == 1
    assert (tmp_path / "e" / "traces" / "id0.json").exists()


def test_a_sample_with_no_face_is_a_failed_item_not_a_prediction(tmp_path, samples):
    backend = ScriptedBackend(respond=_answers)  # would answer happiness if it were asked
    m = evaluate_agent(samples, Agent(backend), out_dir=tmp_path / "e", progress=False)
    rows = read_results(tmp_path / "e" / "results.jsonl")
    assert backend.requests == [] and all(r["status"] == "no_face" for r in rows)
    assert all(r["emotion"] is None and r["aus"] is None for r in rows)
    assert m["no_face"] == 4 and m["face_found_rate"] == 0.0
    assert m["scored"] == 4 and m["accuracy"] == 0.0  # counted as wrong, never as a class
    assert sum(sum(row[:-1]) for row in m["confusion"]["matrix"]) == 0


class _FailsOn(Agent):
    """An agent whose batch raises whenever it holds the input named ``bad``, as a clip with
    an undecodable frame did."""

    def run_batch(self, items):
        if any(item.name == "bad" for item in items):
            raise OSError("cannot decode frame 12 of bad")
        return super().run_batch(items)


def test_a_sample_that_breaks_its_batch_fails_alone(tmp_path, samples):
    items = [samples[0], samples[1].with_(sample_id="bad"), samples[2], samples[3]]
    agent = _FailsOn(ScriptedBackend(respond=_answers), mode="passive", require_face=False)
    m = evaluate_agent(items, agent, out_dir=tmp_path / "e", batch_size=4, progress=False)
    rows = {r["id"]: r for r in read_results(tmp_path / "e" / "results.jsonl")}
    assert (
        rows["bad"]["status"] == "failed"
        and "cannot decode frame 12 of bad" in rows["bad"]["error"]
    )
    assert all(
        rows[k]["status"] == "ok" and not rows[k].get("error") for k in ("id0", "id2", "id3")
    )
    assert m["errors"] == 1


def test_retry_errors_runs_the_failed_samples_again(tmp_path, samples):
    items = [samples[0], samples[1].with_(sample_id="bad")]
    out = tmp_path / "e"
    broken = _FailsOn(ScriptedBackend(respond=_answers), mode="passive", require_face=False)
    evaluate_agent(items, broken, out_dir=out, progress=False)
    backend = ScriptedBackend(respond=_answers)
    fixed = Agent(backend, mode="passive", require_face=False)
    evaluate_agent(items, fixed, out_dir=out, progress=False)  # a plain resume skips it
    assert backend.requests == []
    m = evaluate_agent(items, fixed, out_dir=out, progress=False, retry_errors=True)
    assert len(backend.requests) == 1  # only the failed one
    assert m["errors"] == 0 and m["n"] == 2


def test_au_f1_states_its_basis_and_scores_each_kind_alone():
    records = [
        {
            **_rec(0, "happiness", "happiness", aus_true=[6, 12], aus=[6, 12]),
            "au_basis": "measured",
        },
        {**_rec(1, "happiness", "happiness", aus_true=[6, 12], aus=[1]), "au_basis": "inferred"},
    ]
    au = summarize(records, classes=FER7)["au_f1"]
    assert au["au_basis"] == "mixed" and au["au_basis_counts"] == {"inferred": 1, "measured": 1}
    assert au["mean_f1_by_basis"] == {"inferred": 0.0, "measured": 1.0}
    assert au["aus"] == [6, 12] and au["label_set"] == "labels"
    assert au["per_au"] == {6: pytest.approx(2 / 3), 12: pytest.approx(2 / 3)}
    assert au["detail"]["12"]["precision"] == 1.0 and au["detail"]["12"]["recall"] == 0.5


def test_eval_agent_writes_the_au_table_with_the_answers_basis(tmp_path, samples):
    def inferred(req, index):
        return '<answer>{"aus": [12], "emotion": "happiness", "au_basis": "inferred"}</answer>'

    out = tmp_path / "e"
    labelled = [s.with_(aus=parse_aus("6+12+ref(4)")) for s in samples[:2]]
    m = evaluate_agent(labelled, Agent(ScriptedBackend(respond=inferred), mode="passive",
                       require_face=False), out_dir=out, progress=False)  # fmt: skip
    assert m["au_f1"]["au_basis"] == "inferred" and m["au_f1"]["aus"] == [6, 12]  # no ref(4)
    assert m["au_f1"]["mean"] == pytest.approx(0.5)
    table = (out / "au_table.md").read_text()
    assert "AU basis: inferred" in table and (out / "au_f1.png").is_file()
    assert read_results(out / "results.jsonl")[0]["aus_true_code"] == "6+12+ref(4)"
