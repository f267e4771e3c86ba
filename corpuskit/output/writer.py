"""Parquet shards in the Hub layout, and the manifest's file checksums.

Rows arrive already in their final order; a ``ShardWriter`` streams them into
``data/{split}-{i:05d}-of-{n:05d}.parquet`` files that close once they hold ``shard_bytes``
of Arrow data. The total ``n`` is only known at the end, so shards are written under
temporary names and renamed by ``close()``.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 1000
#: Steps (row groups to write, shards to close) a writer with an executor lets wait before
#: it waits for the oldest: each row group holds ~1,000 articles' Arrow data.
MAX_QUEUED_GROUPS = 4


def table_from_rows(rows: Sequence[Mapping[str, Any]], schema: pa.Schema) -> pa.Table:
    """Rows (mappings with every column of ``schema``) as one Arrow table.

    One ``pa.array`` per column: about 20x faster than ``Table.from_pylist`` on 1,000
    articles (5.5 vs 124 ms measured here), with the same conversions.
    """
    columns = [pa.array([row[f.name] for row in rows], type=f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


@dataclass(frozen=True)
class SplitFiles:
    """What was written for one split: files (relative to the artifact root) and sizes."""

    name: str
    files: tuple[str, ...]
    num_examples: int
    num_bytes: int  # in-memory Arrow size, as `datasets` records it
    download_size: int  # bytes on disk
    # value of the writer's ``measure_by`` column -> in-memory Arrow size of its rows, as
    # `datasets` records it when it loads only those rows (a per-language config)
    num_bytes_by: dict[str, int] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class Shards:
    """Every Parquet config's files: the kept splits, the rejects and the duplicates."""

    splits: tuple[SplitFiles, ...]
    rejects: SplitFiles
    duplicates: SplitFiles

    def all(self) -> tuple[SplitFiles, ...]:
        """The kept splits, then the rejects, then the duplicates."""
        return (*self.splits, self.rejects, self.duplicates)

    def to_json(self) -> dict[str, Any]:
        """For the manifest (``shards``), so the card can be written again from it."""
        return {
            "splits": [dataclasses.asdict(s) for s in self.splits],
            "rejects": dataclasses.asdict(self.rejects),
            "duplicates": dataclasses.asdict(self.duplicates),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Shards:
        """The inverse of :meth:`to_json`; raises ``KeyError``/``TypeError`` on another shape."""

        def files(d: Mapping[str, Any]) -> SplitFiles:
            return SplitFiles(**{**d, "files": tuple(d["files"])})

        return cls(
            tuple(files(s) for s in data["splits"]),
            files(data["rejects"]),
            files(data["duplicates"]),
        )


class ShardWriter:
    """Streams rows or Arrow tables of one schema into size-bounded, zstd Parquet shards.

    Row groups always hold ``ROW_GROUP_ROWS`` rows (the last one fewer), whatever sizes the
    caller's tables had: the file bytes then depend only on the rows, which is what makes a
    build with ``--jobs 8`` byte-identical to one with ``--jobs 1``.

    With an ``executor`` of one thread, the Parquet encoding and compression of its row
    groups (which release the GIL) run there, in order, while the caller prepares the next
    rows; ``close()`` waits for them. Without one, they run in the caller's thread.
    """

    def __init__(
        self,
        root: Path,
        folder: str,
        split: str,
        schema: pa.Schema,
        shard_bytes: int,
        measure_by: str | None = None,
        executor: Executor | None = None,
    ):
        self.measure_by = measure_by
        self._executor = executor
        self._queued: deque[Future[None]] = deque()
        self.root = root
        self.folder = folder
        self.split = split
        self.schema = schema
        self.shard_bytes = shard_bytes
        self._rows: list[Mapping[str, Any]] = []
        self._tables: list[pa.Table] = []
        self._pending = 0
        self._writer: pq.ParquetWriter | None = None
        self._shard_nbytes = 0
        self._tmp_paths: list[Path] = []
        self.num_examples = 0
        # What arrow_nbytes would measure in the files, counted as the row groups are
        # written (None once a row group cannot be counted: close() then measures).
        self._sizes: GroupSizes | None = GroupSizes(0, {})
        (root / folder).mkdir(parents=True, exist_ok=True)

    def write(self, row: Mapping[str, Any]) -> None:
        """Add one row (a mapping with the schema's columns)."""
        self._rows.append(row)
        if len(self._rows) >= ROW_GROUP_ROWS:
            self._rows_to_table()

    def write_table(self, table: pa.Table) -> None:
        """Add rows as an Arrow table with (at least) the schema's columns."""
        self._rows_to_table()
        table = table.select(self.schema.names)
        if table.schema.types == self.schema.types:  # no cast needed: 3x faster than one
            table = pa.Table.from_arrays(table.columns, schema=self.schema)
        else:
            table = table.cast(self.schema)
        self._tables.append(table)
        self._pending += table.num_rows
        self._drain(final=False)

    def _rows_to_table(self) -> None:
        if self._rows:
            table = table_from_rows(self._rows, self.schema)
            self._rows = []
            self._tables.append(table)
            self._pending += table.num_rows
            self._drain(final=False)

    def _open(self) -> pq.ParquetWriter:
        path = self.root / self.folder / f".{self.split}-{len(self._tmp_paths):05d}.partial"
        self._tmp_paths.append(path)
        self._shard_nbytes = 0
        return pq.ParquetWriter(
            path, self.schema, compression="zstd", write_page_index=False, store_schema=True
        )

    def _drain(self, final: bool) -> None:
        """Write whole row groups from the pending tables (and the rest, when final)."""
        if self._pending < ROW_GROUP_ROWS and not (final and self._pending):
            return
        pending = pa.concat_tables(self._tables).combine_chunks()
        self._tables, self._pending = [], 0
        whole = pending.num_rows if final else pending.num_rows // ROW_GROUP_ROWS * ROW_GROUP_ROWS
        for start in range(0, whole, ROW_GROUP_ROWS):
            group = pending.slice(start, min(ROW_GROUP_ROWS, whole - start))
            if self._writer is None:
                self._writer = self._open()
            self._run(_write_group(self._writer, group))
            self.num_examples += group.num_rows
            if self._sizes is not None:
                sizes = read_nbytes(group, self.measure_by)
                self._sizes = None if sizes is None else self._sizes + sizes
            self._shard_nbytes += group.nbytes
            if self._shard_nbytes >= self.shard_bytes:
                self._run(self._writer.close)
                self._writer = None
        if whole < pending.num_rows:
            rest = pending.slice(whole)
            self._tables, self._pending = [rest], rest.num_rows

    def _run(self, step: Callable[[], None]) -> None:
        """Run a step of writing the files: now, or queued on the executor (in order)."""
        if self._executor is None:
            step()
        else:
            self._queued.append(self._executor.submit(step))
            self._wait(MAX_QUEUED_GROUPS)

    def _wait(self, queued: int) -> None:
        """Wait until at most ``queued`` steps are queued; raises what a step raised."""
        while len(self._queued) > queued:
            self._queued.popleft().result()

    def close(self) -> SplitFiles:
        """Flush, close, rename to the final ``-of-N`` names and measure what was written.

        A split with no rows gets no file: `datasets` cannot load a split without data, so
        the card leaves such a split (and a config with no rows at all) undeclared.
        """
        self._rows_to_table()
        self._drain(final=True)
        if self._writer is not None:
            self._run(self._writer.close)
            self._writer = None
        self._wait(0)
        n = len(self._tmp_paths)
        finals: list[Path] = []
        for i, tmp in enumerate(self._tmp_paths):
            final = self.root / self.folder / f"{self.split}-{i:05d}-of-{n:05d}.parquet"
            tmp.rename(final)
            finals.append(final)
        sizes = self._sizes
        if sizes is None or not read_nbytes_holds(self.schema, self.measure_by):
            sizes = GroupSizes(0, {})
            for final in finals:
                sizes.total += arrow_nbytes(final, self.measure_by, sizes.by)
        return SplitFiles(
            self.split,
            tuple(final.relative_to(self.root).as_posix() for final in finals),
            self.num_examples,
            sizes.total,
            sum(final.stat().st_size for final in finals),
            dict(sorted(sizes.by.items())),
        )


def _write_group(writer: pq.ParquetWriter, group: pa.Table) -> Callable[[], None]:
    """The step that writes ``group`` as the next row group of ``writer``'s file."""

    def write() -> None:
        writer.write_table(group, row_group_size=ROW_GROUP_ROWS)

    return write


def arrow_nbytes(
    path: Path | pa.NativeFile, by: str | None = None, into: dict[str, int] | None = None
) -> int:
    """In-memory Arrow size of a Parquet file as `datasets` records it, one row group at a
    time so that measuring a 256 MB shard never holds more than one row group.

    With ``by`` (a string column), also adds to ``into`` the size of each value's rows
    alone, as `datasets` measures a config that filters on that column.

    The writer counts the same figures without reading its files (:func:`read_nbytes`);
    this measurement is the reference it is checked against, and its fallback."""
    pf = pq.ParquetFile(path)
    total = 0
    for i in range(pf.num_row_groups):
        group = pf.read_row_group(i)
        total += group.nbytes
        if by is not None and into is not None:
            column = group.column(by)
            for value in pc.unique(column).to_pylist():
                rows = group.filter(pc.equal(column, value))
                into[value] = into.get(value, 0) + scanned_nbytes(rows)
    return total


@dataclass
class GroupSizes:
    """What :func:`arrow_nbytes` measures: the total, and by value of the ``by`` column."""

    total: int
    by: dict[str, int]

    def __add__(self, other: GroupSizes) -> GroupSizes:
        by = dict(self.by)
        for value, size in other.by.items():
            by[value] = by.get(value, 0) + size
        return GroupSizes(self.total + other.total, by)


#: A row group whose string data reaches this many bytes in one column is measured from
#: the file instead: the Parquet reader splits a column of 2 GiB or more into chunks (one
#: more offset each), which :func:`read_nbytes` does not count.
MAX_COUNTED_DATA = (1 << 31) - 1

_I64 = npt.NDArray[np.int64]


def read_nbytes(group: pa.Table, by: str | None = None) -> GroupSizes | None:
    """What :func:`arrow_nbytes` measures for a row group holding ``group``'s rows, worked
    out from the rows without writing or reading them: ``.nbytes`` of the row group as the
    Parquet reader returns it, and (``by``) :func:`scanned_nbytes` of each value's rows
    filtered out of it. None for a column type it does not know, a null ``by`` value, or a
    column at ``MAX_COUNTED_DATA`` (:func:`arrow_nbytes` must measure those).

    ``.nbytes`` counts, of ``n`` rows: 4 bytes an offset (``4 * n``, not ``n + 1``), the
    bytes of the values (a null has none once read back), and ``(n + 7) // 8`` for a
    validity bitmap, which the tables hold (pyarrow 26; :func:`read_nbytes_holds` checks
    the installed one on a sample before the figures are used):

    - as read: a fixed-width column, when its field is nullable (with or without nulls);
      a string column, when it holds a null; a list of strings, when it holds a null list,
      and its items (a string column of ``k`` rows: the non-null lists' items), when one
      of them is null;
    - filtered to ``m`` rows: a non-nested column, when those rows hold a null
      (:func:`scanned_nbytes` drops the other bitmaps ``Table.filter`` keeps); a list
      column always, both the list's (``m`` rows) and its items' (``k`` rows).

    Counting the 89 row groups of the generated 100k corpus's splits takes 0.07 s;
    reading them back and filtering them by language (:func:`arrow_nbytes`) took 0.65 s
    (measured here). ``tests/test_writer.py`` compares the two.
    """
    n = group.num_rows
    codes: _I64 | None = None
    values: list[str] = []
    if by is not None:
        column = group.column(by)
        if column.null_count:
            return None
        encoded = pc.dictionary_encode(column).combine_chunks()
        codes = encoded.indices.to_numpy().astype(np.int64)
        values = encoded.dictionary.to_pylist()
    k = len(values)
    rows: _I64 = np.bincount(codes, minlength=k) if codes is not None else np.zeros(0, np.int64)
    total = 0
    scanned: _I64 = np.zeros(k, dtype=np.int64)
    for field, chunked in zip(group.schema, group.columns, strict=True):
        array = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
        kind = field.type
        nulls = array.null_count
        if kind.id in _FIXED_WIDTH:
            width = kind.bit_width // 8
            total += width * n + (_bitmap(n) if field.nullable else 0)
            if codes is not None:
                scanned += width * rows + _null_bitmaps(array, codes, rows)
        elif kind.id in _STRINGS:
            lengths = _value_lengths(array)
            data = int(lengths.sum())
            if data >= MAX_COUNTED_DATA:
                return None
            total += 4 * n + data + (_bitmap(n) if nulls else 0)
            if codes is not None:
                scanned += 4 * rows + _per_code(codes, k, lengths)
                scanned += _null_bitmaps(array, codes, rows)
        elif pa.types.is_list(kind) and kind.value_type.id in _STRINGS:
            items = _value_lengths(array)  # a list's "length" is its number of items
            flat = pc.list_flatten(array)  # the items of the non-null lists
            item_lengths = _value_lengths(flat)
            count, data = len(flat), int(item_lengths.sum())
            if data >= MAX_COUNTED_DATA:
                return None
            total += (_bitmap(n) if nulls else 0) + 4 * n
            total += (_bitmap(count) if flat.null_count else 0) + 4 * count + data
            if codes is not None:
                ends = np.cumsum(items)
                upto = np.concatenate(([0], np.cumsum(item_lengths)))
                counts = _per_code(codes, k, items)
                scanned += _bitmap(rows) + 4 * rows + _bitmap(counts) + 4 * counts
                scanned += _per_code(codes, k, upto[ends] - upto[ends - items])
        else:
            return None
    return GroupSizes(total, {v: int(size) for v, size in zip(values, scanned, strict=True)})


_FIXED_WIDTH = frozenset(
    t.id
    for t in (
        pa.int8(),
        pa.int16(),
        pa.int32(),
        pa.int64(),
        pa.uint8(),
        pa.uint16(),
        pa.uint32(),
        pa.uint64(),
        pa.float16(),
        pa.float32(),
        pa.float64(),
        pa.date32(),
        pa.date64(),
        pa.timestamp("ms"),  # any unit and time zone: the id is the same
        pa.duration("ms"),
    )
)
_STRINGS = frozenset((pa.string().id, pa.binary().id))


def _bitmap(n: Any) -> Any:
    """Bytes of a validity bitmap of ``n`` rows (an int, or an array of counts)."""
    return (n + 7) // 8


def _per_code(codes: _I64, k: int, values: npt.NDArray[Any]) -> _I64:
    """``values`` summed by code (an exact integer sum: bincount's float64 holds integers
    up to 2**53)."""
    if k == 1:  # one value in the row group (a corpus in one language): ~5x faster
        return np.array([values.sum()], dtype=np.int64)
    return np.bincount(codes, weights=values, minlength=k).astype(np.int64)


def _null_bitmaps(array: pa.Array, codes: _I64, rows: _I64) -> _I64:
    """By code: the bitmap of its rows when one of them is null, else 0."""
    if not array.null_count:
        return np.zeros(len(rows), dtype=np.int64)
    nulls = _per_code(codes, len(rows), _is_null(array))
    bitmaps: _I64 = np.where(nulls > 0, _bitmap(rows), 0)
    return bitmaps


def _value_lengths(array: pa.Array) -> _I64:
    """The length of each value of a string or list array (bytes, items) from its int32
    offsets; 0 for a null, which keeps none once written."""
    if not len(array):
        return np.zeros(0, dtype=np.int64)
    offsets = np.frombuffer(
        array.buffers()[1], dtype=np.int32, count=len(array) + 1, offset=4 * array.offset
    )
    lengths: _I64 = np.diff(offsets).astype(np.int64)
    if array.null_count:
        lengths[_is_null(array)] = 0
    return lengths


def _is_null(array: pa.Array) -> npt.NDArray[np.bool_]:
    """Which values of ``array`` (which holds a null, so has a validity bitmap) are null:
    its bitmap unpacked (~20x faster than ``is_null().to_numpy()``)."""
    start = array.offset
    bits = np.frombuffer(array.buffers()[0], dtype=np.uint8)
    valid = np.unpackbits(bits, count=start + len(array), bitorder="little")[start:]
    nulls: npt.NDArray[np.bool_] = valid == 0
    return nulls


@functools.cache
def read_nbytes_holds(schema: pa.Schema, by: str | None = None) -> bool:
    """Whether :func:`read_nbytes` gives what :func:`arrow_nbytes` measures, with the
    installed pyarrow, for tables of ``schema``: both are taken of a sample file (in
    memory, once per process and schema) whose row groups hold every case the rules tell
    apart — nulls in some ``by`` values' rows and not in others', a row group without
    nulls, empty strings and lists, a null list item, odd row counts.
    5-15 ms (measured here); when they differ, the writer measures its files instead."""
    groups = [_sample(schema, by, nulls) for nulls in (True, False)]
    counted = GroupSizes(0, {})
    for group in groups:
        sizes = read_nbytes(group, by)
        if sizes is None:
            return False
        counted = counted + sizes
    sink = pa.BufferOutputStream()
    with pq.ParquetWriter(sink, schema, compression="zstd", write_page_index=False) as writer:
        for group in groups:
            writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
    measured = GroupSizes(0, {})
    measured.total = arrow_nbytes(pa.BufferReader(sink.getvalue()), by, measured.by)
    return counted == measured


_SAMPLE_KEYS = ("p", "q", "p", "p", "q", "p", "p", "p", "p", "q", "p")


def _sample(schema: pa.Schema, by: str | None, nulls: bool) -> pa.Table:
    """11 rows of ``schema`` for :func:`read_nbytes_holds`; with ``nulls``, a nullable
    column is null in the rows whose ``by`` value is "q"."""
    n = len(_SAMPLE_KEYS)
    columns = []
    for field in schema:
        kind = field.type
        values: list[Any]
        if field.name == by:
            values = list(_SAMPLE_KEYS)
        elif pa.types.is_list(kind):
            lists: list[list[str | None]] = [[], ["a"], ["", "bc"], [None, "def"]]
            values = [lists[i % 4] for i in range(n)]
        elif kind.id in _STRINGS:
            values = [("", "a", "bcd")[i % 3] for i in range(n)]
        else:
            values = [i % 2 for i in range(n)]
        if nulls and field.nullable and field.name != by:
            values = [
                None if key == "q" else v for key, v in zip(_SAMPLE_KEYS, values, strict=True)
            ]
        try:
            columns.append(pa.array(values, kind))
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
            columns.append(pa.nulls(n, kind))  # a type read_nbytes refuses anyway
    return pa.Table.from_arrays(columns, schema=schema)


def scanned_nbytes(table: pa.Table) -> int:
    """``table.nbytes`` as a ``pyarrow.dataset`` scan with a filter (how ``datasets`` reads
    a config with ``filters``) would have produced the same rows: such a scan gives a
    non-nested column without nulls no validity buffer, where ``Table.filter`` keeps one.
    The same figure as scanning each row group once per value, ~2x faster (measured on
    the generated 20k corpus: 0.30 against 0.62 s); ``tests/test_card.py`` compares it
    with what ``datasets`` measures."""
    total: int = table.nbytes
    for column in table.columns:
        if pa.types.is_nested(column.type):
            continue
        for chunk in column.chunks:
            validity = chunk.buffers()[0]
            if chunk.null_count == 0 and validity is not None:
                total -= validity.size
    return total


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksums(
    root: Path, exclude: Sequence[str] = (), known: Mapping[str, str] | None = None
) -> dict[str, str]:
    """sha256 of every file in the artifact, by POSIX relative path, sorted; ``known``
    gives those already computed (by relative path)."""
    out: dict[str, str] = {}
    known = known or {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in exclude:
            out[rel] = known.get(rel) or sha256_file(path)
    return out
