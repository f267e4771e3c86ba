"""Train/eval assignment as a pure function of a group key.

A group is whatever must not straddle the split: a near-duplicate cluster by default, or a
metadata value such as the source (``--group-by``). A group goes to ``eval`` when the hash of
``(seed, group key)`` falls below ``eval_ratio``. That makes the split:

* deterministic and machine independent (a cryptographic hash, not Python's ``hash``);
* stable: adding records never changes the score of an existing group, so existing records
  keep their split unless their group itself changes (a new near-copy merging clusters);
* leakage-free by construction: a group is one key, so one split.

Two corrections sit on top, both reported: pins from a previous artifact win over the hash,
and a corpus with at least two groups never ends up with an empty split.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

TRAIN = "train"
EVAL = "eval"
SPLITS = (TRAIN, EVAL)


def split_of_score(value: float, eval_ratio: float) -> str:
    """The split a score falls into, before any correction."""
    return EVAL if value < eval_ratio else TRAIN


def score(group_key: str, seed: int) -> float:
    """A uniform number in [0, 1) fixed by the group key and the seed."""
    digest = hashlib.blake2b(f"{seed}\x00{group_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass
class SplitPlan:
    """The split of every group, plus what was overridden and why."""

    split_of: dict[str, str]
    pinned: int = 0
    forced: list[str] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)


def assign(
    group_keys: Iterable[str],
    eval_ratio: float,
    seed: int,
    pins: Mapping[str, Iterable[str]] | None = None,
    strata: Mapping[str, str] | None = None,
) -> SplitPlan:
    """Assign each group a split.

    ``pins`` maps a group key to the splits its members had in a previous artifact. A group
    whose pinned members agree keeps that split; members pinned to both splits (a new record
    merged clusters that were published apart) make a conflict: the group goes where most of
    its pinned members were (eval on a tie, so no eval record becomes training data) and the
    conflict is reported.

    ``strata`` (e.g. each group's language) asks that every stratum with at least
    ``1 / eval_ratio`` groups has at least ``round(eval_ratio * n)`` of them in eval: when the
    hash gave fewer, the free train groups with the lowest scores move over (reported as
    forced). This trades a little stability — a growing stratum may need fewer forced
    groups later — for evaluation coverage of small languages; ``--previous`` pins restore it.
    """
    pins = pins or {}
    plan = SplitPlan(split_of={})
    scores: dict[str, float] = {}
    for key in group_keys:
        pinned = Counter(pins.get(key, ()))
        if pinned:
            plan.pinned += 1
            if len(pinned) > 1:
                plan.conflicts.append(key)
            plan.split_of[key] = TRAIN if pinned[TRAIN] > pinned[EVAL] else EVAL
            continue
        s = score(key, seed)
        scores[key] = s
        plan.split_of[key] = split_of_score(s, eval_ratio)
    if strata:
        _stratify(plan, scores, strata, eval_ratio)
    _ensure_both_splits(plan, scores)
    return plan


def _stratify(
    plan: SplitPlan, scores: Mapping[str, float], strata: Mapping[str, str], eval_ratio: float
) -> None:
    members: dict[str, list[str]] = {}
    for key in plan.split_of:
        members.setdefault(strata.get(key, ""), []).append(key)
    for keys in members.values():
        if len(keys) * eval_ratio < 1:
            continue
        target = round(eval_ratio * len(keys))
        have = sum(1 for k in keys if plan.split_of[k] == EVAL)
        free = sorted((scores[k], k) for k in keys if k in scores and plan.split_of[k] == TRAIN)
        for _, key in free[: max(0, target - have)]:
            plan.split_of[key] = EVAL
            plan.forced.append(key)


def _ensure_both_splits(plan: SplitPlan, scores: Mapping[str, float]) -> None:
    """With two or more groups, move the free group closest to the boundary into the empty
    split, so a small corpus still has something to evaluate on (and to train on)."""
    if len(plan.split_of) < 2:
        return
    present = set(plan.split_of.values())
    for missing in SPLITS:
        if missing in present or not scores:
            continue
        # The free (unpinned) group whose score is nearest the empty side moves.
        pick = min if missing == EVAL else max
        key = pick(scores, key=lambda k: (scores[k], k))
        plan.split_of[key] = missing
        plan.forced.append(key)
        present = set(plan.split_of.values())
