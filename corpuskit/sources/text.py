"""A .txt file is one article: the whole file decoded, no metadata."""

from __future__ import annotations

from collections.abc import Iterator

from corpuskit.config import SourceConfig
from corpuskit.record import Provenance, RawRecord, Reason, Reject
from corpuskit.sources.base import make_reject, preview_text
from corpuskit.sources.decode import (
    Decoded,
    binary_signature,
    decode_bytes,
    detect_bom,
    sniff_wide,
    too_many_nuls,
)
from corpuskit.sources.formats import OpenedFile
from corpuskit.sources.streams import PREVIEW_BYTES


def read_text(source: OpenedFile, config: SourceConfig) -> Iterator[RawRecord | Reject]:
    """One record (or one Reject) per file.

    Reads at most max_record_bytes + 1 bytes into memory; a bigger file is TOO_LONG and
    the rest is only streamed through the hash.
    """
    reader, display = source.reader, source.display
    provenance = Provenance(display)
    data = reader.read_up_to(config.max_record_bytes + 1)
    if len(data) > config.max_record_bytes:
        head = data[:PREVIEW_BYTES]
        del data
        reader.drain()
        what = _binary_head(head)
        if what is not None:
            yield make_reject(Reason.NOT_TEXT, f"{what}; not an article", provenance)
            return
        yield make_reject(
            Reason.TOO_LONG,
            f"file is {reader.size:,} bytes, over the {config.max_record_bytes:,}-byte limit "
            "for one record; split it into smaller files or raise max_record_bytes",
            provenance,
            preview_text(head),
        )
        return
    result = decode_bytes(data)
    if isinstance(result, Decoded):
        yield RawRecord(text=result.text, provenance=provenance, meta={}, encoding=result.encoding)
        return
    text = None if result.reason is Reason.NOT_TEXT else preview_text(data[:PREVIEW_BYTES])
    yield make_reject(result.reason, result.detail, provenance, text)


def _binary_head(head: bytes) -> str | None:
    """Binary verdict from the first bytes of a file too big to decode whole."""
    what = binary_signature(head)
    if what is not None:
        return f"content is {what}, not text"
    if detect_bom(head) is None and sniff_wide(head) is None and too_many_nuls(head):
        return "contains NUL bytes; this is binary data"
    return None
