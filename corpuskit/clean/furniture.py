"""Step ``furniture``: site furniture paragraphs and trailing headline blocks removed."""

from __future__ import annotations

import re

from corpuskit.clean.matching import RuleMatcher

# ---------------------------------------------------------------------------------------
# Step 4: furniture
# ---------------------------------------------------------------------------------------

_TAIL_HEADLINE_CHARS = 150
_TAIL_TEASER_CHARS = 400
_TAIL_MAX_RUN = 2


def _tail_start(paras: list[str], is_line: list[bool], is_header: list[bool]) -> int | None:
    """Index of the earliest tail header whose block runs to the end, or None.

    Earliest wins so that a block with two headers ("Trending" ... "Recent Posts" ...) goes
    in one piece; a header that is the first paragraph is never cut (nothing would remain).
    """
    headers = [i for i in range(1, len(paras)) if is_header[i]]
    if not headers:
        return None
    marker = [a or b for a, b in zip(is_line, is_header, strict=True)]
    for h in headers:
        items = [p for p, m in zip(paras[h + 1 :], marker[h + 1 :], strict=True) if not m]
        if all(len(p) <= _TAIL_HEADLINE_CHARS for p in items):
            return h
        if len(items) == len(paras) - h - 1 or any(len(p) > _TAIL_TEASER_CHARS for p in items):
            continue
        run = longest = 0
        for m in marker[h + 1 :]:
            run = 0 if m else run + 1
            longest = max(longest, run)
        if longest <= _TAIL_MAX_RUN:
            return h
    return None


# Speech verbs of reported speech, in the languages the packaged rules cover.
_SPEECH_VERBS = (
    "said|says|told|added|explained|noted|warned|urged|asked|wrote|recalled|insisted|argued|"
    "replied|stressed|announced|"
    "a dit|a déclaré|a expliqué|a ajouté|a affirmé|a précisé|affirme|explique|déclare|précise|"
    "dijo|afirmó|explicó|añadió|aseguró|señaló|sagte|erklärte|betonte|"
    "disse|afirmou|explicou|acrescentou|ha detto|ha spiegato|ha aggiunto|zei|zegt|aldus|"
    "сказал|сказала|заявил|заявила|отметил|отметила|сказав|заявив|зазначив|зазначила"
)
# A quote attribution in the paragraph's last sentence ("..., the mayor said." / '...,"
# said Ana Lima, pointing at the screen.' / ", so der Bürgermeister."): reported speech, so
# the paragraph is prose whatever its first words. The paragraph must end in sentence
# punctuation soon after: "Bridge to reopen, mayor says" is a headline (a cross-link's
# payload), and "Also read | He said, as he put it, ..." a cut-off one.
_ATTRIBUTION_RE = re.compile(
    r""",["”»’']?\s*(?:(?:[\w’'.-]+\s+){0,4}(?:"""
    + _SPEECH_VERBS
    + r""")\b|so\s+(?:der|die|das)\s)[^.!?…]{0,80}[.!?…]["”»’']?$"""
)


def remove_furniture(
    paras: list[str], line: RuleMatcher, tail: RuleMatcher, either: RuleMatcher
) -> list[str]:
    """Tail block, then furniture lines; repeated until nothing changes (idempotent).

    Each paragraph is matched against the rules once: after a removal the survivors'
    verdicts are known, so later rounds cost no regex work. Only paragraphs short enough
    for some rule are looked at, and most articles have no match at all: one ``either``
    match (the line and tail rules in one alternation) clears such a paragraph, and only
    a paragraph it matches is asked which kind of rule that was.
    """
    n = len(paras)
    limit = either.longest
    is_line = [False] * n
    is_header = [False] * n
    found = False
    for i, p in enumerate(paras):
        if len(p) <= limit:
            lower = p.lower()
            if either.matches(p, lower) and not _ATTRIBUTION_RE.search(lower):
                # A header that is the first paragraph is never cut, so it is not looked for.
                is_line[i] = line.matches(p, lower)
                is_header[i] = i > 0 and tail.matches(p, lower)
                found = found or is_line[i] or is_header[i]
    if not found:
        return paras
    while True:
        cut = _tail_start(paras, is_line, is_header)
        keep = [i for i in range(len(paras) if cut is None else cut) if not is_line[i]]
        if len(keep) == len(paras):
            return paras
        paras = [paras[i] for i in keep]
        is_header = [is_header[i] for i in keep]
        is_line = [False] * len(paras)
