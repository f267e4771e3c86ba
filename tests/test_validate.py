"""Validation rules and their reason codes."""

from corpuskit.config import ValidationConfig
from corpuskit.record import Reason
from corpuskit.validate import check_clean, check_raw

CFG = ValidationConfig(min_chars=20, max_chars=1000)


def test_article_passes() -> None:
    assert check_raw("A perfectly ordinary article sentence.", CFG) is None


def test_whitespace_only_is_empty() -> None:
    assert check_raw(" \n\t ", CFG)[0] is Reason.EMPTY  # type: ignore[index]


def test_short_text_is_too_short() -> None:
    assert check_raw("Breaking news.", CFG)[0] is Reason.TOO_SHORT  # type: ignore[index]


def test_long_text_is_too_long_with_counts_in_the_detail() -> None:
    reason, detail = check_raw("x" * 1001, CFG)  # type: ignore[misc]
    assert reason is Reason.TOO_LONG
    assert "1,001" in detail


def test_control_characters_mean_binary() -> None:
    assert check_raw("\x00\x01\x02\x03" * 20, CFG)[0] is Reason.NOT_TEXT  # type: ignore[index]


def test_cleaned_to_nothing_is_empty_after_clean() -> None:
    assert check_clean("", 500, CFG)[0] is Reason.EMPTY_AFTER_CLEAN  # type: ignore[index]
