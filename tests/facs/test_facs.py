"""Tests for facscope.facs: AU catalogue, AU-string parser, emotion taxonomies, prototypes."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facscope import facs
from facscope.errors import AUParseError, ConfigError, FacscopeError
from facscope.facs import (
    AU,
    AU_CATALOGUE,
    BASIC_EMOTIONS,
    DATASET_LABELS,
    DIRECTIONS,
    EMOTION_PROTOTYPES,
    FER7,
    FER8,
    ME7,
    MEGC3,
    REGION_AUS,
    REGION_GROUPS,
    ActionUnit,
    au_from_name,
    au_numbers,
    dataset_label,
    emotion_scores,
    format_aus,
    get_au,
    infer_emotion,
    megc3,
    normalize_emotion,
    parse_aus,
    prototype_aus,
)

REQUIRED_AUS = (1, 2, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 20, 22, 23, 24, 25, 26, 27)
REQUIRED_AUS += (28, 38, 39, 43, 45)

# --------------------------------------------------------------------------- catalogue


@pytest.mark.parametrize("number", REQUIRED_AUS)
def test_catalogue_covers_required_aus(number: int) -> None:
    au = get_au(number)
    assert au.number == number
    for field in (au.name, au.muscles, au.motion):
        assert field.strip()
    assert au.region in REGION_GROUPS
    assert au.direction in DIRECTIONS


@pytest.mark.parametrize(
    ("number", "name", "region", "direction"),
    [
        (1, "Inner Brow Raiser", "brows", "up"),
        (2, "Outer Brow Raiser", "brows", "up"),
        (4, "Brow Lowerer", "brows", "down-inward"),
        (5, "Upper Lid Raiser", "eyes", "up"),
        (6, "Cheek Raiser", "cheeks", "up"),
        (9, "Nose Wrinkler", "nose", "up"),
        (12, "Lip Corner Puller", "mouth", "up-outward"),
        (15, "Lip Corner Depressor", "mouth", "down"),
        (17, "Chin Raiser", "jaw", "up"),
        (20, "Lip Stretcher", "mouth", "outward"),
        (22, "Lip Funneler", "mouth", "forward"),
        (25, "Lips Part", "mouth", "opening"),
        (26, "Jaw Drop", "jaw", "down"),
        (43, "Eyes Closed", "eyes", "closing"),
        (45, "Blink", "eyes", "closing"),
    ],
)
def test_catalogue_facts(number: int, name: str, region: str, direction: str) -> None:
    au = AU_CATALOGUE[number]
    assert (au.name, au.region, au.direction) == (name, region, direction)


def test_catalogue_is_read_only_and_consistent() -> None:
    with pytest.raises(TypeError):
        AU_CATALOGUE[99] = AU_CATALOGUE[1]  # type: ignore[index]
    assert all(k == v.number for k, v in AU_CATALOGUE.items())
    assert len({au.name for au in AU_CATALOGUE.values()}) == len(AU_CATALOGUE)
    assert sorted(n for aus in REGION_AUS.values() for n in aus) == sorted(AU_CATALOGUE)
    with pytest.raises(AttributeError):
        AU_CATALOGUE[1].name = "x"  # type: ignore[misc]


def test_action_unit_rejects_bad_vocabulary() -> None:
    with pytest.raises(ConfigError, match="region"):
        ActionUnit(1, "x", "y", "forehead", "z", "up")
    with pytest.raises(ConfigError, match="direction"):
        ActionUnit(1, "x", "y", "brows", "z", "sideways")


def test_get_au_unknown_names_known_list() -> None:
    with pytest.raises(
        AUParseError, match=r"AU 99 is not in the FACS catalogue; known AUs: 1, 2, 4"
    ):
        get_au(99)
    with pytest.raises(ValueError):
        get_au(53)


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("lip corner puller", 12),
        ("Lip Corner Puller", 12),
        ("  lip-corner   PULLER ", 12),
        ("AU12", 12),
        ("au 12", 12),
        ("12", 12),
        ("Inner Brow Raiser", 1),
        ("nose wrinkler", 9),
        ("jaw drop", 26),
        ("cheek puffer", 13),
        ("AU53", 53),
    ],
)
def test_au_from_name(text: str, number: int) -> None:
    assert au_from_name(text) == number


@pytest.mark.parametrize("text", ["smile", "inner brow raise", "AU0", "AU100", ""])
def test_au_from_name_rejects(text: str) -> None:
    with pytest.raises(AUParseError):
        au_from_name(text)


def test_au_from_name_suggests_close_names() -> None:
    with pytest.raises(AUParseError, match="did you mean 'inner brow raiser'"):
        au_from_name("inner brow raise")


# --------------------------------------------------------------------------- parser

PARSE_TABLE = [
    ("1+2+L12", (AU(1), AU(2), AU(12, side="L"))),
    ("R12+L14A", (AU(12, side="R"), AU(14, side="L", intensity="A"))),
    ("4+7(?)", (AU(4), AU(7, uncertain=True))),
    ("4+7?", (AU(4), AU(7, uncertain=True))),
    ("4 (?)", (AU(4, uncertain=True),)),
    ("12 or 14", (AU(12, alternatives=(14,)),)),
    ("12 OR 14 or 15", (AU(12, alternatives=(14, 15)),)),
    ("12/14", (AU(12, alternatives=(14,)),)),
    ("1+12 or 14+25", (AU(1), AU(12, alternatives=(14,)), AU(25))),
    ("L12A(?) or 14", (AU(12, side="L", intensity="A", uncertain=True, alternatives=(14,)),)),
    ("12C", (AU(12, intensity="C"),)),
    ("L14A", (AU(14, side="L", intensity="A"),)),
    ("12e", (AU(12, intensity="E"),)),
    ("U4", (AU(4, side="U"),)),
    ("B12", (AU(12, side="B"),)),  # B = bottom (FACS), no longer read as "bilateral"
    ("r12+l14", (AU(12, side="R"), AU(14, side="L"))),
    ("AU12", (AU(12),)),
    ("au12", (AU(12),)),
    ("AU 1 + AU 2", (AU(1), AU(2))),
    ("1 + 2 +  4", (AU(1), AU(2), AU(4))),
    ("1, 2, 4", (AU(1), AU(2), AU(4))),
    ("1;2;4", (AU(1), AU(2), AU(4))),
    ("1 2 4", (AU(1), AU(2), AU(4))),
    ("12.0", (AU(12),)),
    ("1.0+2.0", (AU(1), AU(2))),
    (4, (AU(4),)),
    (12.0, (AU(12),)),
    ("1+2+", (AU(1), AU(2))),
    ("+1++2", (AU(1), AU(2))),
    ("1+1+2", (AU(1), AU(2))),
    ("12+12C", (AU(12, intensity="C"),)),
    ("4(?)+4", (AU(4),)),
    ("R12+L12", (AU(12, side="R"), AU(12, side="L"))),
    ("53+61", (AU(53), AU(61))),
    ("  12  ", (AU(12),)),
    ("", ()),
    (None, ()),
    (float("nan"), ()),
    ("/", ()),
    ("-", ()),
    ("none", ()),
    ("None", ()),
    ("null", ()),
    ("NaN", ()),
    ("+", ()),
]


@pytest.mark.parametrize(("text", "expected"), PARSE_TABLE)
def test_parse_aus(text: object, expected: tuple[AU, ...]) -> None:
    assert parse_aus(text) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    ["hello", "12x+", "L", "1+2+xyz", "0", "100", "12 or", "12 or hello", "1+/", "AUx", "M12"],
)
def test_parse_aus_rejects_garbage(text: str) -> None:
    with pytest.raises(AUParseError) as info:
        parse_aus(text)
    assert repr(text) in str(info.value)
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, FacscopeError)


def test_parse_error_names_token_and_expected_forms() -> None:
    with pytest.raises(
        ValueError, match=r"cannot parse AU string '1\+2\+xyz': token 'xyz' is not an AU"
    ):
        parse_aus("1+2+xyz")
    with pytest.raises(AUParseError, match=r"expected forms like '12', 'L12'"):
        parse_aus("hello")


@pytest.mark.parametrize("value", [True, [1, 2], 12.125, 0, 100, -3])
def test_parse_aus_rejects_bad_values(value: object) -> None:
    with pytest.raises(AUParseError):
        parse_aus(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["1+2+", "1++2", "+", "1+1", "L12+l12A"])
def test_parse_aus_strict(text: str) -> None:
    parse_aus(text)
    with pytest.raises(AUParseError, match="strict"):
        parse_aus(text, strict=True)


def test_parse_aus_strict_accepts_clean_strings() -> None:
    assert parse_aus("1+2+L12A+4(?)", strict=True) == (
        AU(1),
        AU(2),
        AU(12, side="L", intensity="A"),
        AU(4, uncertain=True),
    )


@pytest.mark.parametrize(
    ("au", "text"),
    [
        (AU(12), "12"),
        (AU(12, side="L", intensity="A"), "L12A"),
        (AU(4, uncertain=True), "4(?)"),
        (AU(12, alternatives=(14,)), "12 or 14"),
        (
            AU(14, side="R", intensity="B", uncertain=True, alternatives=(12, 15)),
            "R14B(?) or 12 or 15",
        ),
    ],
)
def test_au_str(au: AU, text: str) -> None:
    assert str(au) == text


@pytest.mark.parametrize(
    "aus",
    [
        (),
        (AU(1), AU(2), AU(12, side="L")),
        (AU(12, side="R"), AU(14, side="L", intensity="A")),
        (AU(4), AU(7, uncertain=True)),
        (AU(12, alternatives=(14,)), AU(25, intensity="B")),
        (AU(12, side="U", intensity="E", uncertain=True, alternatives=(13,)), AU(53)),
    ],
)
def test_round_trip(aus: tuple[AU, ...]) -> None:
    assert parse_aus(format_aus(aus)) == aus
    assert parse_aus(format_aus(aus), strict=True) == aus


_au_strategy = st.builds(
    AU,
    number=st.integers(1, 99),
    side=st.sampled_from([None, "L", "R", "U"]),
    intensity=st.sampled_from([None, "A", "B", "C", "D", "E"]),
    uncertain=st.booleans(),
)


@given(st.lists(_au_strategy, max_size=6, unique_by=lambda a: (a.number, a.side)))
def test_round_trip_property(aus: list[AU]) -> None:
    assert parse_aus(format_aus(aus)) == tuple(aus)


def test_format_aus_and_au_numbers() -> None:
    assert format_aus([AU(1), 2, AU(12, side="L", intensity="A")]) == "1+2+L12A"
    assert format_aus([]) == ""
    assert au_numbers(parse_aus("1+2+L12 or 14+R12")) == frozenset({1, 2, 12})
    assert au_numbers("4+7(?)") == frozenset({4, 7})
    assert au_numbers([6, 12]) == frozenset({6, 12})


@pytest.mark.parametrize(
    "kwargs",
    [
        {"number": 0},
        {"number": 100},
        {"number": 12, "side": "X"},
        {"number": 12, "intensity": "F"},
        {"number": 12, "alternatives": (12,)},
        {"number": 12, "alternatives": (0,)},
    ],
)
def test_au_validates(kwargs: dict[str, object]) -> None:
    with pytest.raises(AUParseError):
        AU(**kwargs)  # type: ignore[arg-type]


def test_au_doubtful() -> None:
    assert not AU(12).doubtful
    assert AU(12, uncertain=True).doubtful
    assert AU(12, alternatives=(14,)).doubtful


# --------------------------------------------------------------------------- emotions


def test_label_orders() -> None:
    assert (
        ME7
        == BASIC_EMOTIONS
        == (
            "anger",
            "contempt",
            "disgust",
            "fear",
            "happiness",
            "sadness",
            "surprise",
        )
    )
    assert FER7 == ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")
    assert FER8[:-1] == FER7
    assert FER8[-1] == "contempt"
    assert MEGC3 == ("negative", "positive", "surprise")
    assert facs.EMOTIONS[:-1] == BASIC_EMOTIONS
    assert facs.EMOTIONS[-1] == "neutral"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("happy", "happiness"),
        ("Happiness", "happiness"),
        ("HAPPY ", "happiness"),
        ("joy", "happiness"),
        ("angry", "anger"),
        ("anger", "anger"),
        ("sad", "sadness"),
        ("disgusted", "disgust"),
        ("surprised", "surprise"),
        ("Surprise.", "surprise"),
        ("scared", "fear"),
        ("fearful", "fear"),
        ("afraid", "fear"),
        ("contemptuous", "contempt"),
        ("neutral", "neutral"),
        ("calm", "neutral"),
        ("repression", "repression"),
        ("others", "others"),
        ("Other", "others"),
        ("positive", "positive"),
        ("Negative", "negative"),
        ("unknown", None),
        ("NF", None),
        ("no-face", None),
        (None, None),
        ("bananas", None),
    ],
)
def test_normalize_emotion(text: str | None, expected: str | None) -> None:
    assert normalize_emotion(text) == expected


def test_normalize_emotion_strict() -> None:
    with pytest.raises(ConfigError, match="bananas"):
        normalize_emotion("bananas", strict=True)
    assert normalize_emotion("uncertain", strict=True) is None
    assert normalize_emotion("Happy", strict=True) == "happiness"


@pytest.mark.parametrize(
    ("emotion", "expected"),
    [
        ("happiness", "positive"),
        ("happy", "positive"),
        ("Happiness", "positive"),
        ("disgust", "negative"),
        ("repression", "negative"),
        ("anger", "negative"),
        ("Contempt", "negative"),
        ("fear", "negative"),
        ("sadness", "negative"),
        ("sad", "negative"),
        ("surprise", "surprise"),
        ("Surprise", "surprise"),
        ("positive", "positive"),
        ("negative", "negative"),
        ("others", None),
        ("Other", None),
        (None, None),
    ],
)
def test_megc3(emotion: str | None, expected: str | None) -> None:
    assert megc3(emotion) == expected


def test_megc3_rejects_unknown() -> None:
    with pytest.raises(ConfigError):
        megc3("bananas")


@pytest.mark.parametrize(("dataset", "labels"), [("casme2", 7), ("samm", 8), ("smic", 3)])
def test_megc3_covers_composite_datasets(dataset: str, labels: int) -> None:
    assert len(DATASET_LABELS[dataset]) == labels
    for raw in DATASET_LABELS[dataset]:
        mapped = megc3(dataset_label(dataset, raw))
        assert mapped in (*MEGC3, None)
        assert (mapped is None) == (raw.lower() in ("others", "other"))


def test_dataset_labels_keys() -> None:
    assert set(DATASET_LABELS) == {
        "casme2",
        "samm",
        "smic",
        "casme3",
        "dfme",
        "ckplus",
        "rafdb",
        "ferplus",
        "affectnet",
    }
    assert DATASET_LABELS["dfme"] == ME7
    assert DATASET_LABELS["ferplus"][-2:] == ("unknown", "NF")


@pytest.mark.parametrize(
    ("raw", "expected"),
    list(
        zip(
            range(1, 8), ["surprise", "fear", "disgust", "happiness", "sadness", "anger", "neutral"]
        )
    ),
)
def test_dataset_label_rafdb(raw: int, expected: str) -> None:
    assert dataset_label("rafdb", raw) == expected
    assert dataset_label("RAF-DB", str(raw)) == expected


AFFECTNET = [
    "neutral",
    "happiness",
    "sadness",
    "surprise",
    "fear",
    "disgust",
    "anger",
    "contempt",
    "others",
    None,
    None,
]


@pytest.mark.parametrize(("raw", "expected"), list(enumerate(AFFECTNET)))
def test_dataset_label_affectnet(raw: int, expected: str | None) -> None:
    assert dataset_label("affectnet", raw) == expected
    assert dataset_label("AffectNet", float(raw)) == expected


@pytest.mark.parametrize(("raw", "expected"), list(enumerate(ME7)))
def test_dataset_label_dfme(raw: int, expected: str) -> None:
    assert dataset_label("dfme", raw) == expected


@pytest.mark.parametrize(
    ("dataset", "raw", "expected"),
    [
        ("casme2", "repression", "repression"),
        ("CASME II", "others", "others"),
        ("samm", "Other", "others"),
        ("samm", "Happiness", "happiness"),
        ("smic", "positive", "positive"),
        ("cas(me)3", "happy", "happiness"),
        ("casme3", "sad", "sadness"),
        ("casme3", "Sadness", "sadness"),
        ("ferplus", "NF", None),
        ("ferplus", "unknown", None),
        ("ferplus", "contempt", "contempt"),
        ("affectnet", "No-Face", None),
        ("rafdb", "Surprise", "surprise"),
    ],
)
def test_dataset_label_names(dataset: str, raw: str, expected: str | None) -> None:
    assert dataset_label(dataset, raw) == expected


@pytest.mark.parametrize(
    ("dataset", "raw"),
    [
        ("mmi", "happy"),
        ("rafdb", 0),
        ("rafdb", 8),
        ("affectnet", 11),
        ("dfme", 7),
        ("dfme", 2.5),
        ("casme2", 1),
        ("smic", "happiness"),
        ("casme2", "contempt"),
        ("samm", "bananas"),
    ],
)
def test_dataset_label_rejects(dataset: str, raw: object) -> None:
    with pytest.raises(ConfigError):
        dataset_label(dataset, raw)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- prototypes


def test_prototypes_cover_basic_emotions_with_catalogue_aus() -> None:
    assert set(EMOTION_PROTOTYPES) == set(BASIC_EMOTIONS)
    for protos in EMOTION_PROTOTYPES.values():
        assert protos
        for proto in protos:
            assert proto
            assert proto <= set(AU_CATALOGUE)


@pytest.mark.parametrize(
    ("emotion", "aus"),
    [
        ("happiness", {6, 12}),
        ("Happy", {6, 12}),
        ("sadness", {1, 4, 15}),
        ("surprise", {1, 2, 5, 26}),
        ("fear", {1, 2, 4, 5, 7, 20, 26}),
        ("anger", {4, 5, 7, 23}),
        ("disgust", {9, 15, 16}),
        ("contempt", {12, 14}),
        ("neutral", set()),
    ],
)
def test_prototype_aus(emotion: str, aus: set[int]) -> None:
    assert prototype_aus(emotion) == frozenset(aus)


def test_prototype_aus_rejects() -> None:
    with pytest.raises(ConfigError):
        prototype_aus("others")
    with pytest.raises(ConfigError):
        prototype_aus("bananas")


@pytest.mark.parametrize(
    ("aus", "expected"),
    [
        ({6, 12}, "happiness"),
        ({6, 12, 25}, "happiness"),
        ({12}, "happiness"),
        ({1, 2, 5, 26}, "surprise"),
        ({1, 2}, "surprise"),
        ({4, 5, 7, 23}, "anger"),
        ({4, 5, 7, 24}, "anger"),
        ({1, 4, 15}, "sadness"),
        ({9, 15, 16}, "disgust"),
        ({10}, "disgust"),
        ({1, 2, 4, 5, 7, 20, 26}, "fear"),
        ({12, 14}, "contempt"),
        ("R12A+R14A", "contempt"),
        (set(), "neutral"),
        ({43}, "neutral"),
        ({4, 5}, "anger"),  # ties with fear; the earlier emotion in BASIC_EMOTIONS wins
    ],
)
def test_infer_emotion(aus: object, expected: str) -> None:
    assert infer_emotion(aus) == expected  # type: ignore[arg-type]


def test_emotion_scores() -> None:
    scores = emotion_scores({6, 12})
    assert tuple(scores) == BASIC_EMOTIONS
    assert scores["happiness"] == 1.0
    assert all(0.0 <= s <= 1.0 for s in scores.values())
    assert emotion_scores(set()) == dict.fromkeys(BASIC_EMOTIONS, 0.0)
    assert math.isclose(emotion_scores({1, 4})["sadness"], 2 / 3)
    assert math.isclose(emotion_scores({1, 4}, metric="f1")["sadness"], 0.8)
    assert emotion_scores(parse_aus("6+12 or 14")) == scores  # alternatives ignored
    with pytest.raises(ConfigError):
        emotion_scores({1}, metric="cosine")


@given(st.frozensets(st.sampled_from(sorted(AU_CATALOGUE)), max_size=8))
def test_infer_emotion_is_argmax(aus: frozenset[int]) -> None:
    scores = emotion_scores(aus)
    result = infer_emotion(aus)
    if max(scores.values()) == 0:
        assert result == "neutral"
    else:
        assert scores[result] == max(scores.values())
        assert math.isclose(
            emotion_scores(aus, metric="f1")[result], max(emotion_scores(aus, metric="f1").values())
        )


def test_me_aus_has_one_home_in_facs():
    from facscope.eval import metrics
    from facscope.facs import ME_AUS
    from facscope.mellm import mevqa

    assert ME_AUS == (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17)
    assert metrics.ME_AUS is ME_AUS and mevqa.ME_AUS is ME_AUS


def test_ckplus_codes() -> None:
    names = [dataset_label("ckplus", i) for i in range(8)]
    assert names == ["neutral", "anger", "contempt", "disgust", "fear", "happiness", "sadness",
                     "surprise"]  # fmt: skip
    assert dataset_label("CK+", 3.0) == "disgust"
