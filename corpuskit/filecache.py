"""Whole input files in the map-stage cache: a large file seen before, unchanged and under
the same settings, is not read, cleaned, tagged or hashed again; its results are taken
back whole.

The per-article cache (:mod:`corpuskit.mapstage.cached`) still decodes every record and
looks each one up: ~100 µs an article, most of a cached rebuild's map stage. A corpus
that grows by new files leaves its old files as they were, so their results can be kept
by file.

**Which files**: local files of ``MIN_FILE_BYTES`` or more in a format that holds many
records (not ``.txt``: one article a file, which the per-article cache already covers).

**The key**: BLAKE2b of the map stage's settings digest (every setting that can change a
result, the rule files, corpuskit's code, the libraries' versions; see
:func:`~corpuskit.mapstage.cached.settings_digest`), the file's name in provenance (source
ids come from it), its format and the sha256 of its bytes (read before the file is: ~0.15
s a 200 MB file here, SHA-NI). The same sha256 is the manifest's input checksum.

**The value**: for each of the file's map-stage batches, its spill part (the kept rows as
an Arrow file) and the rest of its result (:mod:`corpuskit.mapstage.replay`), as files in
the entry's folder, each with its checksum (xxh3-128: it guards against damage, not
against someone who can write the folder, who could write a checksum too; the shape
checks below keep such a value from being anything but a miss). The file's batches are
cut at its own first and last record (a batch never holds two files' records when one of
them is cached whole); where batches fall never changes the artifact.

**Taking it back**: every file of the entry is hard-linked (or copied, across
filesystems) into the build's work folder and checked against its checksum and shape
before the file counts as found; one that fails makes the entry a miss (deleted, and the
file is read as usual). Once linked, a ``cache prune`` can no longer take the files away.
Results come back in input order, between the results of the batches around them.

**Storing**: a file's batches are written to a fresh folder as their results arrive, and
the folder is named as the entry only when the file was read to its end, its bytes still
had the sha256 they were looked up by, and no record of it met an internal error.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import shutil
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import xxhash

from corpuskit import schema
from corpuskit.cache import MapCache
from corpuskit.config import BuildConfig
from corpuskit.errors import CorpuskitError
from corpuskit.mapstage import BatchResult
from corpuskit.mapstage.cached import load_plain, settings_digest
from corpuskit.mapstage.replay import decode_batch, encode_batch
from corpuskit.output.spill import NUM_BUCKETS, SpillPart, spill_schema
from corpuskit.record import RawRecord, Reason, Reject
from corpuskit.sources import FileEnd, FileMark, FileReplayed, FileStart, InputFile

#: Smaller files are left to the per-article cache (a whole-file entry cuts the batches
#: around its file, and costs a lookup and a folder).
MIN_FILE_BYTES = 1 << 20
#: Formats whose files hold many records.
FORMATS = frozenset({"jsonl", "csv", "parquet"})
#: Bump when the layout of a stored file changes.
FILE_VERSION = 2

_SPILL_SCHEMA = spill_schema(schema.RECORD_SCHEMA)

#: A map-stage result and the spill part of its kept rows (as pipeline.Mapped).
Mapped = tuple[BatchResult, SpillPart | None]
#: A batch of the map stage's input: (sequence number, record or reject) pairs.
Batch = list[tuple[int, RawRecord | Reject]]


@dataclass(frozen=True)
class _Ticket:
    """A file the cache did not have, to store once its results are all back."""

    key: bytes
    sha256: str


@dataclass
class Replay:
    """A file found whole: its ``records``, the sequence number its first record had in
    the build that stored it, and per batch the linked value file and spill part."""

    records: int
    first_seq: int
    batches: list[tuple[Path, SpillPart | None]]


class FileCache:
    """The build process's side of the whole-file cache (a :class:`~corpuskit.sources.
    FileHook` for :func:`~corpuskit.sources.iter_marked`); ``work``: the build's work
    folder, where found files are linked."""

    def __init__(self, config: BuildConfig, work: Path) -> None:
        assert config.cache is not None
        self.cache = MapCache(config.cache)
        self.settings = settings_digest(config) if self.cache.enabled else b""
        near = config.near_dup
        self.signature_bytes = near.num_perm * 4 if near.enabled else None
        self.work = work
        self.found = 0  # files taken from the cache
        self._linked = 0

    def __call__(self, display: str, fmt: str, fh: IO[bytes]) -> FileStart | FileReplayed | None:
        """The file's marks (see the module docstring); None when it is not cached whole,
        or cannot be hashed (then it is read as usual, and a read error becomes the
        reject it always is)."""
        if not self.cache.enabled or fmt not in FORMATS:
            return None
        try:
            size = os.fstat(fh.fileno()).st_size
            if size < MIN_FILE_BYTES:
                return None
            sha256 = _sha256_of(fh)
        except OSError:
            with contextlib.suppress(OSError):
                fh.seek(0)
            return None
        fh.seek(0)
        digest = hashlib.blake2b(self.settings, digest_size=20)
        for part in (
            b"file",
            display.encode("utf-8", "surrogatepass"),
            fmt.encode(),
            sha256.encode(),
        ):
            digest.update(part + b"\0")
        key = digest.digest()
        found = self.cache.get_file(key)
        if found is not None:
            replay = self._link(*found)
            if replay is not None:
                self.found += 1
                return FileReplayed(replay, InputFile(display, size, sha256), replay.records)
            self.cache.drop_file(key)
        return FileStart(_Ticket(key, sha256))

    def _link(self, value: bytes, folder: Path) -> Replay | None:
        """The entry's files linked into the work folder and checked, or None (nothing
        is left linked then)."""
        linked: list[Path] = []
        try:
            stored = load_plain(value)
            if not isinstance(stored, dict) or stored.get("version") != FILE_VERSION:
                return None
            replay = Replay(int(stored["records"]), int(stored["first_seq"]), [])
            records = 0
            for name, check, part_name, part_check, offsets, nbytes in stored["batches"]:
                path = self._take(folder, name, check, linked)
                data = path.read_bytes()
                result = decode_batch(data, 0, self.signature_bytes)
                if result is None:
                    return None
                part = None
                kept = len(result.key_batch or ())
                if part_name is not None:
                    part_path = self._take(folder, part_name, part_check, linked)
                    part = _checked_part(part_path, offsets, nbytes, kept)
                elif kept:
                    return None
                replay.batches.append((path, part))
                records += result.cached
            return replay if records == replay.records else None
        except Exception:  # a damaged or foreign entry is a miss, never an error
            for path in linked:
                with contextlib.suppress(OSError):
                    path.unlink()
            return None

    def _take(self, folder: Path, name: str, checksum: str, linked: list[Path]) -> Path:
        """``folder/name`` linked (or copied) into the work folder, its checksum checked.
        Raises ValueError or OSError when it cannot be."""
        if not isinstance(name, str) or "/" in name or name in ("", ".", ".."):
            raise ValueError("not a file name of an entry")
        self._linked += 1
        path = self.work / f"cached-{self._linked:08d}-{name}"
        try:
            os.link(folder / name, path)
        except OSError:
            shutil.copyfile(folder / name, path)  # another filesystem (or no hard links)
        linked.append(path)
        if _checksum(path) != checksum:
            self.cache.corrupt += 1
            raise ValueError("a file of the entry does not match its checksum")
        return path

    def replayed(self, replay: Replay, first_seq: int) -> Iterator[Mapped]:
        """The found file's results, batch by batch, numbered from ``first_seq``."""
        seq = first_seq
        shift = first_seq - replay.first_seq
        for path, part in replay.batches:
            result = decode_batch(path.read_bytes(), seq, self.signature_bytes)
            if result is None:  # checked when linked: only a change since then gets here
                raise CorpuskitError(
                    f"a whole-file cache entry changed while this build used it ({path}); "
                    "no artifact was written. Build again, or with --no-cache"
                )
            with contextlib.suppress(OSError):
                path.unlink()
            seq += result.cached
            yield (
                result,
                None
                if part is None
                else SpillPart(part.path, part.offsets, part.nbytes, seq_shift=shift),
            )

    def storing(self, ticket: _Ticket, first_seq: int) -> _Filling | None:
        """Where a file's results go as they arrive (None: the cache is off)."""
        folder = self.cache.stage_folder()
        return None if folder is None else _Filling(self, ticket, first_seq, folder)

    def close(self) -> None:
        self.cache.close()


def _checksum(path: Path) -> str:
    """xxh3-128 of a stored file (see the module docstring)."""
    digest = xxhash.xxh3_128()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _sha256_of(fh: IO[bytes]) -> str:
    """sha256 of the rest of ``fh`` (hashlib.file_digest, which does the same, is 3.11+)."""
    digest = hashlib.sha256()
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    while size := fh.readinto(view):  # type: ignore[attr-defined]
        digest.update(view[:size])
    return digest.hexdigest()


def _checked_part(path: Path, offsets: Any, nbytes: Any, kept: int) -> SpillPart:
    """The spill part in ``path``, once its schema, rows and bucket offsets agree with
    what was stored. Raises ValueError (or an Arrow error) otherwise."""
    if not (isinstance(offsets, list) and len(offsets) == NUM_BUCKETS + 1):
        raise ValueError("bucket offsets")
    if offsets[0] != 0 or offsets[-1] != kept or any(b < a for a, b in pairwise(offsets)):
        raise ValueError("bucket offsets")
    with pa.memory_map(str(path)) as source:
        reader = pa.ipc.open_file(source)
        rows = sum(reader.get_batch(i).num_rows for i in range(reader.num_record_batches))
        if not reader.schema.equals(_SPILL_SCHEMA) or rows != kept:
            raise ValueError("spill part")
    return SpillPart(str(path), tuple(offsets), int(nbytes))


@dataclass
class _Filling:
    """A file's results, written into a fresh cache folder as they arrive."""

    owner: FileCache
    ticket: _Ticket
    first_seq: int
    folder: Path
    records: int = 0
    size: int = 0
    batches: list[tuple[Any, ...]] = field(default_factory=list)
    usable: bool = True

    def add(self, result: BatchResult, part: SpillPart | None) -> None:
        if not self.usable:
            return
        if any(r.reason is Reason.INTERNAL_ERROR for r in result.rejects):
            self.usable = False  # may not happen again: not stored
            return
        i = len(self.batches)
        try:
            value = encode_batch(result, self.first_seq + self.records)
            name = f"{i:06d}.batch"
            (self.folder / name).write_bytes(value)
            self.size += len(value)
            stored: tuple[Any, ...] = (name, xxhash.xxh3_128_hexdigest(value), None, None, None, 0)
            if part is not None:
                part_name = f"{i:06d}.arrow"
                if part.data is not None:  # a shipped part: not on disk yet
                    (self.folder / part_name).write_bytes(part.data)
                else:
                    try:
                        os.link(part.path, self.folder / part_name)
                    except OSError:
                        shutil.copyfile(part.path, self.folder / part_name)
                check = _checksum(self.folder / part_name)
                self.size += (self.folder / part_name).stat().st_size
                stored = (name, stored[1], part_name, check, list(part.offsets), part.nbytes)
        except (OSError, ValueError):
            self.usable = False
            return
        self.batches.append(stored)
        self.records += len(result.key_batch or ()) + len(result.rejects)

    def commit(self, read: InputFile | None) -> None:
        """Name the folder as the file's entry, if the file was read whole and unchanged."""
        if self.usable and read is not None and read.sha256 == self.ticket.sha256:
            value = {
                "version": FILE_VERSION,
                "records": self.records,
                "first_seq": self.first_seq,
                "batches": self.batches,
            }
            self.owner.cache.put_file(
                self.ticket.key, pickle.dumps(value, protocol=5), self.folder, self.size
            )
        else:
            self.discard()

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class _Storing:
    """A file being stored: its batches ``[first, end)`` (``end`` None while it is read)."""

    first: int
    filling: _Filling | None
    end: int | None = None
    read: InputFile | None = None
    added: int = 0

    def complete(self) -> bool:
        return self.end is not None and self.added == self.end - self.first


class Schedule:
    """Batches for the executor from a marked record stream, and the results back in
    input order with the found files' results put in their places.

    ``batches(items)`` cuts the stream into batches of ``size``, cutting also at every
    mark; ``results(mapped)`` takes the executor's results (one per batch, in order) and
    yields every result in input order, storing the files ``cache`` wants stored.
    """

    def __init__(self, cache: FileCache | None, size: int) -> None:
        self.cache = cache
        self.size = size
        self.sent = 0  # batches handed to the executor so far
        # found files' results, each to come before the result of batch `sent` at the time
        self._found: deque[tuple[int, Iterator[Mapped]]] = deque()
        self._storing: deque[_Storing] = deque()

    def batches(self, items: Iterable[RawRecord | Reject | FileMark]) -> Iterator[Batch]:
        batch: Batch = []
        seq = 0
        for item in items:
            if isinstance(item, (FileStart, FileEnd, FileReplayed)):
                if batch:
                    yield self._sent(batch)
                    batch = []
                seq = self._mark(item, seq)
                continue
            batch.append((seq, item))
            seq += 1
            if len(batch) >= self.size:
                yield self._sent(batch)
                batch = []
        if batch:
            yield self._sent(batch)

    def _sent(self, batch: Batch) -> Batch:
        self.sent += 1
        return batch

    def _mark(self, mark: FileMark, seq: int) -> int:
        """Act on a mark at sequence number ``seq``; returns the next sequence number."""
        assert self.cache is not None
        if isinstance(mark, FileReplayed):
            self._found.append((self.sent, self.cache.replayed(mark.replay, seq)))
            return seq + mark.records
        if isinstance(mark, FileStart):
            self._storing.append(_Storing(self.sent, self.cache.storing(mark.ticket, seq)))
            return seq
        storing = self._storing[-1]  # files do not nest: the one still open
        storing.end, storing.read = self.sent, mark.read
        if storing.end == storing.first:  # no records: nothing worth storing
            self._storing.pop()
            if storing.filling is not None:
                storing.filling.discard()
        self._commit_complete()
        return seq

    def results(self, mapped: Iterable[Mapped]) -> Generator[Mapped, None, None]:
        try:
            for index, (result, part) in enumerate(mapped):
                yield from self._found_before(index)
                self._store(index, result, part)
                yield result, part
            yield from self._found_before(None)
        finally:
            for storing in self._storing:
                if storing.filling is not None:
                    storing.filling.discard()
            self._storing.clear()

    def _found_before(self, index: int | None) -> Iterator[Mapped]:
        while self._found and (index is None or self._found[0][0] <= index):
            yield from self._found.popleft()[1]

    def _store(self, index: int, result: BatchResult, part: SpillPart | None) -> None:
        for storing in self._storing:
            if storing.first <= index and (storing.end is None or index < storing.end):
                if storing.filling is not None:
                    storing.filling.add(result, part)
                storing.added += 1
                break
        self._commit_complete()

    def _commit_complete(self) -> None:
        while self._storing and self._storing[0].complete():
            storing = self._storing.popleft()
            if storing.filling is not None:
                storing.filling.commit(storing.read)


def make_schedule(config: BuildConfig, work: Path) -> tuple[Schedule, FileCache | None]:
    """The schedule of a build, with a whole-file cache when ``config.cache`` is set."""
    cache = FileCache(config, work) if config.cache else None
    return Schedule(cache, config.batch_size), cache
