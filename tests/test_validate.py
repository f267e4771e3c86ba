"""Validation rules and their reason codes."""

from hypothesis import given
from hypothesis import strategies as st

from corpuskit.config import ValidationConfig
from corpuskit.record import Reason
from corpuskit.validate import _CONTROL_RE, check_clean, check_raw, count_controls

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


# count_controls counts with byte scans what the reference regex counts over characters.
_TRICKY = [
    "\x00",
    "\x08",
    "\t",
    "\n",
    "\x0b",
    "\x1f",
    " ",
    "\x7f",
    "\x80",
    "\x9f",
    "\xa0",
    "\xc2",
    "©",
    "é",
    "\ufffd",
    "\ufffe",
    "中",
    "\ud800",
    "\udfff",
    "😀",
    "a",
]


@given(st.lists(st.sampled_from(_TRICKY) | st.characters(), max_size=60).map("".join))
def test_control_count_agrees_with_the_reference_regex(text: str) -> None:
    assert count_controls(text) == len(_CONTROL_RE.findall(text))


def test_control_count_of_text_with_a_lone_surrogate_and_c1_controls() -> None:
    text = "caf\xe9 \x85\x9f \ud800 \ufffd\x00\x7f"
    assert count_controls(text) == 5
