"""One tokenisation per batch, shared by the repetition ratios and MinHash."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit import tokens
from corpuskit.tokens import TokenBatch, token_strings

TEXTS = ["The Ferry's new timetable", "", "东京は晴れ, Tokyo", "!!!", "ﬁnal ＡＢＣ, again"]


def test_each_text_owns_its_tokens() -> None:
    batch = TokenBatch.from_texts(TEXTS)
    assert len(batch) == 5
    assert batch.counts.tolist() == [len(token_strings(t)) for t in TEXTS]
    assert batch.lengths.tolist() == [len(w) for t in TEXTS for w in token_strings(t)]


def test_characters_of_unspaced_scripts_are_marked() -> None:
    batch = TokenBatch.from_texts(["东京は晴れ, Tokyo"])
    assert batch.is_char.tolist() == [True, True, True, True, True, False]


def test_equal_tokens_hash_equal_across_texts_and_case() -> None:
    batch = TokenBatch.from_texts(["Harbour BRIDGE", "bridge harbour"])
    h = batch.hashes.tolist()
    assert h[0] == h[3] and h[1] == h[2] and h[0] != h[1]


def test_select_keeps_the_chosen_texts_in_order() -> None:
    batch = TokenBatch.from_texts(TEXTS)
    chosen = batch.select([True, False, True, False, True])
    expected = TokenBatch.from_texts([TEXTS[0], TEXTS[2], TEXTS[4]])
    for field in ("hashes", "lengths", "is_char", "offsets"):
        assert np.array_equal(getattr(chosen, field), getattr(expected, field))


def test_select_needs_one_flag_per_text() -> None:
    with pytest.raises(ValueError, match="2 flags for 5 texts"):
        TokenBatch.from_texts(TEXTS).select([True, False])


def test_slice_is_the_batch_of_those_texts() -> None:
    part = TokenBatch.from_texts(TEXTS).slice(1, 4)
    expected = TokenBatch.from_texts(TEXTS[1:4])
    for field in ("hashes", "lengths", "is_char", "offsets"):
        assert np.array_equal(getattr(part, field), getattr(expected, field))


def test_empty_batch() -> None:
    batch = TokenBatch.from_texts([])
    assert len(batch) == 0 and batch.offsets.tolist() == [0]


@settings(max_examples=100, deadline=None)
@given(texts=st.lists(st.text(max_size=200), max_size=12))
def test_sub_batches_do_not_change_the_tokens(texts: list[str]) -> None:
    whole = TokenBatch.from_texts(texts)
    saved = tokens._CHUNK_CHARS
    tokens._CHUNK_CHARS = 30
    try:
        chunked = TokenBatch.from_texts(texts)
    finally:
        tokens._CHUNK_CHARS = saved
    for field in ("hashes", "lengths", "is_char", "offsets"):
        assert np.array_equal(getattr(chunked, field), getattr(whole, field))


def _reference_hash(token: str) -> int:
    """The token hash as defined: sum of code point * BASE**i mod 2**64, length mixed in,
    then MurmurHash3's finaliser (signatures recorded in manifests depend on it)."""
    mask = 2**64 - 1
    raw = 0
    for i, ch in enumerate(token):
        raw = (raw + ord(ch) * pow(0x100000001B3, i, 2**64)) & mask
    x = (raw + len(token) * 0x9E3779B97F4A7C15) & mask
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & mask
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & mask
    return x ^ (x >> 33)


@settings(max_examples=200, deadline=None)
@given(texts=st.lists(st.text(max_size=120), max_size=6))
def test_token_hashes_are_the_defined_polynomial_hash(texts: list[str]) -> None:
    batch = TokenBatch.from_texts(texts)
    expected = [_reference_hash(w) for t in texts for w in token_strings(t)]
    assert batch.hashes.tolist() == expected


def test_long_texts_hash_like_short_ones() -> None:
    word = "harbour"
    long_text = ("x " * 70_000) + word  # past the kept power tables
    assert TokenBatch.from_texts([long_text]).hashes[-1] == _reference_hash(word)
