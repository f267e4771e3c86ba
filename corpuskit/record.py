"""The records that flow between stages.

``RawRecord`` is what a source yields: text exactly as decoded, plus metadata and where it
came from. ``Document`` is a record on its way through the map stage. ``Reject`` is a record
that will not be kept, with a closed-set reason code. ``Keys`` is what the global stage
learns about a kept record; ``KeyBatch`` is a batch of them as columns, the form that
crosses from a worker to the build process. All are plain picklable
dataclasses (``Keys`` a NamedTuple) so that batches cross process (and, later, Ray)
boundaries unchanged.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

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
    PII = "pii"
    INTERNAL_ERROR = "internal_error"

    def __str__(self) -> str:
        return self.value


#: The kinds of personal data the pii clean step finds (corpuskit.clean.pii), in the order
#: reports list them.
PII_KINDS = ("email", "phone", "ip", "card", "secret")

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
    Reason.PII: "the text holds personal data and --pii reject is set",
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
    ``source``, ``id``, ``language``) when the input had them. ``metadata`` is the input's
    other fields as one JSON object (the output column of that name), and ``unread`` names
    the output columns whose input value could not be read (set to null, or a value left
    out of ``metadata``; counted as metadata not understood).
    """

    text: str
    provenance: Provenance
    meta: dict[str, Any] = field(default_factory=dict)
    encoding: str | None = None
    metadata: str | None = None
    unread: tuple[str, ...] = ()


@dataclass
class Reject:
    """A record that will not be kept, and why."""

    reason: Reason
    detail: str
    provenance: Provenance
    text: str | None = None
    source_id: str | None = None
    source_record_id: str | None = None


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
    # The input's own record id and its other fields (JSON), as the output columns hold them.
    source_record_id: str | None = None
    metadata: str | None = None


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


def _codes(values: list[str | None]) -> tuple[list[str], list[int]]:
    """Distinct strings in order of first appearance, and each value's number (-1: None)."""
    number: dict[str, int] = {}
    codes = [-1 if v is None else number.setdefault(v, len(number)) for v in values]
    return list(number), codes


@dataclass
class KeyBatch:
    """One batch's ``Keys`` as columns: what crosses from a worker to the build process.

    Per record (``n`` of them, in input order): ``seq``, ``num_chars``, ``line`` (0 for
    none), ``num_shingles``, ``paragraph_counts`` (int64 arrays); ``ids`` (``n`` ids of
    ``ID_CHARS`` ASCII characters, back to back) and ``digests`` (``n`` 16-byte content
    hashes); ``file``, ``language`` and ``value`` as numbers into the batch's ``files``,
    ``languages`` and ``values`` lists (``value`` -1 for no ``--group-by`` value).
    ``has_signature`` marks the records whose MinHash signature is in ``signatures``
    (back to back, in order); ``paragraphs`` holds ``paragraph_counts[i]`` 8-byte keys per
    record. Numpy arrays and byte strings pickle as flat buffers: the build process
    unpickles one batch in a few objects instead of ~12 per record.
    """

    seq: npt.NDArray[np.int64]
    ids: bytes
    digests: bytes
    num_chars: npt.NDArray[np.int64]
    line: npt.NDArray[np.int64]
    file: npt.NDArray[np.int32]
    files: list[str]
    language: npt.NDArray[np.int32]
    languages: list[str]
    value: npt.NDArray[np.int32]
    values: list[str]
    has_signature: npt.NDArray[np.bool_]
    signatures: bytes
    num_shingles: npt.NDArray[np.int64]
    paragraph_counts: npt.NDArray[np.int64]
    paragraphs: bytes

    def __len__(self) -> int:
        return len(self.seq)

    @classmethod
    def from_keys(cls, keys: Sequence[Keys]) -> KeyBatch:
        """Raises ValueError for a content hash that is not 32 hex digits."""
        n = len(keys)
        digests = b"".join(bytes.fromhex(k.content_hash) for k in keys)
        if len(digests) != 16 * n:
            raise ValueError("content hashes must be 32 hex digits (128 bits)")
        if len({len(k.signature) for k in keys if k.signature is not None}) > 1:
            raise ValueError("signatures of one batch must all have the same length")
        files, file_codes = _codes([k.file for k in keys])
        languages, language_codes = _codes([k.language for k in keys])
        values, value_codes = _codes([k.group for k in keys])

        def column(values: Iterable[int], dtype: type[np.generic]) -> Any:
            return np.fromiter(values, dtype=dtype, count=n)

        return cls(
            seq=column((k.seq for k in keys), np.int64),
            ids=b"".join(k.id.encode("ascii") for k in keys),
            digests=digests,
            num_chars=column((k.num_chars for k in keys), np.int64),
            line=column((k.line or 0 for k in keys), np.int64),
            file=np.asarray(file_codes, dtype=np.int32),
            files=files,
            language=np.asarray(language_codes, dtype=np.int32),
            languages=languages,
            value=np.asarray(value_codes, dtype=np.int32),
            values=values,
            has_signature=column((k.signature is not None for k in keys), np.bool_),
            signatures=b"".join(k.signature for k in keys if k.signature is not None),
            num_shingles=column((k.num_shingles for k in keys), np.int64),
            paragraph_counts=column((len(k.paragraphs) // 8 for k in keys), np.int64),
            paragraphs=b"".join(k.paragraphs for k in keys),
        )
