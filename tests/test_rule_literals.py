"""Rules that declare ``literals`` are tried only on paragraphs holding one of them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit.clean import Cleaner, load_rules
from corpuskit.config import CleanConfig
from corpuskit.errors import ConfigError
from tests.fixtures_clean import FURNITURE_EN, FURNITURE_OTHER, PROSE

_PIECES = [
    # Literals whole and in pieces, so a match can be assembled without the literal in one
    # piece: "click" + " here" must still hold "click here".
    "click",
    " here",
    "latest",
    " news",
    "a",
    "go",
    "just",
    "il",
    " y",
    "latest news",
    ",",
    " ",
    "ago",
    "just now",
    "il y a",
    "click here",
    "2",
    "x",
    "é",
    "news",
    "a",
    "une",
    "headlines",
    "updated",
    "minutes",
    "please",
    "to",
    "now",
    ".",
]


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14).map("".join))
def test_a_packaged_match_always_holds_a_declared_literal(text: str) -> None:
    for rule in load_rules():
        if rule.literals and re.match(rule.pattern, text):
            assert any(lit in text for lit in rule.literals), (rule.origin, text)


@pytest.mark.parametrize(
    ("literals", "message"),
    [
        ("['Click']", "upper-case"),
        ("['']", "empty string"),
        ("['tap here']", "holds none of"),
        ("'click here'", "must be an array of strings"),
    ],
)
def test_bad_literals_are_config_errors(tmp_path: Path, literals: str, message: str) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(
        f"[[line]]\npattern = '.{{0,20}}click here$'\nliterals = {literals}\n"
        "examples = ['Please click here']\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=message):
        load_rules([str(rules)])


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
    assert any("click here" in p for p in gated)
    assert not any(p.startswith("read more") for p in gated)  # cheap inside the alternation
