"""Near-duplicate detection, global-stage half: LSH clusters and the cross-split audit.

Works on signatures only (see :mod:`corpuskit.dedup.minhash` for what they are); never
sees a text, so millions of records fit in memory.
"""

from __future__ import annotations

import itertools
import sys
from array import array
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from corpuskit.config import NearDupConfig
from corpuskit.dedup.minhash import EMPTY_SLOT, SHINGLE_MUL, estimate_jaccard
from corpuskit.dedup.signature_file import MappedRows, SignatureFile
from corpuskit.tokens import I64, U32, U64, fmix64

# Cluster building: buckets larger than this are not compared all-pairs (see NearDupIndex).
_BIG_BUCKET = 64
_MAX_LEADERS = 64
_LEADER_BLOCK = 256
# Pairs gathered per verification step (each pair gathers 2 * num_perm * 4 bytes: 8 MB
# at the default 128 permutations).
_VERIFY_CHUNK = 8_192
# Rows read at a time by scans over every signature (a band, the empty-signature check).
_SCAN_ROWS = 16_384
# Audit: a big bucket is compared exhaustively across splits up to this many pairs.
_AUDIT_BUCKET_BUDGET = 4_000_000


# --------------------------------------------------------------------------------------------
# Global stage


@dataclass(frozen=True)
class AuditResult:
    """What the build report says about near-duplicates across splits.

    ``eval_with_train_copy`` must be 0 for a leakage-free split. ``complete`` is False only
    when a huge LSH bucket could not be compared exhaustively across splits (see
    NearDupIndex.cross_split_audit); ``examples`` lists up to 10 of the worst leaks as
    ``(eval_key, train_key, estimated_jaccard)``.
    """

    pairs_checked: int
    max_cross_similarity: float
    eval_with_train_copy: int
    threshold: float
    complete: bool = True
    examples: tuple[tuple[int, int, float], ...] = ()
    # Containment (corpuskit.dedup.containment): train-eval candidate pairs checked, the highest
    # estimated share of an eval article inside a train one, and eval articles at or above
    # the threshold (0 for a leakage-free split).
    containment_pairs_checked: int = 0
    max_eval_in_train_containment: float = 0.0
    eval_contained_in_train: int = 0
    containment_threshold: float = 0.0


@dataclass(frozen=True)
class SplitCodes:
    """The split of every key ``0..n-1`` as one byte: ``codes[key]`` indexes ``names``,
    -1 for a key in no split (a dropped record). The global stage's form of a
    ``{key: split name}`` mapping, without a dict entry per key."""

    codes: npt.NDArray[np.int8]
    names: tuple[str, ...]


def split_codes(
    split_of: Mapping[int, str] | SplitCodes, keys: I64, train_split: str, eval_split: str
) -> tuple[I64, int, int]:
    """(the split code of each of ``keys``, -1 for none; the train code; the eval code).
    Codes of splits other than train and eval never equal either."""
    if isinstance(split_of, SplitCodes):
        # Codes follow the sorted names whatever form the splits came in: the big-bucket
        # audit walks the splits in code order.
        names = tuple(sorted(set(split_of.names)))
        renumber = np.array([names.index(name) for name in split_of.names], dtype=np.int64)
        out = np.full(len(keys), -1, dtype=np.int64)
        inside = (keys >= 0) & (keys < len(split_of.codes))
        codes = split_of.codes[keys[inside]].astype(np.int64)
        out[inside] = np.where(codes >= 0, renumber[codes], -1)
    else:
        names = tuple(sorted(set(split_of.values())))
        code_of = {name: i for i, name in enumerate(names)}
        out = np.fromiter(
            (code_of.get(split_of.get(k, ""), -1) for k in keys.tolist()), np.int64, len(keys)
        )
    train = names.index(train_split) if train_split in names else -2
    evl = names.index(eval_split) if eval_split in names else -3
    return out, train, evl


@dataclass
class _Candidates:
    """Candidate pairs (row indices into the key-sorted matrix) and their equal-slot counts."""

    left: npt.NDArray[np.signedinteger[Any]]
    right: npt.NDArray[np.signedinteger[Any]]
    matches: npt.NDArray[np.int32]
    big_buckets: list[I64]  # members (row indices, sorted) of buckets not compared all-pairs
    empty: npt.NDArray[np.bool_]  # per row: the signature is empty (a text without shingles)


class NearDupIndex:
    """Signatures by key, and near-duplicate clusters over them; never sees a text.

    Candidates are pairs sharing at least one LSH band (``config.bands`` bands of
    ``config.rows`` slots, bucketed by a 64-bit hash of the band); a candidate pair is an edge
    when its estimated Jaccard reaches the threshold; clusters are the connected components.
    Everything is computed on the rows sorted by key, so the result does not depend on the order
    of ``add`` calls.

    Big buckets: a bucket with more than 64 members is not compared all-pairs (thousands of
    articles sharing a site footer can share a band and would cost O(n**2)). Its members are
    compared, in key order, against up to 64 "leaders" - members that matched no earlier
    leader. A syndicated story copied a thousand times has one leader and costs one comparison
    per copy. What it gives up: two members that match each other but no leader are not joined
    *through this bucket*. They are still joined if they share any other band, which a pair at
    J=0.6 that shares this one does with probability 98.6 % (99.98 % at J=0.7), and big buckets
    are rare, so the recall given up is small; ``cross_split_audit`` does compare big buckets
    exhaustively, so such a pair would still be reported if it ended up across the split.

    Memory: signatures live in one key-sorted uint32 matrix (``num_perm * 4`` bytes per record)
    plus 8 bytes per key; records added since the last ``clusters()`` wait in a bytearray and
    merging them briefly holds both. Band hashes are computed one band at a time and not kept;
    the candidate pairs (24 bytes each) are kept for the audit. Given a ``folder``, the
    signatures go to a file there instead and are read through a memory map whose pages are
    released as they are read (:mod:`corpuskit.dedup.signature_file`): RAM then holds 9 bytes a
    record (key, empty flag) plus the candidate pairs and, while a band is hashed, ~40
    bytes a record of temporary arrays. That needs keys added in ascending order before the
    first ``clusters()`` (the planner's are); otherwise they are read into memory.
    """

    def __init__(self, config: NearDupConfig, folder: Path | None = None) -> None:
        self.config = config
        self._width = config.signature_bytes
        self._file = (
            SignatureFile(folder / "signatures.bin", self._width) if folder is not None else None
        )
        # Added since the last clusters()/audit: appended cheaply, merged on demand.
        self._pending_sigs = bytearray()
        self._pending_keys = array("q")
        # Everything merged so far, sorted by key, with the candidate pairs computed from it.
        self._keys: I64 = np.zeros(0, dtype=np.int64)
        self._matrix: U32 | MappedRows = np.zeros((0, config.num_perm), dtype=np.uint32)
        self._candidates_cache: _Candidates | None = None

    def __len__(self) -> int:
        return len(self._keys) + len(self._pending_keys)

    def add(self, key: int, signature: bytes) -> None:
        if len(signature) != self._width:
            raise ValueError(
                f"signature for key {key} has {len(signature)} bytes, expected {self._width} "
                f"(num_perm={self.config.num_perm}); was it made with the same NearDupConfig?"
            )
        try:
            checked = array("q", [key])
        except (OverflowError, TypeError):
            raise ValueError(
                f"near-dup keys must be ints that fit in 64 bits, got {key!r}"
            ) from None
        # The signature first: if writing it fails, no key is left without its row.
        if self._file is not None:
            self._file.append(signature)
        else:
            self._pending_sigs += signature
        self._pending_keys.extend(checked)

    def add_block(self, keys: I64, signatures: bytes) -> None:
        """Add ``len(keys)`` signatures given back to back in ``signatures``."""
        if len(signatures) != len(keys) * self._width:
            raise ValueError(
                f"{len(keys)} keys need {len(keys) * self._width} signature bytes "
                f"(num_perm={self.config.num_perm}), got {len(signatures)}"
            )
        if self._file is not None:
            self._file.append(signatures, rows=len(keys))
        else:
            self._pending_sigs += signatures
        self._pending_keys.frombytes(np.ascontiguousarray(keys, dtype=np.int64).tobytes())

    def add_many(self, keys: Sequence[int], sigs: Sequence[bytes]) -> None:
        """Batch form of add(), for a map-stage batch of results."""
        if len(keys) != len(sigs):
            raise ValueError(f"{len(keys)} keys but {len(sigs)} signatures")
        for key, sig in zip(keys, sigs, strict=True):
            self.add(key, sig)

    def close(self) -> None:
        """Let go of the signatures (the file and its memory map); the index is empty
        afterwards."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._keys = np.zeros(0, dtype=np.int64)
        self._matrix = np.zeros((0, self.config.num_perm), dtype=np.uint32)
        self._pending_sigs = bytearray()
        self._pending_keys = array("q")
        self._candidates_cache = None

    def memory_bytes(self) -> int:
        """Bytes held: signatures, keys, and candidate pairs cached for the audit."""
        total = sys.getsizeof(self._pending_sigs) + sys.getsizeof(self._pending_keys)
        total += self._keys.nbytes + self._matrix.nbytes
        cand = self._candidates_cache
        if cand is not None:
            total += cand.left.nbytes + cand.right.nbytes + cand.matches.nbytes
            total += sum(b.nbytes for b in cand.big_buckets)
        return total

    # -- candidates --------------------------------------------------------------------------

    def _prepared(self) -> tuple[I64, U32 | MappedRows, _Candidates]:
        if self._pending_keys or self._candidates_cache is None:
            if self._file is not None:
                mapped = self._file.mapped(self.config.num_perm)
                self._file = None  # later adds (if any) go to memory
                pending_keys = np.frombuffer(self._pending_keys, dtype=np.int64)
                if not len(self._keys) and _ascending(pending_keys):
                    self._keys, self._matrix = pending_keys.copy(), mapped
                    self._pending_keys = array("q")
                    self._candidates_cache = self._candidates(mapped)
                    return self._keys, self._matrix, self._candidates_cache
                self._pending_sigs = bytearray(mapped[:].tobytes())
            pending = np.frombuffer(self._pending_sigs, dtype="<u4")
            pending = pending.reshape(-1, self.config.num_perm)
            keys = np.concatenate([self._keys, np.frombuffer(self._pending_keys, dtype=np.int64)])
            merged = np.concatenate([self._matrix[:], pending]) if len(self._matrix) else pending
            if _ascending(keys):
                # Keys added in ascending order (the planner's content groups are): the
                # signatures are already in key order, and are used where they lie, not
                # copied (a copy is the global stage's largest allocation: 512 bytes an
                # article, 100 MB at 200k). The bytearray lives on as the view's base.
                matrix = merged.astype(np.uint32, copy=False)
            else:
                order = np.argsort(keys, kind="stable")
                keys = keys[order]
                matrix = merged[order].astype(np.uint32, copy=False)
            del pending, merged  # release the export so the bytearray can be cleared
            repeated = keys[1:][keys[1:] == keys[:-1]]
            if len(repeated):
                raise ValueError(
                    f"key {int(repeated[0])} was added more than once to the near-dup index"
                )
            self._keys, self._matrix = keys, matrix
            self._pending_sigs = bytearray()
            self._pending_keys = array("q")
            self._candidates_cache = None
            self._candidates_cache = self._candidates(matrix)
        return self._keys, self._matrix, self._candidates_cache

    def _band_keys(self, matrix: U32 | MappedRows, band: int, live: I64) -> U64:
        """The band's key of every live row, read ``_SCAN_ROWS`` rows at a time."""
        rows = self.config.rows
        out = np.empty(len(matrix), dtype=np.uint64)
        for s in range(0, len(matrix), _SCAN_ROWS):
            cols = matrix[s : s + _SCAN_ROWS, band * rows : (band + 1) * rows].astype(np.uint64)
            h = np.full(len(cols), np.uint64(band), dtype=np.uint64)
            for c in range(rows):
                h = fmix64(h * SHINGLE_MUL + cols[:, c])
            out[s : s + len(cols)] = h
        return out if len(live) == len(matrix) else out[live]

    def _candidates(self, matrix: U32 | MappedRows) -> _Candidates:
        n = len(matrix)
        empty = (
            np.concatenate(
                [
                    (matrix[s : s + _SCAN_ROWS] == EMPTY_SLOT).all(axis=1)
                    for s in range(0, n, _SCAN_ROWS)
                ]
            )
            if n
            else np.zeros(0, dtype=bool)
        )
        live = np.flatnonzero(~empty)
        min_matches = self.config.min_matches
        pair_codes: list[I64] = []
        leader_edges: list[tuple[I64, I64, I64]] = []
        big: dict[bytes, I64] = {}
        for band in range(self.config.bands):
            bk = self._band_keys(matrix, band, live)
            order = np.argsort(bk, kind="stable")  # ties stay in key order: deterministic
            sorted_bk = bk[order]
            members = live[order]
            new_run = np.ones(len(sorted_bk), dtype=bool)
            new_run[1:] = sorted_bk[1:] != sorted_bk[:-1]
            run_id = np.cumsum(new_run) - 1
            run_len = np.bincount(run_id)
            size = run_len[run_id]
            # Small buckets: every pair, found by comparing each member with the next d ones.
            small = (size >= 2) & (size <= _BIG_BUCKET)
            idx = np.flatnonzero(small)
            for d in range(1, _BIG_BUCKET):
                if len(idx) == 0:
                    break
                partner = idx + d
                ok = partner < len(sorted_bk)
                idx, partner = idx[ok], partner[ok]
                same = run_id[partner] == run_id[idx]
                idx, partner = idx[same], partner[same]
                a, b = members[idx], members[partner]
                pair_codes.append(np.minimum(a, b) * n + np.maximum(a, b))
            # Big buckets: members against leaders (see class docstring).
            for start in np.flatnonzero(new_run & (size > _BIG_BUCKET)):
                bucket = np.sort(members[start : start + int(size[start])])
                sig = bucket.tobytes()
                if sig in big:  # the same bucket again in another band: already handled
                    continue
                big[sig] = bucket
                leader_edges.append(_leader_edges(matrix, bucket, min_matches))
        codes = np.unique(np.concatenate(pair_codes)) if pair_codes else np.zeros(0, np.int64)
        left, right = codes // max(n, 1), codes % max(n, 1)
        matches = _count_matches(matrix, left, right)
        if leader_edges:
            left = np.concatenate([left, *(e[0] for e in leader_edges)])
            right = np.concatenate([right, *(e[1] for e in leader_edges)])
            matches = np.concatenate([matches, *(e[2] for e in leader_edges)])
        # Kept for the whole global stage (the audit reads them again): 4-byte rows and
        # counts halve them (1.6M pairs, 37 MB -> 19 MB at 200k articles).
        narrow = np.int32 if n < 2**31 else np.int64
        return _Candidates(
            left.astype(narrow),
            right.astype(narrow),
            matches.astype(np.int32),
            list(big.values()),
            empty,
        )

    # -- results -----------------------------------------------------------------------------

    def similarity(self, key_a: int, key_b: int) -> float:
        """Estimated Jaccard of two added keys, read from the index's own copy of the
        signatures (callers need not keep a second one)."""
        keys, matrix, _ = self._prepared()
        rows = np.searchsorted(keys, [key_a, key_b])
        if (rows >= len(keys)).any() or keys[rows[0]] != key_a or keys[rows[1]] != key_b:
            raise KeyError(f"keys {key_a} and {key_b} must both have been added")
        return estimate_jaccard(matrix[rows[0]].tobytes(), matrix[rows[1]].tobytes())

    def similarities(self, keys_a: I64, keys_b: I64) -> npt.NDArray[np.float64]:
        """Estimated Jaccard of each pair ``(keys_a[i], keys_b[i])`` of added keys, vectorised
        (0 where either signature is empty, as in :func:`estimate_jaccard`)."""
        keys, matrix, cand = self._prepared()
        if len(keys_a) == 0:
            return np.zeros(0, dtype=np.float64)
        ra, rb = np.searchsorted(keys, keys_a), np.searchsorted(keys, keys_b)
        if (
            (ra >= len(keys)).any()
            or (rb >= len(keys)).any()
            or ((keys[ra] != keys_a).any() or (keys[rb] != keys_b).any())
        ):
            raise KeyError("every key must have been added to the near-dup index")
        matches = _count_matches(matrix, ra, rb).astype(np.float64)
        # Emptiness per row was found once; gathering the rows again here held every
        # pair's two signatures at once (270 MB for 500k containment candidates).
        empty = cand.empty[ra] | cand.empty[rb]
        return np.where(empty, 0.0, matches / self.config.num_perm)

    def clusters(self, min_similarity: float | None = None) -> list[list[int]]:
        """Connected components (size >= 2) of candidate pairs with estimated J >= threshold
        (or ``min_similarity``, e.g. the looser bar used to group records for the split)."""
        keys, _, cand = self._prepared()
        bar = (
            self.config.min_matches
            if min_similarity is None
            else self.config.matches_for(min_similarity)
        )
        edge = cand.matches >= bar
        labels = components(len(keys), cand.left[edge], cand.right[edge])
        rows = np.flatnonzero(labels >= 0)  # rows in key order, so each cluster comes out sorted
        if len(rows) == 0:
            return []
        rows = rows[np.argsort(labels[rows], kind="stable")]
        sorted_labels = labels[rows]
        starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
        bounds = np.r_[starts, len(rows)].tolist()
        out = [keys[rows[a:b]].tolist() for a, b in itertools.pairwise(bounds)]
        out.sort(key=lambda c: c[0])
        return out

    def cross_split_audit(
        self,
        split_of: Mapping[int, str] | SplitCodes,
        *,
        train_split: str = "train",
        eval_split: str = "eval",
    ) -> AuditResult:
        """Check a split for near-duplicates on both sides, independently of how it was made.

        Looks at every candidate pair (every pair sharing an LSH band) whose keys are in
        different splits: the highest estimated Jaccard among them, and how many eval keys have
        a train key at or above the threshold. Keys missing from ``split_of`` (records dropped
        after clustering) are ignored. Big buckets are compared exhaustively across splits here,
        not through leaders, up to 4 M pairs per bucket; beyond that only a prefix of the
        bucket's train members is compared and ``complete`` is False.
        """
        keys, matrix, cand = self._prepared()
        split, train, evl = split_codes(split_of, keys, train_split, eval_split)

        lefts: list[npt.NDArray[np.signedinteger[Any]]] = [cand.left]
        rights: list[npt.NDArray[np.signedinteger[Any]]] = [cand.right]
        matches: list[npt.NDArray[np.signedinteger[Any]]] = [cand.matches]
        complete = True
        for bucket in cand.big_buckets:
            bsplit = split[bucket]
            for s in np.unique(bsplit[bsplit >= 0]).tolist():
                mine = bucket[bsplit == s]
                others = bucket[(bsplit >= 0) & (bsplit > s)]
                if len(mine) == 0 or len(others) == 0:
                    continue
                budget = max(1, _AUDIT_BUCKET_BUDGET // len(mine))
                if len(others) > budget:
                    others, complete = others[:budget], False
                a = np.repeat(mine, len(others))
                b = np.tile(others, len(mine))
                lefts.append(a)
                rights.append(b)
                matches.append(_count_matches(matrix, a, b))
        left = np.concatenate(lefts).astype(np.int64)  # lo * n + hi below needs 64 bits
        right = np.concatenate(rights).astype(np.int64)
        m = np.concatenate(matches).astype(np.int64)
        sl, sr = split[left], split[right]
        cross = (sl >= 0) & (sr >= 0) & (sl != sr)
        left, right, m, sl, sr = left[cross], right[cross], m[cross], sl[cross], sr[cross]
        # Leader pairs and exhaustive big-bucket pairs can repeat a small-bucket pair.
        lo, hi = np.minimum(left, right), np.maximum(left, right)
        _, first = np.unique(lo * max(len(keys), 1) + hi, return_index=True)
        left, right, m, sl, sr = left[first], right[first], m[first], sl[first], sr[first]

        num_perm = self.config.num_perm
        leak = (m >= self.config.min_matches) & (
            ((sl == evl) & (sr == train)) | ((sl == train) & (sr == evl))
        )
        eval_side = np.where(sl == evl, left, right)[leak]
        train_side = np.where(sl == evl, right, left)[leak]
        leak_matches = m[leak]
        worst = np.lexsort((keys[train_side], keys[eval_side], -leak_matches))[:10]
        examples = tuple(
            (int(keys[eval_side[i]]), int(keys[train_side[i]]), int(leak_matches[i]) / num_perm)
            for i in worst.tolist()
        )
        return AuditResult(
            pairs_checked=len(m),
            max_cross_similarity=float(m.max()) / num_perm if len(m) else 0.0,
            eval_with_train_copy=len(np.unique(eval_side)),
            threshold=self.config.threshold,
            complete=complete,
            examples=examples,
        )


def _ascending(keys: I64) -> bool:
    return len(keys) < 2 or bool((keys[1:] > keys[:-1]).all())


def _count_matches(matrix: U32 | MappedRows, left: I64, right: I64) -> I64:
    """Equal slots per pair, in chunks so gathering signatures never needs much memory."""
    out = np.empty(len(left), dtype=np.int64)
    for s in range(0, len(left), _VERIFY_CHUNK):
        a = matrix[left[s : s + _VERIFY_CHUNK]]
        b = matrix[right[s : s + _VERIFY_CHUNK]]
        out[s : s + _VERIFY_CHUNK] = np.count_nonzero(a == b, axis=1)
    return out


def _leader_edges(matrix: U32 | MappedRows, bucket: I64, min_matches: int) -> tuple[I64, I64, I64]:
    """Verified edges between a big bucket's members and its greedy leaders (key order)."""
    leaders: list[int] = [int(bucket[0])]
    lefts: list[I64] = []
    rights: list[I64] = []
    counts: list[I64] = []
    for s in range(1, len(bucket), _LEADER_BLOCK):
        block = bucket[s : s + _LEADER_BLOCK]
        lead = np.asarray(leaders, dtype=np.int64)
        m = np.count_nonzero(matrix[block][:, None, :] == matrix[lead][None, :, :], axis=2)
        bi, li = np.nonzero(m >= min_matches)
        lefts.append(lead[li])
        rights.append(block[bi])
        counts.append(m[bi, li])
        if len(leaders) >= _MAX_LEADERS:
            continue
        n_before = len(leaders)
        for member in block[~(m >= min_matches).any(axis=1)].tolist():
            new = np.asarray(leaders[n_before:], dtype=np.int64)
            if len(new):
                mm = np.count_nonzero(matrix[new] == matrix[member], axis=1)
                hit = mm >= min_matches
                if hit.any():
                    lefts.append(new[hit])
                    rights.append(np.full(int(hit.sum()), member, dtype=np.int64))
                    counts.append(mm[hit])
                    continue
            if len(leaders) < _MAX_LEADERS:
                leaders.append(member)
    if not lefts:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    return (
        np.concatenate(lefts).astype(np.int64),
        np.concatenate(rights).astype(np.int64),
        np.concatenate(counts).astype(np.int64),
    )


def components(n: int, left: I64, right: I64) -> I64:
    """Component label (smallest row index) of every row that has an edge; -1 for the rest.

    Hook-and-jump union-find in numpy: each round hooks every edge's larger root under its
    smaller one, then compresses paths fully; a few rounds suffice even for long chains, and
    there is no per-edge Python loop.
    """
    parent = np.arange(n, dtype=np.int64)
    while len(left):
        pl, pr = parent[left], parent[right]
        differ = pl != pr
        if not differ.any():
            break
        lo, hi = np.minimum(pl, pr)[differ], np.maximum(pl, pr)[differ]
        np.minimum.at(parent, hi, lo)
        while True:
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
    touched = np.zeros(n, dtype=bool)
    touched[left] = True
    touched[right] = True
    return np.where(touched, parent, -1)
