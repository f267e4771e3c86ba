"""Word n-gram repetition ratios (Gopher-style) for a whole batch at once.

Spam repeats phrases: "cheap watches cheap watches ...", or the same ten-word sentence over
and over. Gopher (Rae et al. 2021, appendix A1) measures that with two families of ratios
over words; corpuskit applies them to the cleaned text, with Gopher's limits:

* **top n-gram** (n = 2, 3, 4): the share of the text's word characters covered by the
  most frequent word n-gram (``count * its characters``), over ``max_top_fraction`` (0.20)
  for 2-grams, 0.02 less for 3-grams and 0.04 less for 4-grams;
* **duplicate 10-grams**: the share of the word characters of prose lines covered by word
  10-grams that occur more than once, over ``max_duplicate_fraction`` (0.10). Only *prose*
  lines count (see :func:`is_prose`) and a 10-gram never spans two lines: code, list and
  table lines repeat by nature, and Gopher's shorter 5-gram limit flagged four of the 100
  real readability pages (code tutorials, an RFC, Wikipedia's reference list) while
  10-grams over prose flag none.

Neither applies to a text of fewer than ``min_words`` (50, Gopher's minimum document length)
words. Words are the tokens of :mod:`corpuskit.tokens` (casefolded letter/digit runs; Gopher
also strips punctuation). Characters of scripts written without spaces (Chinese, Japanese,
Thai) count as words of one character, but an n-gram never contains one: character
n-grams of such text repeat by nature (names, set phrases), so its n-gram ratios only see
the runs of spaced words in it ("Wi-Fi" thirty times in a Japanese review is 5 % of the
text, not half of it).

Why a batch: splitting the words of an article costs more than the rest of cleaning (about
12 µs per 2 KB in Python), but the map stage tokenises every batch for MinHash anyway. So
the ratios read that :class:`~corpuskit.tokens.TokenBatch`: one vectorised pass over all of
its word bigrams rules out nearly every article with bounds that cannot miss (see
:func:`_suspects`), and only the few articles left are measured exactly, one by one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from corpuskit.tokens import TokenBatch

__all__ = [
    "DUPLICATE_NGRAM",
    "TOP_NGRAMS",
    "NgramLimits",
    "is_prose",
    "ngram_verdict",
    "ngram_verdicts",
]

DUPLICATE_NGRAM = 10
TOP_NGRAMS = (2, 3, 4)

# Characters that end a sentence, and closing quotes/brackets that may follow them.
SENTENCE_END = frozenset(".!?…。！？‼⁇⁈⁉")
CLOSERS = "\"'”’»)]}›」』）】〉》"
LETTER_RE = re.compile(r"[^\W\d_]")
_LONG_PARAGRAPH = 150

# Bigram table size per token in the bound pass: a position is falsely taken for a repeat
# with probability ~1/8, so a false run of nine (what a repeated 10-gram needs) ~1e-8.
_TABLE_PER_TOKEN = 8
# Bigrams are bounded this many tokens at a time, so the table stays in cache.
_CHUNK_TOKENS = 16_384
_MUL_A = np.uint64(0x9E3779B97F4A7C15)
_MUL_DOC = np.uint64(0xD6E8FEB86659FD93)
_COUNT_UNIT = 2**32
_CHARS_MASK = _COUNT_UNIT - 1
_RUN = b"\x01" * (DUPLICATE_NGRAM - 1)


@dataclass(frozen=True)
class NgramLimits:
    """The limits of the n-gram ratios (see the module docstring)."""

    max_top_fraction: float = 0.2
    max_duplicate_fraction: float = 0.10
    min_words: int = 50
    min_prose_chars: int = 50

    def top_limit(self, n: int) -> float:
        return self.max_top_fraction - 0.02 * (n - 2)


def is_prose(para: str, min_chars: int) -> bool:
    """A paragraph whose repetition is duplication, not structure.

    Code lines, table rows, list items and headings repeat legitimately inside one
    article; they are short or do not end like a sentence. Prose (and the spam that
    imitates it) is long, or ends with sentence punctuation.
    """
    if len(para) < min_chars or LETTER_RE.search(para) is None:
        return False
    return len(para) >= _LONG_PARAGRAPH or para.rstrip(CLOSERS)[-1:] in SENTENCE_END


def ngram_verdicts(
    texts: Sequence[str], tokens: TokenBatch, limits: NgramLimits
) -> list[str | None]:
    """For each text, the first n-gram ratio over its limit as readable text, or None.

    ``tokens`` must be ``TokenBatch.from_texts(texts)``.
    """
    if len(tokens) != len(texts):
        raise ValueError(f"ngram_verdicts got {len(texts)} texts but {len(tokens)} token rows")
    out: list[str | None] = [None] * len(texts)
    for i in np.flatnonzero(_suspects(tokens, limits)).tolist():
        out[i] = ngram_verdict(texts[i], limits)
    return out


def ngram_verdict(text: str, limits: NgramLimits) -> str | None:
    """The exact ratios of one text (n-grams compared by their tokens' 64-bit hashes)."""
    lines = text.split("\n")
    toks = TokenBatch.from_texts(lines)
    hashes: list[int] = toks.hashes.tolist()
    lengths: list[int] = toks.lengths.tolist()
    is_word = (~toks.is_char).tolist()
    if len(hashes) < limits.min_words:
        return None
    total = sum(lengths)
    for n in TOP_NGRAMS:
        limit = limits.top_limit(n)
        frac = _top_ngram_chars(hashes, lengths, is_word, n) / total
        if frac > limit:
            return f"top {n}-gram {frac:.2f} > {limit:.2f}"
    offsets: list[int] = toks.offsets.tolist()
    prose = [
        (offsets[k], offsets[k + 1])
        for k, line in enumerate(lines)
        if is_prose(line, limits.min_prose_chars)
    ]
    if sum(b - a for a, b in prose) < limits.min_words:
        return None
    covered, prose_chars = _duplicate_ngram_chars(hashes, lengths, is_word, prose, DUPLICATE_NGRAM)
    frac = covered / (prose_chars or 1)
    if frac > limits.max_duplicate_fraction:
        limit = limits.max_duplicate_fraction
        return f"duplicate {DUPLICATE_NGRAM}-grams {frac:.2f} > {limit:.2f}"
    return None


def _grams(
    hashes: list[int], is_word: list[bool], start: int, stop: int, n: int
) -> list[tuple[int, tuple[int, ...]]]:
    """(position, key) of every n-gram of words in ``start:stop`` (none spans a non-word)."""
    out = []
    run = 0
    for i in range(start, stop):
        run = run + 1 if is_word[i] else 0
        if run >= n:
            out.append((i - n + 1, tuple(hashes[i - n + 1 : i + 1])))
    return out


def _top_ngram_chars(hashes: list[int], lengths: list[int], is_word: list[bool], n: int) -> int:
    """Characters covered by the most frequent n-gram (the first to occur among equals);
    0 when no n-gram occurs twice."""
    grams = _grams(hashes, is_word, 0, len(hashes), n)
    counts = Counter(key for _, key in grams)
    if not counts:
        return 0
    key, top = counts.most_common(1)[0]
    if top < 2:
        return 0
    first = next(pos for pos, k in grams if k == key)
    return top * sum(lengths[first : first + n])


def _duplicate_ngram_chars(
    hashes: list[int],
    lengths: list[int],
    is_word: list[bool],
    spans: list[tuple[int, int]],
    n: int,
) -> tuple[int, int]:
    """(characters covered by n-grams occurring more than once, characters of all tokens)
    over the token ``spans``; an n-gram never crosses a span's end."""
    grams = [g for a, b in spans for g in _grams(hashes, is_word, a, b, n)]
    counts = Counter(key for _, key in grams)
    covered: set[int] = set()
    for pos, key in grams:
        if counts[key] > 1:
            covered.update(range(pos, pos + n))
    chars = sum(sum(lengths[a:b]) for a, b in spans)
    return sum(lengths[i] for i in covered), chars


# ---------------------------------------------------------------------------------------
# The vectorised bound
# ---------------------------------------------------------------------------------------


def _suspects(tokens: TokenBatch, limits: NgramLimits) -> npt.NDArray[np.bool_]:
    """Texts whose ratios might be over a limit; every other text is certainly under all.

    The bounds, for one text whose tokens have T characters (``count`` and ``chars`` of an
    n-gram; a word bigram is two adjacent word tokens):

    * top n-gram: for n = 2 the covered characters are ``count * chars`` of one bigram. A
      3-gram abc occurring k times has bigrams ab and bc each occurring >= k times, and
      chars(abc) <= chars(ab) + chars(bc); a 4-gram abcd likewise splits into ab and cd. So
      every top n-gram ratio is at most ``2 * B / T``, and the 2-gram ratio at most
      ``B / T``, where B is the largest ``count * chars`` of any bigram occurring twice.
    * duplicate 10-grams: a 10-gram occurring twice has nine bigrams that each occur twice,
      at nine consecutive positions. No such run: no duplicate 10-gram.

    Bigrams are counted in one hash table per chunk of texts, keyed by text and bigram, with
    eight slots per token: a collision only adds to a slot's count and characters, so it can
    make a text a suspect, never clear one. On normal prose B is a few percent of T and runs
    of nine repeated bigrams do not occur, so about one article in a thousand is a suspect.
    """
    suspects = np.zeros(len(tokens), dtype=bool)
    for start, part in tokens.chunks(_CHUNK_TOKENS):
        suspects[start : start + len(part)] = _chunk_suspects(part, limits)
    return suspects


def _chunk_suspects(tokens: TokenBatch, limits: NgramLimits) -> npt.NDArray[np.bool_]:
    offsets = tokens.offsets
    counts = np.diff(offsets)
    n_docs = len(counts)
    n = len(tokens.hashes)
    measured = counts >= limits.min_words
    if n < 2 or not measured.any():
        return np.zeros(n_docs, dtype=bool)
    lengths = tokens.lengths
    # (A spare 0 at the end: the starts of trailing empty texts stay inside the array.)
    total = np.add.reduceat(np.append(lengths, 0), offsets[:-1])
    total[counts == 0] = 0

    # Bigram i is tokens i, i+1: both words, in the same text.
    word = ~tokens.is_char
    valid = word[:-1] & word[1:]
    ends = offsets[1:] - 1  # the last token of a text starts no bigram
    valid[ends[(ends >= 0) & (ends < n - 1)]] = False
    # One table slot per (text, bigram); hashes are uniform, so the top bits of this mix are.
    doc = np.repeat(np.arange(n_docs, dtype=np.uint64), counts)
    h = tokens.hashes
    mixed = h[:-1] * _MUL_A
    mixed += h[1:]
    mixed += doc[:-1] * _MUL_DOC
    bits = max(10, int(n * _TABLE_PER_TOKEN - 1).bit_length())
    slot = (mixed >> np.uint64(64 - bits)).astype(np.intp)
    # One bincount gives both a slot's count and its characters: count * 2**32 + chars
    # (exact in float64, and back in int64: fewer than 2**21 bigrams, under 2**32
    # characters per chunk).
    weight = lengths[:-1] + lengths[1:] + _COUNT_UNIT
    table = np.bincount(slot[valid], weights=weight[valid], minlength=1 << bits)
    at = table.astype(np.int64)[slot]
    repeated = valid & (at >= 2 * _COUNT_UNIT)

    # B per text: the heaviest repeated slot among the text's bigrams.
    heavy = np.zeros(n, dtype=np.int64)  # one spare entry, so reduceat has no empty tail
    np.bitwise_and(at, _CHARS_MASK, out=heavy[:-1], where=repeated)
    biggest = np.maximum.reduceat(heavy, np.minimum(offsets[:-1], n - 1))
    biggest[counts == 0] = 0
    factor = min(limits.top_limit(k) / (1 if k == 2 else 2) for k in TOP_NGRAMS)
    bound_top = biggest > factor * total

    # Runs of DUPLICATE_NGRAM - 1 repeated bigrams (runs cannot cross texts: see `ends`);
    # they are rare, so bytes.find looks for them at memory speed, one hit per text.
    bound_dup = np.zeros(n_docs, dtype=bool)
    flags = repeated.view(np.uint8).tobytes()
    at_run = flags.find(_RUN)
    while at_run >= 0:
        d = int(doc[at_run])
        bound_dup[d] = True
        at_run = flags.find(_RUN, int(offsets[d + 1]))
    return measured & (bound_top | bound_dup)
