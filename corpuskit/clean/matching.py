"""Matching furniture rules against paragraphs, fast: a rule that cannot match is skipped."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from corpuskit.clean.rules import RULES_DOC, Rule
from corpuskit.errors import ConfigError

# Constructs that refer to groups by number; see RuleMatcher.build.
_GROUP_REFERENCE_RE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")


@dataclass(frozen=True)
class RuleMatcher:
    """Rules of one kind compiled into one alternation per case mode.

    Speed matters: the rules are tried on every short paragraph of every article.
    ``re.IGNORECASE`` made the alternation five times slower, so case-insensitive rules
    are written in lower case and matched against ``para.lower()``. Each rule ends with
    an empty capturing group, so the matching rule's length cap is checked after one
    ``re.match`` (``lastindex`` names that group); only in the rare case that the first
    matching rule's cap is exceeded are the rules tried one by one. Paragraphs longer
    than every cap (most prose) are never matched.

    The group goes at the END of each branch: sre skips a branch whose first character
    cannot match without entering it, but not when the branch opens with a group, and
    wrapping every rule in one made the alternation twice as slow. Rules that refer to
    groups by number keep the old layout (``(rule)|(rule)``), whose numbering they may
    rely on.

    A rule that can start with nearly any character (``(?:[^\\s,]+ ){1,4}latest news``) is
    entered by sre on every paragraph: a rule that declares ``literals`` (strings of which
    every match holds one) stays out of the alternation and is tried only when the
    paragraph holds one of them (``gated``), which ``in`` answers in C time. The two most
    expensive packaged rules are such rules.
    """

    combined: tuple[tuple[bool, re.Pattern[str], tuple[int, ...]], ...]
    gated: tuple[tuple[bool, tuple[str, ...], re.Pattern[str], int], ...]
    single: tuple[tuple[bool, re.Pattern[str], int], ...]
    longest: int

    @classmethod
    def build(cls, rules: Sequence[Rule]) -> RuleMatcher:
        combined = []
        gated = []
        for case_sensitive in (False, True):
            members = [r for r in rules if r.case_sensitive == case_sensitive]
            wrap = any(_GROUP_REFERENCE_RE.search(r.pattern) for r in members)
            if not wrap:
                ungated = []
                for r in members:
                    if r.literals:
                        gated.append(
                            (case_sensitive, r.literals, re.compile(r.pattern), r.max_chars)
                        )
                    else:
                        ungated.append(r)
                members = ungated
            if not members:
                continue
            caps: list[int] = [0]  # group 0 is the whole match
            parts = []
            for r in members:
                parts.append(f"({r.pattern})" if wrap else f"(?:{r.pattern})()")
                caps.extend([r.max_chars] * (re.compile(r.pattern).groups + 1))
            try:
                compiled = re.compile("|".join(parts))
            except re.error as exc:  # only global inline flags can get here
                origins = ", ".join(r.origin for r in members)
                raise ConfigError(
                    f"rules at {origins} cannot be combined ({exc}); remove global inline "
                    f"flags from their patterns; {RULES_DOC}"
                ) from None
            combined.append((case_sensitive, compiled, tuple(caps)))
        single = tuple((r.case_sensitive, re.compile(r.pattern), r.max_chars) for r in rules)
        return cls(
            tuple(combined),
            tuple(gated),
            single,
            max((r.max_chars for r in rules), default=0),
        )

    def matches(self, para: str, lower: str | None = None) -> bool:
        """Whether a rule matches ``para`` (``lower`` is ``para.lower()`` if known)."""
        n = len(para)
        if n > self.longest:
            return False
        if lower is None:
            lower = para.lower()
        for case_sensitive, rx, caps in self.combined:
            m = rx.match(para if case_sensitive else lower)
            if m is not None:
                if n <= caps[m.lastindex or 0]:
                    return True
                return any(
                    n <= cap and single.match(para if cs else lower)
                    for cs, single, cap in self.single
                )
        for case_sensitive, literals, rx, cap in self.gated:
            if n <= cap:
                text = para if case_sensitive else lower
                for literal in literals:
                    if literal in text:
                        if rx.match(text):
                            return True
                        break
        return False
