"""What a regular expression needs of a string before it can match, read from its parse tree.

The furniture rules are tried on every short paragraph of every article. In one big
alternation ``sre`` skips a rule in a few nanoseconds when the paragraph's first character
cannot start it, but a rule that can start with almost anything (``(?:[^\\s,]+ ){1,4}latest
news``, an optional group in front) is entered and backtracks on every paragraph. Such a
rule can instead be tried only when the paragraph contains a literal that every match of it
contains ("latest news"), which ``in`` answers in C time.

Both answers are conservative: ``first_chars`` returns None when it cannot bound the first
character, ``required_literals`` returns None when it cannot name a literal every match
holds. Patterns with inline flags (``(?i)`` and the like) are never analysed: they would
change what a literal means.
"""

from __future__ import annotations

from typing import Any

try:  # Python 3.11+
    from re import _constants as _c
    from re import _parser as _sre_parse
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _sre_parse  # type: ignore[no-redef]

__all__ = ["first_chars", "required_literals"]

# A first-character class larger than this is "anything": sre enters the branch nearly always.
MAX_FIRST_CHARS = 32
# Shorter literals are too common to be worth a test of their own.
MIN_LITERAL = 3


def _parse(pattern: str) -> Any | None:
    try:
        parsed = _sre_parse.parse(pattern)
    except Exception:  # an invalid pattern has nothing to say; compile() reports it
        return None
    if parsed.state.flags & ~_c.SRE_FLAG_UNICODE:
        return None
    return parsed


def _class_chars(items: list[tuple[Any, Any]]) -> set[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is _c.LITERAL:
            chars.add(chr(av))
        elif op is _c.RANGE and av[1] - av[0] < MAX_FIRST_CHARS:
            chars.update(map(chr, range(av[0], av[1] + 1)))
        else:  # NEGATE, CATEGORY (\w, \d, \s ...), a wide range
            return None
    return chars


def _first(seq: Any) -> set[str] | None:
    """Characters a match of the op sequence ``seq`` can start with; None if unbounded."""
    for op, av in seq:
        if op is _c.AT:  # anchors take no character
            continue
        if op is _c.LITERAL:
            return {chr(av)}
        if op is _c.IN:
            return _class_chars(av)
        if op is _c.BRANCH:
            out: set[str] = set()
            for branch in av[1]:
                chars = _first(branch)
                if chars is None:
                    return None
                out |= chars
            return out
        if op is _c.SUBPATTERN:
            _group, add_flags, del_flags, body = av
            if add_flags or del_flags:
                return None
            return _first(body)
        if op in (_c.MAX_REPEAT, _c.MIN_REPEAT) and av[0] >= 1:
            return _first(av[2])
        return None  # optional repeats, ANY, NOT_LITERAL, CATEGORY, lookarounds, refs ...
    return None  # can match the empty string


def first_chars(pattern: str) -> frozenset[str] | None:
    """The characters a match can begin with, or None when they are too many to bound."""
    parsed = _parse(pattern)
    if parsed is None:
        return None
    chars = _first(parsed)
    if chars is None or len(chars) > MAX_FIRST_CHARS:
        return None
    return frozenset(chars)


def _literals(seq: Any) -> tuple[str, ...] | None:
    """Literals such that every match of ``seq`` contains at least one of them."""
    best = run = ""
    for op, av in seq:
        if op is _c.LITERAL:
            run += chr(av)
            best = max(best, run, key=len)
        else:
            run = ""
    if len(best) >= MIN_LITERAL:
        return (best,)
    items = list(seq)
    if len(items) == 1:
        op, av = items[0]
        if op is _c.SUBPATTERN and not (av[1] or av[2]):
            return _literals(av[3])
        if op is _c.BRANCH:
            out: list[str] = []
            for branch in av[1]:
                found = _literals(branch)
                if found is None:
                    return None
                out.extend(found)
            return tuple(dict.fromkeys(out))
    return None


def required_literals(pattern: str) -> tuple[str, ...] | None:
    """Literals of which every match contains at least one, or None if none can be named."""
    parsed = _parse(pattern)
    if parsed is None:
        return None
    return _literals(parsed)
