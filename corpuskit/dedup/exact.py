"""Exact duplicates, global-stage half: content hashes to content groups, in flat arrays.

A record's content hash (128-bit BLAKE2b of its normalised text, made in the map stage)
names its content group; the global stage numbers groups 0, 1, 2, … in the order their
first record arrives. A Python ``dict`` from hash to group costs ~150 bytes a text in
small objects that scatter over the allocator's arenas (measured: ~45 MB more resident at
200k articles than the objects themselves); this table costs ~48 bytes a text in three
arrays and looks a whole batch up at once.

The table is open addressing with linear probing over the hashes' first 8 bytes (already
uniform: they are hash output), kept at most half full; a slot holds a group number, and
a candidate matches when all 16 bytes of that group's hash are equal.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from corpuskit.tokens import I64

#: Bytes of a content hash.
DIGEST_BYTES = 16
_U64 = npt.NDArray[np.uint64]


class ContentGroups:
    """Numbers distinct 16-byte content hashes in order of first appearance."""

    def __init__(self) -> None:
        self._hashes: _U64 = np.zeros((1024, 2), dtype=np.uint64)  # per group, grown ×2
        self._count = 0
        self._table: I64 = np.full(2048, -1, dtype=np.int64)  # slot -> group, -1 free

    def __len__(self) -> int:
        return self._count

    def nbytes(self) -> int:
        return int(self._hashes.nbytes + self._table.nbytes)

    def assign(self, digests: bytes) -> tuple[I64, npt.NDArray[np.bool_]]:
        """Groups of a batch of records, given their hashes back to back (16 bytes each):
        (each record's group; True where a record is the first of its group ever seen).
        Raises ValueError when ``digests`` is not a whole number of hashes."""
        if len(digests) % DIGEST_BYTES:
            raise ValueError(f"content hashes must be {DIGEST_BYTES} bytes each")
        rows = np.frombuffer(digests, dtype="<u8").reshape(-1, 2)
        n = len(rows)
        if n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
        # Distinct hashes of the batch, in order of first appearance.
        _, first, inverse = np.unique(
            np.ascontiguousarray(rows).view("V16").ravel(), return_index=True, return_inverse=True
        )
        order = np.argsort(first, kind="stable")
        rank = np.empty(len(first), dtype=np.int64)
        rank[order] = np.arange(len(first))
        distinct = rows[first[order]]
        found = self._lookup(distinct)
        absent = np.flatnonzero(found < 0)
        found[absent] = self._count + np.arange(len(absent))
        self._insert(distinct[absent], found[absent])
        groups: I64 = found[rank[inverse.ravel()]]
        new = np.zeros(n, dtype=bool)
        new[first[order][absent]] = True
        return groups, new

    def _lookup(self, keys: _U64) -> I64:
        """The group of each hash, -1 where it has none."""
        mask = np.uint64(len(self._table) - 1)
        out = np.full(len(keys), -1, dtype=np.int64)
        pos = (keys[:, 0] & mask).astype(np.int64)
        todo = np.arange(len(keys))
        while len(todo):
            slot = self._table[pos[todo]]
            used = slot >= 0
            held = self._hashes[np.where(used, slot, 0)]
            match = used & (held[:, 0] == keys[todo, 0]) & (held[:, 1] == keys[todo, 1])
            out[todo[match]] = slot[match]
            todo = todo[used & ~match]  # a free slot ends the probe: absent
            pos[todo] = (pos[todo] + 1) % len(self._table)
        return out

    def _insert(self, keys: _U64, groups: I64) -> None:
        """Add new hashes (distinct, not yet present) as ``groups`` (the next numbers)."""
        if not len(keys):
            return
        need = self._count + len(keys)
        if need > len(self._hashes):
            grown = np.zeros((max(need, 2 * len(self._hashes)), 2), dtype=np.uint64)
            grown[: self._count] = self._hashes[: self._count]
            self._hashes = grown
        self._hashes[groups] = keys
        self._count = need
        if 2 * need > len(self._table):
            # Rebuild at a quarter full: every hash so far goes into the larger table.
            size = len(self._table)
            while 4 * need > size:
                size *= 2
            self._table = np.full(size, -1, dtype=np.int64)
            keys, groups = self._hashes[:need], np.arange(need)
        self._place(keys, groups)

    def _place(self, keys: _U64, groups: I64) -> None:
        """Put each key in the first free slot on its probe path; keys racing for one slot
        are settled by batch order, the rest probe on."""
        size = len(self._table)
        pos = (keys[:, 0] & np.uint64(size - 1)).astype(np.int64)
        todo = np.arange(len(keys))
        while len(todo):
            p = pos[todo]
            free = self._table[p] < 0
            claims, first = np.unique(p[free], return_index=True)
            winners = todo[free][first]
            self._table[claims] = groups[winners]
            placed = np.zeros(len(keys), dtype=bool)
            placed[winners] = True
            todo = todo[~placed[todo]]
            pos[todo] = (pos[todo] + 1) % size
