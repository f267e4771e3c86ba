"""How plausible a reading of bytes is as text: the scores that rank code pages.

Two readings of the same legacy bytes are compared by implausible letter patterns
(:func:`implausibility`: letters of two scripts in one token, marks with no letter, ...),
then by :func:`tie_breaker` and :func:`orthography_misses` when both look clean. Used by
:func:`corpuskit.sources.decode.decode_legacy`.
"""

from __future__ import annotations

import re
import unicodedata

# C0/C1 controls and private-use code points: what a wrong code page produces.
_BAD_CHAR_RE = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ue000-\uf8ff]")
# Tokens: runs between whitespace and ASCII punctuation. Not \w+, which would cut words
# at combining marks and hide misplaced ones.
_TOKEN_RE = re.compile(r"[^\s!-/:-@\[-`{-~]+")
# Non-letters that legitimately sit between two letters: apostrophes, the Catalan middle
# dot, soft hyphen and hyphens, CJK punctuation and full-width forms.
_IN_WORD_OK = re.compile(r"[’‘ʼ·\u00ad\u2010\u2011\u3000-\u303f\u30fb\uff00-\uffef]")

_CJK_GROUP = frozenset({"CJK", "HIRAGANA", "KATAKANA", "FULLWIDTH", "IDEOGRAPHIC"})
_SCRIPTS = frozenset(
    {
        "LATIN",
        "CYRILLIC",
        "GREEK",
        "ARMENIAN",
        "HEBREW",
        "ARABIC",
        "THAI",
        "DEVANAGARI",
        "GEORGIAN",
        "HANGUL",
        *_CJK_GROUP,
        "HALFWIDTH",
    }
)

# Accented letters of European Latin orthographies. Two clean readings of the same bytes
# (cp1252 "população" vs cp1250 "populaçăo") differ in whether one orthography explains
# all their accented letters; used only to break ties between otherwise clean readings.
_ORTHOGRAPHIES: tuple[frozenset[str], ...] = tuple(
    frozenset(letters)
    for letters in (
        "áâãàçéêíóôõúü",  # Portuguese
        "áéíóúñü",  # Spanish
        "àâæçéèêëîïôœùûüÿ",  # French
        "äöüß",  # German
        "àèéìíîòóùú",  # Italian
        "éèëïöüáó",  # Dutch
        "æøåéóàô",  # Danish, Norwegian
        "åäöéü",  # Swedish
        "äöåšž",  # Finnish
        "àçéèíïòóúü",  # Catalan
        "áðéíóúýþæö",  # Icelandic
        "ąćęłńóśźż",  # Polish
        "áčďéěíňóřšťúůýž",  # Czech
        "áäčďéíĺľňóôŕšťúýž",  # Slovak
        "áéíóöőúüű",  # Hungarian
        "ăâîșțşţ",  # Romanian
        "čćđšž",  # Slovene, Croatian
        "çğıöşüâî",  # Turkish
        "äöõüšž",  # Estonian
        "āčēģīķļņšūž",  # Latvian
        "ąčęėįšųūž",  # Lithuanian
        "ëç",  # Albanian
    )
)


def _script(ch: str) -> str | None:
    """The script of a letter, coarsely (first word of its Unicode name), or None."""
    if not unicodedata.category(ch).startswith("L"):
        return None
    head = unicodedata.name(ch, "").split(" ", 1)[0]
    if head in _CJK_GROUP:
        return "CJK"
    return head if head in _SCRIPTS else None


def tie_breaker(text: str) -> int:
    """Soft evidence between readings with equal penalties (lower is more plausible)."""
    misses = orthography_misses(text)
    upper = lower = 0
    for ch in text:
        if ord(ch) > 0x7F and ch.isalpha():
            if ch.isupper():
                upper += 1
            elif ch.islower():
                lower += 1
    # KOI8-R read as cp1251 (and vice versa) swaps case: real text is mostly lower case.
    if upper > 2 * lower and upper >= 4:
        misses += 1
    return misses + _spelling_misses(text)


# Cyrillic vowel letters (Russian, Ukrainian, Belarusian, Bulgarian, Serbian, Macedonian).
_CYRILLIC_VOWELS = frozenset("аеёиоуыэюяіїєъў")  # ъ: Bulgarian; ў: Belarusian
_CYRILLIC_WORD_RE = re.compile(r"\b[а-яёіїєўґђјљњћџѓќѕ]{3,}\b")
# A final letter form followed by another letter of its script (inside a word).
_FINAL_FORM_INSIDE_RE = re.compile("ς[α-ωά-ώϊϋΐΰ]|[ךםןףץ][א-ת]")


def _spelling_misses(text: str) -> int:
    """Words that no orthography of their script spells: lower-case Cyrillic words of three
    or more letters without a vowel, and Greek or Hebrew final letter forms inside a word.

    Hebrew bytes read as cp1251 ("оетцъ дтйш") or cp1253 ("δςιψ") are as clean as the
    Hebrew reading by every other measure; these spellings tell them apart.
    """
    misses = len(_FINAL_FORM_INSIDE_RE.findall(text))
    for word in _CYRILLIC_WORD_RE.findall(text):
        if _CYRILLIC_VOWELS.isdisjoint(word):
            misses += 1
    return misses


def orthography_misses(text: str) -> int:
    """Accented Latin letters that the best-fitting single orthography does not explain."""
    counts: dict[str, int] = {}
    for ch in text:
        if ord(ch) > 0x7F and _script(ch) == "LATIN":
            low = ch.lower()
            counts[low] = counts.get(low, 0) + 1
    if not counts:
        return 0
    total = sum(counts.values())
    best = max(sum(counts.get(ch, 0) for ch in letters) for letters in _ORTHOGRAPHIES)
    return total - best


def implausibility(text: str) -> tuple[float, int]:
    """(penalty, number of non-ASCII tokens): how unlike real writing a decoding looks.

    Only tokens with non-ASCII characters are looked at: the ASCII parts decode the same
    in every candidate and carry no signal.
    """
    penalty = float(len(_BAD_CHAR_RE.findall(text)))
    units = 0
    for match in _TOKEN_RE.finditer(text):
        token = match.group()
        if token.isascii():
            continue
        units += 1
        penalty += _token_penalty(token)
    return penalty, units


def _token_penalty(token: str) -> float:
    """Misreading patterns in one token; each pattern counts once per token."""
    scripts: set[str] = set()
    ascii_letters = latin_non_ascii = letters = marks = 0
    halfwidth = case_flip = sandwich = orphan_mark = False
    prev_kind = ""  # "L" letter, "M" mark, "D" non-ASCII digit, "O" other, "" start
    prev_lower = False
    pending_odd = False  # a non-ASCII non-letter right after a letter
    for ch in token:
        cat = unicodedata.category(ch)
        if cat.startswith("L"):
            if pending_odd or prev_kind == "D":
                sandwich = True
            pending_odd = False
            letters += 1
            script = _script(ch)
            if script == "HALFWIDTH":
                halfwidth = True
                script = "CJK"
            if script is not None:
                scripts.add(script)
            if ch.isascii():
                ascii_letters += 1
            elif script == "LATIN":
                latin_non_ascii += 1
            if ch.isupper() and prev_lower:
                case_flip = True
            prev_lower = ch.islower()
            prev_kind = "L"
        elif cat.startswith("M"):
            marks += 1
            if prev_kind not in ("L", "M"):
                orphan_mark = True
            prev_kind = "M"
        else:
            pending_odd = prev_kind in ("L", "M") and not ch.isascii() and not _IN_WORD_OK.match(ch)
            # A non-ASCII digit right before a letter ("³æ", Thai "๐า") is a misreading.
            prev_kind = "D" if cat.startswith("N") and not ch.isascii() else "O"
            prev_lower = False
    penalty = 0.0
    if len(scripts) > 1:
        penalty += 1  # "Bьrger": Latin text read as cp1251
    if case_flip:
        penalty += 1  # "рТЙЧЕФ": KOI8-R read as cp1251
    if sandwich:
        penalty += 1  # "Za¿ó³æ": Polish read as cp1252
    if orphan_mark or marks > letters:
        penalty += 1  # vowel points with no letter to sit on
    if halfwidth:
        penalty += 1  # half-width katakana is legacy-only; in modern text it means misreading
    if scripts == {"LATIN"} and ascii_letters == 0 and latin_non_ascii >= 4:
        penalty += 1  # "Ïðåçèäåíò": Cyrillic read as cp1252
    return penalty
