"""The global stage's bookkeeping: content groups, key batches, and a plan that does not
depend on how the keys were batched."""

from __future__ import annotations

import hashlib
import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit import ids
from corpuskit.config import NearDupConfig
from corpuskit.dedup import signatures
from corpuskit.dedup.exact import ContentGroups
from corpuskit.plan import DROPPED, KINDS, Plan, Planner
from corpuskit.record import KeyBatch, Keys

texts = st.lists(st.integers(0, 30), max_size=60)  # text numbers: repeats are duplicates


def _digest(i: int) -> bytes:
    return hashlib.blake2b(str(i).encode(), digest_size=16).digest()


@settings(max_examples=60)
@given(st.lists(texts, max_size=8))
def test_content_groups_number_hashes_in_order_of_first_appearance(
    batches: list[list[int]],
) -> None:
    table, seen = ContentGroups(), dict[int, int]()
    for batch in batches:
        groups, new = table.assign(b"".join(_digest(i) for i in batch))
        expected_new = []
        for i in batch:
            expected_new.append(i not in seen)
            seen.setdefault(i, len(seen))
        assert groups.tolist() == [seen[i] for i in batch]
        assert new.tolist() == expected_new
    assert len(table) == len(seen)


def test_content_groups_tell_apart_hashes_sharing_their_first_8_bytes() -> None:
    table = ContentGroups()
    prefix = b"\x01" * 8
    digests = [prefix + i.to_bytes(8, "little") for i in range(3000)]  # one home slot
    groups, new = table.assign(b"".join(digests + digests[:5]))
    assert groups.tolist() == [*range(3000), *range(5)]
    assert new.sum() == 3000


def test_content_groups_refuse_a_partial_hash() -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        ContentGroups().assign(b"\x00" * 17)


def _keys(numbers: list[int], near: NearDupConfig, start: int = 0) -> list[Keys]:
    out = []
    for offset, i in enumerate(numbers):
        text = f"article number {i} " + "with some words " * (i % 5 + 3)
        chash = ids.content_hash(text)
        source = f"src{offset % 3}"
        out.append(
            Keys(
                start + offset,
                ids.record_id(source, chash),
                chash,
                len(text),
                "en",
                None,
                "in.jsonl",
                start + offset + 1,
                signatures([text], near)[0] if near.enabled else None,
            )
        )
    return out


def _plan(keys: list[Keys], near: NearDupConfig, cuts: list[int]) -> Plan:
    planner = Planner(near, "drop", 0.3, 0)
    bounds = [0, *sorted(c % (len(keys) + 1) for c in cuts), len(keys)]
    for a, b in itertools.pairwise(bounds):
        planner.add_batch(KeyBatch.from_keys(keys[a:b]))
    return planner.decide()


@settings(max_examples=30, deadline=None)
@given(texts, st.lists(st.integers(0, 100), max_size=4), st.booleans())
def test_plan_does_not_depend_on_how_keys_were_batched(
    numbers: list[int], cuts: list[int], near_enabled: bool
) -> None:
    near = NearDupConfig(enabled=near_enabled)
    keys = _keys(numbers, near)
    one, many = _plan(keys, near, []), _plan(keys, near, cuts)
    for name in ("fate", "target", "kind", "similarity", "ids"):
        assert np.array_equal(getattr(one, name), getattr(many, name)), name
    assert (one.exact_duplicates, one.near_duplicates) == (
        many.exact_duplicates,
        many.near_duplicates,
    )


def test_an_exact_copy_is_dropped_pointing_at_the_smallest_id_of_its_text() -> None:
    near = NearDupConfig(enabled=False)
    keys = _keys([7, 7, 7, 8], near)
    plan = _plan(keys, near, [])
    copies = keys[:3]
    keeper = min(copies, key=lambda k: (k.id, k.file, k.line))
    assert plan.fate[keeper.seq] in (0, 1)
    for k in copies:
        if k is not keeper:
            assert plan.fate[k.seq] == DROPPED
            assert KINDS[plan.kind[k.seq]] == "exact"
            assert plan.target_ids(np.array([k.seq])).to_pylist() == [keeper.id]
    assert plan.exact_duplicates == 2
    # A kept record's cluster is named by its own id when it has no near copy.
    assert plan.target_ids(np.array([keys[3].seq])).to_pylist() == [keys[3].id]


def test_a_key_batch_refuses_a_content_hash_that_is_not_128_bits() -> None:
    near = NearDupConfig(enabled=False)
    bad = _keys([1], near)[0]._replace(content_hash="abcd")
    with pytest.raises(ValueError, match="32 hex digits"):
        KeyBatch.from_keys([bad])


def test_the_planner_refuses_ids_of_another_length() -> None:
    near = NearDupConfig(enabled=False)
    bad = _keys([1], near)[0]._replace(id="short")
    with pytest.raises(ValueError, match=f"{ids.ID_CHARS} ASCII characters"):
        Planner(near, "drop", 0.1, 0).add([bad])
