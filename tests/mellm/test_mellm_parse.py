"""Reading AUs and labels back from model outputs: the answer line, answer tags, free text."""

from __future__ import annotations

from facscope.facs import parse_aus
from facscope.mellm.answer import format_answer_line, parse_answer_line
from facscope.mellm.parse import mentioned_aus, mentioned_emotions, parse_prediction


def test_answer_line_round_trip():
    aus = parse_aus("1+R2C+4(?)+12 or 14")
    line = format_answer_line(aus, "fear", "negative")
    assert line == "ANSWER: AUs=1+R2C+4(?)+12 or 14; emotion=fear; class=negative"
    back = parse_answer_line(f"some reasoning\n{line}\n")
    assert back is not None and back.complete
    assert back.aus == aus and back.emotion == "fear" and back.coarse == "negative"


def test_answer_line_is_read_leniently():
    text = "**Answer:** AU: AU6 + AU12 | Emotion: Happiness | Class: Positive."
    line = parse_answer_line(text)
    assert line is not None
    assert [a.number for a in line.aus] == [6, 12]
    assert line.emotion == "happiness" and line.coarse == "positive"
    none = parse_answer_line("ANSWER: AUs=none; emotion=others; class=none")
    assert none.aus == () and none.emotion == "others" and none.coarse == "none"
    assert parse_answer_line("no answer here") is None
    # the last answer line wins (models sometimes restate the format first)
    two = parse_answer_line(
        "ANSWER: AUs=<codes>; emotion=<x>\nANSWER: AUs=4; emotion=anger; class=negative"
    )
    assert [a.number for a in two.aus] == [4] and two.emotion == "anger"


def test_prediction_from_the_answer_line():
    p = parse_prediction("Step 1 ...\nANSWER: AUs=6+L12B; emotion=happy; class=positive")
    assert (p.aus, p.emotion, p.coarse, p.status, p.source) == (
        (6, 12),
        "happiness",
        "positive",
        "ok",
        "line",
    )
    assert p.sides == {12: "L"}


def test_prediction_from_answer_tags():
    p = parse_prediction(
        'I see AU4. <answer>{"aus": ["AU4", "lid tightener"], "emotion": "angry"}</answer>'
    )
    assert p.aus == (4, 7) and p.emotion == "anger" and p.coarse == "negative"
    assert p.status == "partial" and p.source == "tags"


def test_prediction_from_free_text():
    text = "The brows rise (AU1, AU2) and the jaw drops (jaw drop). This looks like surprise."
    p = parse_prediction(text)
    assert p.aus == (1, 2, 26) and p.emotion == "surprise" and p.coarse == "surprise"
    assert p.source == "text"
    # the conclusion comes last: the last emotion named wins
    assert parse_prediction("Not happiness: disgust.").emotion == "disgust"
    # restricted label set
    assert parse_prediction("clearly fear", emotions=("happiness", "disgust")).emotion is None


def test_unreadable_prediction_fails_without_raising():
    for text in ("", "   ", "lorem ipsum", None, 42):
        p = parse_prediction(text)  # type: ignore[arg-type]
        assert p.status == "failed" and p.aus is None and p.emotion is None


def test_mentions():
    assert mentioned_aus("AU 12, au6 and the Lip Corner Puller; 12 px") == {6, 12}
    assert mentioned_aus("no action units") == set()
    assert mentioned_emotions("The other regions: happy, then SAD.") == ["happiness", "sadness"]
    assert "others" in mentioned_emotions("other", include_common=True)
