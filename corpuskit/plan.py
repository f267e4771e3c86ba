"""The global stage: from small per-record keys to every record's fate.

Input: one ``Keys`` per kept-so-far record (id, content hash, length, MinHash signature,
group value) — never texts. Output: for each record, either its split and near-duplicate
cluster, or the record it duplicates. Exact duplicates collapse first (identical normalised
text ⇒ identical signature, so one signature per content hash enters the LSH index), then
near-duplicate clusters form over those, then whole clusters (or whole ``--group-by``
groups joined by clusters) are assigned to a split.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from corpuskit import split as splitting
from corpuskit.config import NearDupConfig
from corpuskit.dedup import NearDupIndex
from corpuskit.dedup.containment import CONTAINED, ContainmentIndex
from corpuskit.record import Keys


@dataclass(frozen=True)
class Dropped:
    duplicate_of: str
    kind: str  # "exact" | "near"
    similarity: float


DROPPED = 2  # fate code after the split codes (0 = SPLITS[0], 1 = SPLITS[1])
UNDECIDED = 3  # rejected in the map stage: never reaches the write stage


@dataclass
class Plan:
    """Every record's fate, by sequence number."""

    split_of: dict[int, str] = field(default_factory=dict)
    cluster_of: dict[int, str] = field(default_factory=dict)
    dropped: dict[int, Dropped] = field(default_factory=dict)
    exact_duplicates: int = 0
    near_duplicates: int = 0
    clusters: int = 0
    clustered_records: int = 0
    split_plan: splitting.SplitPlan | None = None
    # (id, pinned split, group's split): published articles that would have moved because
    # their group joined another, held in place by --previous.
    held: list[tuple[str, str, str]] = field(default_factory=list)
    index_bytes: int = 0
    near_dup_seconds: float = 0.0  # LSH clustering and the audit, for the report
    containment_seconds: float = 0.0  # of which containment: candidates, checks, audit
    containment_pairs: int = 0  # pairs joined for the split because one contains the other
    audit: object | None = None

    def arrays(self) -> tuple[np.ndarray, dict[int, str], dict[int, str], np.ndarray]:
        """Fates as a seq-indexed array (split code or DROPPED) for vectorised writing, plus
        the dropped records' target, kind and similarity."""
        size = 1 + max([*self.split_of, *self.dropped], default=-1)
        fate = np.full(size, UNDECIDED, dtype=np.int8)
        for seq, split in self.split_of.items():
            fate[seq] = splitting.SPLITS.index(split)
        similarity = np.zeros(size, dtype=np.float32)
        dup_of: dict[int, str] = {}
        kind: dict[int, str] = {}
        for seq, drop in self.dropped.items():
            fate[seq] = DROPPED
            dup_of[seq] = drop.duplicate_of
            kind[seq] = drop.kind
            similarity[seq] = drop.similarity
        return fate, dup_of, kind, similarity


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
        self._group_of_hash: dict[str, int] = {}
        self._members: list[list[Keys]] = []  # per content group
        self._index = NearDupIndex(near, folder) if near.enabled else None
        self._containment = ContainmentIndex() if near.enabled else None

    def add(self, keys: Iterable[Keys]) -> None:
        for k in keys:
            g = self._group_of_hash.get(k.content_hash)
            if g is None:
                g = self._group_of_hash[k.content_hash] = len(self._members)
                self._members.append([])
                if self._index is not None and k.signature is not None:
                    self._index.add(g, k.signature)
                    if self._containment is not None:
                        self._containment.add(g, k.paragraphs, k.num_shingles)
            # Only the fields the decisions need; the signature lives once per group.
            self._members[g].append(
                Keys(
                    k.seq,
                    k.id,
                    "",
                    k.num_chars,
                    sys.intern(k.language),
                    k.group,
                    sys.intern(k.file),
                    k.line,
                    None,
                )
            )

    def close(self) -> None:
        """Let go of the near-duplicate index (its signature file and memory map)."""
        if self._index is not None:
            self._index.close()

    def decide(self, pins: Mapping[str, str] | None = None) -> Plan:
        plan = Plan()
        pins = pins or {}
        # 1. exact duplicates: the smallest (id, file, line) of a content group is kept.
        reps: list[Keys] = []
        for members in self._members:
            # A published article (pinned by --previous) stays the kept copy.
            members.sort(key=lambda m: (m.id not in pins, m.id, m.file, m.line or 0))
            reps.append(members[0])
        # 2. near-duplicate clusters over content groups.
        t0 = time.perf_counter()
        clusters = self._index.clusters() if self._index is not None else []
        plan.index_bytes = self._index.memory_bytes() if self._index is not None else 0
        plan.near_dup_seconds += time.perf_counter() - t0
        plan.clusters = len(clusters)
        plan.clustered_records = sum(len(c) for c in clusters)
        # keeper group per content group, and the cluster id per content group
        keeper: list[int] = list(range(len(self._members)))
        cluster_id: list[str] = [r.id for r in reps]
        for groups in clusters:
            cid = min(reps[g].id for g in groups)
            # A published article (pinned by --previous) stays the representative, so a
            # rebuild does not swap it for a new, longer copy.
            best = min(
                groups, key=lambda g: (reps[g].id not in pins, -reps[g].num_chars, reps[g].id)
            )
            for g in groups:
                cluster_id[g] = cid
                if self.near_policy == "drop":
                    keeper[g] = best
        # 3. split groups: near clusters joined at a looser bar (see NearDupConfig
        # .split_margin), then optionally by --group-by values joined through those.
        split_cluster = list(cluster_id)
        if self._index is not None and self.near.split_margin > 0:
            t0 = time.perf_counter()
            loose = self._index.clusters(max(self.near.threshold - self.near.split_margin, 0.0))
            plan.near_dup_seconds += time.perf_counter() - t0
            for groups in loose:
                sid = min(cluster_id[g] for g in groups)
                for g in groups:
                    split_cluster[g] = sid
        if self._index is not None and self._containment is not None and self.near.containment:
            # An article >= 80 % contained in another goes where that one goes.
            t0 = time.perf_counter()
            contained = self._containment.pairs(self._index).at_least(self.near.containment)
            split_cluster = _joined(split_cluster, contained.a.tolist(), contained.b.tolist())
            plan.containment_pairs = len(contained.a)
            plan.near_dup_seconds += time.perf_counter() - t0
            plan.containment_seconds = time.perf_counter() - t0
        group_key = self._group_keys(reps, split_cluster)
        group_pins: dict[str, list[str]] = {}
        for g, members in enumerate(self._members):
            for m in members:
                if m.id in pins:
                    group_pins.setdefault(group_key[g], []).append(pins[m.id])
        strata: dict[str, str] | None = None
        if self.stratify:
            # A group's stratum is the language of its smallest-id member: deterministic.
            strata = {}
            for g in sorted(range(len(reps)), key=lambda g: reps[g].id, reverse=True):
                strata[group_key[g]] = reps[g].language
        split_plan = splitting.assign(
            sorted(set(group_key)), self.eval_ratio, self.seed, group_pins, strata
        )
        plan.split_plan = split_plan
        # 4. fates.
        for g, members in enumerate(self._members):
            k = keeper[g]
            split = split_plan.split_of[group_key[g]]
            for i, m in enumerate(members):
                if g == k and i == 0:
                    # A published article never moves: its pin wins even over its group's
                    # split (a conflict, when a new article bridged groups published apart;
                    # the leakage audit then shows any pair that straddles the split).
                    plan.split_of[m.seq] = pins.get(m.id, split)
                    if m.id in pins and pins[m.id] != split:
                        plan.held.append((m.id, pins[m.id], split))
                    plan.cluster_of[m.seq] = cluster_id[g]
                elif g == k:
                    plan.dropped[m.seq] = Dropped(reps[g].id, "exact", 1.0)
                    plan.exact_duplicates += 1
                else:
                    sim = self._similarity(g, k)
                    plan.dropped[m.seq] = Dropped(reps[k].id, "near", sim)
                    plan.near_duplicates += 1
        if self._index is not None:
            # Where each kept text really went (a pin can hold a record against its group).
            split_by_group = {
                g: plan.split_of[self._members[g][0].seq]
                for g in range(len(reps))
                if keeper[g] == g
            }
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
        return plan

    def _similarity(self, g: int, k: int) -> float:
        return self._index.similarity(g, k) if self._index is not None else 0.0

    def _group_keys(self, reps: list[Keys], cluster_id: list[str]) -> list[str]:
        """Per content group, the key that decides its split."""
        if not any(r.group is not None for r in reps):
            return list(cluster_id)
        # Union-find over group values: a cluster spanning two sources joins them.
        parent: dict[str, str] = {}

        def find(x: str) -> str:
            while parent.setdefault(x, x) != x:
                parent[x] = parent[parent[x]]
                x = parent[x]
            return x

        def value(g: int) -> str:
            v = reps[g].group
            return f"={v}" if v is not None else f"#{cluster_id[g]}"

        by_cluster: dict[str, str] = {}
        for g in range(len(reps)):
            v = value(g)
            find(v)
            first = by_cluster.setdefault(cluster_id[g], v)
            a, b = find(first), find(v)
            if a != b:
                lo, hi = sorted((a, b))
                parent[hi] = lo
        return [find(value(g)) for g in range(len(reps))]


def _joined(labels: list[str], left: list[int], right: list[int]) -> list[str]:
    """``labels`` with the label sets of each ``(left[i], right[i])`` pair merged: every
    label of a connected set becomes its smallest (deterministic, order-free)."""
    if not left:
        return labels
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        root = x
        while parent.get(root, root) != root:
            root = parent[root]
        while parent.get(x, x) != root:  # path compression
            parent[x], x = root, parent[x]
        return root

    for a, b in zip(left, right, strict=True):
        ra, rb = find(labels[a]), find(labels[b])
        if ra != rb:
            lo, hi = sorted((ra, rb))
            parent[hi] = lo
    return [find(label) for label in labels]
