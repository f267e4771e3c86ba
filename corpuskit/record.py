"""The records that flow between stages.

``RawRecord`` is what a source yields: text exactly as decoded, plus metadata and where it
came from. ``Document`` is a record on its way through the map stage. ``Reject`` is a record
that will not be kept, with a closed-set reason code. ``Keys`` is what the global stage
learns about a kept record. All are plain picklable
dataclasses (``Keys`` a NamedTuple) so that batches cross process (and, later, Ray)
boundaries unchanged.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

#: Raw text stored in a Reject is cut to this many characters, so one 10 MB bad record
#: cannot bloat the rejects config.
MAX_REJECT_TEXT = 10_000


class Reason(str, enum.Enum):
    """Why a record was rejected. A closed set: the card and the tests enumerate it."""

    EMPTY = "empty"
    TOO_SHORT = "too_short"
    TOO_LONG = "too_long"
    NOT_TEXT = "not_text"
    BAD_JSON = "bad_json"
    BAD_ROW = "bad_row"
    MISSING_TEXT = "missing_text"
    WRONG_TYPE = "wrong_type"
    UNDECODABLE = "undecodable"
    UNREADABLE = "unreadable"
    LANGUAGE = "language"
    EMPTY_AFTER_CLEAN = "empty_after_clean"
    REPETITIVE = "repetitive"
    INTERNAL_ERROR = "internal_error"

    def __str__(self) -> str:
        return self.value


REASON_DOCS: dict[Reason, str] = {
    Reason.EMPTY: "the text is empty or only whitespace",
    Reason.TOO_SHORT: "fewer characters than --min-chars",
    Reason.TOO_LONG: "more characters than --max-chars (or a line/file over the size cap)",
    Reason.NOT_TEXT: "binary content (NUL bytes or mostly control characters)",
    Reason.BAD_JSON: "a JSONL line that is not valid JSON, or not a JSON object",
    Reason.BAD_ROW: "a CSV/Parquet row or file that cannot be parsed",
    Reason.MISSING_TEXT: "the record has no text field",
    Reason.WRONG_TYPE: "the text field is not a string (number, list, object, ...)",
    Reason.UNDECODABLE: "the bytes could not be decoded in any known encoding",
    Reason.UNREADABLE: "the file could not be opened or read (permissions, broken link, ...)",
    Reason.LANGUAGE: "the detected language is not in --languages",
    Reason.EMPTY_AFTER_CLEAN: "nothing (or too little) was left after cleaning",
    Reason.REPETITIVE: "the text is mostly repeated lines or n-grams (spam)",
    Reason.INTERNAL_ERROR: "processing this record raised an unexpected exception",
}


@dataclass(frozen=True)
class Provenance:
    """Where a record came from: a file and a 1-based line (JSONL/CSV) or row (Parquet)."""

    file: str
    line: int | None = None

    def __str__(self) -> str:
        return self.file if self.line is None else f"{self.file}:{self.line}"


@dataclass
class RawRecord:
    """A record as a source yields it: text as decoded, metadata, provenance.

    ``meta`` holds the optional fields the schema knows (``title``, ``url``, ``published``,
    ``source``) when the input had them.
    """

    text: str
    provenance: Provenance
    meta: dict[str, Any] = field(default_factory=dict)
    encoding: str | None = None


@dataclass
class Reject:
    """A record that will not be kept, and why."""

    reason: Reason
    detail: str
    provenance: Provenance
    text: str | None = None
    source_id: str | None = None


@dataclass
class Document:
    """A record inside the map stage; becomes one output row if kept."""

    text: str
    provenance: Provenance
    source_id: str
    title: str | None = None
    url: str | None = None
    published: datetime | None = None
    language: str = "und"
    language_score: float = 0.0
    clean_flags: list[str] = field(default_factory=list)
    chars_removed: int = 0
    id: str = ""
    content_hash: str = ""
    signature: bytes | None = None
    # For containment (see corpuskit.dedup.containment): shingle positions in the text and the
    # 8-byte keys of its long paragraphs. Unset when near-duplicate detection is off.
    num_shingles: int = 0
    paragraphs: bytes = b""


class Keys(NamedTuple):
    """What the global stage learns about a kept record: small, never the text.

    A NamedTuple, not a dataclass: a batch's keys cross a process boundary, and tuples
    unpickle several times faster (0.75 s per 20k records for the frozen dataclass)."""

    seq: int
    id: str
    content_hash: str
    num_chars: int
    language: str
    group: str | None
    file: str
    line: int | None
    signature: bytes | None
    # For containment: see Document.
    num_shingles: int = 0
    paragraphs: bytes = b""
