"""The ``Cleaner``: the steps composed in ``CLEAN_STEPS`` order."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from corpuskit.clean.furniture import remove_furniture
from corpuskit.clean.headline import is_title
from corpuskit.clean.markup import has_markup, html_to_text
from corpuskit.clean.matching import RuleMatcher
from corpuskit.clean.ngrams import NgramLimits, ngram_verdicts
from corpuskit.clean.paragraphs import Lexicon, join_fragments
from corpuskit.clean.pii import KINDS, PiiFinder, count, redact
from corpuskit.clean.pii import screen as pii_screen
from corpuskit.clean.repetition import dedupe_paragraphs, repetition_verdict
from corpuskit.clean.rules import Rule, load_rules
from corpuskit.clean.unicode import is_plain, repair_unicode
from corpuskit.clean.whitespace import fold_whitespace, split_paragraphs
from corpuskit.config import CLEAN_STEPS, CleanConfig
from corpuskit.tokens import TokenBatch

# ---------------------------------------------------------------------------------------
# Result
# ---------------------------------------------------------------------------------------


@dataclass
class CleanResult:
    """What cleaning made of one text.

    ``chars_removed`` is ``max(0, len(input) - len(text))`` in code points: everything the
    text lost, including whitespace, markup, furniture, duplicates and a moved-out title.
    It can understate removal when a step also adds characters (entity decoding never does;
    a paragraph join adds one space), and it is clipped at 0 when the text grew.
    """

    text: str
    title: str | None = None
    flags: list[str] = field(default_factory=list)
    chars_removed: int = 0
    repetitive: str | None = None
    #: Personal data the ``pii`` step found in the text and the title, by kind.
    pii: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------
# The cleaner
# ---------------------------------------------------------------------------------------


class Cleaner:
    """Compiled clean stage; build once per config, ship to workers, call per text."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        rules = load_rules(config.boilerplate_rules)
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._line = RuleMatcher.build([r for r in rules if r.kind == "line"])
        self._tail = RuleMatcher.build([r for r in rules if r.kind == "tail"])
        self._either = RuleMatcher.build(rules)
        self._lexicon = Lexicon(config.lexicon_languages)
        self._steps = frozenset(config.steps)
        self.pii: PiiFinder | None = None
        if "pii" in self._steps and config.enabled:
            self.pii = PiiFinder(config.pii_allow, config.pii_phone_regions)
        self._ngram_limits = NgramLimits(
            max_top_fraction=config.max_top_ngram_fraction,
            max_duplicate_fraction=config.max_duplicate_ngram_fraction,
            min_words=config.min_words_for_ngrams,
            min_prose_chars=config.min_duplicate_paragraph_chars,
        )

    def clean_batch(self, texts: Sequence[str], has_title: Sequence[bool]) -> list[CleanResult]:
        """Clean a batch: the same results as ``clean`` on each text, with the word n-gram
        ratios measured for the whole batch at once."""
        if len(texts) != len(has_title):
            raise ValueError(
                f"clean_batch got {len(texts)} texts but {len(has_title)} has_title flags"
            )
        results = [self.clean(t, h, ngrams=False) for t, h in zip(texts, has_title, strict=True)]
        open_ = [r for r in results if r.repetitive is None]
        cleaned = [r.text for r in open_]
        for r, verdict in zip(open_, self.ngram_verdicts(cleaned), strict=True):
            r.repetitive = verdict
        return results

    @property
    def measures_ngrams(self) -> bool:
        """Whether ``ngram_verdicts`` measures anything (the repetition step is on)."""
        return self.config.enabled and "repetition" in self._steps

    def ngram_verdicts(
        self, texts: Sequence[str], tokens: TokenBatch | None = None
    ) -> list[str | None]:
        """The word n-gram repetition verdict of each cleaned text (None: not repetitive).

        ``tokens``: ``TokenBatch.from_texts(texts)`` if the caller has it (the map stage
        tokenises each batch once, for this and for MinHash).
        """
        if not self.measures_ngrams:
            return [None] * len(texts)
        if tokens is None:
            tokens = TokenBatch.from_texts(texts)
        return ngram_verdicts(texts, tokens, self._ngram_limits)

    def clean(
        self, text: str, has_title: bool = False, *, ngrams: bool = True, pii: bool = True
    ) -> CleanResult:
        """Clean one text.

        ``has_title`` says the record already has a title (from its metadata). The headline
        step then leaves the first paragraph in the text even when it repeats that title:
        the stage is not given the title to compare, a repeated headline costs one short
        line, and dropping a first paragraph that merely looks like a title loses prose.

        ``ngrams=False`` leaves out the word n-gram ratios (``repetitive`` then reflects the
        paragraph ratios only), for a caller that measures them per batch with
        ``ngram_verdicts``. ``pii=False`` says the caller screened ``text`` with
        :meth:`pii_screen` and it cannot hold personal data: the ``pii`` step skips it.
        """
        result = self._clean(text, has_title, pii)
        if ngrams and result.repetitive is None:
            result.repetitive = self.ngram_verdicts([result.text])[0]
        return result

    def pii_screen(self, texts: Sequence[str]) -> list[bool]:
        """For each raw text, whether the ``pii`` step must look at it once cleaned (all
        False when the step is off); one batched call (:func:`corpuskit.clean.pii.screen`)."""
        if self.pii is None:
            return [False] * len(texts)
        return pii_screen(texts)

    def _clean(self, text: str, has_title: bool, pii: bool = True) -> CleanResult:
        if not self.config.enabled:
            out = text.strip()
            return CleanResult(out, None, [], max(0, len(text) - len(out)), None)
        steps = self._steps
        changed: set[str] = set()
        current = text
        normalize_punctuation = self.config.normalize_punctuation
        # One scan tells whether the unicode step has anything to repair and whether the
        # whitespace step has blanks to fold; for most articles it finds nothing.
        plain = bool(steps & {"unicode", "whitespace"}) and is_plain(text, normalize_punctuation)

        if "unicode" in steps:
            new = repair_unicode(current, normalize_punctuation, plain)
            if new != current:
                changed.add("unicode")
            current = new
        if "markup" in steps:
            new = current
            for _ in range(8):  # decode nested escaping (&amp;lt;p&amp;gt;) to a fixpoint
                if not has_markup(new):
                    break
                converted = html_to_text(new)
                if "unicode" in steps:
                    converted = repair_unicode(converted, normalize_punctuation)
                if converted == new:
                    break
                new = converted
            if new != current:
                changed.add("markup")
            current = new
        if "whitespace" in steps:
            new, paras = fold_whitespace(current, blank_free=plain and current is text)
            if new != current:
                changed.add("whitespace")
            current = new
        else:
            paras = split_paragraphs(current)

        repetitive: str | None = None
        # furniture, repetition and paragraphs feed each other (a join can create a
        # furniture line or a duplicate; a removal can make two fragments adjacent), so
        # they run to a fixpoint. Each pass that changes anything removes a paragraph,
        # joins two or shortens one, so this ends; on normal text it is one pass.
        first_pass = True
        while True:
            changed_now: set[str] = set()
            if "furniture" in steps:
                new_paras = remove_furniture(paras, self._line, self._tail, self._either)
                if new_paras != paras:
                    changed_now.add("furniture")
                paras = new_paras
            if "repetition" in steps:
                new_paras, measured, prose = dedupe_paragraphs(paras, self.config)
                if first_pass:
                    repetitive = repetition_verdict(measured, prose, self.config)
                if new_paras != paras:
                    changed_now.add("repetition")
                paras = new_paras
            if "paragraphs" in steps and paras:
                new_paras = join_fragments(paras, self._lexicon)
                if new_paras != paras:
                    changed_now.add("paragraphs")
                paras = new_paras
            changed |= changed_now
            first_pass = False
            # furniture is idempotent on its own, and repetition/paragraphs left its output
            # alone, so another pass would change nothing.
            if not changed_now & {"repetition", "paragraphs"}:
                break

        title: str | None = None
        if "headline" in steps and not has_title and len(paras) >= 2 and is_title(paras[0]):
            title = paras[0]
            paras = paras[1:]
            changed.add("headline")

        if changed & {"furniture", "repetition", "paragraphs", "headline"}:
            current = "\n\n".join(paras)
        out = current.strip()
        found: Counter[str] = Counter()
        if self.pii is not None and pii:
            out, found = self.scrub(out)
            if title is not None:
                title, in_title = self.scrub(title)
                found += in_title
            if found and self.config.pii == "redact":
                changed.add("pii")
        flags = [s for s in CLEAN_STEPS if s in changed]
        result = CleanResult(out, title, flags, max(0, len(text) - len(out)), repetitive)
        result.pii = {kind: found[kind] for kind in KINDS if found[kind]}
        return result

    @property
    def redacts(self) -> bool:
        """Whether personal data is redacted from what is published (``--pii redact``, or
        ``reject``: a rejected record's text is published in the rejects config)."""
        return self.pii is not None and self.config.pii in ("redact", "reject")

    def scrub(
        self, text: str, kinds: tuple[str, ...] = KINDS, redact_it: bool | None = None
    ) -> tuple[str, Counter[str]]:
        """The personal data of ``kinds`` in ``text``, counted by kind, and the text:
        redacted when ``redact_it`` (default: when ``--pii redact``), else as it was.
        Nothing is found when the ``pii`` step is off."""
        if self.pii is None:
            return text, Counter()
        if kinds == ("secret",):
            matches = self.pii.secrets(text)
        else:
            matches = [f for f in self.pii.find(text) if f.kind in kinds]
        if not matches:
            return text, Counter()
        if redact_it is None:
            redact_it = self.config.pii == "redact"
        if redact_it:
            text = redact(text, matches, self.config.pii_placeholder)
        return text, count(matches)
