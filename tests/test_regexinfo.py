"""What a pattern needs before it can match: first characters and required literals."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit.clean import Cleaner
from corpuskit.clean import matching as clean_module
from corpuskit.config import CleanConfig
from corpuskit.regexinfo import first_chars, required_literals
from tests.fixtures_clean import FURNITURE_EN, FURNITURE_OTHER, PROSE


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("read more$", {"r"}),
        ("(?:also read|see also|related)\\s*[|:]", {"a", "s", "r"}),
        ("[ab]c", {"a", "b"}),
        ("(?:ab)+c", {"a"}),
        ("^\\(c\\)", {"("}),
    ],
)
def test_first_chars_of_a_pattern_with_a_bounded_start(pattern: str, expected: set[str]) -> None:
    assert first_chars(pattern) == expected


@pytest.mark.parametrize(
    "pattern",
    [
        "(?:[^\\s,]+ ){1,4}latest news",  # a negated class
        "(?:updated\\s*)?\\d+ minutes ago",  # an optional group in front
        "\\w+ ago",  # a category
        ".{0,5}ago",
        "(?i)read more",  # a global flag changes what a literal means
        "(?i:read) more",  # so does a scoped one
        "[a-zA-Z]x",  # too many characters to be worth a set
        "x*",  # can match the empty string
    ],
)
def test_first_chars_is_none_when_the_start_cannot_be_bounded(pattern: str) -> None:
    assert first_chars(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("(?:[^\\s,]+ ){1,4}latest news, ?x", ("latest news,",)),
        ("(?:a|b)\\s+ago\\.?$|just now$", ("ago", "just now")),
        ("(?:(?:mis à jour)\\s+)?il y a\\s+\\d+", ("il y a",)),
        ("(?:foo\\d|bar\\d)", ("foo", "bar")),
    ],
)
def test_required_literals_every_match_holds_one_of(
    pattern: str, expected: tuple[str, ...]
) -> None:
    assert required_literals(pattern) == expected


@pytest.mark.parametrize(
    "pattern", ["\\d+ab", "(?:ab|xyzw)q", "(?i)latest news", "(?:abc)?x", "[^ ]+ x"]
)
def test_required_literals_is_none_when_a_match_can_avoid_every_literal(pattern: str) -> None:
    assert required_literals(pattern) is None


_PIECES = ["latest news", ",", " ", "ago", "just now", "il y a", "2", "x", "é", "news", "a"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))
def test_a_match_always_contains_a_required_literal(text: str) -> None:
    for pattern in (
        "(?:[^\\s,]+ ){1,4}latest news, ?(?:[^\\s,]+ ){0,4}",
        "(?:(?:updated|posted)\\s*:?\\s*)?(?:\\d{1,3}|an?)\\s+ago\\.?|just now",
        "(?:x\\s+)?il y a\\s+(?:\\d{1,3}|une?)",
    ):
        literals = required_literals(pattern)
        assert literals is not None
        if re.search(pattern, text):
            assert any(lit in text for lit in literals)


# --- the furniture matcher that uses them ----------------------------------------------

_WORDS = [
    "latest", "news", "headlines", "read", "more", "also", "|", ":", "»", "ago", "2",
    "minutes", "hours", "il", "y", "a", "heures", "just", "now", "share", "this", "by",
    "Staff", "Reporter", "Malaysia", "Latest", "News,", "the", "council", "voted", "—",
]  # fmt: skip
_CLEANER = Cleaner(CleanConfig())


def _any_rule_matches(para: str) -> bool:
    lower = para.lower()
    return any(
        len(para) <= rule.max_chars
        and re.match(rule.pattern, para if rule.case_sensitive else lower) is not None
        for rule in _CLEANER.rules
    )


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), min_size=1, max_size=10).map(" ".join))
def test_matcher_answers_as_trying_every_rule_would(para: str) -> None:
    # The gated rules, the length caps and the line+tail screen must not change the answer.
    assert _CLEANER._either.matches(para) == _any_rule_matches(para)
    line = _CLEANER._line.matches(para) or _CLEANER._tail.matches(para)
    assert line == _any_rule_matches(para)


@pytest.mark.parametrize(
    "para",
    [*FURNITURE_EN, *(p for ps in FURNITURE_OTHER.values() for p in ps), *PROSE, "just now"],
)
def test_matcher_agrees_with_every_rule_on_the_fixtures(para: str) -> None:
    assert _CLEANER._either.matches(para) == _any_rule_matches(para)


def test_packaged_rules_that_start_with_anything_are_gated() -> None:
    gated = {pattern.pattern for _, _, pattern, _ in _CLEANER._line.gated}
    assert any("latest news" in p for p in gated)
    assert any("ago" in p for p in gated)
    assert clean_module._gate_literals("read more$") is None  # cheap inside the alternation
