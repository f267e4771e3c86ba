"""Step ``repetition``: repeated paragraphs kept once; the paragraph repetition verdict."""

from __future__ import annotations

import re
from collections import Counter

from corpuskit.clean.ngrams import is_prose
from corpuskit.config import CleanConfig

# ---------------------------------------------------------------------------------------
# Step 5: repetition
# ---------------------------------------------------------------------------------------

WORD_RE = re.compile(r"\w+")
_MIN_REPEAT_UNIT = 50


def _may_be_copies(para: str) -> bool:
    """Whether the paragraph's opening recurs in it: needed for it to be a text written
    2+ times (a repeat unit is at least ``_MIN_REPEAT_UNIT`` long); nearly never true."""
    unit = _MIN_REPEAT_UNIT
    return len(para) >= 2 * unit and para.find(para[:unit], unit) >= 0


def _collapse_copies(para: str, max_copies: int) -> tuple[str, int]:
    """(unit, copies) when the paragraph is one text written 2+ times, else (para, 1).

    A string that equals a rotation of itself is periodic: ``(p + p).find(p, 1)`` finds the
    period in C time, so this costs ~1 µs per KB and no Python loop. A repeat unit is at
    least ``_MIN_REPEAT_UNIT`` long, so the paragraph's opening characters recur at the
    period; when they recur nowhere (nearly always) there is nothing to look for.
    """
    if not _may_be_copies(para):
        return para, 1
    n = len(para)
    spaced = para + " "
    period = (spaced + spaced).find(spaced, 1)
    if period < len(spaced) and period - 1 >= _MIN_REPEAT_UNIT:
        copies = len(spaced) // period
        if copies <= max_copies:
            return spaced[: period - 1], copies
        return para, 1
    period = (para + para).find(para, 1)
    if period < n and n % period == 0 and period >= _MIN_REPEAT_UNIT and n // period <= max_copies:
        return para[:period], n // period
    return para, 1


def dedupe_paragraphs(
    paras: list[str], config: CleanConfig
) -> tuple[list[str], list[str], list[str]]:
    """(kept paragraphs, paragraphs to measure repetition on, the prose among the latter).

    Only prose paragraphs (see ``is_prose``) are deduplicated: other repeats are
    structure -- code lines, table rows, list items, "***". A short repeated paragraph
    that touches a removed copy (the title pasted again between two copies of an
    article) belongs to the copy and goes with it.

    Repetition this step repairs -- a paragraph or the whole article shown up to
    ``max_article_copies`` times, an extraction artifact -- must not get the repaired
    article rejected as spam, so the measured list holds such paragraphs once. Paragraphs
    repeated more often than that stay in it with every copy. When no paragraph repeats
    (nearly always), there is nothing to measure and the prose list is left empty.
    """
    copies = config.max_article_copies
    if any(map(_may_be_copies, paras)):
        paras = [_collapse_copies(p, copies)[0] for p in paras]
    if len(set(paras)) == len(paras):
        return paras, paras, []
    min_chars = config.min_duplicate_paragraph_chars
    prose = [is_prose(p, min_chars) for p in paras]
    prose_paras = [p for p, p_is_prose in zip(paras, prose, strict=True) if p_is_prose]
    if len(set(prose_paras)) == len(prose_paras):
        return paras, paras, prose_paras
    counts = Counter(prose_paras)
    n = len(paras)
    removed = [False] * n
    repeat = [False] * n  # an exact repeat of an earlier paragraph, of any kind
    seen: set[str] = set()
    for i, p in enumerate(paras):
        if p in seen:
            repeat[i] = True
            removed[i] = prose[i]
        seen.add(p)
    changed = True
    while changed:  # grow removed copies over adjacent short repeats
        changed = False
        for i in range(n):
            touches = (i > 0 and removed[i - 1]) or (i + 1 < n and removed[i + 1])
            if repeat[i] and not removed[i] and touches:
                removed[i] = changed = True
    kept = [p for p, gone in zip(paras, removed, strict=True) if not gone]
    measured: list[str] = []
    measured_prose: list[str] = []
    for p, gone, p_is_prose in zip(paras, removed, prose, strict=True):
        if not gone or (p_is_prose and counts[p] > copies):
            measured.append(p)
            if p_is_prose:
                measured_prose.append(p)
    return kept, measured, measured_prose


def repetition_verdict(measured: list[str], prose: list[str], config: CleanConfig) -> str | None:
    """Gopher's duplicate-paragraph ratios over the paragraphs ``dedupe_paragraphs`` measured (and
    their prose); the first over its limit, as readable text. The word n-gram ratios are
    :mod:`corpuskit.clean.ngrams`'s: they need the words, which the map stage has per batch.
    """
    if len(set(prose)) == len(prose):
        return None
    seen: set[str] = set()
    dup_lines = dup_chars = 0
    for p in prose:
        if p in seen:
            dup_lines += 1
            dup_chars += len(p)
        seen.add(p)
    frac = dup_lines / len(prose)
    if frac > config.max_duplicate_line_fraction:
        return f"duplicate lines {frac:.2f} > {config.max_duplicate_line_fraction:.2f}"
    frac = dup_chars / max(1, sum(map(len, measured)))
    if frac > config.max_duplicate_char_fraction:
        return f"duplicate line characters {frac:.2f} > {config.max_duplicate_char_fraction:.2f}"
    return None
