"""The ``clean`` stage: turn one decoded article into clean prose paragraphs.

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

Everything here is a pure function of ``(text, has_title, config)``: a ``Cleaner`` holds
only its config and compiled rules, so it pickles to worker processes and gives the same
answer everywhere. Cleaning is idempotent in the sense the pipeline needs:
``clean(clean(x).text, has_title=True).text == clean(x).text`` (the second pass must not
look for another headline: the first one already moved out).
"""

from __future__ import annotations

import html.entities
import re
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from corpuskit import regexinfo
from corpuskit.config import CLEAN_STEPS, CleanConfig
from corpuskit.errors import ConfigError
from corpuskit.repetition import CLOSERS as _CLOSERS
from corpuskit.repetition import LETTER_RE as _LETTER_RE
from corpuskit.repetition import SENTENCE_END as _SENTENCE_END
from corpuskit.repetition import NgramLimits, is_prose, ngram_verdicts
from corpuskit.tokens import TokenBatch

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["CleanResult", "Cleaner", "load_rules"]

PACKAGED_RULES = "rules/boilerplate.toml"
RULES_DOC = "see the comments at the top of corpuskit/rules/boilerplate.toml for the format"


# ---------------------------------------------------------------------------------------
# Configuration and result
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


# ---------------------------------------------------------------------------------------
# Rules
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """One furniture rule as loaded from a rules file (kept for error messages and docs)."""

    kind: str  # "line" or "tail"
    pattern: str
    max_chars: int
    case_sensitive: bool
    lang: str
    note: str
    origin: str  # "file:line"
    # Documentation the tests hold every packaged rule to: furniture the rule removes, and
    # prose that looks like it and must stay.
    examples: tuple[str, ...] = ()
    near_misses: tuple[str, ...] = ()


# Escapes (\S, \W, \N{...}) are exempt from the lower-case rule for patterns.
_ESCAPE_RE = re.compile(r"\\(?:N\{[^}]*\}|.)", re.S)
_RULE_KEYS = {"pattern", "max_chars", "case_sensitive", "lang", "note", "examples", "near_misses"}
_DEFAULT_MAX_CHARS = {"line": 200, "tail": 80}


def _entry_lines(source: str, kind: str) -> list[int]:
    """1-based line numbers of each ``[[kind]]`` header, so errors can point into the file."""
    header = re.compile(rf"^[ \t]*\[\[[ \t]*{kind}[ \t]*\]\]", re.M)
    return [source.count("\n", 0, m.start()) + 1 for m in header.finditer(source)]


def _parse_rules(source: str, name: str) -> list[Rule]:
    """Validate one rules document; every problem becomes a ConfigError naming file, rule, key."""
    try:
        data = tomllib.loads(source)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"rules file {name}: not valid TOML: {exc}; {RULES_DOC}") from None
    unknown = sorted(set(data) - {"line", "tail"})
    if unknown:
        raise ConfigError(
            f"rules file {name}: unknown top-level key {unknown[0]!r}; only [[line]] and "
            f"[[tail]] rule tables are allowed; {RULES_DOC}"
        )
    rules: list[Rule] = []
    for kind in ("line", "tail"):
        entries = data.get(kind, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise ConfigError(
                f"rules file {name}: key {kind!r} must be an array of tables written as "
                f"[[{kind}]]; {RULES_DOC}"
            )
        lines = _entry_lines(source, kind)
        for i, entry in enumerate(entries):
            at = f"{name}:{lines[i]}" if i < len(lines) else name
            where = f"rules file {name}: [[{kind}]] rule #{i + 1}" + (
                f" (line {lines[i]})" if i < len(lines) else ""
            )
            extra = sorted(set(entry) - _RULE_KEYS)
            if extra:
                raise ConfigError(
                    f"{where}: unknown key {extra[0]!r} (allowed: "
                    f"{', '.join(sorted(_RULE_KEYS))}); {RULES_DOC}"
                )
            pattern = entry.get("pattern")
            if not isinstance(pattern, str) or not pattern:
                raise ConfigError(
                    f"{where}: key 'pattern' is missing or not a non-empty string; {RULES_DOC}"
                )
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ConfigError(
                    f"{where}: key 'pattern' is not a valid regular expression ({exc}); {RULES_DOC}"
                ) from None
            if re.match(r"\(\?[aiLmsux]+\)", pattern):
                raise ConfigError(
                    f"{where}: key 'pattern' starts with a global inline flag; use a scoped "
                    f"group like (?s:...) instead (case: see case_sensitive); {RULES_DOC}"
                )
            max_chars = entry.get("max_chars", _DEFAULT_MAX_CHARS[kind])
            if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
                raise ConfigError(
                    f"{where}: key 'max_chars' must be a positive integer; {RULES_DOC}"
                )
            case_sensitive = entry.get("case_sensitive", False)
            letters = _ESCAPE_RE.sub("", pattern)
            if case_sensitive is False and letters != letters.lower():
                raise ConfigError(
                    f"{where}: key 'pattern' has upper-case letters; case-insensitive "
                    f"patterns are matched against the lower-cased paragraph, so write them "
                    f"in lower case (or set case_sensitive = true); {RULES_DOC}"
                )
            if not isinstance(case_sensitive, bool):
                raise ConfigError(
                    f"{where}: key 'case_sensitive' must be true or false; {RULES_DOC}"
                )
            for key in ("lang", "note"):
                if not isinstance(entry.get(key, ""), str):
                    raise ConfigError(f"{where}: key {key!r} must be a string; {RULES_DOC}")
            for key in ("examples", "near_misses"):
                value = entry.get(key, [])
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(
                        f"{where}: key {key!r} must be an array of strings; {RULES_DOC}"
                    )
            rules.append(
                Rule(
                    kind=kind,
                    pattern=pattern,
                    max_chars=max_chars,
                    case_sensitive=case_sensitive,
                    lang=entry.get("lang", ""),
                    note=entry.get("note", ""),
                    origin=at,
                    examples=tuple(entry.get("examples", [])),
                    near_misses=tuple(entry.get("near_misses", [])),
                )
            )
    return rules


def load_rules(extra_files: Sequence[str] = ()) -> list[Rule]:
    """The packaged rules followed by the rules of each user file, in order."""
    packaged = resources.files("corpuskit").joinpath(PACKAGED_RULES)
    rules = _parse_rules(packaged.read_text(encoding="utf-8"), "corpuskit/" + PACKAGED_RULES)
    for path in extra_files:
        try:
            source = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"rules file {path}: cannot be read ({exc}); check the path in "
                f"boilerplate_rules; {RULES_DOC}"
            ) from None
        rules.extend(_parse_rules(source, str(path)))
    return rules


# Constructs that refer to groups by number; see _Matcher.build.
_GROUP_REFERENCE_RE = re.compile(r"\\[1-9]|\(\?P=|\(\?\(")


@dataclass(frozen=True)
class _Matcher:
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
    entered by sre on every paragraph: it stays out of the alternation and is tried only
    when the paragraph holds a literal each of its matches holds (``gated``; see
    :mod:`corpuskit.regexinfo`). The two most expensive packaged rules are such rules.
    """

    combined: tuple[tuple[bool, re.Pattern[str], tuple[int, ...]], ...]
    gated: tuple[tuple[bool, tuple[str, ...], re.Pattern[str], int], ...]
    single: tuple[tuple[bool, re.Pattern[str], int], ...]
    longest: int

    @classmethod
    def build(cls, rules: Sequence[Rule]) -> _Matcher:
        combined = []
        gated = []
        for case_sensitive in (False, True):
            members = [r for r in rules if r.case_sensitive == case_sensitive]
            wrap = any(_GROUP_REFERENCE_RE.search(r.pattern) for r in members)
            if not wrap:
                ungated = []
                for r in members:
                    literals = _gate_literals(r.pattern)
                    if literals is None:
                        ungated.append(r)
                    else:
                        gated.append((case_sensitive, literals, re.compile(r.pattern), r.max_chars))
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


def _gate_literals(pattern: str) -> tuple[str, ...] | None:
    """The literals to gate a rule on, if it is better tried alone (see ``_Matcher``)."""
    if regexinfo.first_chars(pattern) is not None:
        return None  # sre skips it cheaply inside the alternation
    return regexinfo.required_literals(pattern)


# ---------------------------------------------------------------------------------------
# Step 1: unicode
# ---------------------------------------------------------------------------------------

# Deleted outright: C0/C1 controls except \t \n \r (and the line-breaking ones mapped
# below), zero-width space, word joiner and invisible operators, BOM, soft hyphen,
# Mongolian vowel separator, interlinear annotation marks, object replacement, lone
# surrogates (only reachable via surrogateescape decoding). ZWJ/ZWNJ (U+200C/D) stay:
# Persian, Indic scripts and emoji sequences need them.
_INVISIBLE_RE = re.compile(
    "[\x00-\x08\x0e-\x1b\x1f\x7f-\x9f\u00ad\u180e\u200b\u2060-\u2064"
    "\ufeff\ufff9-\ufffc\ud800-\udfff]"
)
_INVISIBLE_NOT_C1_RE = re.compile(
    "[\x00-\x08\x0e-\x1b\x1f\x7f\u00ad\u180e\u200b\u2060-\u2064\ufeff\ufff9-\ufffc\ud800-\udfff]"
)
# Line-breaking controls become "\n" so that the words on either side stay apart. U+0085
# (NEL) is not among them: in real text it is a cp1252 "…" read as Latin-1, like the
# other C1 controls, which ftfy maps back to their cp1252 characters.
_LINEBREAK_RE = re.compile("[\x0b\x0c\x1c-\x1e\u2028\u2029]")

# UTF-8 read as Latin-1/cp1252: a lead byte shown as Â..Û / à..ï / ð followed by
# continuation bytes shown as \x80-\xbf or their cp1252 glyphs; or raw C1 controls.
_CONT = "[\x80-\xbf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ]"
_LEAD2 = "\xc2-\xc5\xcc-\xdb"
_LEAD3 = "\xe0-\xef"
_LEADS = f"{_LEAD2}{_LEAD3}\xf0"
# What must follow a lead character, chosen by a lookbehind on that character. A no-break
# space right after an accented letter is French typography ("automatisé\xa0»"), not the
# second byte of a mojibake sequence.
_AFTER_LEAD = (
    f"(?<=[{_LEAD2}]){_CONT}|(?<=[{_LEAD3}])(?!\xa0){_CONT}{_CONT}|(?<=\xf0){_CONT}{_CONT}{_CONT}"
)
# These scans run over every article, so they are written the one way sre scans fast: the
# pattern STARTS with a character class (one class holding every character a match can
# start with), which sre skips to in C. The plain alternation
#   [\x80-\x9f] | [Â-Û]CONT | [à-ï](?!\xa0)CONT CONT | ðCONT CONT CONT
# is tried branch by branch at every position and cost ~40 µs per 2 KB of accented text;
# this form ~4 µs. A match means the same as in the alternation.
_MOJIBAKE_RE = re.compile(f"[\x80-\x9f{_LEADS}](?:(?<=[\x80-\x9f])|{_AFTER_LEAD})")
# The same without the lone C1 controls: UTF-8 sequences only, the case ftfy is needed for.
_LEAD_SEQUENCE_RE = re.compile(f"[{_LEADS}](?:{_AFTER_LEAD})")
# A C1 control outside such a sequence is a cp1252 byte read as Latin-1 (in real text
# mostly "\x92" for "’", "\x96" for "–"): mapped back by table. ftfy gives the same answer
# for such lines, at ~300 µs a line instead of ~1 µs a text. The five bytes cp1252 leaves
# undefined stay C1 controls, which the step then deletes. (A regex with a lookup, not
# str.translate: translate with a dict costs ~40 µs per KB of non-ASCII text.)
_C1_TO_CP1252 = {
    n: bytes([n]).decode("cp1252")
    for n in range(0x80, 0xA0)
    if n not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_C1_RE = re.compile("[\x80-\x9f]")


def _map_c1(text: str) -> str:
    return _C1_RE.sub(lambda m: _C1_TO_CP1252.get(ord(m.group()), m.group()), text)


_PUNCT_TABLE = str.maketrans(
    {
        "‘": "'", "’": "'", "‚": "'", "‛": "'", "′": "'",
        "“": '"', "”": '"', "„": '"', "‟": '"', "″": '"',
        "‐": "-", "‑": "-", "‒": "-", "–": "-", "—": "-", "―": "-",
    }
)  # fmt: skip
_PUNCT_CHARS = "‘’‚‛′“”„‟″‐‑‒–—―"
_PUNCT_RE = re.compile(f"[{_PUNCT_CHARS}]")
# Characters the step acts on by themselves: exactly those of _LINEBREAK_RE and
# _INVISIBLE_RE (which includes the C1 controls of _MOJIBAKE_RE).
_ACTED_ON = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u180e\u200b\u2028\u2029\u2060-\u2064"
    "\ufeff\ufff9-\ufffc\ud800-\udfff"
)
# Blanks the whitespace step folds or rewrites (besides runs of spaces and line ends).
_ODD_BLANKS = "\t\r\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"


def _work_re(*single: str) -> re.Pattern[str]:
    """A pattern that finds anything ``_unicode_pass`` would change but NFC, plus the
    given single characters: one fast scan instead of four slow ones."""
    chars = "".join(single)
    return re.compile(f"[{chars}{_LEADS}](?:(?<![{_LEADS}])|{_AFTER_LEAD})")


# Anything for the unicode step to repair (NFC aside), with and without quote folding.
_UNICODE_WORK_RE = _work_re(_ACTED_ON)
_UNICODE_WORK_PUNCT_RE = _work_re(_ACTED_ON, _PUNCT_CHARS)
# The same, plus the blanks the whitespace step folds: on nearly every article this one
# scan (~4 µs per 2 KB) finds nothing and answers for both steps.
_PLAIN_RE = _work_re(_ACTED_ON, _ODD_BLANKS)
_PLAIN_PUNCT_RE = _work_re(_ACTED_ON, _ODD_BLANKS, _PUNCT_CHARS)
# In ASCII text only these can match either pattern: C0 controls but "\n", and DEL.
_ASCII_NOT_CONTROL = bytes(c for c in range(128) if c == 10 or 32 <= c < 127)


def _is_plain(text: str, normalize_punctuation: bool) -> bool:
    """No character for the unicode step to repair nor blank for the whitespace step to
    fold (runs of spaces and line structure aside). ASCII text is checked as bytes, ~7x
    faster than the regex."""
    if text.isascii():
        return not text.encode("ascii").translate(None, _ASCII_NOT_CONTROL)
    return (_PLAIN_PUNCT_RE if normalize_punctuation else _PLAIN_RE).search(text) is None


def _ftfy_config(uncurl: bool) -> Any:
    """Only encoding repair: width, line breaks and HTML are other steps' business."""
    import ftfy

    return ftfy.TextFixerConfig(
        unescape_html=False,
        fix_latin_ligatures=False,
        fix_character_width=False,
        uncurl_quotes=uncurl,
        fix_line_breaks=False,
        explain=False,
    )


def _unicode(text: str, normalize_punctuation: bool, plain: bool = False) -> str:
    """The unicode step. ``plain``: the caller's ``_PLAIN_RE`` scan of ``text`` found nothing.

    One fast scan decides whether there is any repair to do; normal text then only needs
    NFC. ``normalize`` runs the quick check itself and returns the very same object when
    the text passes it (faster than ``is_normalized``, which on a failing text normalises
    just to compare, so that the caller would normalise twice).
    """
    work = _UNICODE_WORK_PUNCT_RE if normalize_punctuation else _UNICODE_WORK_RE
    if not plain:
        plain = work.search(text) is None
    passes = 6
    if plain:
        if text.isascii():
            return text
        composed = unicodedata.normalize("NFC", text)
        if composed == text or work.search(composed) is None:
            return composed
        # Composing can make a mojibake lead ("A" + U+0302 is "Â"), so this text goes on
        # to the fixpoint below, whose first pass would have produced exactly ``composed``.
        text, passes = composed, 5
    # Each repair can expose another (deleting "\x1b" from "Ì\x1b¯" makes the mojibake
    # "Ì¯"; NFC can compose a lead character), so repeat to a fixpoint: a second clean()
    # must find nothing left to do. When one scan finds nothing left for a pass to change,
    # the pass that would confirm the fixpoint is skipped.
    for _ in range(passes):
        fixed = _unicode_pass(text, normalize_punctuation)
        if fixed == text:
            break
        text = fixed
        if work.search(text) is None:  # a pass leaves the text NFC
            break
    return text


def _repair_line(line: str, normalize_punctuation: bool) -> str:
    """ftfy on one line, as the whitespace step will leave it.

    ftfy's verdict depends on the surrounding characters (a leading no-break space can
    stop it from decoding "Â€"), so it must see the line with its blanks already folded
    and stripped; otherwise the second clean() would repair what the first did not.
    """
    import ftfy

    return ftfy.fix_text(_HSPACE_RE.sub(" ", line).strip(" "), _ftfy_config(normalize_punctuation))


# C1 controls cp1252 leaves undefined: _map_c1 keeps them, the step then deletes them.
_UNMAPPED_C1_RE = re.compile("[\x81\x8d\x8f\x90\x9d]")


def _unicode_pass(text: str, normalize_punctuation: bool) -> str:
    """One round of repairs. A single scan (``findall`` of the work pattern: a few matches
    on real text) lists what there is to repair, so each repair below runs only when its
    characters are present, instead of each scanning the whole text to find out."""
    work = _UNICODE_WORK_PUNCT_RE if normalize_punctuation else _UNICODE_WORK_RE
    found = work.findall(text)
    chars = "".join(found)  # short: the characters to act on
    if _LINEBREAK_RE.search(chars):  # before ftfy, which would delete \x0b and \x0c
        text = _LINEBREAK_RE.sub("\n", text)
    if _INVISIBLE_NOT_C1_RE.search(chars):  # C1 controls are left for ftfy to map
        text = _INVISIBLE_NOT_C1_RE.sub("", text)
        # A deletion can join a mojibake sequence ("Ã" ZWSP "©"): look again.
        found = work.findall(text)
        chars = "".join(found)
    # A match longer than one character is a UTF-8 lead sequence (see _work_re).
    sequences = any(len(m) > 1 for m in found)
    if sequences:
        text = "\n".join(
            _repair_line(line, normalize_punctuation)
            if _LEAD_SEQUENCE_RE.search(line)
            else _map_c1(line)
            for line in text.split("\n")
        )
        if _INVISIBLE_RE.search(text):
            text = _INVISIBLE_RE.sub("", text)
    elif _C1_RE.search(chars):
        text = _map_c1(text)
        if _UNMAPPED_C1_RE.search(chars):
            text = _INVISIBLE_RE.sub("", text)
    if normalize_punctuation and _PUNCT_RE.search(text):
        text = text.translate(_PUNCT_TABLE)
    return unicodedata.normalize("NFC", text)


# ---------------------------------------------------------------------------------------
# Step 2: markup
# ---------------------------------------------------------------------------------------
#
# Two situations look alike and need opposite treatment:
#  * HTML: a page or fragment, or text littered with <p>/<br>/<b>/&amp; remnants of one;
#  * prose ABOUT HTML: a tech article quoting `<script src=...>` or "the <img> element".
# Clean web text has plenty of the second (a third of the readability pages mention tags),
# so markup is handled in one of two modes:
#  * document mode (the text starts with a tag, or >= 30 % of its lines hold a known tag):
#    every known tag is markup; script/style/head/... are dropped with their content;
#    source newlines are layout (HTML whitespace), block elements make the paragraphs;
#  * remnant mode (otherwise): only formatting/structure tags (<p>, <br>, <b>, <a>, <div>,
#    <li>, ...) and entities are markup; any other "<" is literal text and is kept, as are
#    the text's own line breaks.
# In both modes a tag needs HTML's shape (_is_tag): attributes written name=value (or a
# known boolean one), and an opening tag its closing partner unless it is void, may omit
# its end tag or has a name=value attribute. "if (a<b && c>d)", "x<a and b>y" and "the <b>
# element" are prose.
# The step runs at all only when the text holds a remnant-class tag or a valid entity. Its
# output holds neither (both modes parse them), which is what makes it idempotent.

_TAGS = (
    "a|abbr|address|area|article|aside|audio|b|base|bdi|bdo|big|blockquote|body|br|button|"
    "canvas|caption|center|cite|code|col|colgroup|data|datalist|dd|del|details|dfn|dialog|"
    "div|dl|dt|em|embed|fieldset|figcaption|figure|font|footer|form|h[1-6]|head|header|"
    "hgroup|hr|html|i|iframe|img|input|ins|kbd|label|legend|li|link|main|map|mark|menu|meta|"
    "meter|nav|noscript|object|ol|optgroup|option|output|p|param|picture|pre|progress|q|rp|"
    "rt|ruby|s|samp|script|section|select|small|source|span|strike|strong|style|sub|"
    "summary|sup|svg|table|tbody|td|template|textarea|tfoot|th|thead|time|title|tr|track|"
    "tt|u|ul|var|video|wbr"
)
# Tags that are never worth keeping as literal text, even in prose about HTML.
_REMNANT_TAGS = (
    "a|abbr|b|big|blockquote|br|center|cite|dd|del|div|dl|dt|em|font|h[1-6]|hr|i|ins|li|"
    "mark|ol|p|q|s|small|span|strike|strong|sub|sup|table|tbody|td|th|thead|tr|tt|u|ul|wbr"
)


# A tag's attributes as HTML spells them: name, name=value, name="value", name='value'.
# "<b && c>" in "if (a<b && c>d)" has no such shape, so it is text, not a tag.
_ATTR_NAME = r"[A-Za-z_:@][-\w:.@]*"  # data-id, aria-label, xml:lang, and Vue's @click, :src
_ATTRS = rf"""(?:\s+{_ATTR_NAME}(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*\s*/?"""


def _tag_body(names: str) -> str:
    return rf"/?(?:{names})(?=[\s/>]){_ATTRS}>"


_DOCUMENT_START_RE = re.compile(r"<(?:!--.*?-->|!doctype[^<>]*>)", re.I | re.S)
_REMNANT_TAG_BODY = _tag_body(_REMNANT_TAGS)
_REMNANT_TAG_RE = re.compile("<" + _REMNANT_TAG_BODY, re.I)
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|([A-Za-z][A-Za-z0-9]{1,31}));")
# "&" that does not start a complete entity stays literal ("AT&T", "?a=1&copy=2").
_STRAY_AMP_RE = re.compile(r"&(?!#[0-9]{1,7};|#[xX][0-9a-fA-F]{1,6};|[A-Za-z][A-Za-z0-9]{1,31};)")
_HTML5_ENTITIES = frozenset(name for name in html.entities.html5 if name.endswith(";"))
_DOCUMENT_LINE_FRACTION = 0.3
_BLOCK_TAGS = frozenset(
    "address article aside blockquote body caption center dd details dialog div dl dt "
    "fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr html legend "
    "li main menu nav ol p pre section summary table tbody tfoot thead tr ul".split()
)


def _names(alternation: str) -> frozenset[str]:
    names = alternation.replace("h[1-6]", "h1|h2|h3|h4|h5|h6").split("|")
    return frozenset(names)


_ALL_TAG_NAMES = _names(_TAGS)
_REMNANT_TAG_NAMES = _names(_REMNANT_TAGS)
# Every "<" in one pass: a complete tag (name, attributes, ">"), a comment or doctype, or
# a bare "<". The callback decides per mode, which is 5x faster than one regex per job.
_LT_RE = re.compile(
    rf"<(?:(/?)([A-Za-z][A-Za-z0-9]*)(?=[\s/>])({_ATTRS}>)"
    r"|(!--.*?-->|![dD][oO][cC][tT][yY][pP][eE][^<>]*>))?",
    re.S,
)
# Attribute names that stand alone in real markup (<td nowrap>, <option selected>). Any
# other bare word ("<a and b>" in "x<a and b>y") is prose, unless the tag also has a
# name=value attribute.
_BOOLEAN_ATTRS = frozenset(
    "allowfullscreen async autofocus autoplay checked compact controls default defer "
    "disabled formnovalidate hidden inert ismap itemscope loop multiple muted nomodule "
    "noresize noshade novalidate nowrap open readonly required reversed selected".split()
)
_ATTR_RE = re.compile(rf"""({_ATTR_NAME})(\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?""")
# Elements that stand without a partner tag: void ones, and those whose end tag HTML lets
# the writer leave out ("text<p>more", "<li>one<li>two").
_UNPAIRED_OK = frozenset(
    "area base br col embed hr img input link meta param source track wbr "
    "p li dd dt td th tr option thead tbody tfoot colgroup html head body".split()
)
_DROP_TAGS = [
    "script", "style", "noscript", "template", "iframe", "object", "embed", "svg",
    "canvas", "select", "button", "nav", "head", "title", "textarea", "datalist",
]  # fmt: skip
# Form feed marks breaks through the parser: it is HTML whitespace, so Lexbor keeps it
# even inside tables (any other marker character would be foster-parented out of them).
_FF = "\x0c"
_FF_RUN_RE = re.compile(_FF + "{2,}")


def _closing_names(text: str) -> frozenset[str]:
    """Lower-cased names of the well-formed closing tags in ``text``."""
    return frozenset(
        m.group(2).lower() for m in _LT_RE.finditer(text) if m.group(1) and m.group(2) is not None
    )


def _is_tag(m: re.Match[str], names: frozenset[str], closing: frozenset[str]) -> bool:
    """Whether a tag-shaped ``_LT_RE`` match is markup rather than prose.

    Prose uses "<" and ">" too ("if (a<b && c>d)", "x<a and b>y", "the <b> element"). A tag
    counts when its name is in ``names``, its attributes are name=value pairs or known
    boolean ones, and, for an opening tag, its closing partner is among ``closing`` (the
    names of the text's closing tags), unless it has a name=value attribute or the element
    is void or may omit its end tag.
    """
    name = m.group(2).lower()
    if name not in names:
        return False
    attrs = _ATTR_RE.findall(m.group(3))
    valued = any(value for _, value in attrs)
    if not valued and any(n.lower() not in _BOOLEAN_ATTRS for n, _ in attrs):
        return False
    if m.group(1) or valued or name in _UNPAIRED_OK:
        # A lone closing tag is the commonest remnant of cut-off HTML ("wreck</font> in");
        # prose spells tags out with their opening form ("the <b> element").
        return True
    return name in closing


def _markup_tags(text: str, names: frozenset[str]) -> Iterator[re.Match[str]]:
    """The tags of ``text`` that count as markup by the evidence asked of non-documents."""
    closing = _closing_names(text)
    for m in _LT_RE.finditer(text):
        if m.group(2) is not None and _is_tag(m, names, closing):
            yield m


def _has_markup(text: str) -> bool:
    if (
        "<" in text
        and _REMNANT_TAG_RE.search(text)
        and next(_markup_tags(text, _REMNANT_TAG_NAMES), None) is not None
    ):
        return True
    if "&" in text:
        for m in _ENTITY_RE.finditer(text):
            if m.group(1) is None or m.group(1) + ";" in _HTML5_ENTITIES:
                return True
    return False


def _is_document(text: str) -> bool:
    """HTML proper, as opposed to prose with a few tags or entities in it."""
    stripped = text.lstrip()
    if _DOCUMENT_START_RE.match(stripped):
        return True
    tags = list(_markup_tags(text, _ALL_TAG_NAMES)) if "<" in text else []
    if not tags:
        return False
    if tags[0].start() == len(text) - len(stripped):  # the text starts with a tag
        return True
    lines = [line for line in text.split("\n") if line.strip()]
    tagged = len({text.count("\n", 0, m.start()) for m in tags})
    return tagged >= _DOCUMENT_LINE_FRACTION * len(lines)


def _mark_tags(text: str, document: bool) -> str:
    """Escape every "<" the parser must not see; put break markers before block tags.

    Form feeds go before block tags (two: a paragraph) and <br> (one: a line); a space
    before table cells keeps "Bridge</td><td>1911" apart.
    """
    # An HTML document writes a literal "<b>" as "&lt;b&gt;", but the document test is a
    # heuristic: the partner evidence is asked in both modes.
    names = _ALL_TAG_NAMES if document else _REMNANT_TAG_NAMES
    closing = _closing_names(text)

    def mark(m: re.Match[str]) -> str:
        name = m.group(2)
        if name is not None:
            name = name.lower()
            if _is_tag(m, names, closing):
                if name in _BLOCK_TAGS:
                    return _FF + _FF + m.group(0)
                if name == "br":
                    return _FF + m.group(0)
                if name in ("td", "th"):
                    return " " + m.group(0)
                return m.group(0)
        elif m.group(4) is not None and document:
            return m.group(0)
        return "&lt;" + m.group(0)[1:]

    return _LT_RE.sub(mark, text)


# Characters the HTML parser itself rewrites or drops in text (NUL, CR, form feed, which
# is also our break marker) or cannot take (lone surrogates), and the start of a tag.
_PARSER_SENSITIVE_RE = re.compile("[<\x00\r\x0c\ud800-\udfff]")
# HTML whitespace: dropped by the parser at the start of a document.
_HTML_SPACE = "\t\n\x0c\r "


def _reference_value(match: re.Match[str]) -> str | None:
    """What the HTML5 tokenizer makes of one complete character reference in text, or None
    when that is not simply a lookup (a name known only without ";", which the tokenizer
    matches by prefix) or the result is HTML whitespace (dropped at the start)."""
    ref = match.group(0)
    if match.group(1) is not None:  # named
        value = html.entities.html5.get(ref[1:])
    else:
        num = int(ref[3:-1], 16) if ref[2] in "xX" else int(ref[2:-1])
        if num == 0 or num > 0x10FFFF or 0xD800 <= num <= 0xDFFF:
            value = "\ufffd"
        elif 0x80 <= num <= 0x9F:  # the windows-1252 reading, where it defines one
            value = _C1_TO_CP1252.get(num, chr(num))
        else:  # controls and noncharacters included: a parse error, but kept
            value = chr(num)
    if value is None or any(c in _HTML_SPACE for c in value):
        return None
    return value


def _decode_references(text: str) -> str | None:
    """``_html_to_text(text)`` without the parser, for text whose only markup is character
    references (the common case: "&#8217;" in scraped prose), else None.

    The parser's whole effect on such text is fixed by the HTML5 spec: each complete
    reference is replaced by its character(s), a stray "&" stays as it is, and leading
    whitespace is dropped (no body has started yet); ``_html_to_text`` then strips spaces
    and tabs at both ends. That costs ~3 µs here and ~30 µs through Lexbor. Anything
    else -- a "<", a character the parser rewrites, a reference resolved by prefix or
    decoding to whitespace -- goes to the parser.
    """
    if _PARSER_SENSITIVE_RE.search(text):
        return None
    parts: list[str] = []
    end = 0
    for match in _ENTITY_RE.finditer(text):
        value = _reference_value(match)
        if value is None:
            return None
        parts.append(text[end : match.start()])
        parts.append(value)
        end = match.end()
    if not parts:  # no reference: not what this is for (a blank text is a "document")
        return None
    parts.append(text[end:])
    return "".join(parts).lstrip(_HTML_SPACE).strip(" \t")


def _html_to_text(text: str) -> str:
    from selectolax.lexbor import LexborHTMLParser

    simple = _decode_references(text)
    if simple is not None:
        return simple
    document = _is_document(text)
    text = _mark_tags(text.replace(_FF, " "), document)
    text = _STRAY_AMP_RE.sub("&amp;", text)
    if document:
        text = re.sub(r"\n[ \t\r]*\n", _FF + _FF, text)
    tree = LexborHTMLParser(text)
    if document:
        tree.strip_tags(_DROP_TAGS)
    body = tree.body
    out = body.text(deep=True, separator="", strip=False) if body is not None else ""
    # str methods, not regexes: a regex over every space of the page cost ~100 µs.
    segments = out.split(_FF)
    if document:  # HTML whitespace: any run is one space, breaks come from the markers
        segments = [" ".join(seg.split()) for seg in segments]
    else:
        segments = [seg.strip(" \t") for seg in segments]
    return _FF_RUN_RE.sub("\n\n", _FF.join(segments)).replace(_FF, "\n")


# ---------------------------------------------------------------------------------------
# Step 3: whitespace
# ---------------------------------------------------------------------------------------

_HSPACE = " \t\xa0\u1680\u2000-\u200a\u202f\u205f\u3000"
# Only runs that need changing: two or more blanks, or any blank that is not a space.
_HSPACE_RE = re.compile(f"[{_HSPACE}]{{2,}}|[\t\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_ODD_SPACE_RE = re.compile("[\xa0\u1680\u2000-\u200a\u202f\u205f\u3000]")


def _whitespace(text: str, blank_free: bool = False) -> tuple[str, list[str]]:
    """The whitespace step: the text, and its paragraphs as ``_split`` would find them.

    ``blank_free``: the caller has checked (``_is_plain``) that spaces and line feeds are
    the only whitespace in ``text``: no tab, CR, exotic blank or form feed. Most texts
    already put one paragraph per line with one blank line between; that is confirmed
    with a few C-level string operations, without rebuilding the text.
    """
    if not blank_free:
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        if "\t" in text or (not text.isascii() and _ODD_SPACE_RE.search(text) is not None):
            text = _HSPACE_RE.sub(" ", text)
    if "  " in text:
        text = _HSPACE_RE.sub(" ", text)
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
    # ``_split`` also drops other whitespace (form feed, U+2028, ...) at paragraph starts
    # and at the very end; only the unicode step removes those characters.
    if lines[-1][-1].isspace() or any(line[0].isspace() for line in lines):
        return text, _split(text)
    return text, lines


def _split(text: str) -> list[str]:
    """Paragraphs as the later steps see them (the whitespace step made them one-per-line)."""
    return [p for p in re.split(r"\n[ \t]*\n\s*", text.strip()) if p]


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


def _furniture(paras: list[str], line: _Matcher, tail: _Matcher, either: _Matcher) -> list[str]:
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


# ---------------------------------------------------------------------------------------
# Step 5: repetition
# ---------------------------------------------------------------------------------------

_WORD_RE = re.compile(r"\w+")
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


def _dedupe(paras: list[str], config: CleanConfig) -> tuple[list[str], list[str], list[str]]:
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


def _repetition_verdict(measured: list[str], prose: list[str], config: CleanConfig) -> str | None:
    """Gopher's duplicate-paragraph ratios over the paragraphs ``_dedupe`` measured (and
    their prose); the first over its limit, as readable text. The word n-gram ratios are
    :mod:`corpuskit.repetition`'s: they need the words, which the map stage has per batch.
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
class _Lexicon:
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
    a: str, b: str, lexicon: _Lexicon, vocab: Counter[str], allow_space: bool
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


def _join_fragments(paras: list[str], lexicon: _Lexicon) -> list[str]:
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
            vocab = Counter(_WORD_RE.findall("\n".join(paras).lower()))
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


def _is_title(first: str) -> bool:
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


# ---------------------------------------------------------------------------------------
# The cleaner
# ---------------------------------------------------------------------------------------


class Cleaner:
    """Compiled clean stage; build once per config, ship to workers, call per text."""

    def __init__(self, config: CleanConfig) -> None:
        self.config = config
        rules = load_rules(config.boilerplate_rules)
        self.rules: tuple[Rule, ...] = tuple(rules)
        self._line = _Matcher.build([r for r in rules if r.kind == "line"])
        self._tail = _Matcher.build([r for r in rules if r.kind == "tail"])
        self._either = _Matcher.build(rules)
        self._lexicon = _Lexicon(config.lexicon_languages)
        self._steps = frozenset(config.steps)
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

    def clean(self, text: str, has_title: bool = False, *, ngrams: bool = True) -> CleanResult:
        """Clean one text.

        ``has_title`` says the record already has a title (from its metadata). The headline
        step then leaves the first paragraph in the text even when it repeats that title:
        the stage is not given the title to compare, a repeated headline costs one short
        line, and dropping a first paragraph that merely looks like a title loses prose.

        ``ngrams=False`` leaves out the word n-gram ratios (``repetitive`` then reflects the
        paragraph ratios only), for a caller that measures them per batch with
        ``ngram_verdicts``.
        """
        result = self._clean(text, has_title)
        if ngrams and result.repetitive is None:
            result.repetitive = self.ngram_verdicts([result.text])[0]
        return result

    def _clean(self, text: str, has_title: bool) -> CleanResult:
        if not self.config.enabled:
            out = text.strip()
            return CleanResult(out, None, [], max(0, len(text) - len(out)), None)
        steps = self._steps
        changed: set[str] = set()
        current = text
        normalize_punctuation = self.config.normalize_punctuation
        # One scan tells whether the unicode step has anything to repair and whether the
        # whitespace step has blanks to fold; for most articles it finds nothing.
        plain = bool(steps & {"unicode", "whitespace"}) and _is_plain(text, normalize_punctuation)

        if "unicode" in steps:
            new = _unicode(current, normalize_punctuation, plain)
            if new != current:
                changed.add("unicode")
            current = new
        if "markup" in steps:
            new = current
            for _ in range(8):  # decode nested escaping (&amp;lt;p&amp;gt;) to a fixpoint
                if not _has_markup(new):
                    break
                converted = _html_to_text(new)
                if "unicode" in steps:
                    converted = _unicode(converted, normalize_punctuation)
                if converted == new:
                    break
                new = converted
            if new != current:
                changed.add("markup")
            current = new
        if "whitespace" in steps:
            new, paras = _whitespace(current, blank_free=plain and current is text)
            if new != current:
                changed.add("whitespace")
            current = new
        else:
            paras = _split(current)

        repetitive: str | None = None
        # furniture, repetition and paragraphs feed each other (a join can create a
        # furniture line or a duplicate; a removal can make two fragments adjacent), so
        # they run to a fixpoint. Each pass that changes anything removes a paragraph,
        # joins two or shortens one, so this ends; on normal text it is one pass.
        first_pass = True
        while True:
            changed_now: set[str] = set()
            if "furniture" in steps:
                new_paras = _furniture(paras, self._line, self._tail, self._either)
                if new_paras != paras:
                    changed_now.add("furniture")
                paras = new_paras
            if "repetition" in steps:
                new_paras, measured, prose = _dedupe(paras, self.config)
                if first_pass:
                    repetitive = _repetition_verdict(measured, prose, self.config)
                if new_paras != paras:
                    changed_now.add("repetition")
                paras = new_paras
            if "paragraphs" in steps and paras:
                new_paras = _join_fragments(paras, self._lexicon)
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
        if "headline" in steps and not has_title and len(paras) >= 2 and _is_title(paras[0]):
            title = paras[0]
            paras = paras[1:]
            changed.add("headline")

        if changed & {"furniture", "repetition", "paragraphs", "headline"}:
            current = "\n\n".join(paras)
        out = current.strip()
        flags = [s for s in CLEAN_STEPS if s in changed]
        return CleanResult(out, title, flags, max(0, len(text) - len(out)), repetitive)
