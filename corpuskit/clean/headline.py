"""Step ``headline``: a title-like first paragraph becomes the record's title."""

from __future__ import annotations

import re

from corpuskit.clean.ngrams import CLOSERS as _CLOSERS
from corpuskit.clean.ngrams import LETTER_RE as _LETTER_RE

# ---------------------------------------------------------------------------------------
# Step 7: headline
# ---------------------------------------------------------------------------------------

_TITLE_MAX_CHARS = 150
_TITLE_MAX_WORDS = 15
_TITLE_NO_SPACE_MAX_CHARS = 60
_NO_SPACE_SCRIPT_RE = re.compile("[\u0e00-\u0e7f\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_NOT_TITLE_RE = re.compile(
    r"^(?:[(\[{<]|(?:posted|published|updated|last updated|by|from|credits?|photos?|images?"
    r"|source|video|advertisement|sponsored)\b)"
    r"|[>»/|]\s.*\s[>»/|]\s"  # breadcrumbs: "Home > World > Europe"
    r"|[—–-]$",
    re.I,
)
_CREDIT_RE = re.compile(r"\b(?:AFP|Getty|Reuters|AP Photo|Shutterstock|EPA|Credit)\b")
_TITLE_END = frozenset(".!?…:;,。！？；：，")


def _digits(text: str) -> int:
    """How many characters are digits (``str.isdigit``); ten C-level counts for ASCII."""
    if text.isascii():
        return sum(map(text.count, "0123456789"))
    return sum(map(str.isdigit, text))


def is_title(first: str) -> bool:
    """Short, capitalised, and not a sentence: no end punctuation unless it is ALL CAPS.

    First lines that are bylines, datelines, photo credits, labels or breadcrumbs are
    just as short and unpunctuated; they are recognised by shape and left in the text.
    """
    if len(first) > _TITLE_MAX_CHARS or not _LETTER_RE.search(first) or first[0].islower():
        return False
    if _NOT_TITLE_RE.search(first) or _CREDIT_RE.search(first):
        return False
    if _digits(first) * 4 > len(first.replace(" ", "")):  # dates, scores
        return False
    if _NO_SPACE_SCRIPT_RE.search(first):
        # Chinese/Japanese/Thai: words are not space-separated, so count characters.
        if not 4 <= len(first) <= _TITLE_NO_SPACE_MAX_CHARS:
            return False
    elif not 2 <= first.count(" ") + 1 <= _TITLE_MAX_WORDS:
        # One word is a section heading ("Highlights"), not an article title.
        return False
    body = first.rstrip(_CLOSERS) or first
    return body[-1] not in _TITLE_END or first.isupper()
