"""CSV (.csv) with a header row; the text column is named by ``text_field``.

Provenance.line is the 1-based *data row*: row 1 is the first record after the header, as
the csv module splits records (a quoted field may span several physical lines; blank
lines count as rows but yield nothing). Reject details also give the physical line.

The delimiter is the one of ``,`` ``;`` TAB ``|`` that makes the header contain the text
field (Excel in many locales writes ``;``), else the one giving the most header fields.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from corpuskit.config import SourceConfig
from corpuskit.record import Provenance, RawRecord, Reason, Reject
from corpuskit.sources.base import (
    bad_file,
    make_reject,
    missing_text_hint,
    preview_text,
)
from corpuskit.sources.decode import DecodeFailure, LineDecoder
from corpuskit.sources.fields import kept_fields, read_fields
from corpuskit.sources.formats import OpenedFile
from corpuskit.sources.lines import open_lines
from corpuskit.sources.streams import Line, StreamBroken

DELIMITERS = (",", ";", "\t", "|")


class _LineProblem(Exception):
    """A physical line that cannot be handed to the csv module (too long, undecodable)."""

    def __init__(self, line: Line, reason: Reason, detail: str, text: str | None) -> None:
        super().__init__(detail)
        self.line = line
        self.reason = reason
        self.detail = detail
        self.text = text


class _Feed:
    """Decoded physical lines for csv.reader.

    A class, not a generator: after it raises _LineProblem for one line, csv.reader can
    call it again and get the next line (a generator would be finished).
    """

    def __init__(self, lines: Iterator[Line], decoder: LineDecoder, max_bytes: int) -> None:
        self._lines = lines
        self._decoder = decoder
        self._max = max_bytes
        self.line_number = 0
        self.encodings: list[str] = []

    def __iter__(self) -> _Feed:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.line_number = line.number
        if line.data is None:
            raise _LineProblem(
                line,
                Reason.TOO_LONG,
                f"line is {line.size:,} bytes, over the {self._max:,}-byte limit for one "
                "record; it was skipped (raise max_record_bytes if such records are wanted)",
                preview_text(line.preview),
            )
        decoded = self._decoder.decode(line.data)
        if isinstance(decoded, DecodeFailure):
            raise _LineProblem(
                line, decoded.reason, f"line {decoded.detail}", preview_text(line.data)
            )
        self.encodings.append(decoded.encoding)
        return decoded.text + "\n" if line.terminated else decoded.text

    def take_encoding(self) -> str | None:
        """The encoding of the lines of the record just parsed (the unusual one wins)."""
        used, self.encodings = self.encodings, []
        unusual = [e for e in used if e != self._decoder.utf8_label]
        return unusual[0] if unusual else (used[0] if used else None)


def read_csv(source: OpenedFile, config: SourceConfig) -> Iterator[RawRecord | Reject]:
    """Records and rejects of one CSV file, in row order."""
    reader, display = source.reader, source.display
    file_prov = Provenance(display)
    try:
        opened = open_lines(reader, config.max_record_bytes)
        if isinstance(opened, DecodeFailure):
            yield bad_file(config, opened.reason, opened.detail, file_prov)
            return
        feed = _Feed(opened.lines, opened.decoder, config.max_record_bytes)
        with field_size_limit(config.max_record_bytes):
            yield from _rows(feed, display, config)
    except StreamBroken as exc:
        yield bad_file(
            config,
            exc.reason,
            f"{exc.message}; reading stopped after line {exc.lines_done:,} (the "
            "rows before it were kept)",
            file_prov,
            preview_text(exc.partial) if exc.partial else None,
        )


def _rows(feed: _Feed, display: str, config: SourceConfig) -> Iterator[RawRecord | Reject]:
    file_prov = Provenance(display)
    header_line = None
    while header_line is None:
        try:
            candidate = next(feed)
        except StopIteration:
            return  # empty file: no rows, nothing to reject
        except _LineProblem as problem:
            yield bad_file(
                config,
                Reason.BAD_ROW,
                f"the header line cannot be read: {problem.detail}",
                file_prov,
                problem.text,
            )
            return
        if candidate.strip():
            header_line = candidate
    feed.take_encoding()
    delimiter, header = pick_delimiter(header_line, config.text_field)
    name = config.text_field
    if name not in header:
        yield make_reject(
            Reason.MISSING_TEXT,
            f"the header (split on {delimiter!r}) has no column {name!r}, so none of this "
            f"file's rows were read (one reject for the whole file) "
            f"{missing_text_hint(config, header)}",
            file_prov,
            header_line.rstrip("\r\n"),
        )
        return
    text_index = header.index(name)
    # Each field's first column (a header may repeat a name), and the ones for metadata.
    index = {field: header.index(field) for field in dict.fromkeys(header) if field != name}
    kept = kept_fields(list(index), config)
    rows = csv.reader(feed, delimiter=delimiter, strict=False)
    row_number = 0
    while True:
        start_line = feed.line_number + 1
        try:
            row = next(rows)
        except StopIteration:
            return
        except _LineProblem as problem:
            row_number += 1
            feed.take_encoding()
            yield make_reject(
                problem.reason,
                f"row {row_number:,} (file line {problem.line.number:,}): {problem.detail}",
                Provenance(display, row_number),
                problem.text,
            )
            continue
        except csv.Error as exc:
            row_number += 1
            feed.take_encoding()
            too_long = "field larger than field limit" in str(exc)
            yield make_reject(
                Reason.TOO_LONG if too_long else Reason.BAD_ROW,
                f"row {row_number:,} (file lines {start_line:,}-{feed.line_number:,}) cannot "
                f"be parsed: {exc}"
                + ("; a field is over max_record_bytes" if too_long else "; check its quoting"),
                Provenance(display, row_number),
            )
            continue
        row_number += 1
        encoding = feed.take_encoding()
        if not row:
            continue  # a blank line
        provenance = Provenance(display, row_number)
        lines = (
            f"file line {start_line:,}"
            if start_line == feed.line_number
            else f"file lines {start_line:,}-{feed.line_number:,}"
        )
        if len(row) != len(header):
            yield make_reject(
                Reason.BAD_ROW,
                f"row {row_number:,} ({lines}) has {len(row)} fields but the header has "
                f"{len(header)}; check for an unquoted {_show(delimiter)} or a stray quote",
                provenance,
                delimiter.join(row),
            )
            continue
        fields = read_fields({f: row[i] for f, i in index.items()}, config, kept)
        text = row[text_index]
        if (
            len(text) * 4 > config.max_record_bytes
            and len(text.encode("utf-8", errors="surrogatepass")) > config.max_record_bytes
        ):
            yield make_reject(
                Reason.TOO_LONG,
                f"row {row_number:,} ({lines}): column {name!r} is over the "
                f"{config.max_record_bytes:,}-byte limit for one record",
                provenance,
                text,
                fields.meta.get("source"),
                fields.meta.get("id"),
            )
            continue
        yield RawRecord(text, provenance, fields.meta, encoding, fields.metadata, fields.unread)


def pick_delimiter(header_line: str, text_field: str) -> tuple[str, list[str]]:
    """(delimiter, column names) for a header line; see the module docstring."""
    best: tuple[str, list[str]] | None = None
    for delimiter in DELIMITERS:
        try:
            fields = next(csv.reader([header_line], delimiter=delimiter), [])
        except csv.Error:
            continue
        names = [f.strip() for f in fields]
        if text_field in names:
            return delimiter, names
        if best is None or len(names) > len(best[1]):
            best = (delimiter, names)
    return best if best is not None else (",", [])


@contextmanager
def field_size_limit(limit: int) -> Iterator[None]:
    """Set the csv module's (process-wide) field limit while one file is read.

    The default 131,072 characters rejects ordinary long articles; the limit becomes the
    record cap instead, clamped to what the platform's C long holds, and is restored
    afterwards.
    """
    wanted = max(limit, 131_072)
    try:
        old = csv.field_size_limit(min(wanted, sys.maxsize))
    except OverflowError:
        old = csv.field_size_limit(min(wanted, 2**31 - 1))
    try:
        yield
    finally:
        csv.field_size_limit(old)


def _show(delimiter: str) -> str:
    return "TAB" if delimiter == "\t" else f"'{delimiter}'"
