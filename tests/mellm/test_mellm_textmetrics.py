"""BLEU and ROUGE-1 against values computed by hand (derivations in the comments)."""

from __future__ import annotations

import math

import pytest

from facscope.errors import ConfigError
from facscope.mellm.textmetrics import corpus_bleu, rouge1, sentence_bleu, tokenize

REF = "the cat is on the mat"
HYP = "the cat the cat on the mat"
# hyp (7 tokens): the×3 cat×2 on mat; ref (6): the×2 cat is on mat
# clipped unigrams: the 2 + cat 1 + on 1 + mat 1 = 5 of 7
# bigrams hyp: the-cat×2 cat-the cat-on on-the the-mat (6); matches the-cat 1, on-the 1, the-mat 1 = 3
# trigrams hyp (5): only on-the-mat matches = 1; 4-grams hyp (4): none match
# c = 7 > r = 6, so BP = 1


def test_tokenize():
    assert tokenize("Lip corner puller, Cheek-Raiser; AU12!") == [
        "lip", "corner", "puller", "cheek", "raiser", "au12",
    ]  # fmt: skip


def test_sentence_bleu_by_hand():
    assert sentence_bleu(REF, HYP, max_n=1, smooth=False) == pytest.approx(5 / 7)
    assert sentence_bleu(REF, HYP, max_n=2, smooth=False) == pytest.approx(math.sqrt(5 / 7 * 3 / 6))
    assert sentence_bleu(REF, HYP, max_n=4, smooth=False) == 0.0  # no 4-gram matches
    # add-one smoothing for n >= 2: 5/7, (3+1)/(6+1), (1+1)/(5+1), (0+1)/(4+1)
    smoothed = (5 / 7 * 4 / 7 * 2 / 6 * 1 / 5) ** 0.25
    assert sentence_bleu(REF, HYP) == pytest.approx(smoothed)


def test_brevity_penalty_and_edge_cases():
    # hyp "a b" vs ref "a b c d": p1 = 1, c = 2 < r = 4, BP = exp(1 - 4/2) = e^-1
    assert sentence_bleu("a b c d", "a b", max_n=1) == pytest.approx(math.exp(-1))
    assert sentence_bleu("positive", "Positive.") == pytest.approx(1.0)
    assert sentence_bleu("positive", "negative") == 0.0
    assert sentence_bleu("positive", "") == 0.0
    with pytest.raises(ConfigError):
        sentence_bleu("a", "a", max_n=0)


def test_corpus_bleu_pools_counts():
    # pair 1: REF/HYP as above; pair 2: identical 2-token sentences
    # unigrams (5+2)/(7+2), bigrams (3+1)/(6+1); c = 9 > r = 8
    assert corpus_bleu([REF, "a b"], [HYP, "a b"], max_n=2) == pytest.approx(
        math.sqrt(7 / 9 * 4 / 7)
    )
    with pytest.raises(ConfigError):
        corpus_bleu(["a"], [])


def test_rouge1_by_hand():
    r = rouge1(REF, HYP)
    assert r.precision == pytest.approx(5 / 7)
    assert r.recall == pytest.approx(5 / 6)
    assert r.f1 == pytest.approx(10 / 13)  # 2·(5/7)(5/6) / (5/7 + 5/6)
    assert rouge1("", "").f1 == 1.0
    assert rouge1("a", "").f1 == 0.0
    assert rouge1("cheek raiser, lip corner puller", "lip corner puller").recall == pytest.approx(
        3 / 5
    )
