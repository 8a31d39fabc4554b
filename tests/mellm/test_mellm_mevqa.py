"""ME-VQA question–answer pairs: types, answers that follow the annotation, absent AUs."""

from __future__ import annotations

import pytest

from facscope.errors import ConfigError
from facscope.facs import parse_aus
from facscope.mellm.mevqa import QUESTION_TYPES, compound_answer, vqa_items, vqa_prompt
from facscope.mellm.parse import mentioned_aus
from facscope.mellm.records import InstructionRecord


def _record(aus: str, label: str, coarse: str | None, mode: str = "colormap") -> InstructionRecord:
    return InstructionRecord(
        id="casme2/sub01/EP01", dataset="casme2", subject="sub01", sample_id="sub01/EP01",
        group="casme2/sub01", mode=mode, images=("motion/x/colormap.png",) if mode != "stats" else (),
        prompt="p", target="t", aus=aus, label=label, coarse=coarse,
        stats=[{"region": "mouth", "mean": 0.5, "max": 1.0, "direction": "up", "angle": 90,
                "concentration": 0.9, "pixels": 10}],
    )  # fmt: skip


def test_every_question_type_with_annotation_answers():
    items = vqa_items(_record("6+L12", "happiness", "positive"), absent=2)
    by_type: dict[str, list[dict]] = {}
    for it in items:
        by_type.setdefault(it["type"], []).append(it)
    assert set(by_type) == set(QUESTION_TYPES)
    assert by_type["coarse"][0]["answer"] == "positive"
    assert by_type["fine"][0]["answer"] == "happiness"
    assert by_type["au_names"][0] == by_type["au_names"][0] | {
        "question": "What are the action units?",
        "answer": "cheek raiser, lip corner puller",
    }
    present = {it["question"]: it["answer"] for it in by_type["au_present"]}
    assert present["Is the action unit cheek raiser shown on the face?"] == "yes"
    assert present["Is the action unit lip corner puller shown on the face?"] == "yes"
    no = [q for q, a in present.items() if a == "no"]
    assert len(no) == 2 and not any(n in mentioned_aus(" ".join(no)) for n in (6, 12))
    assert [(it["question"], it["answer"]) for it in by_type["au_side"]] == [
        (
            "Is the action unit lip corner puller shown on the left or right side of the face?",
            "left",
        )
    ]
    compound = by_type["compound"][0]["answer"]
    assert mentioned_aus(compound) == {6, 12} and "happiness" in compound and "positive" in compound
    assert all(it["image"] == "motion/x/colormap.png" and it["subject"] == "sub01" for it in items)
    assert len({it["id"] for it in items}) == len(items)


def test_others_has_no_coarse_question_and_no_aus_no_au_questions():
    items = vqa_items(_record("", "others", None))
    types = [it["type"] for it in items]
    assert "coarse" not in types and "au_names" not in types and "au_side" not in types
    assert types.count("au_present") == 1  # one "no" question
    assert compound_answer((), "others", None).startswith("No action unit")


def test_single_au_question_and_seeded_absent_choice():
    rec = _record("R14", "contempt", "negative")
    items = vqa_items(rec, absent=3, seed=1)
    assert (
        next(it for it in items if it["type"] == "au_names")["question"]
        == "What is the action unit?"
    )
    assert items == vqa_items(rec, absent=3, seed=1)
    assert compound_answer(parse_aus("R14"), "contempt", "negative") == (
        "The action unit is dimpler, so the fine-grained expression is contempt and the coarse "
        "expression class is negative."
    )
    with pytest.raises(ConfigError):
        vqa_items(rec, types=["colour"])


def test_prompt_per_mode():
    it = vqa_items(_record("12", "happiness", "positive"))[0]
    assert "colour map" in vqa_prompt(it) and it["question"] in vqa_prompt(it)
    stats_item = vqa_items(_record("12", "happiness", "positive", mode="stats"))[0]
    assert stats_item["image"] is None and "mouth: mean 0.500 px" in vqa_prompt(stats_item)
