"""Word n-gram repetition ratios: exact verdicts, and the vectorised bound that skips them."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuskit.clean import ngrams as repetition
from corpuskit.clean.ngrams import NgramLimits, ngram_verdict, ngram_verdicts
from corpuskit.tokens import TokenBatch

from .conftest import english_article

LIMITS = NgramLimits()


def _batch(texts: list[str], limits: NgramLimits = LIMITS) -> list[str | None]:
    return ngram_verdicts(texts, TokenBatch.from_texts(texts), limits)


def test_keyword_stuffing_is_top_2gram() -> None:
    text = " ".join(["cheap", "watches"] * 40 + ["and", "more", "stuff", "here", "now"] * 4)
    verdict = ngram_verdict(text, LIMITS)
    assert verdict is not None and verdict.startswith("top 2-gram")
    assert verdict.endswith("> 0.20")


def test_a_sentence_repeated_inside_prose_is_duplicate_10grams() -> None:
    sentence = "The harbour board met again on Tuesday to discuss the dredging contract."
    prose = english_article(1, paragraphs=1)
    text = f"{prose} {sentence} {sentence} {sentence}\n\n{english_article(2, paragraphs=1)}"
    verdict = ngram_verdict(text, LIMITS)
    assert verdict is not None and verdict.startswith("duplicate 10-grams")


def test_normal_articles_are_not_repetitive() -> None:
    texts = [english_article(seed, paragraphs=5) for seed in range(40)]
    assert _batch(texts) == [None] * 40


def test_short_texts_are_not_measured() -> None:
    assert ngram_verdict("buy now " * 24, LIMITS) is None  # 48 words < 50
    assert ngram_verdict("buy now " * 25, LIMITS) == "top 2-gram 1.00 > 0.20"


def test_repeated_code_lines_are_not_duplicate_10grams() -> None:
    code = "for item in items: total = total + item.price * item.quantity - discount"
    lines = [english_article(3, paragraphs=1), *[code] * 6, english_article(4, paragraphs=1)]
    assert ngram_verdict("\n".join(lines), LIMITS) is None


def test_a_10gram_never_spans_two_lines() -> None:
    # Ten-word lines, each repeated once, are not prose; joined into one line they would be.
    line = "alpha beta gamma delta epsilon zeta eta theta iota kappa"
    prose = [english_article(seed, paragraphs=1) for seed in range(5, 9)]
    spaced = "\n".join([*prose[:2], line, line, *prose[2:]])
    assert ngram_verdict(spaced, LIMITS) is None


def test_characters_of_unspaced_scripts_count_but_form_no_ngrams() -> None:
    # A Japanese review that says "Wi-Fi" thirty times: a few percent of its characters.
    sentence = "このルーターはWi-Fiの速度がとても速く、設定も簡単でした。"
    assert ngram_verdict(sentence * 30, LIMITS) is None


def test_chinese_text_is_not_measured_by_character_ngrams() -> None:
    sentence = "国家发展和改革委员会今天发布了新的规定。"
    assert ngram_verdict((sentence + "\n\n") * 4 + "其他内容" * 30, LIMITS) is None


def test_limits_are_configurable() -> None:
    sentence = "The harbour board met again on Tuesday to discuss the dredging contract."
    text = f"{english_article(1, paragraphs=1)} {sentence} {sentence} {sentence}"
    assert ngram_verdict(text, LIMITS) == "duplicate 10-grams 0.30 > 0.10"
    assert ngram_verdict(text, NgramLimits(max_duplicate_fraction=0.9)) is None
    assert ngram_verdict(text, NgramLimits(min_words=10_000)) is None


def test_batch_rejects_mismatched_tokens() -> None:
    with pytest.raises(ValueError, match="2 texts but 1 token rows"):
        ngram_verdicts(["a", "b"], TokenBatch.from_texts(["a"]), LIMITS)


def test_few_normal_articles_are_suspects() -> None:
    texts = [english_article(seed, paragraphs=6) for seed in range(200)]
    suspects = repetition._suspects(TokenBatch.from_texts(texts), LIMITS)
    assert suspects.sum() <= 4


# --- the bound never misses ------------------------------------------------------------

VOCAB = ["cheap", "watches", "buy", "now", "the", "best", "prices", "online", "today", "deal"]


@st.composite
def repetitive_texts(draw: st.DrawFn) -> str:
    """Texts from a tiny vocabulary (so n-grams repeat), in prose and non-prose lines,
    sometimes with Chinese characters in between."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    size = draw(st.integers(1, 4))
    lines = []
    for _ in range(draw(st.integers(1, 6))):
        words = rng.choices(VOCAB[:size] + VOCAB[size : size + 4], k=rng.randint(3, 60))
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), "东京")
        line = " ".join(words)
        lines.append(line + ("." if rng.random() < 0.7 else ""))
    return rng.choice(["\n", "\n\n"]).join(lines)


@st.composite
def prose_with_a_repeat(draw: st.DrawFn) -> str:
    """Varied prose (few repeated bigrams) with one run of words repeated a few times."""
    rng = random.Random(draw(st.integers(0, 2**32)))
    vocab = [f"w{i}" for i in range(3000)]
    words = rng.choices(vocab, k=rng.randint(40, 300))
    segment = rng.choices(vocab, k=rng.randint(5, 30))
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(words) + 1)
        words[at:at] = segment
    cut = rng.randrange(len(words) + 1)
    return " ".join(words[:cut]) + rng.choice(["\n", " ", "\n\n"]) + " ".join(words[cut:]) + "."


any_texts = st.one_of(repetitive_texts(), prose_with_a_repeat())
limits = st.builds(
    NgramLimits,
    max_top_fraction=st.floats(0.01, 1.0),
    max_duplicate_fraction=st.floats(0.01, 1.0),
    min_words=st.integers(1, 80),
    min_prose_chars=st.integers(1, 120),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(any_texts, min_size=1, max_size=8), limits=limits)
def test_batch_verdicts_equal_exact_verdicts(texts: list[str], limits: NgramLimits) -> None:
    exact = [ngram_verdict(t, limits) for t in texts]
    assert _batch(texts, limits) == exact


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(any_texts, min_size=1, max_size=8), limits=limits)
def test_every_repetitive_text_is_a_suspect(texts: list[str], limits: NgramLimits) -> None:
    suspects = repetition._suspects(TokenBatch.from_texts(texts), limits)
    for text, suspect in zip(texts, suspects.tolist(), strict=True):
        if ngram_verdict(text, limits) is not None:
            assert suspect


def test_bound_handles_empty_and_tokenless_texts() -> None:
    texts = ["", "!!!", "buy now " * 40, "", "东京" * 80]
    suspects = repetition._suspects(TokenBatch.from_texts(texts), LIMITS)
    assert suspects.tolist() == [False, False, True, False, False]
    assert _batch(texts) == [None, None, "top 2-gram 1.00 > 0.20", None, None]


def test_bound_is_the_same_in_small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = [english_article(seed, paragraphs=3) for seed in range(20)] + ["buy now " * 40]
    tokens = TokenBatch.from_texts(texts)
    whole = repetition._suspects(tokens, LIMITS)
    monkeypatch.setattr(repetition, "_CHUNK_TOKENS", 64)
    assert np.array_equal(repetition._suspects(tokens, LIMITS), whole)
