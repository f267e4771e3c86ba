"""Split assignment: a pure, stable, leakage-free function of the group key."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit import split

keys = st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=60, unique=True)


def test_score_is_deterministic_and_in_unit_interval() -> None:
    s = split.score("abc", 0)
    assert s == split.score("abc", 0)
    assert 0.0 <= s < 1.0


def test_seed_changes_the_score() -> None:
    assert split.score("abc", 0) != split.score("abc", 1)


def test_eval_share_is_close_to_ratio_on_many_groups() -> None:
    plan = split.assign([f"g{i}" for i in range(20_000)], 0.1, 0)
    share = sum(1 for s in plan.split_of.values() if s == split.EVAL) / 20_000
    assert 0.09 < share < 0.11


@given(keys)
def test_two_or_more_groups_never_leave_a_split_empty(group_keys: list[str]) -> None:
    plan = split.assign(group_keys, 0.1, 0)
    assert set(plan.split_of.values()) == {split.TRAIN, split.EVAL}


def test_single_group_goes_to_one_split() -> None:
    plan = split.assign(["only"], 0.1, 0)
    assert len(plan.split_of) == 1


@settings(max_examples=50)
@given(keys, keys)
def test_adding_groups_never_moves_existing_ones_on_a_large_corpus(
    old: list[str], new: list[str]
) -> None:
    # On a corpus large enough that no split had to be forced, growth moves nothing.
    base = [f"base{i}" for i in range(200)] + old
    before = split.assign(base, 0.1, 0)
    after = split.assign(base + [k for k in new if k not in base], 0.1, 0)
    assert not before.forced
    for key in base:
        assert after.split_of[key] == before.split_of[key]


def test_pins_override_the_hash() -> None:
    natural = split.assign(["a", "b", "c"] + [f"x{i}" for i in range(50)], 0.1, 0)
    flipped = {split.TRAIN: split.EVAL, split.EVAL: split.TRAIN}[natural.split_of["a"]]
    plan = split.assign(
        ["a", "b", "c"] + [f"x{i}" for i in range(50)], 0.1, 0, pins={"a": [flipped]}
    )
    assert plan.split_of["a"] == flipped
    assert plan.pinned == 1


def test_conflicting_pins_go_to_eval_on_a_tie_and_are_reported() -> None:
    plan = split.assign(["a", "b"], 0.1, 0, pins={"a": [split.TRAIN, split.EVAL]})
    assert plan.split_of["a"] == split.EVAL
    assert plan.conflicts == ["a"]


def test_stratify_gives_each_large_enough_stratum_its_eval_share() -> None:
    keys = [f"k{i}" for i in range(200)]
    strata = {k: ("small" if i < 20 else "big") for i, k in enumerate(keys)}
    plan = split.assign(keys, 0.1, 0, strata=strata)
    small_eval = sum(1 for k in keys[:20] if plan.split_of[k] == split.EVAL)
    assert small_eval >= 2


def test_stratify_leaves_tiny_strata_alone() -> None:
    keys = [f"k{i}" for i in range(100)] + ["lonely"]
    strata = {k: "x" for k in keys[:100]} | {"lonely": "y"}
    plan = split.assign(keys, 0.1, 0, strata=strata)
    assert plan.split_of["lonely"] == split.split_of_score(split.score("lonely", 0), 0.1)


def _keys_to(side: str, prefix: str, n: int, ratio: float) -> list[str]:
    """``n`` group keys that the split hash alone (seed 0) sends to ``side``."""
    keys = (f"{prefix}{i}" for i in range(10_000))
    return [k for k in keys if split.split_of_score(split.score(k, 0), ratio) == side][:n]


def test_stratify_forces_the_lowest_scores_up_to_each_strata_share() -> None:
    # Strata seen in this order: 7 groups (7 * 0.1 < 1: left alone, even with none in
    # eval), exactly 10 (10 * 0.1 = 1: gets one), 25 (gets round(2.5) = 2), all of which
    # the hash put in train; then a large stratum that already has its share.
    seven, ten, quarter = (
        _keys_to(split.TRAIN, p, n, 0.1) for p, n in (("s", 7), ("t", 10), ("q", 25))
    )
    big = _keys_to(split.EVAL, "b", 40, 0.1) + _keys_to(split.TRAIN, "c", 260, 0.1)
    strata = {k: "seven" for k in seven} | {k: "ten" for k in ten}
    strata |= {k: "quarter" for k in quarter} | {k: "big" for k in big}
    plan = split.assign([*seven, *ten, *quarter, *big], 0.1, 0, strata=strata)

    def lowest(keys: list[str], n: int) -> list[str]:
        return sorted(keys, key=lambda k: (split.score(k, 0), k))[:n]

    assert all(plan.split_of[k] == split.TRAIN for k in seven)
    assert plan.forced == [*lowest(ten, 1), *lowest(quarter, 2)]
    assert [k for k in ten if plan.split_of[k] == split.EVAL] == lowest(ten, 1)
    assert sum(plan.split_of[k] == split.EVAL for k in big) == 40  # over its share of 30
