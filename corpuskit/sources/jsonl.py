"""JSON Lines (.jsonl, .ndjson, optionally gzip-compressed): one JSON object per line.

Provenance.line is the 1-based physical line number. Blank (whitespace-only) lines are
skipped silently and are not records: editors and `cat a.jsonl b.jsonl` add them.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator
from typing import Any

from corpuskit.config import SourceConfig
from corpuskit.record import Provenance, RawRecord, Reason, Reject
from corpuskit.sources.base import (
    bad_file,
    make_reject,
    missing_text_hint,
    preview_text,
    type_name,
)
from corpuskit.sources.decode import DecodeFailure, LineDecoder
from corpuskit.sources.fields import kept_fields, read_fields
from corpuskit.sources.formats import OpenedFile
from corpuskit.sources.lines import open_lines
from corpuskit.sources.streams import Line, StreamBroken

# A JSON escape of a UTF-16 surrogate: the only way a JSON line yields a lone surrogate,
# which no UTF-8 writer accepts.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def read_jsonl(source: OpenedFile, config: SourceConfig) -> Iterator[RawRecord | Reject]:
    """Records and rejects of one JSONL file (gzip-compressed if its name ends in .gz), in
    line order."""
    reader, display = source.reader, source.display
    compressed = source.path.lower().endswith(".gz")
    stream = gzip.GzipFile(fileobj=reader, mode="rb") if compressed else reader
    file_prov = Provenance(display)
    try:
        opened = open_lines(stream, config.max_record_bytes)
        if isinstance(opened, DecodeFailure):
            yield bad_file(config, opened.reason, opened.detail, file_prov)
            return
        for line in opened.lines:
            item = parse_line(line, opened.decoder, display, config)
            if item is not None:
                yield item
    except StreamBroken as exc:
        kept = exc.lines_done
        yield bad_file(
            config,
            exc.reason,
            f"{exc.message}; reading stopped after line {kept:,} (the records of lines "
            f"1-{kept:,} were kept; the unfinished line {kept + 1:,} is the stored text)"
            if kept
            else f"{exc.message}; no complete line could be read",
            file_prov,
            preview_text(exc.partial) if exc.partial else None,
        )


def parse_line(
    line: Line, decoder: LineDecoder, display: str, config: SourceConfig
) -> RawRecord | Reject | None:
    """One line → a record, a reject, or None for a blank line."""
    provenance = Provenance(display, line.number)
    if line.data is None:
        return make_reject(
            Reason.TOO_LONG,
            f"line is {line.size:,} bytes, over the {config.max_record_bytes:,}-byte limit "
            "for one record; it was skipped without being parsed (raise max_record_bytes "
            "if such records are wanted)",
            provenance,
            preview_text(line.preview),
        )
    data = line.data
    if not data.strip():
        return None
    decoded = decoder.decode(data)
    if isinstance(decoded, DecodeFailure):
        return make_reject(decoded.reason, f"line {decoded.detail}", provenance, preview_text(data))
    raw = decoded.text.rstrip("\r")
    try:
        obj = json.loads(raw)
    except RecursionError:
        return make_reject(Reason.BAD_JSON, "JSON is nested too deeply to parse", provenance, raw)
    except ValueError as exc:  # JSONDecodeError, and int-too-long errors
        where = f" at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return make_reject(
            Reason.BAD_JSON,
            f"invalid JSON: {msg}{where}; each line must be one complete JSON object",
            provenance,
            raw,
        )
    if not isinstance(obj, dict):
        return make_reject(
            Reason.BAD_JSON,
            f"line is a JSON {type_name(obj)}, expected an object such as "
            f'{{"{config.text_field}": "..."}}',
            provenance,
            raw,
        )
    if _SURROGATE_ESCAPE.search(raw):
        obj = {k: _scrub(v) for k, v in obj.items()}
    return record_from_mapping(obj, provenance, config, decoded.encoding, raw)


def record_from_mapping(
    obj: dict[str, Any],
    provenance: Provenance,
    config: SourceConfig,
    encoding: str | None,
    raw: str,
) -> RawRecord | Reject:
    """Text and metadata out of one parsed object; MISSING_TEXT / WRONG_TYPE otherwise."""
    fields = read_fields(obj, config, kept_fields(list(obj), config))
    ids = (fields.meta.get("source"), fields.meta.get("id"))
    name = config.text_field
    if name not in obj:
        return make_reject(
            Reason.MISSING_TEXT,
            f"no field {name!r} {missing_text_hint(config, list(obj), obj)}",
            provenance,
            raw,
            *ids,
        )
    value = obj[name]
    if value is None:
        return make_reject(Reason.MISSING_TEXT, f"field {name!r} is null", provenance, raw, *ids)
    if not isinstance(value, str):
        return make_reject(
            Reason.WRONG_TYPE,
            f"field {name!r} is {type_name(value)}, expected string",
            provenance,
            raw,
            *ids,
        )
    return RawRecord(value, provenance, fields.meta, encoding, fields.metadata, fields.unread)


def _scrub(value: Any) -> Any:
    """Lone surrogates (from escapes like "\\ud800") → U+FFFD, so the text can be written."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    return value
