"""Byte plumbing shared by the readers: hashing while reading, lines with a size cap.

Every input byte passes through :class:`HashingReader` exactly once, so the manifest's
sha256 costs no second read. Lines are cut from fixed-size chunks and a line over the cap
is skipped without being held, so one 50 MB line (or a binary file with no newline) costs
one chunk of memory, not 50 MB.
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from corpuskit.record import Reason

CHUNK_BYTES = 1 << 16

#: What the line readers read from: the hashing reader itself, or a GzipFile over it.
ByteStream = io.RawIOBase | io.BufferedIOBase

#: Bytes kept from an over-long record to show in its Reject (enough for 10,000 characters
#: of any UTF-8 text).
PREVIEW_BYTES = 40_000


class HashingReader(io.RawIOBase):
    """A read-only view of a binary file that hashes and counts every byte read."""

    def __init__(self, raw: io.BufferedIOBase) -> None:
        super().__init__()
        self._raw = raw
        self._hash = hashlib.sha256()
        self.size = 0
        self.at_eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.at_eof:
            return 0
        n = self._raw.readinto(buffer) or 0
        if n:
            self._hash.update(memoryview(buffer)[:n])
            self.size += n
        elif len(buffer):
            self.at_eof = True  # later reads (after pyarrow moved the file) add nothing
        return n

    def read_up_to(self, limit: int) -> bytes:
        """Read until ``limit`` bytes or end of file (a raw read may return less)."""
        parts: list[bytes] = []
        got = 0
        while got < limit:
            data = self.read(min(limit - got, 1 << 20))
            if not data:
                break
            parts.append(data)
            got += len(data)
        return b"".join(parts)

    def drain(self) -> None:
        """Read the rest of the file so the digest covers all of it."""
        while self.read(1 << 20):
            pass

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


class StreamBroken(Exception):
    """Reading stopped part-way (truncated gzip, I/O error, invalid UTF-16).

    Carries how far the line reader got, so the caller can say "after line N" and keep
    the records before it.
    """

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.lines_done = 0
        self.partial = b""


def iter_chunks(stream: ByteStream) -> Iterator[bytes]:
    """Chunks of ``stream`` until EOF; read failures become :class:`StreamBroken`.

    Uses read1 where available: GzipFile.read(n) on a truncated stream raises without
    returning what it already decompressed, read1 hands that data over first.
    """
    read = getattr(stream, "read1", None) or stream.read
    while True:
        try:
            chunk = read(CHUNK_BYTES)
        except EOFError:
            raise StreamBroken(
                Reason.UNREADABLE,
                "truncated gzip: the compressed data ends before its end-of-stream marker "
                "(incomplete download or copy?)",
            ) from None
        except gzip.BadGzipFile as exc:
            raise StreamBroken(Reason.UNREADABLE, f"not a valid gzip file: {exc}") from None
        except zlib.error as exc:
            raise StreamBroken(Reason.UNREADABLE, f"corrupt gzip data: {exc}") from None
        except OSError as exc:
            raise StreamBroken(Reason.UNREADABLE, f"read error: {os_error_text(exc)}") from None
        if not chunk:
            return
        yield chunk


def peek(chunks: Iterator[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``size`` bytes (or fewer) and an iterator that still yields everything."""
    taken: list[bytes] = []
    got = 0
    broken: StreamBroken | None = None
    try:
        for chunk in chunks:
            taken.append(chunk)
            got += len(chunk)
            if got >= size:
                break
    except StreamBroken as exc:
        broken = exc  # raised only after the bytes read so far were consumed
    head = b"".join(taken)

    def rest() -> Iterator[bytes]:
        if head:
            yield head
        if broken is not None:
            raise broken
        yield from chunks

    return head[:size], rest()


def transcode(chunks: Iterator[bytes], encoding: str, skip: int) -> Iterator[bytes]:
    """Re-encode UTF-16/32 chunks as UTF-8, so line splitting on b"\\n" stays correct."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    first = True
    for chunk in chunks:
        if first:
            chunk = chunk[skip:]
            offset = skip
            first = False
        try:
            text = decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            raise StreamBroken(
                Reason.UNDECODABLE,
                f"invalid {encoding} data near byte {offset + exc.start:,}; re-save the file "
                "as UTF-8",
            ) from None
        offset += len(chunk)
        if text:
            yield text.encode("utf-8", errors="surrogatepass")
    try:
        tail = decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise StreamBroken(
            Reason.UNDECODABLE, f"{encoding} data ends in the middle of a character"
        ) from None
    if tail:
        yield tail.encode("utf-8", errors="surrogatepass")


def bare_cr_to_lf(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """Turn every bare CR (old Mac OS line ends, Excel's "CSV (Macintosh)") into LF.

    CRLF stays as it is, so LF and CRLF files pass through byte for byte. A CR that ends a
    chunk is held back until the next chunk shows whether an LF follows it. Works on UTF-8
    and on every ASCII-compatible code page (CR is 0x0D in all of them); UTF-16/32 are
    transcoded to UTF-8 first.
    """
    held = False  # the previous chunk ended in a CR not yet written
    for chunk in chunks:
        if held:
            chunk = b"\r" + chunk
            held = False
        if b"\r" not in chunk:
            yield chunk
            continue
        if chunk.endswith(b"\r"):
            chunk = chunk[:-1]
            held = True
        if chunk.count(b"\r") != chunk.count(b"\r\n"):  # CRLF-only chunks pass as they are
            chunk = b"\r\n".join(part.replace(b"\r", b"\n") for part in chunk.split(b"\r\n"))
        yield chunk
    if held:
        yield b"\n"


@dataclass(frozen=True, slots=True)
class Line:
    """One line without its b"\\n". ``data`` is None when the line exceeded the cap."""

    number: int
    data: bytes | None
    size: int
    preview: bytes
    terminated: bool


def iter_lines(chunks: Iterator[bytes], max_bytes: int) -> Iterator[Line]:
    """Split on b"\\n" only (never on U+0085/U+2028, which legitimately occur inside text).

    A line longer than ``max_bytes`` is counted and skipped: only its first
    PREVIEW_BYTES are kept. On :class:`StreamBroken` the exception is re-raised with the
    number of complete lines and the unfinished fragment attached.
    """
    number = 0
    parts: list[bytes] = []
    length = 0
    preview = b""
    overflow = False
    try:
        for chunk in chunks:
            pieces = chunk.split(b"\n")
            last = len(pieces) - 1
            for i, piece in enumerate(pieces):
                if not overflow:
                    if length + len(piece) > max_bytes:
                        overflow = True
                        preview = _head([*parts, piece], PREVIEW_BYTES)
                        parts = []
                    else:
                        parts.append(piece)
                length += len(piece)
                if i == last:
                    break  # the line continues in the next chunk
                number += 1
                if overflow:
                    yield Line(number, None, length, preview, True)
                else:
                    data = parts[0] if len(parts) == 1 else b"".join(parts)
                    yield Line(number, data, length, b"", True)
                parts = []
                length = 0
                overflow = False
                preview = b""
        if length or overflow:
            number += 1
            if overflow:
                yield Line(number, None, length, preview, False)
            else:
                yield Line(number, b"".join(parts), length, b"", False)
    except StreamBroken as exc:
        exc.lines_done = number
        exc.partial = preview if overflow else b"".join(parts)[:PREVIEW_BYTES]
        raise


def _head(parts: list[bytes], size: int) -> bytes:
    """The first ``size`` bytes of ``b"".join(parts)``, without joining them all: the
    parts of a line that just crossed the cap add up to max_record_bytes, and two more
    copies of that (join, then concatenate) tripled the memory an over-long line cost."""
    out = bytearray()
    for part in parts:
        out += part[: size - len(out)]
        if len(out) >= size:
            break
    return bytes(out)


def os_error_text(exc: OSError) -> str:
    """The OS's words for an error, without the file name the caller already shows."""
    if exc.strerror:
        return exc.strerror + (f" (errno {exc.errno})" if exc.errno else "")
    return str(exc) or type(exc).__name__
