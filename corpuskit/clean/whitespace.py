"""Step ``whitespace``: line endings, blank runs; every non-empty line becomes a paragraph."""

from __future__ import annotations

import re

# ---------------------------------------------------------------------------------------
# Step 3: whitespace
# ---------------------------------------------------------------------------------------

_HSPACE = " \t\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"
# Only runs that need changing: two or more blanks, or any blank that is not a space.
HSPACE_RE = re.compile(f"[{_HSPACE}]{{2,}}|[\t\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_ODD_SPACE_RE = re.compile("[\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def fold_whitespace(text: str, blank_free: bool = False) -> tuple[str, list[str]]:
    """The whitespace step: the text, and its paragraphs as ``split_paragraphs`` would find them.

    ``blank_free``: the caller has checked (``is_plain``) that spaces and line feeds are
    the only whitespace in ``text``: no tab, CR, exotic blank or form feed. Most texts
    already put one paragraph per line with one blank line between; that is confirmed
    with a few C-level string operations, without rebuilding the text.
    """
    if not blank_free:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\t" in text or (not text.isascii() and _ODD_SPACE_RE.search(text) is not None):
            text = HSPACE_RE.sub(" ", text)
    if "  " in text:
        text = HSPACE_RE.sub(" ", text)
    paras = text.split("\n\n")
    # No "\n" inside a paragraph, and none empty or starting or ending with a space.
    if text.count("\n") == 2 * len(paras) - 2 and all(
        p and p[0] != " " and p[-1] != " " for p in paras
    ):
        lines = paras
    else:
        lines = [line for line in (raw.strip(" ") for raw in text.split("\n")) if line]
        text = "\n\n".join(lines)
    if blank_free or not lines:
        return text, lines
    # ``split_paragraphs`` also drops other whitespace (form feed, U+2028, ...) at paragraph starts
    # and at the very end; only the unicode step removes those characters.
    if lines[-1][-1].isspace() or any(line[0].isspace() for line in lines):
        return text, split_paragraphs(text)
    return text, lines


def split_paragraphs(text: str) -> list[str]:
    """Paragraphs as the later steps see them (the whitespace step made them one-per-line)."""
    return [p for p in re.split(r"\n[ \t]*\n\s*", text.strip()) if p]
