"""Reports state dataset, protocol, pooling, selection and seeds, in every format."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from facscope.errors import ConfigError
from facscope.eval.report import Results, confusion_image, results_table
from facscope.io import load_image

LABELS = ["negative", "positive", "surprise"]


@pytest.fixture
def results() -> Results:
    rng = np.random.default_rng(0)
    t = rng.choice(LABELS, 120)
    p = np.where(rng.random(120) < 0.7, t, rng.choice(LABELS, 120))
    return Results(
        y_true=t,
        y_pred=p,
        labels=LABELS,
        dataset="megc2019",
        protocol="LOSO (68 folds)",
        selection="fixed 40 epochs",
        seeds=[0, 1],
        groups=np.repeat(np.arange(12), 10),
        model="STSTNet",
        n_bootstrap=200,
    )


FACTS = ("megc2019", "LOSO (68 folds)", "pooled over all test folds", "fixed 40 epochs")


def test_markdown_states_the_facts(results):
    md = results.to_markdown()
    for fact in FACTS:
        assert fact in md
    assert "- seeds: 0, 1" in md and "from 12 subjects" in md
    assert f"| UF1 | {results.scores.uf1:.4f} [" in md  # with its subject-bootstrap CI
    assert md.count("| negative |") == 1


def test_csv_and_json(results, tmp_path):
    rows = list(csv.DictReader(io.StringIO(results.to_csv())))
    assert [r["row"] for r in rows[:3]] == ["acc", "uf1", "uar"]
    assert all(r["selection"] == "fixed 40 epochs" and r["seeds"] == "0 1" for r in rows)
    assert float(rows[1]["value"]) == pytest.approx(results.scores.uf1, abs=1e-6)
    files = results.save(tmp_path)
    data = json.loads(files["json"].read_text())
    assert {k: data[k] for k in ("dataset", "protocol", "pooling", "selection", "seeds")} == dict(
        zip(("dataset", "protocol", "pooling", "selection"), FACTS)
    ) | {"seeds": [0, 1]}
    assert data["metrics"]["uf1"]["ci_unit"] == "subject"
    assert np.array(data["confusion"]["counts"]).sum() == 120
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "results.csv",
        "results.json",
        "results.md",
        "results_confusion.png",
    ]


def test_confusion_png_is_readable(results, tmp_path):
    path = results.save(tmp_path)["png"]
    img = load_image(path)
    assert img.shape[0] > 250 and img.shape[1] > 250
    plain = confusion_image(np.array([[9, 1], [0, 10]]), ["a", "b"])
    white = (plain == 255).all(axis=2).mean()
    assert 0.4 < white < 0.97
    with pytest.raises(ConfigError, match="K×K"):
        confusion_image(np.zeros((2, 3)), ["a", "b"])


def test_per_fold_mean_and_table(results):
    folds = np.repeat(np.arange(4), 30)
    r2 = Results(
        y_true=results.y_true,
        y_pred=results.y_pred,
        labels=LABELS,
        dataset="megc2019",
        protocol="LOSO",
        selection="fixed",
        seeds=[0],
        pooling="per-fold-mean",
        folds=folds,
        model="other",
    )
    assert "- pooling: per-fold-mean" in r2.to_markdown() and not r2.ci
    table = results_table([results, r2])
    assert table.count("\n") == 4 and "| STSTNet | megc2019 |" in table
    assert "per-fold-mean" in table


@pytest.mark.parametrize("missing", ["dataset", "protocol", "selection"])
def test_facts_are_required(missing):
    kw = dict(
        y_true=[0], y_pred=[0], labels=[0], dataset="d", protocol="p", selection="s", seeds=[0]
    )
    with pytest.raises(ConfigError, match=f"must state its {missing}"):
        Results(**(kw | {missing: " "}))
    with pytest.raises(ConfigError, match="seeds"):
        Results(**(kw | {"seeds": []}))


def test_composite_report_breaks_scores_down_by_source(tmp_path):
    t = ["negative", "positive", "surprise", "negative", "negative", "positive"]
    p = ["negative", "surprise", "surprise", "negative", "positive", "positive"]
    src = ["smic", "smic", "smic", "samm", "samm", "casme2"]
    r = Results(
        y_true=t,
        y_pred=p,
        labels=LABELS,
        dataset="megc2019",
        protocol="LOSO",
        selection="fixed",
        seeds=[0],
        sources=src,
        n_bootstrap=0,
    )
    assert list(r.by_source) == ["Full", "casme2", "samm", "smic"]
    assert r.by_source["Full"].uf1 == pytest.approx(r.scores.uf1)
    assert r.by_source["samm"].classes == ("negative",)  # scored over the classes it has
    assert r.by_source["samm"].uar == pytest.approx(0.5)
    md = r.to_markdown()
    assert "| source | samples | UF1 | UAR | ACC |" in md
    assert "| samm | 2 | 0.6667 | 0.5000 | 0.5000 |" in md
    d = r.to_dict()["by_source"]
    assert d["smic"]["samples"] == 3 and d["smic"]["classes"] == LABELS
    rows = {row["row"]: row for row in csv.DictReader(io.StringIO(r.to_csv()))}
    assert rows["source:casme2:uf1"]["value"] == "1.000000"
    assert rows["source:smic:uar"]["support"] == "3"


def test_one_source_adds_no_breakdown(results):
    one = Results(
        y_true=results.y_true,
        y_pred=results.y_pred,
        labels=LABELS,
        dataset="casme2",
        protocol="LOSO",
        selection="fixed",
        seeds=[0],
        sources=["casme2"] * len(results.y_true),
        n_bootstrap=0,
    )
    assert one.by_source == {} and "by_source" not in one.to_dict()
    assert "| source |" not in one.to_markdown()
