"""The global stage: from small per-record keys to every record's fate.

Input: one ``Keys`` per kept-so-far record (id, content hash, length, MinHash signature,
group value) — never texts. Output: for each record, either its split and near-duplicate
cluster, or the record it duplicates. Exact duplicates collapse first (identical normalised
text ⇒ identical signature, so one signature per content hash enters the LSH index), then
near-duplicate clusters form over those, then whole clusters (or whole ``--group-by``
groups joined by clusters) are assigned to a split.

Memory: the planner holds flat arrays, not an object per record: ~60 bytes a record (id,
sequence number, content group, length, line, and codes for file, language and group
value), ~100 bytes per distinct text (its content hash in a dict, its shingle count and
paragraph keys) and the near-duplicate index's 9 bytes (its signatures are on disk). The
decisions are made on those arrays; the ``Plan`` keeps ~14 bytes a record.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from corpuskit import split as splitting
from corpuskit.config import NearDupConfig
from corpuskit.dedup import NearDupIndex
from corpuskit.dedup.containment import CONTAINED, ContainmentIndex
from corpuskit.dedup.exact import ContentGroups
from corpuskit.dedup.index import SplitCodes, components
from corpuskit.ids import ID_CHARS
from corpuskit.record import KeyBatch, Keys
from corpuskit.tokens import I64

DROPPED = 2  # fate code after the split codes (0 = SPLITS[0], 1 = SPLITS[1])
UNDECIDED = 3  # rejected in the map stage: never reaches the write stage
#: Why a record was dropped, by ``Plan.kind`` code (0: not dropped).
KINDS = ("", "exact", "near")

_ID = np.dtype(f"S{ID_CHARS}")


@dataclass
class Plan:
    """Every record's fate, in arrays indexed by sequence number.

    ``fate[seq]``: a split code (index into ``split.SPLITS``), ``DROPPED``, or ``UNDECIDED``
    for a sequence number that never reached the plan (a reject). ``target[seq]``: for a kept
    record, the record whose id names its near-duplicate cluster; for a dropped one, the
    record it duplicates (both as an index into ``ids``). ``kind[seq]`` indexes ``KINDS``;
    ``similarity[seq]`` is the estimated Jaccard with that record (1.0 for exact).
    """

    fate: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))
    target: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    kind: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, np.int8))
    similarity: npt.NDArray[np.float32] = field(default_factory=lambda: np.zeros(0, np.float32))
    ids: npt.NDArray[np.bytes_] = field(default_factory=lambda: np.zeros(0, _ID))
    exact_duplicates: int = 0
    near_duplicates: int = 0
    clusters: int = 0
    clustered_records: int = 0
    split_pinned: int = 0  # groups whose split --previous decided
    split_forced: int = 0  # groups moved by the stratification or the no-empty-split rule
    split_conflicts: int = 0  # groups whose pinned members were published in both splits
    # (id, pinned split, group's split): published articles that would have moved because
    # their group joined another, held in place by --previous.
    held: list[tuple[str, str, str]] = field(default_factory=list)
    index_bytes: int = 0
    near_dup_seconds: float = 0.0  # LSH clustering and the audit, for the report
    containment_seconds: float = 0.0  # of which containment: candidates, checks, audit
    containment_pairs: int = 0  # pairs joined for the split because one contains the other
    audit: object | None = None

    def target_ids(self, seqs: I64) -> pa.Array:
        """The ids of ``target[seqs]`` (cluster ids of kept records, the duplicated record's
        id of dropped ones) as an Arrow string array."""
        return pa.array(self.ids[self.target[seqs]]).cast(pa.string())


class _Codes:
    """Distinct strings numbered in order of first appearance."""

    def __init__(self) -> None:
        self.code: dict[str, int] = {}
        self.values: list[str] = []

    def __call__(self, value: str) -> int:
        code = self.code.get(value)
        if code is None:
            code = self.code[value] = len(self.values)
            self.values.append(value)
        return code

    def ranks(self) -> I64:
        """Each code's rank in the sorted order of the strings."""
        order = sorted(range(len(self.values)), key=self.values.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        return rank


class Planner:
    """Collects keys as the map stage produces them, then decides."""

    def __init__(
        self,
        near: NearDupConfig,
        near_policy: str,
        eval_ratio: float,
        seed: int,
        stratify: bool = False,
        folder: Path | None = None,
    ):
        """``folder``: where the near-duplicate index may keep its signatures on disk
        (see ``NearDupIndex``); None keeps them in memory."""
        self.stratify = stratify
        self.near = near
        self.near_policy = near_policy
        self.eval_ratio = eval_ratio
        self.seed = seed
        self._index = NearDupIndex(near, folder) if near.enabled else None
        self._containment = ContainmentIndex() if near.enabled else None
        self._reset()

    def _reset(self) -> None:
        self._groups = ContentGroups()  # content hash -> content group
        # Per record, in arrival order (the map stage's input order).
        self._ids = bytearray()
        self._seq = array("q")
        self._group = array("q")
        self._chars = array("q")
        self._line = array("q")
        self._file = array("i")
        self._language = array("i")
        self._value = array("i")  # --group-by value code, -1 for none
        self._files = _Codes()
        self._languages = _Codes()
        self._values = _Codes()

    def add(self, keys: Iterable[Keys]) -> None:
        """Take keys one by one (see :meth:`add_batch`)."""
        self.add_batch(KeyBatch.from_keys(list(keys)))

    def add_batch(self, batch: KeyBatch) -> None:
        """Take one batch's keys. Raises ValueError for ids that are not ``ID_CHARS``
        ASCII characters each."""
        if len(batch.ids) != ID_CHARS * len(batch):
            raise ValueError(f"record ids must be {ID_CHARS} ASCII characters each")
        groups, new = self._groups.assign(batch.digests)
        # A text's first record brings its signature (and containment keys) into the
        # index; its later copies only join its group.
        first = np.flatnonzero(new & batch.has_signature)
        if len(first) and self._index is not None:
            rows = np.cumsum(batch.has_signature) - 1  # record -> its signature's row
            width = self._index.config.signature_bytes
            sigs = np.frombuffer(batch.signatures, dtype=np.uint8).reshape(-1, width)
            self._index.add_block(groups[first], sigs[rows[first]].tobytes())
            if self._containment is not None:
                owner = np.repeat(np.arange(len(batch)), batch.paragraph_counts)
                paragraphs = np.frombuffer(batch.paragraphs, dtype="<u8")
                self._containment.add_block(
                    groups[first],
                    batch.paragraph_counts[first],
                    paragraphs[np.isin(owner, first)].tobytes(),
                    batch.num_shingles[first],
                )
        self._ids += batch.ids
        for column, values in (
            (self._seq, batch.seq),
            (self._group, groups),
            (self._chars, batch.num_chars),
            (self._line, batch.line),
        ):
            column.frombytes(np.ascontiguousarray(values, dtype=np.int64).tobytes())
        for column, codes, names, table in (
            (self._file, batch.file, batch.files, self._files),
            (self._language, batch.language, batch.languages, self._languages),
            (self._value, batch.value, batch.values, self._values),
        ):
            # The batch numbers its strings; map them to the planner's numbers (-1 stays).
            renumber = np.array([*(table(name) for name in names), -1], dtype=np.int32)
            column.frombytes(renumber[codes].tobytes())

    def close(self) -> None:
        """Let go of the keys and the near-duplicate index (its signature file and memory
        map); a plan already made keeps what it needs."""
        if self._index is not None:
            self._index.close()
        self._reset()

    def decide(self, pins: Mapping[str, str] | None = None) -> Plan:
        pins = pins or {}
        n_groups = len(self._groups)
        seq = np.frombuffer(self._seq, dtype=np.int64)
        group = np.frombuffer(self._group, dtype=np.int64)
        ids = np.frombuffer(self._ids, dtype=_ID) if self._ids else np.zeros(0, _ID)
        pinned = (
            np.fromiter((i.decode() in pins for i in ids), dtype=bool, count=len(ids))
            if pins
            else np.zeros(len(ids), dtype=bool)
        )
        # 1. exact duplicates: the smallest (id, file, line) of a content group is kept, and
        # a published article (pinned by --previous) before any other. lexsort is stable:
        # full ties stay in arrival order.
        file_rank = self._files.ranks()[np.frombuffer(self._file, dtype=np.int32)]
        line = np.frombuffer(self._line, dtype=np.int64)
        order = np.lexsort((line, file_rank, ids, ~pinned, group))
        first = np.ones(len(order), dtype=bool)
        first[1:] = group[order][1:] != group[order][:-1]
        rep: I64 = order[first]  # per content group, its kept record
        rep_ids, rep_pinned = ids[rep], pinned[rep]
        rep_chars = np.frombuffer(self._chars, dtype=np.int64)[rep]
        # Groups by their representative's id: a cluster's id is its smallest one, so
        # labels are id ranks and "smallest id" is "smallest label".
        by_id = np.argsort(rep_ids, kind="stable")
        rank = np.empty(n_groups, dtype=np.int64)
        rank[by_id] = np.arange(n_groups)
        plan = Plan()
        # 2. near-duplicate clusters over content groups.
        t0 = time.perf_counter()
        clusters = self._index.clusters() if self._index is not None else []
        plan.index_bytes = self._index.memory_bytes() if self._index is not None else 0
        plan.near_dup_seconds += time.perf_counter() - t0
        plan.clusters = len(clusters)
        plan.clustered_records = sum(len(c) for c in clusters)
        keeper = np.arange(n_groups)
        cluster = rank.copy()  # per group, its cluster's label
        for members in clusters:
            m = np.asarray(members, dtype=np.int64)
            cluster[m] = rank[m].min()
            if self.near_policy == "drop":
                # A published article (pinned by --previous) stays the representative, so
                # a rebuild does not swap it for a new, longer copy.
                keeper[m] = m[np.lexsort((rank[m], -rep_chars[m], ~rep_pinned[m]))[0]]
        # 3. split groups: near clusters joined at a looser bar (see NearDupConfig
        # .split_margin), then optionally by --group-by values joined through those.
        split_label = cluster.copy()
        if self._index is not None and self.near.split_margin > 0:
            t0 = time.perf_counter()
            loose = self._index.clusters(max(self.near.threshold - self.near.split_margin, 0.0))
            plan.near_dup_seconds += time.perf_counter() - t0
            for members in loose:
                m = np.asarray(members, dtype=np.int64)
                split_label[m] = cluster[m].min()
        if self._index is not None and self._containment is not None and self.near.containment:
            # An article >= 80 % contained in another goes where that one goes.
            t0 = time.perf_counter()
            contained = self._containment.pairs(self._index).at_least(self.near.containment)
            split_label = _joined(split_label, contained.a, contained.b)
            plan.containment_pairs = len(contained.a)
            plan.near_dup_seconds += time.perf_counter() - t0
            plan.containment_seconds = time.perf_counter() - t0
        label_id = rep_ids[by_id]  # label -> the id it stands for
        values = np.frombuffer(self._value, dtype=np.int32)[rep]
        if (values >= 0).any():
            key_of, names = self._group_keys(values, label_id[split_label])
        else:
            # The split key of a group is its label's id; keys in sorted order are labels.
            names_of = np.unique(split_label)
            key_of = np.searchsorted(names_of, split_label)
            names = (label_id[label].decode() for label in names_of.tolist())
        key_pins: dict[int, list[str]] = {}
        for r in np.flatnonzero(pinned).tolist():
            key_pins.setdefault(int(key_of[group[r]]), []).append(pins[ids[r].decode()])
        strata = None
        if self.stratify:
            # A key's stratum is the language of its smallest-id group: deterministic.
            language = np.frombuffer(self._language, dtype=np.int32)[rep]
            first_of_key = np.unique(key_of[by_id], return_index=True)[1]
            strata = language[by_id[first_of_key]].astype(np.int64)
        decided = splitting.assign_indexed(names, self.eval_ratio, self.seed, key_pins, strata)
        plan.split_pinned = decided.pinned
        plan.split_forced = len(decided.forced)
        plan.split_conflicts = len(decided.conflicts)
        group_split = decided.codes[key_of]
        # 4. fates.
        self._fates(
            plan, seq, group, ids, pins, pinned, rep, keeper, group_split, rep[by_id][cluster]
        )
        if self._index is not None:
            self._audit(plan, rep, seq, keeper)
        return plan

    def _fates(
        self,
        plan: Plan,
        seq: I64,
        group: I64,
        ids: npt.NDArray[np.bytes_],
        pins: Mapping[str, str],
        pinned: npt.NDArray[np.bool_],
        rep: I64,
        keeper: I64,
        group_split: npt.NDArray[np.int8],
        named_by: I64,
    ) -> None:
        """Fill ``plan``'s arrays. Per record: ``pinned`` (its id is in ``pins``). Per
        content group: ``rep`` its kept record, ``keeper`` the group kept in its place,
        ``group_split`` its split code, ``named_by`` the record whose id names its
        cluster."""
        size = int(seq.max()) + 1 if len(seq) else 0
        plan.fate = np.full(size, UNDECIDED, dtype=np.int8)
        plan.target = np.full(size, -1, dtype=np.int64)
        plan.kind = np.zeros(size, dtype=np.int8)
        plan.similarity = np.zeros(size, dtype=np.float32)
        plan.ids = ids.copy()
        is_rep = np.zeros(len(seq), dtype=bool)
        is_rep[rep] = True
        keeps = keeper[group]
        own = keeps == group
        kept, exact, near = own & is_rep, own & ~is_rep, ~own
        # Kept: the group's split, but a published article never moves: its pin wins even
        # over its group's split (a conflict, when a new article bridged groups published
        # apart; the leakage audit then shows any pair that straddles the split).
        kept_records = np.flatnonzero(kept)
        split = group_split[group[kept_records]]
        for i in np.flatnonzero(pinned[kept_records]).tolist():
            rid = ids[kept_records[i]].decode()
            grouped = splitting.SPLITS[split[i]]
            split[i] = splitting.SPLITS.index(pins[rid])
            if pins[rid] != grouped:
                plan.held.append((rid, pins[rid], grouped))
        plan.fate[seq[kept]] = split
        plan.target[seq[kept]] = named_by[group[kept]]
        plan.fate[seq[exact]] = DROPPED
        plan.kind[seq[exact]] = KINDS.index("exact")
        plan.target[seq[exact]] = rep[group[exact]]
        plan.similarity[seq[exact]] = 1.0
        plan.exact_duplicates = int(exact.sum())
        plan.fate[seq[near]] = DROPPED
        plan.kind[seq[near]] = KINDS.index("near")
        plan.target[seq[near]] = rep[keeps[near]]
        if self._index is not None and near.any():
            plan.similarity[seq[near]] = self._index.similarities(group[near], keeps[near])
        plan.near_duplicates = int(near.sum())

    def _audit(self, plan: Plan, rep: I64, seq: I64, keeper: I64) -> None:
        """The leakage audit over the kept texts, where each really went (a pin can hold a
        record against its group)."""
        assert self._index is not None
        codes = np.full(len(rep), -1, dtype=np.int8)
        own = keeper == np.arange(len(rep))
        codes[own] = plan.fate[seq[rep[own]]]
        split_by_group = SplitCodes(codes, splitting.SPLITS)
        t0 = time.perf_counter()
        audit = self._index.cross_split_audit(split_by_group)
        if self._containment is not None:
            t1 = time.perf_counter()
            bar = self.near.containment or CONTAINED
            checked, worst, leaked = self._containment.audit(
                self._index, split_by_group, threshold=bar
            )
            audit = replace(
                audit,
                containment_pairs_checked=checked,
                max_eval_in_train_containment=round(worst, 4),
                eval_contained_in_train=leaked,
                containment_threshold=bar,
            )
            plan.containment_seconds += time.perf_counter() - t1
        plan.audit = audit
        plan.near_dup_seconds += time.perf_counter() - t0

    def _group_keys(
        self, values: npt.NDArray[np.int32], label_ids: npt.NDArray[np.bytes_]
    ) -> tuple[I64, Iterator[str]]:
        """Per content group, the number of the key that decides its split, and the keys
        in sorted order: --group-by values joined through the clusters that span them."""
        # Union-find over group values: a cluster spanning two sources joins them.
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        names = self._values.values
        value = [
            f"={names[v]}" if v >= 0 else f"#{c.decode()}"
            for v, c in zip(values.tolist(), label_ids.tolist(), strict=True)
        ]
        by_cluster: dict[bytes, str] = {}
        for v, c in zip(value, label_ids.tolist(), strict=True):
            find(v)
            a, b = find(by_cluster.setdefault(c, v)), find(v)
            if a != b:
                lo, hi = sorted((a, b))
                parent[hi] = lo
        keys = [find(v) for v in value]
        distinct = sorted(set(keys))
        number = {k: i for i, k in enumerate(distinct)}
        return np.array([number[k] for k in keys], dtype=np.int64), iter(distinct)


def _joined(labels: I64, left: I64, right: I64) -> I64:
    """``labels`` (per key) with the label sets of each ``(left[i], right[i])`` key pair
    merged: every label of a connected set becomes its smallest (deterministic,
    order-free)."""
    if not len(left):
        return labels
    ends = np.concatenate([labels[left], labels[right]])
    distinct, inverse = np.unique(ends, return_inverse=True)
    # components() labels a set by its smallest index; distinct is sorted, so that is the
    # set's smallest label.
    root = components(len(distinct), inverse[: len(left)], inverse[len(left) :])
    joined: I64 = labels.copy()
    touched = np.isin(labels, distinct)
    joined[touched] = distinct[root[np.searchsorted(distinct, labels[touched])]]
    return joined
