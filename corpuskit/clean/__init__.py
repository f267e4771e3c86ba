"""The ``clean`` step family: turn one decoded article into clean prose paragraphs.

Seven small steps, each switchable and each reporting whether it changed anything, always
applied in ``CLEAN_STEPS`` order:

``unicode``     NFC; control, zero-width, BOM and soft-hyphen characters removed; mojibake
                repaired with ftfy, but only when a cheap regex sees mojibake markers
                (ftfy costs ~360 µs per article, the regex a few µs); optional ASCII quotes.
``markup``      HTML (or HTML remnants: known tags, entities) to plain text with a real
                HTML5 parser (Lexbor); block elements become paragraph breaks, <br> a line
                break, script/style/noscript/... vanish with their content. Plain text
                without markup is not touched.
``whitespace``  Line endings, space runs, trailing spaces. **Every non-empty line becomes a
                paragraph**; paragraphs are separated by exactly one blank line. Inputs that
                put one paragraph per line (common in scraped text) keep their structure;
                hard-wrapped prose is mended by ``paragraphs`` below.
``furniture``   Whole short paragraphs that are site furniture ("Also read | ...", "Read more
                »", bylines, "13 minutes ago") and trailing headline blocks ("Recent Posts"
                ...); the rules are data in ``corpuskit/rules/boilerplate.toml``.
``repetition``  Repeated paragraphs kept once; a paragraph that is its own text 2-3 times
                kept once; Gopher-style repetition ratios decide ``CleanResult.repetitive``.
``paragraphs``  A paragraph cut mid-sentence ("... after Russia prom" / "ised it would")
                is joined to the next one, glued without a space when the halves make a word.
``headline``    A title-like first paragraph moves to ``CleanResult.title``.

One module per step (``unicode.py``, ``markup.py``, ``whitespace.py``, ``furniture.py``,
``repetition.py`` with the word n-gram ratios in ``ngrams.py``, ``paragraphs.py``,
``headline.py``); the furniture rules are loaded by ``rules.py`` and matched by
``matching.py``; ``cleaner.py`` composes the steps.

Everything here is a pure function of ``(text, has_title, config)``: a ``Cleaner`` holds
only its config and compiled rules, so it pickles to worker processes and gives the same
answer everywhere. Cleaning is idempotent in the sense the pipeline needs:
``clean(clean(x).text, has_title=True).text == clean(x).text`` (the second pass must not
look for another headline: the first one already moved out).
"""

from corpuskit.clean.cleaner import Cleaner, CleanResult
from corpuskit.clean.rules import Rule, load_rules
from corpuskit.config import CLEAN_STEPS, CleanConfig  # defined with every other setting

__all__ = ["CLEAN_STEPS", "CleanConfig", "CleanResult", "Cleaner", "Rule", "load_rules"]
