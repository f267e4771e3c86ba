"""What every reader shares: the config, the stats it fills, and how rejects are made.

Kept apart from ``__init__`` so the format modules can import it without a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from corpuskit.config import SourceConfig
from corpuskit.errors import SourceError
from corpuskit.record import MAX_REJECT_TEXT, Provenance, Reason, Reject


@dataclass(frozen=True)
class InputFile:
    """One input file as read: provenance path, size in bytes, sha256 of its bytes."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class FileStart:
    """In a stream with a :class:`FileHook`: the records of a file the hook asked to see
    whole start after this mark. ``ticket`` is what the hook gave for it."""

    ticket: Any


@dataclass(frozen=True)
class FileEnd:
    """The end of the records a :class:`FileStart` opened. ``read``: the file as read to
    its end (size and sha256), or None when reading stopped part-way (its records so far
    are in the stream, and a reject says why)."""

    ticket: Any
    read: InputFile | None


@dataclass(frozen=True)
class FileReplayed:
    """A file whose records the hook already has the outcome of: it is counted as read
    (``read``, ``records``) but not read. ``replay`` is what the hook gave for it."""

    replay: Any
    read: InputFile
    records: int


FileMark = FileStart | FileEnd | FileReplayed


class FileHook(Protocol):
    """Asked about every local file before it is read (``display``: its name in
    provenance; ``fmt``: its format; ``fh``: the file, open at its start, to be left
    there). Answers a :class:`FileReplayed` (the file is not read), a
    :class:`FileStart` (its records are framed by marks), or None (read as usual)."""

    def __call__(
        self, display: str, fmt: str, fh: IO[bytes]
    ) -> FileStart | FileReplayed | None: ...


@dataclass
class SourceStats:
    """Filled while iterating; only grows by one entry per file, never per record."""

    files_read: int = 0
    #: Records and file-level rejects yielded, i.e. everything the build must account for.
    records: int = 0
    files_skipped: dict[str, int] = field(default_factory=dict)
    inputs: list[InputFile] = field(default_factory=list)
    #: Bytes of the files read to the end, and the stream of the file being read (for
    #: progress: ``bytes_read``).
    bytes_done: int = 0
    current: Any = None

    def skip(self, key: str) -> None:
        self.files_skipped[key] = self.files_skipped.get(key, 0) + 1

    @property
    def bytes_read(self) -> int:
        """Input bytes read so far (compressed bytes for a compressed file)."""
        return self.bytes_done + (self.current.size if self.current is not None else 0)


def make_reject(
    reason: Reason,
    detail: str,
    provenance: Provenance,
    text: str | None = None,
    source_id: str | None = None,
    source_record_id: str | None = None,
) -> Reject:
    """A Reject whose stored text is capped at MAX_REJECT_TEXT characters."""
    if text is not None and len(text) > MAX_REJECT_TEXT:
        detail += f" [stored text cut to the first {MAX_REJECT_TEXT:,} of {len(text):,} characters]"
        text = text[:MAX_REJECT_TEXT]
    return Reject(
        reason=reason,
        detail=f"{provenance}: {detail}",
        provenance=provenance,
        text=text,
        source_id=source_id,
        source_record_id=source_record_id,
    )


def bad_file(
    config: SourceConfig,
    reason: Reason,
    detail: str,
    provenance: Provenance,
    text: str | None = None,
) -> Reject:
    """A whole-file failure: one Reject, or SourceError when on_bad_file is "error"."""
    if config.on_bad_file == "error":
        raise SourceError(
            f"{provenance}: {detail} (stopping because on_bad_file is 'error'; use "
            "--on-bad-file skip to record such files as rejects and go on)"
        )
    return make_reject(reason, detail, provenance, text)


def preview_text(data: bytes) -> str:
    """Bytes shown in a Reject: as UTF-8 where possible, never failing."""
    return data.decode("utf-8", errors="replace")


def type_name(value: Any) -> str:
    """A user-facing type name: JSON's words for containers, Python's for scalars."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def missing_text_hint(
    config: SourceConfig, columns: list[str], sample: Mapping[str, Any] | None = None
) -> str:
    """Which fields exist and which one probably holds the text, for MISSING_TEXT details."""
    shown = ", ".join(repr(c) for c in columns[:20]) + (", ..." if len(columns) > 20 else "")
    guess = None
    if sample is not None:
        best = 0
        for key, value in sample.items():
            if isinstance(value, str) and len(value) > best:
                best, guess = len(value), key
    else:
        for candidate in ("text", "body", "content", "article", "document", "raw_content"):
            if candidate in columns:
                guess = candidate
                break
    hint = (
        f"; the text is probably in {guess!r}: pass --text-field {guess}"
        if guess
        else "; pass --text-field NAME to say which field holds the text"
    )
    return f"(fields present: {shown or 'none'}){hint}"
