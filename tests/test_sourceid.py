"""Source ids derived from provenance paths."""

import pytest

from corpuskit.errors import ConfigError
from corpuskit.sourceid import SourceIdRule, stem


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("seeds/000_abc.txt", "000_abc"),
        ("feed.jsonl.gz", "feed"),
        ("a/b.parquet", "b"),
        ("noext", "noext"),
    ],
)
def test_stem_strips_known_extensions(path: str, expected: str) -> None:
    assert stem(path) == expected


def test_parent_rule_uses_the_folder_of_the_file() -> None:
    assert SourceIdRule("parent").derive("news/harbor/x.txt") == ("harbor", True)


def test_top_rule_uses_the_first_folder_below_the_source() -> None:
    assert SourceIdRule("top").derive("news/harbor/2026/x.txt") == ("harbor", True)


def test_regex_rule_uses_named_group() -> None:
    rule = SourceIdRule(r"/(?P<source>[a-z]+)-\d+\.txt$")
    assert rule.derive("dump/site-12.txt") == ("site", True)


def test_regex_rule_that_does_not_match_falls_back_to_stem() -> None:
    assert SourceIdRule(r"^nomatch/(.+)$").derive("dump/site-12.txt") == ("site-12", False)


def test_invalid_regex_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="--source-id"):
        SourceIdRule("([unclosed")
