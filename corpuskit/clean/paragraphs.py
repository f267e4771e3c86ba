"""Step ``paragraphs``: a paragraph cut mid-sentence is joined to the next one."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from corpuskit.clean.ngrams import CLOSERS as _CLOSERS
from corpuskit.clean.ngrams import SENTENCE_END as _SENTENCE_END
from corpuskit.clean.repetition import WORD_RE

# ---------------------------------------------------------------------------------------
# Step 6: paragraphs
# ---------------------------------------------------------------------------------------

# A paragraph ending in one of these (after closing quotes/brackets) is not continued.
_TERMINAL = frozenset(".!?…:;。！？；：‼⁇⁈⁉")
# The last token of a fragment, only when it is all letters (plus an end-of-line hyphen):
# "&am" + "p;" must never be glued into an entity, nor "<b" + "r>" into a tag.
_TAIL_WORD_RE = re.compile(r"(?:^|\s)([^\W\d_]+)(-?)$")
# Lines that are code, shell sessions, quotes or list items are never continued.
_NOT_PROSE_START_RE = re.compile(r"[$#>{}\[\]/\\|*•·+=<\-–—]|\d+[.)]\s")
_HEAD_WORD_RE = re.compile(r"[^\W\d_]+")
_MIN_FRAGMENT_WORDS = 4
_WORD_ZIPF = 3.0


@dataclass(frozen=True)
class Lexicon:
    """Word check for glued halves: wordfreq lists (offline, in the wheel) if installed.

    wordfreq caches its lists per process; this object holds only the language tuple, so
    it pickles to workers and stays a pure function of its input.
    """

    languages: tuple[str, ...]

    def zipf(self, word: str) -> float:
        try:
            from wordfreq import zipf_frequency
        except ImportError:  # pragma: no cover - optional dependency
            return 0.0
        best = 0.0
        for lang in self.languages:
            try:
                best = max(best, zipf_frequency(word, lang, wordlist="small"))
            except (LookupError, ValueError):  # pragma: no cover - unknown language
                continue
        return best


def _ends_mid_sentence(para: str) -> bool:
    body = para.rstrip(_CLOSERS)
    return bool(body) and body[-1] not in _TERMINAL


def _ends_sentence(para: str) -> bool:
    body = para.rstrip(_CLOSERS)
    return bool(body) and body[-1] in _SENTENCE_END


def _links(a: str, b: str) -> bool:
    """``b`` may continue ``a``: a sentence-sized ``a`` left open, ``b`` starting lower-case.

    The first word of ``b`` must be all lower-case, so "iPhone sales ..." after a headline
    is not taken for the rest of the headline's sentence.
    """
    if not b[0].islower() or a.count(" ") < _MIN_FRAGMENT_WORDS - 1:
        return False
    if _NOT_PROSE_START_RE.match(a):
        return False
    head = _HEAD_WORD_RE.match(b)
    return head is not None and head.group(0).islower() and _ends_mid_sentence(a)


def _join_pair(
    a: str, b: str, lexicon: Lexicon, vocab: Counter[str], allow_space: bool
) -> str | None:
    """``a`` continued by ``b``; None when the only join would be a space and that is not
    allowed (the run does not end a sentence, so the pieces may well be list items).

    Glued without a space when the halves make a word ("prom" + "ised"): the joined word
    occurs elsewhere in the article, or a lexicon knows it and the halves are not both
    words of their own ("in" + "side" stays two words, unless "inside" is more frequent
    than one of the halves, as "talking" is than "ing"). Without a lexicon for the
    language only the article's own vocabulary can justify a glue.
    """
    tail = _TAIL_WORD_RE.search(a)
    head = _HEAD_WORD_RE.match(b)
    if tail and head:
        left, hyphen, right = tail.group(1), tail.group(2), head.group(0)
        joined = (left + right).lower()
        in_text = vocab[joined] > 0
        joined_zipf = 0.0 if in_text else lexicon.zipf(joined)
        if in_text or joined_zipf >= _WORD_ZIPF:
            left_zipf = lexicon.zipf(left.lower())
            right_zipf = lexicon.zipf(right.lower())
            both_words = left_zipf >= _WORD_ZIPF and right_zipf >= _WORD_ZIPF
            if not both_words or in_text or joined_zipf > min(left_zipf, right_zipf):
                return a[: len(a) - len(hyphen)] + b
        if hyphen:
            return a + b
    return a + " " + b if allow_space else None


def join_fragments(paras: list[str], lexicon: Lexicon) -> list[str]:
    """Mend runs of paragraphs that were cut mid-sentence.

    A run is a maximal chain of paragraphs each left open and continued lower-case. A run
    whose last piece ends a sentence is one sentence (or hard-wrapped prose) and becomes
    one paragraph; an unfinished run is more likely a list of lower-case items, so only
    glue-evidence joins (split words, end-of-line hyphens) are made in it.
    """
    # A link needs a paragraph that starts in lower case: usually there is none.
    if not any(map(str.islower, "".join([p[:1] for p in paras[1:]]))):
        return paras
    out: list[str] = []
    vocab: Counter[str] | None = None
    i, n = 0, len(paras)
    while i < n:
        j = i
        while j + 1 < n and _links(paras[j], paras[j + 1]):
            j += 1
        if j == i:
            out.append(paras[i])
            i += 1
            continue
        if vocab is None:
            vocab = Counter(WORD_RE.findall("\n".join(paras).lower()))
        complete = _ends_sentence(paras[j])
        acc = paras[i]
        for k in range(i + 1, j + 1):
            joined = _join_pair(acc, paras[k], lexicon, vocab, complete)
            if joined is None:
                out.append(acc)
                acc = paras[k]
            else:
                acc = joined
        out.append(acc)
        i = j + 1
    return out
