"""Containment: an article whose text lies largely inside another one.

A three-paragraph wire story and a longer version that carries it verbatim plus five more
paragraphs have a 5-gram shingle Jaccard of only ~0.36: near-duplicate clustering (Jaccard
>= 0.6) leaves them apart, and a split could put the short one in eval with its whole text
in train. Containment measures that case: ``C(A in B) = |A ∩ B| / |A|`` over shingle sets.

The global stage keeps working on small keys:

- **Candidates** are pairs of articles that share a paragraph, found through 8-byte keys
  of each article's paragraphs of 15 tokens or more (``paragraph_keys``: a hash of the
  paragraph's token hashes, computed from the tokens the map stage already has; a story
  carried into a longer version keeps most of its paragraphs word for word). A paragraph
  found in more than ``MAX_POSTING`` articles is boilerplate the cleaner left, not a story,
  and pairs no one.
- **Verification** estimates containment from what the near-duplicate index already holds:
  the MinHash estimate of the Jaccard ``J`` and the shingle counts ``|A|``, ``|B|`` give
  ``C(A in B) = J (|A| + |B|) / ((1 + J) |A|)`` (from ``|A ∩ B| = J |A ∪ B|`` and
  ``|A ∪ B| = (|A| + |B|) / (1 + J)``; the same identity as datasketch's LSH Ensemble uses to
  turn a containment threshold into a Jaccard one). Shingle counts are the number of
  shingle positions, which equals the set size unless the text repeats a 5-gram.

Pairs at or above ``CONTAINED`` (0.8) in either direction go to the same split, and the
leakage audit reports the highest eval-in-train containment among the candidates.
"""

from __future__ import annotations

from array import array
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from corpuskit.dedup.index import NearDupIndex, SplitCodes, split_codes
from corpuskit.tokens import F64, I64, TokenBatch

#: Containment at or above which two articles are one story for the split (issue 14).
CONTAINED = 0.8
#: Paragraphs of fewer tokens than this (datelines, one-line quotes, captions) are shared
#: by unrelated stories; they never make a candidate pair.
PARAGRAPH_MIN_TOKENS = 15
#: A paragraph in more articles than this is left-over boilerplate, not a story.
MAX_POSTING = 32
_KEY_BYTES = 8


def paragraph_keys(text: str) -> bytes:
    """The 8-byte keys of the text's paragraphs (blank-line separated) of at least
    PARAGRAPH_MIN_TOKENS tokens, sorted and distinct; see ``TokenBatch.paragraph_keys``
    (the map stage calls that on the batch it has already tokenised)."""
    return TokenBatch.from_texts([text]).paragraph_keys(PARAGRAPH_MIN_TOKENS)[0]


def estimate_containment(jaccard: F64, n_a: I64, n_b: I64) -> F64:
    """``C(A in B)`` from the Jaccard of A and B and their set sizes, clipped to [0, 1]."""
    n_a = np.maximum(n_a, 1)
    return np.clip(jaccard * (n_a + n_b) / ((1.0 + jaccard) * n_a), 0.0, 1.0)


@dataclass(frozen=True)
class ContainedPairs:
    """Verified candidate pairs: keys ``a`` < ``b``, ``C(a in b)`` and ``C(b in a)``."""

    a: I64
    b: I64
    a_in_b: F64
    b_in_a: F64

    def at_least(self, threshold: float) -> ContainedPairs:
        keep = np.maximum(self.a_in_b, self.b_in_a) >= threshold
        return ContainedPairs(self.a[keep], self.b[keep], self.a_in_b[keep], self.b_in_a[keep])


class ContainmentIndex:
    """Paragraph keys and shingle counts per key; the pairs one contains the other in."""

    def __init__(self) -> None:
        # Flat arrays, not a list of bytes per key: ~8 bytes a paragraph plus 32 a key.
        self._keys = array("q")  # keys with paragraphs, each with its count of them
        self._counts = array("q")
        self._paragraphs = bytearray()
        self._shingle_keys = array("q")
        self._shingles = array("q")
        self._pairs: ContainedPairs | None = None

    def add(self, key: int, paragraphs: bytes, num_shingles: int) -> None:
        """Record one key (a content group); ``paragraphs`` as from :func:`paragraph_keys`."""
        self._shingle_keys.append(key)
        self._shingles.append(num_shingles)
        if paragraphs:
            self._keys.append(key)
            self._counts.append(len(paragraphs) // _KEY_BYTES)
            self._paragraphs += paragraphs
        self._pairs = None

    def add_block(self, keys: I64, counts: I64, paragraphs: bytes, num_shingles: I64) -> None:
        """:meth:`add` for many keys: ``counts[i]`` paragraph keys of ``keys[i]`` come
        next in ``paragraphs``."""
        self._shingle_keys.frombytes(np.ascontiguousarray(keys, dtype=np.int64).tobytes())
        self._shingles.frombytes(np.ascontiguousarray(num_shingles, dtype=np.int64).tobytes())
        some = counts > 0
        self._keys.frombytes(np.ascontiguousarray(keys[some], dtype=np.int64).tobytes())
        self._counts.frombytes(np.ascontiguousarray(counts[some], dtype=np.int64).tobytes())
        self._paragraphs += paragraphs
        self._pairs = None

    def candidates(self) -> tuple[I64, I64]:
        """Distinct key pairs (a < b) that share at least one paragraph key."""
        if not self._keys:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        hashes = np.frombuffer(self._paragraphs, dtype="<u8")
        counts = np.frombuffer(self._counts, dtype=np.int64)
        keys = np.frombuffer(self._keys, dtype=np.int64)
        # 4-byte owners when keys allow: this sort is the global stage's largest
        # allocation (~40 MB at 200k articles).
        narrow = np.int32 if not len(keys) or keys.max() < 2**31 else np.int64
        owner = np.repeat(keys.astype(narrow), counts)
        order = np.lexsort((owner, hashes))
        hashes, owner = hashes[order], owner[order]
        starts = np.flatnonzero(np.r_[True, hashes[1:] != hashes[:-1]])
        sizes = np.diff(np.r_[starts, len(hashes)])
        lefts: list[I64] = []
        rights: list[I64] = []
        # All pairs of each posting list, vectorised per list size.
        for size in np.unique(sizes[(sizes >= 2) & (sizes <= MAX_POSTING)]).tolist():
            first = starts[sizes == size]
            i, j = np.triu_indices(size, k=1)
            lefts.append(owner[(first[:, None] + i[None, :]).ravel()])
            rights.append(owner[(first[:, None] + j[None, :]).ravel()])
        if not lefts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty
        a = np.concatenate(lefts).astype(np.int64)
        b = np.concatenate(rights).astype(np.int64)
        a, b = np.minimum(a, b), np.maximum(a, b)
        pairs = np.unique(np.stack([a, b], axis=1), axis=0)
        return pairs[:, 0].copy(), pairs[:, 1].copy()

    def pairs(self, index: NearDupIndex) -> ContainedPairs:
        """Every candidate pair with both containment estimates (cached until the next add)."""
        if self._pairs is None:
            a, b = self.candidates()
            jaccard = index.similarities(a, b)
            sizes = _dense(
                np.frombuffer(self._shingle_keys, dtype=np.int64),
                np.frombuffer(self._shingles, dtype=np.int64),
            )
            n_a, n_b = sizes[a], sizes[b]
            self._pairs = ContainedPairs(
                a,
                b,
                estimate_containment(jaccard, n_a, n_b),
                estimate_containment(jaccard, n_b, n_a),
            )
        return self._pairs

    def audit(
        self,
        index: NearDupIndex,
        split_of: Mapping[int, str] | SplitCodes,
        *,
        train_split: str = "train",
        eval_split: str = "eval",
        threshold: float = CONTAINED,
    ) -> tuple[int, float, int]:
        """(candidate pairs across train and eval, highest estimated containment of the eval
        article in the train one, eval keys at or above ``threshold`` in some train key)."""
        p = self.pairs(index)
        sa, train, evl = split_codes(split_of, p.a, train_split, eval_split)
        sb, _, _ = split_codes(split_of, p.b, train_split, eval_split)
        a_eval = (sa == evl) & (sb == train)
        b_eval = (sb == evl) & (sa == train)
        eval_in_train = np.concatenate([p.a_in_b[a_eval], p.b_in_a[b_eval]])
        eval_keys = np.concatenate([p.a[a_eval], p.b[b_eval]])
        leaked = np.unique(eval_keys[eval_in_train >= threshold])
        worst = float(eval_in_train.max()) if len(eval_in_train) else 0.0
        return int(a_eval.sum() + b_eval.sum()), worst, len(leaked)


def _dense(keys: I64, values: I64) -> I64:
    """A dense array ``out[key] = value`` (0 for keys without a value)."""
    if not len(keys):
        return np.zeros(0, dtype=np.int64)
    out = np.zeros(int(keys.max()) + 1, dtype=np.int64)
    out[keys] = values
    return out
