"""An on-disk holding area between the map stage and the write stage.

Kept records leave the map stage in input order, but the artifact lists them in id order
(ids are hashes, so that order is both canonical — the same whatever the input order — and
well shuffled). Whoever ran a batch (a pool worker, or the build process with ``--jobs 1``)
writes its kept rows as one **part**: an Arrow IPC file whose rows are grouped by
**bucket** (the id's leading byte), with the row offset of every bucket. The build process
only collects the parts' small descriptions (:class:`SpillPart`), so no row crosses a
process boundary or passes through the build process during the map stage.

Reading back takes a run of consecutive buckets at a time, sized to about
``GROUP_BYTES``, slices it out of every part (memory-mapped, so without a copy) and sorts
it: memory holds one group, never the corpus. Parts are opened once and their pages handed
back to the operating system after each group. Beyond ``MAX_OPEN_PARTS`` parts (~500k
articles) every group opens them again (~0.4 ms a part here): at 10M articles (10,000
parts, ~2,800 groups) the parts should be merged first.
"""

from __future__ import annotations

import mmap
import resource
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from corpuskit.output.writer import table_from_rows

NUM_BUCKETS = 256
#: Estimated Arrow bytes of rows sorted at once by the write stage.
GROUP_BYTES = 8 << 20
#: Parts kept open across groups (each holds a file descriptor; see _open_parts_allowed).
MAX_OPEN_PARTS = 512
#: Parts whose slices of a group are copied out together before their pages are released.
COPY_PARTS = 16

INTERNAL_FIELDS = [
    pa.field("_seq", pa.int64(), nullable=False),
    pa.field("_file", pa.string(), nullable=False),
    pa.field("_line", pa.int64()),
]


def spill_schema(schema: pa.Schema) -> pa.Schema:
    """The output ``schema`` plus the internal columns that carry provenance to the writer."""
    return pa.schema(list(schema) + INTERNAL_FIELDS)


def bucket_of(record_id: str) -> int:
    """The bucket of a row: its id's leading byte (ids are hex digests)."""
    return int(record_id[:2], 16) % NUM_BUCKETS


@dataclass(frozen=True)
class SpillPart:
    """One batch's kept rows on disk: ``offsets[b]:offsets[b + 1]`` are bucket ``b``'s rows."""

    path: str
    offsets: tuple[int, ...]  # NUM_BUCKETS + 1 row offsets
    nbytes: int  # Arrow bytes of the rows
    #: The file's bytes, when the part was made where ``path`` cannot be written (a Ray
    #: worker on another node): the build process writes them (:meth:`Spill.add`).
    data: bytes | None = None
    #: Added to the file's ``_seq`` values when read: a part stored by an earlier build
    #: (corpuskit.filecache) holds that build's sequence numbers.
    seq_shift: int = 0

    @property
    def rows(self) -> int:
        return self.offsets[-1]


def write_part(
    rows: Sequence[Mapping[str, Any]], schema: pa.Schema, path: Path, ship: bool = False
) -> SpillPart:
    """Write ``rows`` (the spill schema's columns) to ``path``, grouped by bucket.

    Within a bucket the rows keep their order. ``ship``: return the file's bytes in the
    part instead of writing it (for the build process to write). Raises OSError when the
    file cannot be written (the build then fails: a part is never half-counted).
    """
    buckets = np.fromiter((bucket_of(row["id"]) for row in rows), np.int64, len(rows))
    order = np.argsort(buckets, kind="stable")
    table = table_from_rows([rows[i] for i in order.tolist()], schema)
    offsets = np.zeros(NUM_BUCKETS + 1, dtype=np.int64)
    np.cumsum(np.bincount(buckets, minlength=NUM_BUCKETS), out=offsets[1:])
    if ship:
        buffer = pa.BufferOutputStream()
        with pa.ipc.new_file(buffer, schema) as writer:
            writer.write_table(table)
        data = buffer.getvalue().to_pybytes()
        return SpillPart(str(path), tuple(offsets.tolist()), table.nbytes, data)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, schema) as writer:
        writer.write_table(table)
    return SpillPart(str(path), tuple(offsets.tolist()), table.nbytes)


def _open_parts_allowed() -> int:
    """MAX_OPEN_PARTS, or a quarter of this process's open-file limit when that is lower
    (each open part holds a descriptor; macOS allows 256 by default)."""
    try:
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return MAX_OPEN_PARTS
    return MAX_OPEN_PARTS if soft == resource.RLIM_INFINITY else min(MAX_OPEN_PARTS, soft // 4)


class _MappedPart:
    """A part's table, zero-copy over a read-only memory map of its file."""

    def __init__(self, path: str) -> None:
        with open(path, "rb") as fh:
            self._mmap = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        self.table = pa.ipc.open_file(pa.BufferReader(pa.py_buffer(self._mmap))).read_all()

    def release(self) -> None:
        """Hand the pages read so far back to the operating system (they stay readable:
        a page read again is mapped again from the page cache)."""
        if hasattr(self._mmap, "madvise"):
            self._mmap.madvise(mmap.MADV_DONTNEED)


def _shifted(table: pa.Table, part: SpillPart) -> pa.Table:
    """``table`` (rows of ``part``) with the part's ``seq_shift`` added to ``_seq``."""
    if not part.seq_shift:
        return table
    index = table.schema.get_field_index("_seq")
    seq = pc.add(table.column(index), pa.scalar(part.seq_shift, pa.int64()))
    return table.set_column(index, table.schema.field(index), seq)


class Spill:
    """The parts written so far, and the write stage's view of them in artifact order."""

    def __init__(self) -> None:
        self.parts: list[SpillPart] = []
        self.rows = 0

    def add(self, part: SpillPart) -> None:
        """Count ``part`` in; a shipped part's bytes are written to its path first."""
        if part.data is not None:
            with open(part.path, "wb") as fh:
                fh.write(part.data)
            part = replace(part, data=None)
        self.parts.append(part)
        self.rows += part.rows

    def groups(self) -> list[tuple[int, int]]:
        """Runs of consecutive buckets ``[first, end)`` of about ``GROUP_BYTES`` each."""
        sizes = np.zeros(NUM_BUCKETS, dtype=np.float64)
        for part in self.parts:
            if part.rows:
                sizes += np.diff(np.asarray(part.offsets)) * (part.nbytes / part.rows)
        groups: list[tuple[int, int]] = []
        first, total = 0, 0.0
        for bucket in range(NUM_BUCKETS):
            if total and total + sizes[bucket] > GROUP_BYTES:
                groups.append((first, bucket))
                first, total = bucket, 0.0
            total += sizes[bucket]
        groups.append((first, NUM_BUCKETS))
        return groups

    def sorted_batches(self) -> Iterator[pa.Table]:
        """Each bucket's rows as a table sorted by (id, file, line), bucket after bucket:
        the artifact's row order, whatever the batches and whoever wrote them. Buckets
        are read and sorted a group at a time."""
        # Up to MAX_OPEN_PARTS parts stay open (parsed once) for all groups; beyond that,
        # every group opens them again.
        keep_open = len(self.parts) <= _open_parts_allowed()
        opened: dict[int, _MappedPart] = {}
        for first, end in self.groups():
            copies: list[pa.Table] = []
            slices: list[pa.Table] = []
            touched: list[_MappedPart] = []
            for i, part in enumerate(self.parts):
                start, stop = part.offsets[first], part.offsets[end]
                if stop > start:
                    mapped = opened.get(i) or _MappedPart(part.path)
                    if keep_open:
                        opened[i] = mapped
                    slices.append(_shifted(mapped.table.slice(start, stop - start), part))
                    touched.append(mapped)
                if len(slices) == COPY_PARTS or (i == len(self.parts) - 1 and slices):
                    # The group reads a few rows of every column of every part, and Linux
                    # maps 64 KB around each page such a read faults in (fault-around):
                    # held for the whole group, those pages grew with the number of parts
                    # (+86 MB a group at 200k articles, measured). Copied out a few parts
                    # at a time, the parts' pages are let go at once.
                    copies.append(pa.concat_tables(slices).combine_chunks())
                    for mapped in touched:
                        mapped.release()
                    slices, touched = [], []
            if not copies:
                continue
            table = pa.concat_tables(copies)
            order = pc.sort_indices(
                table,
                sort_keys=[("id", "ascending"), ("_file", "ascending"), ("_line", "ascending")],
            )
            ordered = table.take(order)
            del table, copies
            # Arrow's default allocator in the wheels (mimalloc; the CLI picks the system
            # one) keeps freed memory for reuse; handed back per group, the write stage
            # holds ~1 group, not the high-water marks of every thread (+80 MB at 20k
            # articles with mimalloc, measured).
            pa.default_memory_pool().release_unused()
            # One table per bucket (sorted by id, the group's buckets follow each other):
            # the write stage counts first-seen languages and sources per table, and its
            # tables stay what they were when the spill was read bucket by bucket.
            start = 0
            for bucket in range(first, end):
                size = sum(p.offsets[bucket + 1] - p.offsets[bucket] for p in self.parts)
                if size:
                    yield ordered.slice(start, size)
                    start += size
