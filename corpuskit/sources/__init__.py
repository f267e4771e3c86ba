"""Streaming readers for every input format: paths in, RawRecords and Rejects out.

``iter_records`` is the one entry point. It yields in a fixed order (arguments as given;
inside a folder, files by relative path; inside a file, by line or row), holds one
record at a time, and fills a caller-owned ``SourceStats`` with one entry per file.

What happens to bad input (the reason codes are corpuskit.record.Reason):

* usage errors raise SourceError before anything is read: a path that does not exist, a
  file argument with an unsupported extension;
* a file that cannot be opened or parsed at all (I/O error, broken link, corrupt Parquet,
  truncated gzip, binary data in a JSONL/CSV file) is one Reject, or SourceError when
  ``on_bad_file="error"``;
* a bad record (a JSON line, a CSV row, a Parquet row, a whole .txt file) is one Reject
  carrying provenance, a detail that says what/where/how to fix, and up to 10,000
  characters of its raw text.
"""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Hashable, Iterator, Sequence
from typing import IO, cast

from corpuskit.config import SourceConfig
from corpuskit.errors import SourceError
from corpuskit.record import MAX_REJECT_TEXT, Provenance, RawRecord, Reason, Reject
from corpuskit.sources.base import (
    FileEnd,
    FileHook,
    FileMark,
    FileReplayed,
    FileStart,
    InputFile,
    SourceStats,
    bad_file,
)
from corpuskit.sources.discover import (
    InputPath,
    check_paths,
    describe_special,
    file_input,
    remote_file_input,
    walk_folder,
    walk_remote,
)
from corpuskit.sources.formats import FORMATS, OpenedFile, reader
from corpuskit.sources.streams import HashingReader, os_error_text
from corpuskit.storage import Remote, error_text

__all__ = [
    "FORMATS",
    "MAX_REJECT_TEXT",
    "FileEnd",
    "FileHook",
    "FileMark",
    "FileReplayed",
    "FileStart",
    "InputFile",
    "SourceError",
    "SourceStats",
    "iter_marked",
    "iter_records",
]


def iter_records(
    paths: Sequence[str | os.PathLike[str]],
    config: SourceConfig | None = None,
    stats: SourceStats | None = None,
) -> Iterator[RawRecord | Reject]:
    """Every record and reject of ``paths``, in a deterministic order.

    Paths are checked now (SourceError for a missing path or an unsupported file type);
    reading starts when the iterator is consumed.
    """
    config = config or SourceConfig()
    checked = check_paths(paths)
    stats = stats if stats is not None else SourceStats()
    return cast(Iterator[RawRecord | Reject], _iterate(checked, config, stats, None))


def iter_marked(
    paths: Sequence[str | os.PathLike[str]],
    config: SourceConfig,
    stats: SourceStats,
    hook: FileHook,
) -> Iterator[RawRecord | Reject | FileMark]:
    """:func:`iter_records`, asking ``hook`` about every local file before reading it:
    a file it has the outcome of is one :class:`FileReplayed` (counted in ``stats`` as
    read, with the records it holds), a file it wants to see whole is framed by
    :class:`FileStart` and :class:`FileEnd`. Raises what ``iter_records`` raises."""
    return _iterate(check_paths(paths), config, stats, hook)


def input_bytes(paths: Sequence[str | os.PathLike[str]]) -> int | None:
    """The bytes of every input file under ``paths`` (what ``SourceStats.bytes_read``
    counts up to), found by a walk without reading; None when a path is a URL (a remote
    listing can take long) or cannot be walked."""
    try:
        checked = check_paths(paths)
    except SourceError:
        return None
    total = 0
    for path, is_folder in checked:
        if isinstance(path, Remote):
            return None
        items = walk_folder(path, SourceStats()) if is_folder else iter([file_input(path)])
        for item in items:
            if item.error is None:
                with contextlib.suppress(OSError):
                    total += os.stat(item.path).st_size
    return total


def _iterate(
    checked: list[tuple[str | Remote, bool]],
    config: SourceConfig,
    stats: SourceStats,
    hook: FileHook | None,
) -> Iterator[RawRecord | Reject | FileMark]:
    seen: set[Hashable] = set()
    for path, is_folder in checked:
        inputs: Iterator[InputPath]
        if isinstance(path, Remote):
            inputs = walk_remote(path, stats) if is_folder else iter([remote_file_input(path)])
        else:
            inputs = walk_folder(path, stats) if is_folder else iter([file_input(path)])
        for item in inputs:
            for record in _read_one(item, config, stats, seen, hook):
                # counted where records enter: the accounting's "read"
                if isinstance(record, FileReplayed):
                    stats.records += record.records
                elif not isinstance(record, (FileStart, FileEnd)):
                    stats.records += 1
                yield record


def _read_one(
    item: InputPath,
    config: SourceConfig,
    stats: SourceStats,
    seen: set[Hashable],
    hook: FileHook | None,
) -> Iterator[RawRecord | Reject | FileMark]:
    provenance = Provenance(item.display)
    if item.error is not None:
        yield bad_file(config, Reason.UNREADABLE, item.error, provenance)
        return
    opened = _open_remote(item, seen) if item.fs is not None else _open_local(item, seen)
    if isinstance(opened, str):
        yield bad_file(config, Reason.UNREADABLE, opened, provenance)
        return
    if opened is None:
        stats.skip("already read")  # the same file given twice (e.g. a folder and a file in it)
        return
    raw = opened
    mark: FileStart | None = None
    if hook is not None and item.fs is None:
        try:
            answer = hook(item.display, item.fmt, cast(IO[bytes], raw))
        except BaseException:
            raw.close()
            raise
        if isinstance(answer, FileReplayed):
            raw.close()
            stats.bytes_done += answer.read.size
            stats.inputs.append(answer.read)
            stats.files_read += 1
            yield answer
            return
        mark = answer
    stream = HashingReader(raw)
    stats.current = stream
    try:
        if mark is not None:
            yield mark
        read = reader(item.fmt)
        yield from read(OpenedFile(stream, raw, item.display, item.path), config)
        stream.drain()
    except OSError as exc:
        # JSONL/CSV turn read errors into rejects themselves; this catches .txt reads and
        # the Parquet hash pass.
        yield bad_file(
            config,
            Reason.UNREADABLE,
            f"read error after {stream.size:,} bytes: {os_error_text(exc)}",
            provenance,
        )
        if mark is not None:
            yield FileEnd(mark.ticket, None)
        return
    finally:
        raw.close()
        stats.current = None
        stats.bytes_done += stream.size
    read_to_end = InputFile(item.display, stream.size, stream.hexdigest())
    stats.inputs.append(read_to_end)
    stats.files_read += 1
    if mark is not None:
        yield FileEnd(mark.ticket, read_to_end)


def _open_local(item: InputPath, seen: set[Hashable]) -> io.BufferedIOBase | str | None:
    """The file open for reading; the reason it cannot be read; or None when it was read
    already (through another argument or link)."""
    try:
        st = os.stat(item.path)
    except FileNotFoundError:
        return (
            "broken symbolic link (its target does not exist)"
            if os.path.islink(item.path)
            else "file disappeared before it could be read"
        )
    except OSError as exc:
        return f"cannot open: {os_error_text(exc)}"
    special = describe_special(st.st_mode)
    if special is not None:
        return f"cannot read: it {special}"
    key = (st.st_dev, st.st_ino)
    if key in seen:
        return None
    seen.add(key)
    try:
        return open(item.path, "rb")  # the caller closes it
    except OSError as exc:
        return f"cannot open: {os_error_text(exc)}"


def _open_remote(item: InputPath, seen: set[Hashable]) -> io.BufferedIOBase | str | None:
    """As :func:`_open_local`, for a file on an fsspec filesystem."""
    fs = item.fs
    assert fs is not None
    try:
        info = fs.info(item.path)
    except FileNotFoundError:
        return "file disappeared before it could be read"
    except Exception as exc:  # a filesystem's client raises its own errors too
        return f"cannot open: {error_text(exc)}"
    if info.get("type") != "file":
        return f"cannot read: it is a {info.get('type') or 'special entry'}, not a file"
    key = (fs.protocol, fs.unstrip_protocol(item.path))
    if key in seen:
        return None
    seen.add(key)
    try:
        return cast(io.BufferedIOBase, fs.open(item.path, "rb"))
    except Exception as exc:
        return f"cannot open: {error_text(exc)}"
