"""Every setting of a build, its default and its help text: the one place they are written.

A leaf: it imports only :mod:`corpuskit.errors` and :mod:`corpuskit.layout`, so any
module (a stage, the CLI, a test) can read the settings without importing the stages.
The CLI takes its defaults and help texts from here (:func:`default`,
:func:`help_text`), so a default is changed in one place.

``BuildConfig`` holds the command line's settings at its top level and the stage configs
it nests (``source``, ``clean``, ``near_dup``); the manifest's ``config`` record is its
``dataclasses.asdict``. Stages read their part through those or through small views
(``validation``, ``language``). Settings that cannot change the output (``jobs``, ``executor``,
``batch_size``) and ``previous`` (recorded apart, by its manifest's checksum) are left out
of that record, which is why a build with ``--jobs 1`` and ``--jobs 8`` is
byte-identical.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpuskit.cardconfig import CardConfig
from corpuskit.errors import ConfigError
from corpuskit.layout import MANIFEST
from corpuskit.storage import is_url

__all__ = [
    "ALL_FIELDS",
    "CLEAN_STEPS",
    "GROUP_BY_FIELDS",
    "META_KEYS",
    "NEAR_DUP_POLICIES",
    "ON_BAD_FILE",
    "PII_ACTIONS",
    "SOURCE_ID_KEYWORDS",
    "BuildConfig",
    "CardConfig",
    "CleanConfig",
    "LanguageConfig",
    "NearDupConfig",
    "SourceConfig",
    "ValidationConfig",
    "choose_bands_rows",
    "default",
    "help_text",
    "parse_languages",
]

NEAR_DUP_POLICIES = ("drop", "keep")
#: Where the map stage runs (``--executor``).
EXECUTORS = ("local", "ray")
#: Row fields whose equal values --group-by keeps in one split.
GROUP_BY_FIELDS = ("source_id", "url", "title", "language")
ON_BAD_FILE = ("skip", "error")
#: The meta keys RawRecord.meta may hold, in the order of the SourceConfig fields.
META_KEYS = ("title", "url", "published", "source", "id", "language")
#: ``--keep-fields`` value that puts every other input field into ``metadata`` (the default).
ALL_FIELDS = "*"
#: Source-id rules that are not regular expressions (see corpuskit.sourceid).
SOURCE_ID_KEYWORDS = ("stem", "parent", "top")
CLEAN_STEPS: tuple[str, ...] = (
    "unicode",
    "markup",
    "whitespace",
    "furniture",
    "repetition",
    "paragraphs",
    "headline",
    "pii",
)
#: What the ``pii`` clean step does with what it finds (``--pii``).
PII_ACTIONS = ("redact", "keep", "reject")
#: Never personal data by default: the documentation networks (RFC 5737, RFC 3849).
PII_ALLOW = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
#: Regions whose national phone formats are recognised after a phone word ("tel.",
#: "call", ...): where most news in the lexicon languages comes from.
PII_PHONE_REGIONS = (
    "US", "GB", "CA", "AU", "IN", "DE", "AT", "CH", "FR", "BE", "ES", "MX", "AR", "CO", "IT",
    "PT", "BR", "NL", "PL", "CZ", "RU", "UA",
)  # fmt: skip
# Defaults shared by BuildConfig and the stage configs built from it.
MIN_CHARS = 200
MAX_CHARS = 1_000_000
LANGUAGE_THRESHOLD = 0.5

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")

#: Minimum probability that a pair at exactly the threshold shares at least one LSH band.
#: The banding is chosen as the cheapest one that still meets it (see choose_bands_rows).
MIN_CANDIDATE_PROBABILITY_AT_THRESHOLD = 0.98


def _opt(value: Any, help: str) -> Any:
    """A field with a default and the help text its command-line option shows."""
    return field(default=value, metadata={"help": help})


def default(cls: type[Any], name: str) -> Any:
    """The default of setting ``name`` of config class ``cls`` (for the CLI's options)."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            if f.default is not dataclasses.MISSING:
                return f.default
            if f.default_factory is not dataclasses.MISSING:
                return f.default_factory()
    raise KeyError(f"{cls.__name__} has no setting {name!r}")


def help_text(cls: type[Any], name: str) -> str | None:
    """The help text of setting ``name`` of ``cls``; None when it has none."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            return f.metadata.get("help")
    raise KeyError(f"{cls.__name__} has no setting {name!r}")


# --------------------------------------------------------------------------------------------
# Reading sources


@dataclass(frozen=True)
class SourceConfig:
    """How to read inputs: which fields hold what, size cap, and the bad-file policy.

    ``on_bad_file`` decides what happens when a whole file cannot be read or parsed
    (I/O error, broken link, corrupt Parquet or gzip, binary data in a JSONL/CSV file):
    "skip" turns it into one Reject and goes on, "error" raises SourceError. Problems
    with single records (a bad JSON line, a .txt file that is not text) are always
    rejects.
    """

    text_field: str = _opt("text", "JSONL/CSV/Parquet field holding the article text.")
    title_field: str | None = "title"
    url_field: str | None = "url"
    published_field: str | None = "published"
    source_field: str | None = _opt("source", "Field holding a source id; wins over --source-id.")
    max_record_bytes: int = 10_000_000
    on_bad_file: str = _opt("skip", "A file that cannot be read at all: reject it, or stop.")
    id_field: str | None = _opt(
        "id", "Field holding the input's own record id (column source_record_id); '' for none."
    )
    keep_fields: tuple[str, ...] | None = _opt(
        None,
        "Input fields kept in the metadata column (JSON), comma-separated; '*': every field "
        "not used otherwise; '': none.",
    )
    language_field: str | None = _opt(
        None, "Field holding the language label; the detector only checks it (and fills gaps)."
    )

    def __post_init__(self) -> None:
        if not self.text_field:
            raise ConfigError("--text-field must not be empty")
        keep = self.keep_fields
        if isinstance(keep, str):  # "a,b" as the command line spells it
            keep = None if keep == ALL_FIELDS else [k.strip() for k in keep.split(",") if k.strip()]
        object.__setattr__(self, "keep_fields", None if keep is None else tuple(keep))
        if self.max_record_bytes < 1:
            raise ConfigError(f"max_record_bytes must be at least 1, got {self.max_record_bytes}")
        if self.on_bad_file not in ON_BAD_FILE:
            raise ConfigError(
                f"--on-bad-file must be one of {', '.join(ON_BAD_FILE)}, got {self.on_bad_file!r}"
            )

    def meta_fields(self) -> tuple[tuple[str, str], ...]:
        """(meta key, input field) for each configured metadata field."""
        return self.field_names[0]

    @functools.cached_property
    def field_names(self) -> tuple[tuple[tuple[str, str], ...], frozenset[str]]:
        """``meta_fields()``, and every input field corpuskit reads itself (the text's too);
        worked out once: the readers ask for every record (~8 µs a record otherwise)."""
        fields = (self.title_field, self.url_field, self.published_field, self.source_field,
                  self.id_field, self.language_field)  # fmt: skip
        meta = tuple((key, name) for key, name in zip(META_KEYS, fields, strict=True) if name)
        return meta, frozenset([self.text_field, *(name for _, name in meta)])


def check_source_id_rule(rule: str) -> re.Pattern[str] | None:
    """The compiled regex of a ``--source-id`` rule (None for a keyword rule).

    Raises ConfigError when the rule is neither a keyword nor a valid regular expression.
    """
    if rule in SOURCE_ID_KEYWORDS:
        return None
    try:
        return re.compile(rule)
    except re.error as exc:
        raise ConfigError(
            f"--source-id: {rule!r} is neither one of {', '.join(SOURCE_ID_KEYWORDS)} nor a "
            f"valid regular expression ({exc})"
        ) from exc


# --------------------------------------------------------------------------------------------
# Validation, cleaning, language


@dataclass(frozen=True)
class ValidationConfig:
    """Length thresholds, in characters."""

    min_chars: int = MIN_CHARS
    max_chars: int = MAX_CHARS


@dataclass(frozen=True)
class CleanConfig:
    """How to clean. Defaults suit news/web prose in any language.

    ``repetitive`` (a reason to reject the record as spam) is decided by Gopher-style
    ratios (Rae et al. 2021, appendix A1), with Gopher's limits. Two of them count repeated
    paragraphs, measured on the text as it enters the ``repetition`` step -- after furniture
    is gone (a page's five "Read more »" lines are not spam), before duplicates are removed
    -- with one exception: a paragraph, or the whole article, shown up to
    ``max_article_copies`` times is an extraction artifact that this step repairs, so it is
    counted once:

    * ``max_duplicate_line_fraction`` (0.30, Gopher's duplicate-line fraction): share of
      prose paragraphs that repeat an earlier one;
    * ``max_duplicate_char_fraction`` (0.20, Gopher's duplicate-line character fraction):
      share of the characters that sit in such repeated paragraphs.

    Two count repeated word n-grams in the cleaned text (:mod:`corpuskit.clean.ngrams`,
    which reads the words the map stage tokenises once per batch for MinHash too):

    * ``max_top_ngram_fraction`` (0.20, Gopher's top-2-gram limit): share of word
      characters covered by the most frequent word 2-gram; 3- and 4-grams use Gopher's
      tighter 0.18 and 0.16 (this value minus 0.02 per extra word);
    * ``max_duplicate_ngram_fraction`` (0.10, Gopher's duplicated-10-gram limit): share of
      prose word characters covered by word 10-grams that occur more than once.

    "Prose" paragraphs have at least ``min_duplicate_paragraph_chars`` characters: short
    lines (code, formulas, list items) repeat by nature. The n-gram ratios need at least
    ``min_words_for_ngrams`` (50, Gopher's minimum document length) words.
    """

    enabled: bool = True
    steps: tuple[str, ...] = CLEAN_STEPS
    normalize_punctuation: bool = False
    boilerplate_rules: tuple[str, ...] = ()
    max_duplicate_line_fraction: float = 0.3
    max_duplicate_char_fraction: float = 0.2
    max_top_ngram_fraction: float = 0.2
    max_duplicate_ngram_fraction: float = 0.10
    min_words_for_ngrams: int = 50
    # A repeated paragraph is dropped (and counted by the duplicate-line ratios) only when
    # it is prose: at least this many characters, a letter, and either a sentence ending
    # or 150+ characters. Other repeats (code lines, table rows, "***", "Q:", list items)
    # are structure, not duplication.
    min_duplicate_paragraph_chars: int = 50
    # An article repeated more often than this is spam, not an extraction artifact.
    max_article_copies: int = 3
    # Languages whose wordfreq word lists decide whether glued halves make a word
    # (the `paragraphs` step). Cleaning runs before language detection, so all are asked.
    lexicon_languages: tuple[str, ...] = (
        "en", "fr", "es", "de", "pt", "it", "nl", "ru", "uk", "pl", "cs",
    )  # fmt: skip
    # The `pii` step (corpuskit.clean.pii): what to do with personal data it finds,
    # what is never personal data (networks, addresses, @domains), the regions of phone
    # numbers written in a national format, and what a redacted match becomes ({KIND} is
    # EMAIL, PHONE, IP, CARD or SECRET).
    pii: str = "redact"
    pii_allow: tuple[str, ...] = PII_ALLOW
    pii_phone_regions: tuple[str, ...] = PII_PHONE_REGIONS
    pii_placeholder: str = "<{KIND}>"

    def __post_init__(self) -> None:
        steps = tuple(self.steps)
        unknown = [s for s in steps if s not in CLEAN_STEPS]
        if unknown:
            raise ConfigError(
                f"unknown clean step(s) {', '.join(map(repr, unknown))}; "
                f"valid steps are: {', '.join(CLEAN_STEPS)}"
            )
        object.__setattr__(self, "steps", tuple(s for s in CLEAN_STEPS if s in steps))
        object.__setattr__(self, "boilerplate_rules", tuple(map(str, self.boilerplate_rules)))
        object.__setattr__(self, "lexicon_languages", tuple(self.lexicon_languages))
        object.__setattr__(self, "pii_allow", tuple(self.pii_allow))
        object.__setattr__(self, "pii_phone_regions", tuple(self.pii_phone_regions))
        self._check_pii()
        for name in (
            "max_duplicate_line_fraction",
            "max_duplicate_char_fraction",
            "max_top_ngram_fraction",
            "max_duplicate_ngram_fraction",
        ):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0.0 < value <= 1.0:
                raise ConfigError(f"clean option {name} must be a number in (0, 1], got {value!r}")
        for name in ("min_words_for_ngrams", "min_duplicate_paragraph_chars", "max_article_copies"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"clean option {name} must be a positive integer, got {value!r}")

    def _check_pii(self) -> None:
        import ipaddress

        if self.pii not in PII_ACTIONS:
            raise ConfigError(f"--pii must be one of {', '.join(PII_ACTIONS)}, got {self.pii!r}")
        for entry in self.pii_allow:
            if "@" in entry:
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigError(
                    f"--pii-allow {entry!r} is not an IP network (192.0.2.0/24), an address "
                    "(press@example.org) or a domain (@example.org)"
                ) from None
        bad = [r for r in self.pii_phone_regions if not re.fullmatch(r"[A-Z]{2}", r)]
        if bad:
            raise ConfigError(
                f"phone region {bad[0]!r} is not an ISO 3166 alpha-2 code (like 'US' or 'DE')"
            )


@dataclass(frozen=True)
class LanguageConfig:
    """Which engine, which seed, and below which probability a guess is `und`."""

    seed: int = 0
    threshold: float = LANGUAGE_THRESHOLD
    engine: str = "auto"  # "auto" | "langdetect-rs" | "langdetect"


# --------------------------------------------------------------------------------------------
# Near-duplicates


def choose_bands_rows(threshold: float, num_perm: int) -> tuple[int, int]:
    """Pick ``(bands, rows)`` with ``bands * rows == num_perm`` for recall at the threshold.

    A pair that shares no band is never compared, so it can end up on both sides of the split:
    a leak. A pair that shares a band but is not similar only costs one comparison. So: the
    most rows per band (fewest candidates) for which a pair at exactly ``threshold`` still
    shares a band with probability >= MIN_CANDIDATE_PROBABILITY_AT_THRESHOLD.
    For threshold 0.6 and 128 permutations that is 32 bands x 4 rows (98.8 % at J=0.6,
    99.8 % at 0.65, 99.98 % at 0.7; 23 % of pairs at J=0.3 become candidates and are then
    rejected by verification; 8 rows would catch only 24 % of the pairs at J=0.6).
    """
    best = (num_perm, 1)
    for rows in range(1, num_perm + 1):
        if num_perm % rows:
            continue
        bands = num_perm // rows
        p_candidate = 1.0 - (1.0 - threshold**rows) ** bands
        if p_candidate >= MIN_CANDIDATE_PROBABILITY_AT_THRESHOLD:
            best = (bands, rows)
    return best


@dataclass(frozen=True)
class NearDupConfig:
    """How near-duplicates are found; fixed seed and parameters make signatures reproducible."""

    enabled: bool = True
    shingle_size: int = 5
    threshold: float = _opt(
        0.6, "Jaccard similarity (5-word shingles) at which articles are near-duplicates."
    )
    num_perm: int = 128
    seed: int = 1
    # Split groups join pairs whose *estimate* is within this margin below the threshold:
    # the estimate's spread (~0.04 at 128 permutations) would otherwise let some true
    # J >= threshold pairs straddle the split. Over-grouping only makes the split safer.
    split_margin: float = 0.1
    # An article whose shingles are at least this share contained in another's goes to that
    # one's split (corpuskit.dedup.containment); 0 turns that grouping off (the audit still
    # runs).
    containment: float = 0.8

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ConfigError(
                f"near-dup threshold must be in (0, 1], got {self.threshold!r}; "
                "it is a Jaccard similarity of word shingles (0.6 is a good default)"
            )
        if self.shingle_size < 1:
            raise ConfigError(f"near-dup shingle_size must be >= 1, got {self.shingle_size!r}")
        if self.num_perm < 1:
            raise ConfigError(f"near-dup num_perm must be >= 1, got {self.num_perm!r}")
        if not 0.0 <= self.split_margin <= 1.0:
            raise ConfigError(f"near-dup split_margin must be in [0, 1], got {self.split_margin!r}")
        if not 0.0 <= self.containment <= 1.0:
            raise ConfigError(
                f"near-dup containment must be in [0, 1] (0: off), got {self.containment!r}"
            )
        if not 0 <= self.seed < 2**64:
            raise ConfigError(f"near-dup seed must be in [0, 2**64), got {self.seed!r}")

    @property
    def bands(self) -> int:
        return choose_bands_rows(self.threshold, self.num_perm)[0]

    @property
    def rows(self) -> int:
        return choose_bands_rows(self.threshold, self.num_perm)[1]

    @property
    def min_matches(self) -> int:
        """Fewest equal slots whose estimate (matches / num_perm) reaches the threshold."""
        return self.matches_for(self.threshold)

    def matches_for(self, similarity: float) -> int:
        """Fewest equal slots whose estimate (matches / num_perm) reaches ``similarity``."""
        m = max(0, math.ceil(similarity * self.num_perm) - 1)
        while m / self.num_perm < similarity:
            m += 1
        return m

    @property
    def signature_bytes(self) -> int:
        return 4 * self.num_perm


# --------------------------------------------------------------------------------------------
# The build


@dataclass(frozen=True)
class BuildConfig:
    """Settings of one build. Defaults are what `corpuskit build` uses.

    The field order is the order of the manifest's ``config`` record: append new fields,
    never reorder (an artifact's bytes depend on it).
    """

    name: str = "corpus"
    eval_ratio: float = _opt(0.1, "Share of groups that go to the eval split.")
    seed: int = _opt(0, "Seed for the split and for language detection.")
    min_chars: int = _opt(
        MIN_CHARS, "Reject articles shorter than this (before and after cleaning)."
    )
    max_chars: int = _opt(MAX_CHARS, "Reject articles longer than this.")
    languages: tuple[str, ...] = ()
    language_threshold: float = _opt(
        LANGUAGE_THRESHOLD, "Below this langdetect probability the language is 'und'."
    )
    source_id: str = _opt("stem", "How to derive a source id from the file path (see below).")
    near_dups: str = _opt(
        "drop", "Drop all but one article per near-duplicate cluster, or keep all."
    )
    group_by: str | None = _opt(None, "Keep all articles with the same value in one split.")
    stratify_language: bool = False
    shard_bytes: int = 256 * 1024 * 1024
    source: SourceConfig = field(default_factory=SourceConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    near_dup: NearDupConfig = field(default_factory=NearDupConfig)
    previous: str | None = None
    # What the card says about the data (never changes a row; `corpuskit card` rewrites it).
    card: CardConfig = field(default_factory=CardConfig)
    # Execution settings: they never change the artifact, so they are not in the manifest.
    jobs: int = 1
    executor: str = _opt(
        "local",
        "Where the map stage runs: 'local' (this machine's process pool) or 'ray' (Ray tasks "
        "on the cluster RAY_ADDRESS names, or a local Ray). Never changes the output.",
    )
    batch_size: int = _opt(
        1000,
        "Records per map-stage batch (the unit of work of a worker). Never changes the output.",
    )
    cache: str | None = _opt(
        None,
        "Folder of the map-stage cache: an article seen before under the same settings is "
        "not processed again. None: no cache. Never changes the output.",
    )

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise ConfigError(
                f"dataset name {self.name!r} is not allowed: use letters, digits, '.', '_' "
                "or '-' (at most 96 characters, starting with a letter or digit)"
            )
        if not 0.0 < self.eval_ratio < 1.0:
            raise ConfigError(
                f"--eval-ratio must be between 0 and 1 (exclusive), got {self.eval_ratio}"
            )
        if self.min_chars < 0 or self.max_chars < 1 or self.min_chars > self.max_chars:
            raise ConfigError(
                f"--min-chars ({self.min_chars}) must be >= 0 and <= --max-chars ({self.max_chars})"
            )
        if not 0.0 <= self.language_threshold <= 1.0:
            raise ConfigError(
                f"--language-threshold must be between 0 and 1, got {self.language_threshold}"
            )
        if self.near_dups not in NEAR_DUP_POLICIES:
            raise ConfigError(
                f"--near-dups must be one of {', '.join(NEAR_DUP_POLICIES)}, got {self.near_dups!r}"
            )
        if self.group_by is not None and self.group_by not in GROUP_BY_FIELDS:
            raise ConfigError(
                f"--group-by must be one of {', '.join(GROUP_BY_FIELDS)}, got {self.group_by!r}"
            )
        check_source_id_rule(self.source_id)
        if self.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {self.jobs}")
        if self.executor not in EXECUTORS:
            raise ConfigError(
                f"--executor must be one of {', '.join(EXECUTORS)}, got {self.executor!r}"
            )
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if self.shard_bytes < 1024:
            raise ConfigError(f"shard size must be at least 1 KiB, got {self.shard_bytes}")
        if (
            self.previous is not None
            and not is_url(self.previous)  # a URL's manifest is checked when it is read
            and not Path(self.previous, MANIFEST).is_file()
        ):
            raise ConfigError(
                f"--previous {self.previous}: not a corpuskit artifact (no {MANIFEST} there)"
            )

    @property
    def validation(self) -> ValidationConfig:
        return ValidationConfig(self.min_chars, self.max_chars)

    @property
    def language(self) -> LanguageConfig:
        return LanguageConfig(seed=self.seed, threshold=self.language_threshold)

    def to_manifest(self) -> dict[str, Any]:
        """The settings that shape the output, JSON-ready (no execution settings)."""
        data = dataclasses.asdict(self)
        for key in ("jobs", "executor", "batch_size", "previous", "cache"):
            data.pop(key)
        return data


def parse_languages(value: str | None) -> tuple[str, ...]:
    """Parse ``en,uk`` into a sorted tuple; an empty value means 'all languages'."""
    if not value:
        return ()
    codes = sorted({code.strip() for code in value.split(",") if code.strip()})
    for code in codes:
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?|und", code):
            raise ConfigError(
                f"--languages: {code!r} is not a language code (expected ISO 639-1 like 'en', "
                "comma-separated)"
            )
    return tuple(codes)
