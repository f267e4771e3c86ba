"""THE output schema: one place defines every column of every config in the artifact.

The Arrow schemas written to Parquet, the ``datasets`` features embedded in them (under the
``huggingface`` schema-metadata key, so float32/int32/timestamps round-trip exactly), the
YAML ``features`` in the card and the card's field tables are all derived from the tables
below. Add a column here and every consumer follows.

A column's type is a ``datasets`` dtype name (``Value(dtype)``), or ``LIST_OF_STRINGS``.
This module spells out the few forms ``datasets`` gives those types (its features dict,
its card YAML) instead of importing it: importing ``datasets`` costs ~2 s and ~110 MB in
every build, and a build needs nothing else from it. ``features()`` builds the real
``datasets.Features`` on demand, and ``tests/test_schema.py`` checks every form here
against what ``datasets`` itself produces, so ``datasets`` stays the authority.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    import datasets

#: The dtype of a list of strings (``datasets.List(Value("string"))``; ``list<string>``
#: is how Arrow prints it).
LIST_OF_STRINGS = "list<string>"

# datasets dtype name → Arrow type (datasets.features.string_to_arrow, for the ones used).
_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "float32": pa.float32(),
    "int32": pa.int32(),
    "timestamp[ms, tz=UTC]": pa.timestamp("ms", tz="UTC"),
    LIST_OF_STRINGS: pa.list_(pa.string()),
}


@dataclass(frozen=True)
class Field:
    """A column: its ``datasets`` dtype, whether it may be null, and what it means."""

    name: str
    dtype: str
    nullable: bool
    doc: str

    def __post_init__(self) -> None:
        if self.dtype not in _ARROW_TYPES:
            raise ValueError(f"column {self.name!r}: no Arrow type known for {self.dtype!r}")

    @property
    def arrow_type(self) -> pa.DataType:
        return _ARROW_TYPES[self.dtype]

    def feature_dict(self) -> dict[str, Any]:
        """The column as ``datasets.Features.to_dict()`` writes it."""
        if self.dtype == LIST_OF_STRINGS:
            return {"feature": {"dtype": "string", "_type": "Value"}, "_type": "List"}
        return {"dtype": self.dtype, "_type": "Value"}

    def yaml_dict(self) -> dict[str, str]:
        """The column as a card's ``dataset_info.features`` lists it."""
        if self.dtype == LIST_OF_STRINGS:
            return {"name": self.name, "list": "string"}
        return {"name": self.name, "dtype": self.dtype}


_S = "string"

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
        "for Chinese; `und` when undetermined or below the score threshold. With "
        "`--language-field`, the input's label, normalised (`en-US` → `en`, `zh-TW` → "
        "`zh-Hant`); langdetect's answer where the label is missing or not a language code.",
    ),
    Field(
        "language_score",
        "float32",
        False,
        "langdetect's probability for `language` (0 when `und` because detection failed). "
        "For a language taken from the input's label: langdetect's probability when it "
        "names the same language, else 0.",
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
        "timestamp[ms, tz=UTC]",
        True,
        "Publication time from the input metadata (ISO 8601), in UTC; null when absent "
        "or not understood.",
    ),
    Field("num_chars", "int32", False, "Characters in `text`."),
    Field(
        "num_words",
        "int32",
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
        LIST_OF_STRINGS,
        False,
        "Cleaning steps that changed this record's text, in pipeline order.",
    ),
    Field(
        "chars_removed",
        "int32",
        False,
        "Characters removed by cleaning (input length minus output length, at least 0).",
    ),
    Field(
        "source_record_id",
        _S,
        True,
        "The input record's own id (`--id-field`, default `id`), as text (a number as its "
        "digits); null when the input has none (.txt files) or it is neither text nor a number.",
    ),
    Field(
        "metadata",
        _S,
        True,
        "The input's other fields as one JSON object (keys sorted; `--keep-fields` chooses "
        "them): every field not read as text, title, url, published, source, id or language. "
        "Null when there are none.",
    ),
)

REJECT_FIELDS: tuple[Field, ...] = (
    Field("reason", _S, False, "Reason code (closed set; see the card's reject table)."),
    Field("detail", _S, False, "What exactly was wrong, and where."),
    Field("file", _S, False, "Input file, relative to the source argument."),
    Field(
        "line",
        "int32",
        True,
        "1-based line (JSONL) or data row (CSV, Parquet); null for whole-file inputs.",
    ),
    Field("source_id", _S, True, "Source id, when it could be determined."),
    Field("text", _S, True, "The raw text (first 10,000 characters), when there was one."),
    Field("source_record_id", _S, True, "The input record's own id, when it could be read."),
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
        "float32",
        False,
        "1.0 for exact duplicates; estimated Jaccard to the kept record for near ones.",
    ),
    Field("file", _S, False, "Input file of the dropped record."),
    Field("line", "int32", True, "Line/row of the dropped record."),
    Field("source_id", _S, False, "Source id of the dropped record."),
    Field("text", _S, False, "Cleaned text of the dropped record."),
    Field("source_record_id", _S, True, "The dropped record's own id in the input, if any."),
)


def features(fields: tuple[Field, ...]) -> datasets.Features:
    """The ``datasets.Features`` of a config (imports ``datasets``)."""
    import datasets

    return datasets.Features.from_dict({f.name: f.feature_dict() for f in fields})


def features_yaml(fields: tuple[Field, ...]) -> list[dict[str, str]]:
    """A config's ``features`` list in the card's YAML."""
    return [f.yaml_dict() for f in fields]


def arrow_schema(fields: tuple[Field, ...]) -> pa.Schema:
    """The Arrow schema written to Parquet, with nullability and the ``datasets`` features
    under the ``huggingface`` metadata key (as ``Features.arrow_schema`` puts them)."""
    info = {"info": {"features": {f.name: f.feature_dict() for f in fields}}}
    cols = [pa.field(f.name, f.arrow_type, nullable=f.nullable) for f in fields]
    return pa.schema(cols, metadata={"huggingface": json.dumps(info)})


RECORD_SCHEMA = arrow_schema(RECORD_FIELDS)
REJECT_SCHEMA = arrow_schema(REJECT_FIELDS)
DUPLICATE_SCHEMA = arrow_schema(DUPLICATE_FIELDS)
