"""Near-duplicate detection, map-stage half: shingles and MinHash signatures of texts.

Why it is split this way: signatures are the only per-record work that needs the text, so they
are computed next to the other per-record work (in batches, in parallel); the global stage then
holds one compact signature per record (``num_perm`` little-endian uint32, 512 bytes by default)
and never a text, which keeps clustering and the cross-split audit in memory for millions of
records.

Pipeline of one batch, all of it vectorised with numpy:

1. **Tokens** come from :class:`corpuskit.tokens.TokenBatch` (NFKC + casefold, runs of
   letters/marks/digits, one token per character in scripts without spaces, 64-bit token
   hashes): the same tokenisation the clean stage's repetition ratios use, computed once per
   batch by the map stage.
2. **Shingle**: every run of ``shingle_size`` consecutive tokens is one shingle; a text with
   fewer tokens uses all of them as its single shingle; a text with no tokens has no shingles.
   Shingle hashes chain the token hashes: no shingle string is ever built (joining words in
   Python costs more than everything else put together).
3. **MinHash**: ``rensa``'s R-MinHash over the 64-bit shingle hashes (Rust, ~3 µs per 1 KB
   article). Its per-slot collision probability is the Jaccard similarity, which is all that
   LSH banding and :func:`estimate_jaccard` rely on.

Signatures depend on the tokeniser (:data:`TOKENIZER_VERSION`), the Unicode tables of the
running Python (new code points only), rensa's ``RMinHash.ALGORITHM_VERSION`` and the config;
:func:`signature_scheme` names all of them so a manifest can record what the signatures mean and
a cache can tell when old ones must be recomputed. A text without tokens gets the *empty*
signature (every slot ``0xFFFFFFFF``), which never matches anything - not even another empty
signature - because "no content" is not evidence of copying.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import numpy as np
import rensa

from corpuskit.config import NearDupConfig
from corpuskit.tokens import I64, TOKENIZER_VERSION, U32, U64, TokenBatch, fmix64, token_strings

EMPTY_SLOT = np.uint32(0xFFFFFFFF)

# Chaining multiplier for shingle hashes (odd 64-bit).
SHINGLE_MUL = np.uint64(0xC2B2AE3D27D4EB4F)
# Shingles and signatures are computed this many tokens at a time: the numpy temporaries
# (~80 bytes per token) stay in cache.
_CHUNK_TOKENS = 16_384

# --------------------------------------------------------------------------------------------
# Configuration


def signature_scheme(config: NearDupConfig) -> str:
    """Everything a signature's bytes depend on, for the manifest and for cache invalidation."""
    return (
        f"corpuskit-minhash/tok{TOKENIZER_VERSION}/unicode{unicodedata.unidata_version}"
        f"/rensa-rminhash-v{rensa.RMinHash.ALGORITHM_VERSION}"
        f"/shingle{config.shingle_size}/perm{config.num_perm}/seed{config.seed}/u32le"
    )


# --------------------------------------------------------------------------------------------
# Shingles and signatures (map stage)


def _shingle_hashes(token_hashes: U64, doc_counts: I64, k: int) -> tuple[U64, U64]:
    """Shingle hashes of all texts, flat, with row offsets into them (rensa's batch layout)."""
    n_tokens = len(token_hashes)
    doc_start = np.zeros(len(doc_counts) + 1, dtype=np.int64)
    np.cumsum(doc_counts, out=doc_start[1:])
    end_of = np.repeat(doc_start[1:], doc_counts)  # per token: end of its text
    pos = np.arange(n_tokens, dtype=np.int64)
    h = np.zeros(n_tokens, dtype=np.uint64)
    for j in range(k):
        inside = pos + j < end_of
        nxt = token_hashes[np.minimum(pos + j, max(n_tokens - 1, 0))]
        h = np.where(inside, fmix64(h * SHINGLE_MUL + nxt), h)
    # A shingle starts wherever k tokens fit; a short text keeps its first (whole-text) one.
    short_start = np.repeat((doc_counts > 0) & (doc_counts < k), doc_counts) & (
        pos == np.repeat(doc_start[:-1], doc_counts)
    )
    keep = (pos + k <= end_of) | short_start
    per_doc = np.where(doc_counts >= k, doc_counts - k + 1, np.minimum(doc_counts, 1))
    offsets = np.zeros(len(doc_counts) + 1, dtype=np.uint64)
    np.cumsum(per_doc, out=offsets[1:])
    return h[keep], offsets


def shingle_tokens(text: str) -> list[str]:
    """The tokens shingles are made of (see :mod:`corpuskit.tokens`), for audits and tests."""
    return token_strings(text)


def signatures(texts: Sequence[str], config: NearDupConfig) -> list[bytes]:
    """MinHash signature of every text: ``num_perm`` little-endian uint32 each."""
    return signatures_from_tokens(TokenBatch.from_texts(texts), config)


def signatures_from_tokens(tokens: TokenBatch, config: NearDupConfig) -> list[bytes]:
    """MinHash signature of every text of a tokenised batch.

    A batch API because the per-call overhead (numpy, rensa) is paid once per batch, not once
    per text. Deterministic across processes and machines: no salted hashing, fixed seed.
    Shingling as in the module docstring: a text with fewer tokens than ``shingle_size`` is one
    whole-text shingle, a text without tokens gets the never-matching empty signature.
    rensa may use several threads for big batches; set ``RAYON_NUM_THREADS=1`` in process-pool
    workers so they do not oversubscribe the cores.
    """
    out: list[bytes] = []
    width = config.signature_bytes
    for _, part in tokens.chunks(_CHUNK_TOKENS):
        shingles, offsets = _shingle_hashes(part.hashes, part.counts, config.shingle_size)
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            shingles, offsets, config.num_perm, config.seed
        )
        buf = np.asarray(matrix.to_rows(), dtype="<u4").reshape(len(part), config.num_perm)
        raw = buf.tobytes()
        out.extend(raw[i * width : (i + 1) * width] for i in range(len(part)))
    return out


# --------------------------------------------------------------------------------------------
# Similarity


def _as_slots(signature: bytes) -> U32:
    if len(signature) % 4:
        raise ValueError(
            f"a signature is a whole number of uint32 slots, got {len(signature)} bytes"
        )
    return np.frombuffer(signature, dtype="<u4")


def estimate_jaccard(a: bytes, b: bytes) -> float:
    """Fraction of equal slots: an unbiased estimate of the shingle Jaccard similarity.

    Empty signatures (texts without tokens) estimate 0 against everything, themselves included,
    so that blank or symbol-only records never form a cluster.
    """
    sa, sb = _as_slots(a), _as_slots(b)
    if len(sa) != len(sb) or len(sa) == 0:
        raise ValueError(
            f"signatures must have the same, non-zero length, got {len(a)} and {len(b)} bytes"
        )
    if bool((sa == EMPTY_SLOT).all()) or bool((sb == EMPTY_SLOT).all()):
        return 0.0
    return float(np.count_nonzero(sa == sb)) / len(sa)


def _shingle_set(text: str, k: int) -> set[tuple[str, ...]]:
    toks = shingle_tokens(text)
    if not toks:
        return set()
    if len(toks) < k:
        return {tuple(toks)}
    return {tuple(toks[i : i + k]) for i in range(len(toks) - k + 1)}


def exact_jaccard(text_a: str, text_b: str, shingle_size: int = 5) -> float:
    """Exact Jaccard of the shingle sets the signatures estimate; 0.0 if either has none."""
    sa, sb = _shingle_set(text_a, shingle_size), _shingle_set(text_b, shingle_size)
    if not sa or not sb:
        return 0.0
    return len(sa & sb) / len(sa | sb)
