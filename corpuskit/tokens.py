"""Word tokens of a batch of texts, as flat numpy arrays: one tokenisation per batch.

Two stages need the words of every kept article: the repetition ratios of the clean stage
(:mod:`corpuskit.clean.ngrams`) and the MinHash signatures (:mod:`corpuskit.dedup`). Splitting
and hashing words costs more than either stage's own arithmetic (``text.split()`` alone is
~12 µs per 2 KB article), so the map stage tokenises each batch once, here, and hands the
same :class:`TokenBatch` to both.

A token, for both:

1. **Normalise**: NFKC, then ``str.casefold`` - so width variants, ligatures and case do not
   make copies look different.
2. **Tokenise**: a token is a maximal run of letters, combining marks and digits (Unicode
   categories L*, M*, N*). Marks are included on purpose: Python's ``\\w`` excludes them and
   would cut Hindi or Arabic words into pieces. Scripts written without spaces (Han,
   Hiragana, Katakana, Thai, Lao, Khmer, Myanmar) become one token per character
   (``is_char``), so their shingles are character n-grams and Chinese/Japanese copies still
   dedup. Everything else (punctuation, symbols, spaces) separates tokens.
3. **Hash**: a token's 64-bit hash comes from its code points (a polynomial hash, then a
   64-bit finaliser) - never Python's ``hash()``, which is salted per process - so hashes
   agree across processes and machines and no token string is ever built.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import cast

import numpy as np
import numpy.typing as npt

__all__ = [
    "PER_CHAR_BLOCKS",
    "TOKENIZER_VERSION",
    "TokenBatch",
    "fmix64",
    "normalise",
    "token_strings",
]

#: Bump whenever tokenisation or token hashing changes: old signatures stop being comparable.
TOKENIZER_VERSION = 1

# Array types shared by the numeric modules (tokens, dedup).
U64 = npt.NDArray[np.uint64]
U32 = npt.NDArray[np.uint32]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

# Scripts written without spaces between words: one token per character (character n-grams).
PER_CHAR_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x0E00, 0x0E7F),  # Thai
    (0x0E80, 0x0EFF),  # Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x2E80, 0x2FDF),  # CJK radicals, Kangxi radicals
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana phonetic extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3FFFF),  # CJK extensions B.. (SIP, TIP)
)
# Code points at or above this are classified as separators (tags, private use): building a
# table for all of Unicode would cost 0.15 s per process for characters articles never contain.
_TABLE_SIZE = 0x40000
_SEP, _WORD, _CHAR = 0, 1, 2

# Hash constants (odd 64-bit): polynomial base and length multiplier for tokens.
_TOKEN_BASE = np.uint64(0x100000001B3)
_TOKEN_LEN_MUL = np.uint64(0x9E3779B97F4A7C15)
_FMIX_C1 = np.uint64(0xFF51AFD7ED558CCD)
_FMIX_C2 = np.uint64(0xC4CEB9FE1A85EC53)
_S33 = np.uint64(33)

# Texts are tokenised in sub-batches of about this many code points: the numpy temporaries
# (~60 bytes per code point) then stay in cache, which measured 1.5-2x faster than 2 M.
_CHUNK_CHARS = 64_000


@cache
def _char_classes() -> npt.NDArray[np.uint8]:
    """Class of every code point below _TABLE_SIZE; built once per process (~30 ms)."""
    table = np.zeros(_TABLE_SIZE, dtype=np.uint8)
    category = unicodedata.category
    table[[c for c in range(_TABLE_SIZE) if category(chr(c))[0] in "LMN"]] = _WORD
    for lo, hi in PER_CHAR_BLOCKS:
        block = table[lo : min(hi + 1, _TABLE_SIZE)]
        block[block == _WORD] = _CHAR
    return table


def normalise(text: str) -> str:
    """NFKC, then casefold: the text tokens are cut from."""
    # The quick check is 5x cheaper than normalize() on text that is already NFKC (most of
    # it). A text that fails it usually has one "…" or "²" somewhere, so only its lines that
    # fail are normalised (NFKC never acts across a line break: "\n" combines with nothing).
    if not unicodedata.is_normalized("NFKC", text):
        text = "\n".join(
            line if unicodedata.is_normalized("NFKC", line) else unicodedata.normalize("NFKC", line)
            for line in text.split("\n")
        )
    return text.casefold()


def fmix64(x: U64) -> U64:
    """MurmurHash3's finaliser: spreads entropy so every bit of a hash is usable."""
    x = x ^ (x >> _S33)
    x = x * _FMIX_C1
    x = x ^ (x >> _S33)
    x = x * _FMIX_C2
    return cast(U64, x ^ (x >> _S33))


@dataclass(frozen=True)
class TokenBatch:
    """The tokens of a batch of texts, flat: text ``i`` owns ``offsets[i]:offsets[i + 1]``.

    Small per token (hash, length, script kind: 17 bytes), nothing per code point, so a
    batch of a thousand articles holds a few MB and crosses process boundaries cheaply.
    """

    hashes: U64  # 64-bit hash of each token
    lengths: I64  # code points of each token (in the normalised text)
    is_char: Bools  # a character of a script written without spaces (Han, kana, Thai, ...)
    offsets: I64  # len(texts) + 1 entries
    # The token starts a paragraph: its text's first token, or the first after a blank line.
    para_start: Bools

    @classmethod
    def from_texts(cls, texts: Sequence[str]) -> TokenBatch:
        """Tokenise ``texts`` (any strings; see the module docstring)."""
        parts = [_tokenise_chunk(chunk) for chunk in _chunks(texts)]
        counts = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, np.int64)
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        if not parts:
            none = np.zeros(0, bool)
            return cls(np.zeros(0, np.uint64), np.zeros(0, np.int64), none, offsets, none)
        return cls(
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
            offsets,
            np.concatenate([p[4] for p in parts]),
        )

    @classmethod
    def concat(cls, parts: Sequence[TokenBatch]) -> TokenBatch:
        """The texts of ``parts``, one after the other (the inverse of ``slice``)."""
        if not parts:
            return cls.from_texts([])
        counts = np.concatenate([p.counts for p in parts])
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        return cls(
            np.concatenate([p.hashes for p in parts]),
            np.concatenate([p.lengths for p in parts]),
            np.concatenate([p.is_char for p in parts]),
            offsets,
            np.concatenate([p.para_start for p in parts]),
        )

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def counts(self) -> I64:
        """Tokens per text."""
        return np.diff(self.offsets)

    def select(self, keep: Sequence[bool] | Bools) -> TokenBatch:
        """The tokens of the texts where ``keep`` is true, in order."""
        keep = np.asarray(keep, dtype=bool)
        if len(keep) != len(self):
            raise ValueError(f"select got {len(keep)} flags for {len(self)} texts")
        counts = self.counts[keep]
        offsets = np.zeros(len(counts) + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        mask = np.repeat(keep, self.counts)
        return TokenBatch(
            self.hashes[mask],
            self.lengths[mask],
            self.is_char[mask],
            offsets,
            self.para_start[mask],
        )

    def char_token_counts(self) -> I64:
        """Per text: tokens that are one character of a script written without spaces."""
        counts = np.zeros(len(self), dtype=np.int64)
        nonempty = self.counts > 0
        if nonempty.any():
            sums = np.add.reduceat(self.is_char.astype(np.int64), self.offsets[:-1][nonempty])
            counts[nonempty] = sums
        return counts

    def paragraph_keys(self, min_tokens: int) -> list[bytes]:
        """Per text: the sorted, distinct 8-byte keys of its paragraphs of at least
        ``min_tokens`` tokens. A key is a polynomial hash of the paragraph's token hashes, so
        it ignores case, width variants, punctuation and how the paragraph was wrapped."""
        out: list[bytes] = []
        # Runs of texts small enough for the cached power tables.
        for _, part in self.chunks(_KEEP_POWERS // 2):
            out.extend(part._paragraph_keys(min_tokens))
        return out

    def _paragraph_keys(self, min_tokens: int) -> list[bytes]:
        n = len(self.hashes)
        out: list[bytes] = [b""] * len(self)
        starts = np.flatnonzero(self.para_start)
        sizes = np.diff(np.r_[starts, n])
        long = sizes >= min_tokens
        if not long.any():
            return out
        powers, inverses = _powers(n)
        weighted = self.hashes * powers[:n]
        keys = np.add.reduceat(weighted, starts)[long] * inverses[starts[long]]
        keys = fmix64(keys + sizes[long].astype(np.uint64) * _TOKEN_LEN_MUL)
        owner = np.searchsorted(self.offsets, starts[long], side="right") - 1
        order = np.lexsort((keys, owner))
        keys, owner = keys[order], owner[order]
        distinct = np.r_[True, (keys[1:] != keys[:-1]) | (owner[1:] != owner[:-1])]
        keys, owner = keys[distinct], owner[distinct]
        raw = keys.astype("<u8").tobytes()
        bounds = np.searchsorted(owner, np.arange(len(self) + 1)).tolist()
        for text in np.unique(owner).tolist():
            out[text] = raw[8 * bounds[text] : 8 * bounds[text + 1]]
        return out

    def chunks(self, max_tokens: int) -> Iterator[tuple[int, TokenBatch]]:
        """(first text, batch) runs of whole texts with about ``max_tokens`` tokens each (a
        longer text is a run alone), so numpy temporaries per run stay in cache."""
        start, n = 0, len(self)
        while start < n:
            limit = int(self.offsets[start]) + max_tokens
            stop = int(np.searchsorted(self.offsets, limit, side="right")) - 1
            stop = min(max(stop, start + 1), n)
            yield start, self.slice(start, stop)
            start = stop

    def slice(self, start: int, stop: int) -> TokenBatch:
        """Texts ``start:stop`` (views, no copy)."""
        a, b = int(self.offsets[start]), int(self.offsets[stop])
        return TokenBatch(
            self.hashes[a:b],
            self.lengths[a:b],
            self.is_char[a:b],
            self.offsets[start : stop + 1] - a,
            self.para_start[a:b],
        )


def _chunks(texts: Sequence[str]) -> Iterator[Sequence[str]]:
    start, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text) + 1
        if size >= _CHUNK_CHARS:
            yield texts[start : i + 1]
            start, size = i + 1, 0
    if start < len(texts):
        yield texts[start:]


def _token_bounds(text: str) -> tuple[npt.NDArray[np.uint32], I64, I64, Bools, Bools]:
    """(code points, token starts, token ends, in-token mask, per-character mask) of a text."""
    cp = np.frombuffer(text.encode("utf-32-le"), dtype="<u4")
    # The table's last entry (U+3FFFF, a noncharacter) is a separator: it stands for every
    # code point beyond the table ("clip" maps them to it).
    cls = _char_classes().take(cp, mode="clip")
    word = cls == _WORD
    single = cls == _CHAR
    prev_word = np.zeros_like(word)
    prev_word[1:] = word[:-1]
    next_word = np.zeros_like(word)
    next_word[:-1] = word[1:]
    first = np.flatnonzero(single | (word & ~prev_word))
    last = np.flatnonzero(single | (word & ~next_word)) + 1
    return cp, first, last, word | single, single


def _tokenise_chunk(texts: Sequence[str]) -> tuple[U64, I64, Bools, I64, Bools]:
    """(hashes, lengths, is_char, tokens per text, paragraph starts) of a few texts."""
    normalised = [normalise(t) for t in texts]
    # "\n" between texts is a separator, so no token can span two texts.
    cp, first, last, in_token, single = _token_bounds("\n".join(normalised))
    doc_starts = np.zeros(len(normalised), dtype=np.int64)
    if len(normalised) > 1:
        lengths = np.fromiter((len(t) + 1 for t in normalised[:-1]), np.int64, len(normalised) - 1)
        np.cumsum(lengths, out=doc_starts[1:])
    doc_of = np.searchsorted(doc_starts, first, side="right") - 1
    doc_counts = np.bincount(doc_of, minlength=len(normalised)).astype(np.int64)
    token_lengths = (last - first).astype(np.int64)
    hashes = _hash_tokens(cp, in_token, first, token_lengths)
    # Paragraphs: a blank line ("\n\n" in the normalised text) ends one; so does a text.
    blank = np.zeros(len(cp) + 1, dtype=np.int64)
    blank[2:] = (cp[:-1] == 10) & (cp[1:] == 10)
    paragraph = np.cumsum(blank)[first]
    para_start = np.ones(len(first), dtype=bool)
    para_start[1:] = (paragraph[1:] != paragraph[:-1]) | (doc_of[1:] != doc_of[:-1])
    return hashes, token_lengths, single[first], doc_counts, para_start


def _hash_tokens(cp: npt.NDArray[np.uint32], in_token: Bools, first: I64, lengths: I64) -> U64:
    """64-bit hash per token: the sum of its code points times BASE**(position in the
    token), modulo 2**64, with the length mixed in.

    Computed without positions: every code point is weighted by BASE**(its index in the
    chunk), the weights are summed per token, and the sum is brought back to the token's
    own start with BASE**-start (BASE is odd, so it has an inverse modulo 2**64).
    """
    if len(first) == 0:
        return np.zeros(0, dtype=np.uint64)
    powers, inverses = _powers(len(cp))
    weighted = np.where(in_token, cp, 0).astype(np.uint64)
    weighted *= powers[: len(cp)]
    # Each sum runs from a token's start to the next token's: separators weigh 0.
    raw = np.add.reduceat(weighted, first) * inverses[first]
    return fmix64(raw + lengths.astype(np.uint64) * _TOKEN_LEN_MUL)


_TOKEN_BASE_INVERSE = np.uint64(pow(int(_TOKEN_BASE), -1, 2**64))
# Power tables up to this many code points are kept (2 MB); a longer text (one article of
# over 128k characters) gets its own.
_KEEP_POWERS = 1 << 17


def _powers(n: int) -> tuple[U64, U64]:
    """BASE**i and BASE**-i modulo 2**64 for i < n (at least)."""
    size = max(1024, 1 << (n - 1).bit_length())
    return _power_tables(size) if size <= _KEEP_POWERS else _build_powers(size)


@cache
def _power_tables(size: int) -> tuple[U64, U64]:
    return _build_powers(size)


def _build_powers(size: int) -> tuple[U64, U64]:
    powers = np.full(size, _TOKEN_BASE, dtype=np.uint64)
    powers[0] = 1
    inverses = np.full(size, _TOKEN_BASE_INVERSE, dtype=np.uint64)
    inverses[0] = 1
    # cumprod wraps modulo 2**64, as intended.
    return np.cumprod(powers, dtype=np.uint64), np.cumprod(inverses, dtype=np.uint64)


def token_strings(text: str) -> list[str]:
    """The tokens of ``text`` as strings, for audits, tests and for explaining a match.

    Uses exactly the token boundaries of :class:`TokenBatch`; ``don't`` is ``don``, ``t``.
    """
    normalised = normalise(text)
    _, first, last, _, _ = _token_bounds(normalised)
    return [normalised[a:b] for a, b in zip(first.tolist(), last.tolist(), strict=True)]
