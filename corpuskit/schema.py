"""THE output schema: one place defines every column of every config in the artifact.

The Arrow schemas written to Parquet, the ``datasets.Features`` embedded in them (under the
``huggingface`` schema-metadata key, so float32/int32/timestamps round-trip exactly), the
YAML ``features`` in the card and the card's field tables are all derived from the tables
below. Add a column here and every consumer follows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import datasets
import pyarrow as pa


@dataclass(frozen=True)
class Field:
    """A column: its `datasets` feature, whether it may be null, and what it means."""

    name: str
    feature: Any
    nullable: bool
    doc: str


_S = datasets.Value("string")

RECORD_FIELDS: tuple[Field, ...] = (
    Field(
        "id",
        _S,
        False,
        "Stable id: hash of source id + normalised text. Unique in the "
        "artifact, independent of input order and machine.",
    ),
    Field("text", _S, False, "Cleaned article text; paragraphs separated by one blank line."),
    Field(
        "title",
        _S,
        True,
        "Title from the input metadata, or a headline line detected by "
        "cleaning; null when there is none.",
    ),
    Field(
        "language",
        _S,
        False,
        "ISO 639-1 code from langdetect (seeded); `zh-Hans`/`zh-Hant` "
        "for Chinese; `und` when undetermined or below the score threshold.",
    ),
    Field(
        "language_score",
        datasets.Value("float32"),
        False,
        "langdetect's probability for `language` (0 when `und` because detection failed).",
    ),
    Field(
        "source_id",
        _S,
        False,
        "Where the article came from: the input's source field, "
        "else derived from the file path (default: the file stem).",
    ),
    Field("url", _S, True, "URL from the input metadata, when given."),
    Field(
        "published",
        datasets.Value("timestamp[s, tz=UTC]"),
        True,
        "Publication time from the input metadata (ISO 8601), in UTC; null when absent "
        "or not understood.",
    ),
    Field("num_chars", datasets.Value("int32"), False, "Characters in `text`."),
    Field(
        "num_words",
        datasets.Value("int32"),
        False,
        "Words in `text`: whitespace-separated, except that in scripts written without spaces "
        "(Chinese, Japanese, Thai, Lao, Khmer, Myanmar) each character counts as a word.",
    ),
    Field(
        "content_hash",
        _S,
        False,
        "BLAKE2b of the normalised text (casefolded, whitespace folded): the exact-duplicate key.",
    ),
    Field(
        "dup_cluster",
        _S,
        False,
        "Id of the near-duplicate cluster (the smallest member id); "
        "the record's own id when it has no near-duplicate.",
    ),
    Field(
        "clean_flags",
        datasets.List(_S),
        False,
        "Cleaning steps that changed this record's text, in pipeline order.",
    ),
    Field(
        "chars_removed",
        datasets.Value("int32"),
        False,
        "Characters removed by cleaning (input length minus output length, at least 0).",
    ),
)

REJECT_FIELDS: tuple[Field, ...] = (
    Field("reason", _S, False, "Reason code (closed set; see the card's reject table)."),
    Field("detail", _S, False, "What exactly was wrong, and where."),
    Field("file", _S, False, "Input file, relative to the source argument."),
    Field(
        "line",
        datasets.Value("int32"),
        True,
        "1-based line (JSONL) or data row (CSV, Parquet); null for whole-file inputs.",
    ),
    Field("source_id", _S, True, "Source id, when it could be determined."),
    Field("text", _S, True, "The raw text (first 10,000 characters), when there was one."),
)

DUPLICATE_FIELDS: tuple[Field, ...] = (
    Field("id", _S, False, "Id the dropped record would have had."),
    Field("duplicate_of", _S, False, "Id of the kept record it duplicates."),
    Field(
        "kind",
        _S,
        False,
        "`exact` (same normalised text) or `near` (MinHash Jaccard over "
        "word shingles at or above the threshold).",
    ),
    Field(
        "similarity",
        datasets.Value("float32"),
        False,
        "1.0 for exact duplicates; estimated Jaccard to the kept record for near ones.",
    ),
    Field("file", _S, False, "Input file of the dropped record."),
    Field("line", datasets.Value("int32"), True, "Line/row of the dropped record."),
    Field("source_id", _S, False, "Source id of the dropped record."),
    Field("text", _S, False, "Cleaned text of the dropped record."),
)


def features(fields: tuple[Field, ...]) -> datasets.Features:
    """The `datasets.Features` of a config."""
    return datasets.Features({f.name: f.feature for f in fields})


def arrow_schema(fields: tuple[Field, ...]) -> pa.Schema:
    """The Arrow schema written to Parquet, with nullability and the HF features metadata."""
    base = features(fields).arrow_schema
    cols = [base.field(f.name).with_nullable(f.nullable) for f in fields]
    return pa.schema(cols, metadata=base.metadata)


RECORD_SCHEMA = arrow_schema(RECORD_FIELDS)
REJECT_SCHEMA = arrow_schema(REJECT_FIELDS)
DUPLICATE_SCHEMA = arrow_schema(DUPLICATE_FIELDS)
