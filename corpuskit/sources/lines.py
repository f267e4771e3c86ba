"""Opening a line-based file (JSONL, CSV): sniff its first bytes once, then stream lines.

The sniff decides things that hold for the whole file: a byte-order mark, UTF-16/32
(transcoded to UTF-8 so lines still split on b"\\n"), a legacy code page as the prior for
lines that are not UTF-8, or that the file is binary and not worth parsing line by line
(a PNG renamed .jsonl would otherwise produce thousands of BAD_JSON rejects).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from corpuskit.record import Reason
from corpuskit.sources.decode import (
    SAMPLE_BYTES,
    Decoded,
    DecodeFailure,
    LineDecoder,
    binary_signature,
    decode_legacy,
    detect_bom,
    is_utf8_prefix,
    sniff_wide,
    too_many_nuls,
)
from corpuskit.sources.streams import (
    ByteStream,
    Line,
    bare_cr_to_lf,
    iter_chunks,
    iter_lines,
    peek,
    transcode,
)


@dataclass
class OpenedLines:
    """A file ready to be read line by line."""

    lines: Iterator[Line]
    decoder: LineDecoder
    encoding: str


def open_lines(stream: ByteStream, max_bytes: int) -> OpenedLines | DecodeFailure:
    """Sniff ``stream`` and return its lines, or why the file is not text at all.

    May raise StreamBroken while peeking (a gzip that is broken from the start).
    """
    chunks = iter_chunks(stream)
    head, chunks = peek(chunks, SAMPLE_BYTES)
    bom = detect_bom(head)
    legacy: str | None = None
    if bom is not None:
        encoding, skip = bom
        if encoding == "utf-8-sig":
            chunks = _skip_first(chunks, skip)
        else:
            chunks = transcode(chunks, encoding, skip)
    else:
        what = binary_signature(head)
        if what is not None:
            return DecodeFailure(Reason.NOT_TEXT, f"content is {what}, not text")
        wide = sniff_wide(head)
        if wide is not None:
            encoding = wide
            chunks = transcode(chunks, wide, 0)
        elif too_many_nuls(head):
            return DecodeFailure(
                Reason.NOT_TEXT,
                f"contains {head.count(0):,} NUL bytes in its first {len(head):,} bytes; this "
                "is binary data, not text",
            )
        elif is_utf8_prefix(head):
            encoding = "utf-8"
        else:
            guess = decode_legacy(head, complete=len(head) < SAMPLE_BYTES)
            if isinstance(guess, Decoded):
                encoding = legacy = guess.encoding
            else:
                encoding = "utf-8"  # no prior; each line gets its own detection
    label = "utf-8" if encoding in ("utf-8", "utf-8-sig") or legacy else encoding
    lines = iter_lines(bare_cr_to_lf(chunks), max_bytes)  # LF, CRLF and bare CR all end lines
    return OpenedLines(lines, LineDecoder(legacy, label), encoding)


def _skip_first(chunks: Iterator[bytes], count: int) -> Iterator[bytes]:
    first = True
    for chunk in chunks:
        if first:
            chunk = chunk[count:]
            first = False
        if chunk:
            yield chunk
