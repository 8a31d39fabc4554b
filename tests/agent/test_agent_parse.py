"""The answer and tool-call parsers: lenient where a reader is, never raising, always saying why."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from facscope.agent.parse import format_answer, loads_lenient, parse_answer, parse_tool_calls
from facscope.facs import AU_CATALOGUE, EMOTIONS


@pytest.mark.parametrize(
    ("text", "status", "emotion", "aus"),
    [
        (
            'Brows raised.\n<answer>{"aus": [1, 2, 5], "emotion": "surprise"}</answer>',
            "ok",
            "surprise",
            (1, 2, 5),
        ),
        (
            '<answer>{"aus": ["AU12", "cheek raiser"], "emotion": "happiness"}</answer>',
            "ok",
            "happiness",
            (6, 12),
        ),
        (
            '<answer>{"aus": [12, 6, 12], "emotion": "Happy"}</answer>',
            "repaired",
            "happiness",
            (6, 12),
        ),
        ("<answer>{'aus': [4, 7], 'emotion': 'anger'}</answer>", "repaired", "anger", (4, 7)),
        ('<answer>{"aus": [4, 7,], "emotion": "anger",}</answer>', "repaired", "anger", (4, 7)),
        ('<answer>{"aus": [9, 10], "emotion": "disgust"</answer>', "repaired", "disgust", (9, 10)),
        (
            '<answer>\n```json\n{"aus": [1, 4, 15], "emotion": "sadness"}\n```\n</answer>',
            "repaired",
            "sadness",
            (1, 4, 15),
        ),
        ('<answer>{"aus": [25, 26], "emotion": "surprise"}', "repaired", "surprise", (25, 26)),
        ('<answer>{"aus": "6+12", "emotion": "joy"}</answer>', "repaired", "happiness", (6, 12)),
        ('<answer>{"aus": [], "emotion": "neutral"}</answer>', "ok", "neutral", ()),
        (
            '<answer>{"aus": ["AU12 (lip corner puller)"], "emotion": "happiness"}</answer>',
            "ok",
            "happiness",
            (12,),
        ),
        ('<answer>{aus: [20], emotion: "fear"}</answer>', "repaired", "fear", (20,)),
    ],
)
def test_answers_read_leniently(text, status, emotion, aus):
    a = parse_answer(text)
    assert (a.status, a.emotion, a.aus) == (status, emotion, aus), a
    assert (a.status == "repaired") == bool(a.repairs)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("The person looks happy.", "no <answer> tag"),
        ('<tool_call>{"name": "zoom", "arguments": {}}</tool_call>', "called a tool"),
        ("<answer>happy, AU12</answer>", "not JSON"),
        ('<answer>{"aus": [12], "emotion": "bored"}</answer>', "unknown emotion 'bored'"),
        ('<answer>{"aus": [99], "emotion": "happiness"}</answer>', "AU 99"),
        ('<answer>{"aus": ["wiggle ears"], "emotion": "happiness"}</answer>', "bad AU list"),
        ('<answer>{"emotion": "happiness"}</answer>', 'no "aus"'),
        ('<answer>{"aus": [12]}</answer>', 'no "emotion"'),
        ("<answer>[12, 6]</answer>", "JSON object"),
        ("<answer>   </answer>", "empty"),
        (None, "not text"),
    ],
)
def test_malformed_answers_fail_with_a_reason(text, reason):
    a = parse_answer(text)
    assert a.status == "failed" and not a.ok
    assert a.emotion is None and a.aus is None
    assert reason in a.reason


def test_answer_outside_the_allowed_set_fails_and_bare_json_is_optional():
    assert (
        parse_answer(
            '<answer>{"aus": [], "emotion": "neutral"}</answer>', emotions=("anger",)
        ).status
        == "failed"
    )
    bare = 'I think {"aus": [12], "emotion": "happiness"}'
    assert parse_answer(bare).status == "failed"
    loose = parse_answer(bare, require_tags=False)
    assert loose.status == "repaired" and loose.emotion == "happiness"


def test_reasoning_is_the_text_before_the_answer_and_last_answer_wins():
    text = 'First <answer>{"aus": [1], "emotion": "fear"}</answer> then <answer>{"aus": [12], "emotion": "happiness"}</answer>'
    a = parse_answer(text)
    assert a.emotion == "happiness" and a.aus == (12,)
    assert a.reasoning.startswith("First")
    assert (
        parse_answer(
            'x <answer>{"aus": [], "emotion": "neutral", "au_basis": "inferred"}</answer>'
        ).au_basis
        == "inferred"
    )


@settings(max_examples=80, deadline=None)
@given(
    st.sampled_from(EMOTIONS),
    st.sets(st.sampled_from(sorted(AU_CATALOGUE)), max_size=6),
    st.text(alphabet=st.characters(blacklist_characters="<>"), max_size=40),
)
def test_format_answer_round_trips(emotion, aus, reasoning):
    a = parse_answer(reasoning + "\n" + format_answer(emotion, sorted(aus)))
    assert a.status == "ok" and a.emotion == emotion and a.aus == tuple(sorted(aus))


def test_tool_calls_parsed_in_every_shape():
    text = (
        'Look.\n<tool_call>\n{"name": "detect_faces", "arguments": {}}\n</tool_call>\n'
        '<tool_call>{"name": "zoom", "arguments": "{\\"region\\": \\"mouth\\"}"}</tool_call>'
        '<tool_call>{"function": {"name": "align_face", "arguments": {"face_index": 0}}}</tool_call>'
        "<tool_call>{'name': 'zoom', 'parameters': {'box': [1, 2, 3, 4]}"  # cut by the stop string
    )
    calls = parse_tool_calls(text)
    assert [(c.name, c.arguments) for c in calls] == [
        ("detect_faces", {}),
        ("zoom", {"region": "mouth"}),
        ("align_face", {"face_index": 0}),
        ("zoom", {"box": [1, 2, 3, 4]}),
    ]
    assert all(c.ok for c in calls)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("not json at all", "not valid JSON"),
        ('{"arguments": {}}', "must be"),
        ('{"name": "zoom", "arguments": [1, 2]}', "JSON object"),
        ('{"name": "zoom", "arguments": "{broken"}', "not valid JSON"),
    ],
)
def test_bad_tool_calls_are_reported_not_raised(body, error):
    (call,) = parse_tool_calls(f"<tool_call>{body}</tool_call>")
    assert not call.ok and error in call.error


def test_loads_lenient_reports_repairs_and_refuses_garbage():
    value, repairs = loads_lenient('{"a": [1, 2,], "b": True')
    assert value == {"a": [1, 2], "b": True}
    assert {"trailing comma", "Python literals", "closed unterminated brackets"} <= set(repairs)
    with pytest.raises(ValueError, match="not valid JSON"):
        loads_lenient("{{{ :::")
