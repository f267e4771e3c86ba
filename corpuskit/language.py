"""Language tagging with langdetect's answers, seeded so that every build agrees.

Two engines give the same answers: ``langdetect-rs`` (a bit-for-bit port of langdetect
1.0.9, ~40x faster, batch calls run outside the GIL) and ``langdetect`` itself, kept as the
reference and as the fallback when the fast engine is not installed. Each detector owns its
own factory and seed: nothing touches langdetect's module-level ``DetectorFactory.seed``, so
two builds with different seeds can run in one process.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any, Protocol

from corpuskit.config import LanguageConfig

UNDETERMINED = "und"

# langdetect reports Chinese as zh-cn / zh-tw (script, really); BCP-47 script subtags say
# what is meant. Every other langdetect code is already ISO 639-1.
CODE_MAP = {"zh-cn": "zh-Hans", "zh-tw": "zh-Hant"}

Guess = tuple[str, float]


class Detector(Protocol):
    """What the pipeline needs from a language detector."""

    engine: str

    def detect_batch(self, texts: Sequence[str]) -> list[Guess | None]:
        """Best (raw langdetect code, probability) per text; None when there are no features."""
        ...


class LangdetectReference:
    """langdetect 1.0.9 itself, one text at a time (slow; the reference)."""

    engine = "langdetect"

    def __init__(self, seed: int) -> None:
        from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

        self._factory = DetectorFactory()
        self._factory.load_profile(PROFILES_DIRECTORY)
        self._factory.seed = seed

    def detect_batch(self, texts: Sequence[str]) -> list[Guess | None]:
        from langdetect.lang_detect_exception import LangDetectException

        return _detect_each(self._factory, texts, LangDetectException)

    def __getstate__(self) -> dict[str, Any]:
        return {"seed": self._factory.seed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["seed"])  # type: ignore[misc]


class LangdetectRs:
    """langdetect-rs: the same answers as langdetect, batched across cores without the GIL.

    Only langdetect-rs's public API: ``detect_langs_batch`` with the seed set the way
    langdetect documents it (``DetectorFactory.seed``, a class attribute, so process-wide).
    The seed is set again before every batch, so detectors with different seeds in one
    process each get their own; the stage never detects from two threads at once. Not
    thread-safe: two threads detecting with different seeds at once could swap seeds.
    """

    engine = "langdetect-rs"

    def __init__(self, seed: int) -> None:
        import langdetect_rs

        self._seed = seed
        self._detect = langdetect_rs.detect_langs_batch
        self._factory = langdetect_rs.DetectorFactory
        self.detect_batch([])  # loads the language profiles now, once per worker

    def detect_batch(self, texts: Sequence[str]) -> list[Guess | None]:
        self._factory.seed = self._seed
        results = self._detect(list(texts))
        return [None if not r else (r[0].lang, r[0].prob) for r in results]

    def __getstate__(self) -> dict[str, Any]:
        return {"seed": self._seed}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["seed"])  # type: ignore[misc]


def _detect_each(
    factory: Any, texts: Sequence[str], failure: type[Exception]
) -> list[Guess | None]:
    """langdetect's per-text API (both engines share it): a fresh detector per text, and
    None where it finds no features instead of its exception."""
    out: list[Guess | None] = []
    for text in texts:
        detector = factory.create()
        detector.append(text)
        try:
            best = detector.get_probabilities()
        except failure:
            out.append(None)
            continue
        out.append((best[0].lang, best[0].prob) if best else None)
    return out


def make_detector(config: LanguageConfig) -> Detector:
    """The fastest engine available that gives langdetect's answers."""
    if config.engine in ("auto", "langdetect-rs"):
        try:
            return LangdetectRs(config.seed)
        except ImportError:
            if config.engine == "langdetect-rs":
                from corpuskit.errors import ConfigError

                raise ConfigError(
                    "language engine 'langdetect-rs' is not installed: pip install langdetect-rs"
                ) from None
    return LangdetectReference(config.seed)


def tag(guesses: Sequence[Guess | None], threshold: float) -> list[tuple[str, float]]:
    """Turn raw guesses into (language, score) columns: mapped codes, `und` below threshold.

    An undetermined record keeps its score when there was a guess, so a reader can see how
    close it came; when detection failed outright the score is 0.
    """
    out: list[tuple[str, float]] = []
    for guess in guesses:
        if guess is None:
            out.append((UNDETERMINED, 0.0))
            continue
        code, prob = guess
        out.append((CODE_MAP.get(code, code) if prob >= threshold else UNDETERMINED, prob))
    return out


# --- labels the input gives (--language-field) ---------------------------------------------

#: ISO 639-2 codes (bibliographic and terminology) of langdetect's languages → ISO 639-1.
_ISO_639_2 = {
    "afr": "af", "ara": "ar", "ben": "bn", "bul": "bg", "cat": "ca", "ces": "cs", "cze": "cs",
    "cym": "cy", "wel": "cy", "dan": "da", "deu": "de", "ger": "de", "ell": "el", "gre": "el",
    "eng": "en", "est": "et", "fas": "fa", "per": "fa", "fin": "fi", "fra": "fr", "fre": "fr",
    "guj": "gu", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu", "ind": "id", "ita": "it",
    "jpn": "ja", "kan": "kn", "kor": "ko", "lit": "lt", "lav": "lv", "mkd": "mk", "mac": "mk",
    "mal": "ml", "mar": "mr", "nep": "ne", "nld": "nl", "dut": "nl", "nor": "no", "nob": "no",
    "nno": "no", "pan": "pa", "pol": "pl", "por": "pt", "ron": "ro", "rum": "ro", "rus": "ru",
    "slk": "sk", "slo": "sk", "slv": "sl", "som": "so", "sqi": "sq", "alb": "sq", "spa": "es",
    "swa": "sw", "swe": "sv", "tam": "ta", "tel": "te", "tha": "th", "tgl": "tl", "tur": "tr",
    "ukr": "uk", "urd": "ur", "vie": "vi", "zho": "zh", "chi": "zh",
}  # fmt: skip
#: BCP 47 codes that name no language.
_NO_LANGUAGE = frozenset({"und", "mul", "mis", "zxx"})
_HANT_REGIONS = frozenset({"tw", "hk", "mo"})


def normalise_label(label: str | None) -> str | None:
    """An input's language label as the artifact writes languages, or None when it names
    none: lowercase ISO 639-1 (``en-US`` → ``en``, ``eng`` → ``en``), Chinese as
    ``zh-Hans``/``zh-Hant`` by script or region (``zh-CN`` → ``zh-Hans``, ``zh_TW`` →
    ``zh-Hant``; plain ``zh`` stays). Region and other subtags are dropped; a two- or
    three-letter code corpuskit has no mapping for is kept, lowercased."""
    if not label:
        return None
    parts = label.strip().replace("_", "-").lower().split("-")
    primary = _ISO_639_2.get(parts[0], parts[0])
    if not re.fullmatch(r"[a-z]{2,3}", primary) or primary in _NO_LANGUAGE:
        return None
    if primary != "zh":
        return primary
    subtags = set(parts[1:])
    if "hant" in subtags or subtags & _HANT_REGIONS:
        return "zh-Hant"
    if "hans" in subtags or subtags & {"cn", "sg"}:
        return "zh-Hans"
    return "zh"


def same_language(given: str, detected: str) -> bool:
    """Whether a label and the detector's answer name one language (plain ``zh`` is
    either Chinese)."""
    return given == detected or (given == "zh" and detected.startswith("zh-"))


# --- scripts: where the text's writing system settles the language ---------------------------

# Letters of each script (Unicode blocks). Sources: the Unicode Standard's block chart.
_SCRIPT_CLASSES: dict[str, str] = {
    "Latin": "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff",
    "Cyrillic": "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f",
    "Greek": "\u0370-\u03ff\u1f00-\u1fff",
    "Armenian": "\u0531-\u058f",
    "Hebrew": "\u0590-\u05ff\ufb1d-\ufb4f",
    "Arabic": "\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff",
    "Devanagari": "\u0900-\u097f",
    "Bengali": "\u0980-\u09ff",
    "Gurmukhi": "\u0a00-\u0a7f",
    "Gujarati": "\u0a80-\u0aff",
    "Tamil": "\u0b80-\u0bff",
    "Telugu": "\u0c00-\u0c7f",
    "Kannada": "\u0c80-\u0cff",
    "Malayalam": "\u0d00-\u0d7f",
    "Sinhala": "\u0d80-\u0dff",
    "Thai": "\u0e00-\u0e7f",
    "Lao": "\u0e80-\u0eff",
    "Georgian": "\u10a0-\u10ff\u1c90-\u1cbf\u2d00-\u2d2f",
    "Hangul": "\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af",
    "Khmer": "\u1780-\u17ff",
    "Kana": "\u3040-\u30ff\u31f0-\u31ff\uff66-\uff9f",
    "Han": "\u3005\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f",
}
# Counting is "delete every run of what is not counted, measure the rest": one regex match per
# word gap, where deleting each counted character was one match per letter (6x slower).
_NOT_SCRIPT_RES = {name: re.compile(f"[^{chars}]+") for name, chars in _SCRIPT_CLASSES.items()}
_LETTER_RE = re.compile(r"[^\W\d_]")
_NOT_LETTER_RE = re.compile(r"[\W\d_]+")

# The scripts each language langdetect knows is written in.
_LATIN_LANGUAGES = (
    "af ca cs cy da de en es et fi fr hr hu id it lt lv nl no pl pt ro sk sl so sq sv sw tl tr vi"
).split()
LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{code: frozenset({"Latin"}) for code in _LATIN_LANGUAGES},
    **{code: frozenset({"Cyrillic"}) for code in ("bg", "mk", "ru", "uk")},
    **{code: frozenset({"Arabic"}) for code in ("ar", "fa", "ur")},
    **{code: frozenset({"Devanagari"}) for code in ("hi", "mr", "ne")},
    "el": frozenset({"Greek"}), "he": frozenset({"Hebrew"}), "bn": frozenset({"Bengali"}),
    "pa": frozenset({"Gurmukhi"}), "gu": frozenset({"Gujarati"}), "ta": frozenset({"Tamil"}),
    "te": frozenset({"Telugu"}), "kn": frozenset({"Kannada"}), "ml": frozenset({"Malayalam"}),
    "th": frozenset({"Thai"}),
    "ja": frozenset({"Kana", "Han"}), "ko": frozenset({"Hangul", "Han"}),
    "zh-Hans": frozenset({"Han"}), "zh-Hant": frozenset({"Han"}),
}  # fmt: skip
# Scripts that one language (of the ones worth tagging) is written in.
SCRIPT_LANGUAGE: dict[str, str] = {
    "Greek": "el", "Armenian": "hy", "Georgian": "ka", "Hebrew": "he", "Thai": "th",
    "Hangul": "ko", "Kana": "ja", "Gurmukhi": "pa", "Gujarati": "gu", "Tamil": "ta",
    "Telugu": "te", "Kannada": "kn", "Malayalam": "ml", "Sinhala": "si", "Lao": "lo",
    "Khmer": "km",
}  # fmt: skip
#: Every language code a build can tag an article with: langdetect's languages (Chinese as
#: zh-Hans/zh-Hant), the ones a script alone tells, and ``und``.
EMITTED_CODES: frozenset[str] = frozenset(
    {*LANGUAGE_SCRIPTS, *SCRIPT_LANGUAGE.values(), UNDETERMINED}
)


def never_tagged(codes: Sequence[str], labelled: bool = False) -> list[str]:
    """For each of ``codes`` (``--languages``) that no article can be tagged with, a
    sentence saying so, with the nearest codes that can be (``nb`` → ``no``). None when
    the articles are ``labelled`` (--language-field): a label can name any language."""
    import difflib

    out: list[str] = []
    if labelled:
        return out
    for code in codes:
        if code in EMITTED_CODES:
            continue
        near = difflib.get_close_matches(code, sorted(EMITTED_CODES), n=3, cutoff=0.5)
        if code.lower().startswith(("nb", "nn")):
            near = ["no", *near]  # langdetect tags Bokmål and Nynorsk as one "no"
        hint = (
            f"; did you mean {' or '.join(repr(n) for n in dict.fromkeys(near))}?" if near else ""
        )
        out.append(
            f"--languages {code!r}: no article is ever tagged {code!r} (langdetect does not "
            f"know it), so every article would be rejected as language{hint}"
        )
    return out


# Japanese always writes kana, even in a headline; Korean writes Hangul. A few kana or
# Hangul among Han characters (a name, a particle) are enough to tell them from Chinese.
_MIN_KANA_SHARE = 0.02
_SAMPLE_CHARS = 500  # the script of an article is settled long before this


def _script_counts(text: str) -> tuple[dict[str, int], int]:
    """(letters per script, all letters) of the first _SAMPLE_CHARS characters."""
    sample = text[:_SAMPLE_CHARS]
    letters = _count(_NOT_LETTER_RE, sample)
    counts = {}
    for name, rx in _NOT_SCRIPT_RES.items():
        n = _count(rx, sample)
        if n:
            counts[name] = n
    return counts, letters


def _chinese_variant(text: str) -> str:
    """zh-Hant when more of the text's characters exist only in Traditional Chinese than only
    in Simplified (CC-CEDICT's character sets, from ``zhon``), zh-Hans otherwise."""
    simplified_only, traditional_only = _variant_sets()
    sample = text[:_SAMPLE_CHARS]
    trad = sum(1 for ch in sample if ch in traditional_only)
    simp = sum(1 for ch in sample if ch in simplified_only)
    return "zh-Hant" if trad > simp else "zh-Hans"


@cache
def _variant_sets() -> tuple[frozenset[str], frozenset[str]]:
    from zhon import cedict

    simplified, traditional = frozenset(cedict.simplified), frozenset(cedict.traditional)
    return simplified - traditional, traditional - simplified


def script_language(text: str) -> tuple[str, float] | None:
    """The language the text's dominant script settles, and that script's share of the
    letters; None when the script does not settle it (Latin, Cyrillic, Arabic, ...).

    Han-dominant text with kana is ``ja``, with Hangul ``ko``, otherwise Chinese, Simplified
    or Traditional by its characters.
    """
    counts, letters = _script_counts(text)
    if not counts or not letters:
        return None
    script = max(counts, key=lambda name: (counts[name], name))
    cjk = counts.get("Han", 0) + counts.get("Kana", 0) + counts.get("Hangul", 0)
    # Capped: a script's vowel signs (Thai, Indic) are marks, not letters, to the regex.
    share = min(1.0, (cjk if script in ("Han", "Kana", "Hangul") else counts[script]) / letters)
    if script in ("Han", "Kana", "Hangul"):
        if counts.get("Kana", 0) >= _MIN_KANA_SHARE * cjk:
            return "ja", share
        if counts.get("Hangul", 0) >= _MIN_KANA_SHARE * cjk:
            return "ko", share
        return _chinese_variant(text), share
    if script in SCRIPT_LANGUAGE:
        return SCRIPT_LANGUAGE[script], share
    return None


# A tag stands while its scripts hold at least this share of the letters: Cyrillic text
# quoting English titles is still Macedonian. Only a text (nearly) without its tag's
# script is corrected.
_MIN_OWN_SCRIPT_SHARE = 0.25


@cache
def _not_scripts_re(scripts: frozenset[str]) -> re.Pattern[str]:
    return re.compile("[^" + "".join(_SCRIPT_CLASSES[name] for name in sorted(scripts)) + "]+")


# What any text has besides letters: ASCII and Latin-1 punctuation, digits and symbols,
# general punctuation, currency and letterlike symbols, arrows, CJK punctuation, full-width
# forms' punctuation. Not exhaustive: it only lets most texts skip the counting.
_COMMON_NON_LETTERS = (
    "\x00-\x40\x5b-\x60\x7b-\xbf\xd7\xf7\u2000-\u206f\u20a0-\u20cf\u2100-\u21ff"
    "\u3000-\u3004\u3008-\u303f\uff01-\uff20\uff3b-\uff40\uff5b-\uff65"
)


@cache
def _foreign_re(scripts: frozenset[str]) -> re.Pattern[str]:
    """A character that is neither in ``scripts`` nor common punctuation or symbols."""
    own = "".join(_SCRIPT_CLASSES[name] for name in sorted(scripts))
    return re.compile(f"[^{own}{_COMMON_NON_LETTERS}]")


def _count(not_counted: re.Pattern[str], sample: str) -> int:
    """Characters of ``sample`` that ``not_counted`` (runs of the others) leaves."""
    return len(not_counted.sub("", sample))


def written_in_its_script(code: str, text: str) -> bool:
    """Whether ``code``'s language can be what ``text`` is written in: its scripts hold at
    least a quarter of the letters (and Japanese has kana, Korean Hangul, Chinese neither).
    True for codes we know no script of and for texts without letters.

    Two regex passes over at most _SAMPLE_CHARS characters (five for the CJK tags), and
    none for ASCII text.
    """
    scripts = LANGUAGE_SCRIPTS.get(code)
    if scripts is None:
        return True
    if text.isascii():  # the common case: no need to count
        return "Latin" in scripts or not _LETTER_RE.search(text)
    sample = text[:_SAMPLE_CHARS]
    cjk_code = code in ("ja", "ko", "zh-Hans", "zh-Hant")
    if not cjk_code and _foreign_re(scripts).search(sample) is None:
        return True  # nothing but its own script and punctuation: most texts stop here
    letters = _count(_NOT_LETTER_RE, sample)
    if not letters:
        return True
    if cjk_code:
        kana = _count(_NOT_SCRIPT_RES["Kana"], sample)
        hangul = _count(_NOT_SCRIPT_RES["Hangul"], sample)
        cjk = kana + hangul + _count(_NOT_SCRIPT_RES["Han"], sample)
        has_kana = kana >= _MIN_KANA_SHARE * cjk > 0
        has_hangul = hangul >= _MIN_KANA_SHARE * cjk > 0
        if (code == "ja" and not has_kana) or (code == "ko" and not has_hangul):
            return False
        if code.startswith("zh") and (has_kana or has_hangul):
            return False
    return _count(_not_scripts_re(scripts), sample) >= _MIN_OWN_SCRIPT_SHARE * letters


def correct_by_script(code: str, score: float, text: str) -> tuple[str, float]:
    """langdetect's tag, unless the text's dominant script rules its language out.

    Then the tag is the language the script settles (:func:`script_language`) with that
    script's share of the letters as the score, or ``und`` (score 0) when the script is
    shared by many languages. ``und`` itself is never changed.
    """
    if code == UNDETERMINED or written_in_its_script(code, text):
        return code, score
    settled = script_language(text)
    if settled is None:
        return UNDETERMINED, 0.0
    return settled
