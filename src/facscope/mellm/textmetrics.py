"""BLEU and ROUGE-1 for short free-text answers (ME-VQA), in plain Python.

Tokens: the text lower-cased and split into runs of letters and digits (punctuation dropped), so
``"Lip corner puller, cheek raiser."`` → ``lip corner puller cheek raiser``.

**BLEU** (Papineni et al., 2002), one reference per hypothesis:

* clipped n-gram precision ``p_n = Σ min(count_hyp(g), count_ref(g)) / Σ count_hyp(g)``;
* brevity penalty ``BP = 1`` if ``c > r`` else ``exp(1 − r / c)`` (``c``, ``r``: hypothesis and
  reference lengths; ``BP = 0`` for an empty hypothesis);
* ``BLEU = BP · exp(Σ_n (1/N) log p_n)`` for ``n = 1..N`` (N = 4 by default); any ``p_n = 0``
  gives 0.

:func:`sentence_bleu` smooths by default with add-one on the counts for ``n ≥ 2`` (Lin & Och,
2004; NLTK's ``method2``), so that one-word answers that match score 1 and a single missing
4-gram does not zero a sentence; ``p_1`` is never smoothed. :func:`corpus_bleu` sums counts
and lengths over the corpus first and does not smooth.

**ROUGE-1** (Lin, 2004): unigram overlap with clipped counts, ``P = overlap / |hyp|``,
``R = overlap / |ref|``, ``F1 = 2PR / (P + R)``; two empty texts score 1, one empty text 0.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from facscope.errors import ConfigError

__all__ = ["Rouge", "corpus_bleu", "rouge1", "sentence_bleu", "tokenize"]

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str) -> list[str]:
    """Lower-cased runs of letters and digits."""
    return _TOKEN.findall(str(text).lower())


def _ngrams(tokens: Sequence[str], n: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def _counts(ref: Sequence[str], hyp: Sequence[str], n: int) -> tuple[int, int]:
    """(clipped matches, hypothesis n-grams) of order ``n``."""
    h, r = _ngrams(hyp, n), _ngrams(ref, n)
    return sum(min(c, r[g]) for g, c in h.items()), max(len(hyp) - n + 1, 0)


def _check_n(max_n: int) -> None:
    if isinstance(max_n, bool) or not isinstance(max_n, int) or not 1 <= max_n <= 8:
        raise ConfigError(f"max_n must be an integer in 1..8; got {max_n!r}")


def _combine(matches: list[float], totals: list[float], c: int, r: int) -> float:
    if c == 0:
        return 0.0
    if any(m <= 0 or t <= 0 for m, t in zip(matches, totals)):
        return 0.0
    log_p = sum(math.log(m / t) for m, t in zip(matches, totals)) / len(matches)
    bp = 1.0 if c > r else math.exp(1.0 - r / c)
    return bp * math.exp(log_p)


def sentence_bleu(reference: str, hypothesis: str, *, max_n: int = 4, smooth: bool = True) -> float:
    """BLEU-``max_n`` of one hypothesis against one reference (see the module docstring)."""
    _check_n(max_n)
    ref, hyp = tokenize(reference), tokenize(hypothesis)
    matches, totals = [], []
    for n in range(1, max_n + 1):
        m, t = _counts(ref, hyp, n)
        add = 1 if smooth and n >= 2 else 0
        matches.append(m + add)
        totals.append(t + add)
    return _combine(matches, totals, len(hyp), len(ref))


def corpus_bleu(references: Sequence[str], hypotheses: Sequence[str], *, max_n: int = 4) -> float:
    """Corpus BLEU-``max_n``: counts and lengths summed over all pairs, then combined."""
    _check_n(max_n)
    if len(references) != len(hypotheses):
        raise ConfigError(
            f"references and hypotheses differ in number: {len(references)} vs {len(hypotheses)}"
        )
    matches, totals = [0.0] * max_n, [0.0] * max_n
    c = r = 0
    for ref_text, hyp_text in zip(references, hypotheses):
        ref, hyp = tokenize(ref_text), tokenize(hyp_text)
        c, r = c + len(hyp), r + len(ref)
        for n in range(1, max_n + 1):
            m, t = _counts(ref, hyp, n)
            matches[n - 1] += m
            totals[n - 1] += t
    return _combine(matches, totals, c, r)


@dataclass(frozen=True)
class Rouge:
    """ROUGE precision, recall and F1."""

    precision: float
    recall: float
    f1: float


def rouge1(reference: str, hypothesis: str) -> Rouge:
    """ROUGE-1 of one hypothesis against one reference (see the module docstring)."""
    ref, hyp = Counter(tokenize(reference)), Counter(tokenize(hypothesis))
    n_ref, n_hyp = sum(ref.values()), sum(hyp.values())
    if n_ref == 0 and n_hyp == 0:
        return Rouge(1.0, 1.0, 1.0)
    overlap = sum(min(c, ref[w]) for w, c in hyp.items())
    p = overlap / n_hyp if n_hyp else 0.0
    r = overlap / n_ref if n_ref else 0.0
    f = 2 * p * r / (p + r) if p + r > 0 else 0.0
    return Rouge(p, r, f)
