"""Parquet (.parquet): one record per row, read in record batches of the needed columns.

Provenance.line is the 1-based row number across the whole file.

Parquet is the one format read twice: it is random-access (footer first, then column
chunks), so its sha256 comes from one sequential pass before pyarrow reads it. Only the
text and metadata columns are then read, a batch at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from corpuskit.config import SourceConfig
from corpuskit.record import Provenance, RawRecord, Reason, Reject
from corpuskit.sources.base import (
    bad_file,
    make_reject,
    missing_text_hint,
    preview_text,
)
from corpuskit.sources.decode import Decoded, decode_bytes
from corpuskit.sources.fields import kept_fields, read_fields
from corpuskit.sources.formats import OpenedFile
from corpuskit.sources.streams import PREVIEW_BYTES

BATCH_ROWS = 1024


def read_parquet(source: OpenedFile, config: SourceConfig) -> Iterator[RawRecord | Reject]:
    """Records and rejects of one Parquet file, in row order."""
    reader, raw, display = source.reader, source.raw, source.display
    file_prov = Provenance(display)
    reader.drain()
    raw.seek(0)
    try:
        pf = pq.ParquetFile(raw)
        schema = pf.schema_arrow
    except (pa.ArrowException, OSError) as exc:
        yield bad_file(
            config,
            Reason.BAD_ROW,
            f"not a readable Parquet file ({exc}); check that it was fully written and copied",
            file_prov,
        )
        return
    name = config.text_field
    columns = schema.names
    if name not in columns:
        yield make_reject(
            Reason.MISSING_TEXT,
            f"no column {name!r}, so none of its {pf.metadata.num_rows:,} rows were read (one "
            f"reject for the whole file) {missing_text_hint(config, columns)}",
            file_prov,
        )
        return
    text_type = schema.field(name).type
    kind = _text_kind(text_type)
    if kind is None:
        reason = Reason.MISSING_TEXT if pa.types.is_null(text_type) else Reason.WRONG_TYPE
        yield make_reject(
            reason,
            f"column {name!r} is {text_type}, expected string, so none of its "
            f"{pf.metadata.num_rows:,} rows were read (one reject for the whole file)",
            file_prov,
        )
        return
    meta_columns = [field for _, field in config.meta_fields() if field in columns]
    kept = kept_fields(columns, config)
    wanted = [name, *(f for f in dict.fromkeys([*meta_columns, *kept]) if f != name)]
    batches = pf.iter_batches(batch_size=BATCH_ROWS, columns=wanted, use_threads=False)
    row = 0
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            yield bad_file(
                config,
                Reason.BAD_ROW,
                f"corrupt data after row {row:,} ({exc}); the rows before it were kept",
                file_prov,
            )
            return
        yield from _batch(batch, row, kind, display, config, wanted, kept)
        row += batch.num_rows


def _text_kind(arrow_type: pa.DataType) -> str | None:
    """'string' or 'binary' when a column can hold article text, else None."""
    if pa.types.is_dictionary(arrow_type):
        arrow_type = arrow_type.value_type
    if (
        pa.types.is_string(arrow_type)
        or pa.types.is_large_string(arrow_type)
        or pa.types.is_string_view(arrow_type)
    ):
        return "string"
    if (
        pa.types.is_binary(arrow_type)
        or pa.types.is_large_binary(arrow_type)
        or pa.types.is_binary_view(arrow_type)
        or pa.types.is_fixed_size_binary(arrow_type)
    ):
        return "binary"
    return None


def _batch(
    batch: pa.RecordBatch,
    first_row: int,
    kind: str,
    display: str,
    config: SourceConfig,
    wanted: list[str],
    kept: list[str],
) -> Iterator[RawRecord | Reject]:
    name = config.text_field
    texts = batch.column(0)
    if pa.types.is_dictionary(texts.type):
        texts = texts.dictionary_decode()
    texts = pc.cast(texts, pa.large_binary())
    lengths = pc.binary_length(texts)
    too_long = pc.fill_null(pc.greater(lengths, config.max_record_bytes), False)
    any_long = pc.any(too_long).as_py()
    small = pc.if_else(too_long, pa.scalar(None, pa.large_binary()), texts) if any_long else texts
    values: list[bytes | None] = small.to_pylist()
    meta_rows = _meta_columns(batch, wanted[1:])
    for i, value in enumerate(values):
        provenance = Provenance(display, first_row + i + 1)
        fields = read_fields({col: vals[i] for col, vals in meta_rows.items()}, config, kept)
        ids = (fields.meta.get("source"), fields.meta.get("id"))
        if any_long and too_long[i].as_py():
            head = pc.binary_slice(texts.slice(i, 1), 0, PREVIEW_BYTES).to_pylist()[0]
            yield make_reject(
                Reason.TOO_LONG,
                f"column {name!r} is {lengths[i].as_py():,} bytes, over the "
                f"{config.max_record_bytes:,}-byte limit for one record",
                provenance,
                preview_text(head),
                *ids,
            )
            continue
        if value is None:
            yield make_reject(
                Reason.MISSING_TEXT,
                f"column {name!r} is null in this row",
                provenance,
                None,
                *ids,
            )
            continue
        if kind == "string":
            try:
                text = value.decode("utf-8")
                yield RawRecord(
                    text, provenance, fields.meta, "utf-8", fields.metadata, fields.unread
                )
                continue
            except UnicodeDecodeError:
                pass  # a writer put invalid UTF-8 in a string column: detect like bytes
        decoded = decode_bytes(value)
        if isinstance(decoded, Decoded):
            yield RawRecord(
                decoded.text,
                provenance,
                fields.meta,
                decoded.encoding,
                fields.metadata,
                fields.unread,
            )
        else:
            yield make_reject(
                decoded.reason,
                f"column {name!r}: {decoded.detail}",
                provenance,
                preview_text(value[:PREVIEW_BYTES]),
                *ids,
            )


def _meta_columns(batch: pa.RecordBatch, names: list[str]) -> dict[str, list[Any]]:
    """Python values of the metadata columns; types Python cannot hold fall back to text."""
    out: dict[str, list[Any]] = {}
    for offset, column_name in enumerate(names, start=1):
        column = batch.column(offset)
        try:
            out[column_name] = column.to_pylist()
        except (pa.ArrowException, ValueError, OverflowError):
            try:
                out[column_name] = pc.cast(column, pa.string()).to_pylist()
            except (pa.ArrowException, ValueError):
                out[column_name] = [None] * len(column)
    return out
