"""Step ``unicode``: NFC, invisible and control characters removed, mojibake repaired."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from corpuskit.clean.whitespace import HSPACE_RE

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
C1_TO_CP1252 = {
    n: bytes([n]).decode("cp1252")
    for n in range(0x80, 0xA0)
    if n not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_C1_RE = re.compile("[\x80-\x9f]")


def _map_c1(text: str) -> str:
    return _C1_RE.sub(lambda m: C1_TO_CP1252.get(ord(m.group()), m.group()), text)


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


def is_plain(text: str, normalize_punctuation: bool) -> bool:
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


def repair_unicode(text: str, normalize_punctuation: bool, plain: bool = False) -> str:
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

    return ftfy.fix_text(HSPACE_RE.sub(" ", line).strip(" "), _ftfy_config(normalize_punctuation))


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
