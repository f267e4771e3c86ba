"""An on-disk holding area between the map stage and the write stage.

Kept records leave the map stage in input order, but the artifact lists them in id order
(ids are hashes, so that order is both canonical — the same whatever the input order — and
well shuffled). Records are spilled into buckets by id prefix as Arrow IPC streams; reading
back sorts one bucket at a time, so memory holds one bucket (corpus / 256), never the corpus.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

NUM_BUCKETS = 256
FLUSH_ROWS = 256  # per bucket
MAX_BUFFERED_ROWS = 4096  # over all buckets: caps memory at a few thousand texts


class Spill:
    """Buckets of rows keyed by their ``id`` column's leading hex digits.

    ``schema``: the rows' schema (``corpuskit.schema.ROW_SCHEMA``: the record columns and
    the internal ``_seq``, ``_file``, ``_line``).
    """

    def __init__(self, folder: Path, schema: pa.Schema):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.schema = schema
        self._buffers: dict[int, list[pa.Table]] = {}
        self._counts: dict[int, int] = {}
        self._writers: dict[int, pa.RecordBatchStreamWriter] = {}
        self._sinks: dict[int, Any] = {}
        self.rows = 0
        self._buffered = 0

    @staticmethod
    def bucket_of(record_id: str) -> int:
        return int(record_id[:2], 16) % NUM_BUCKETS

    def add_table(self, table: pa.Table) -> None:
        """Add a batch of rows (in input order; each bucket keeps that order)."""
        if table.num_rows == 0:
            return
        table = table.cast(self.schema)
        buckets = np.array([self.bucket_of(i) for i in table.column("id").to_pylist()])
        order = np.argsort(buckets, kind="stable")
        ordered = buckets[order]
        table = table.take(order)  # one gather; each bucket is then a zero-copy slice
        starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
        ends = np.r_[starts[1:], len(ordered)]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            bucket = int(ordered[start])
            self._buffers.setdefault(bucket, []).append(table.slice(start, end - start))
            self._counts[bucket] = self._counts.get(bucket, 0) + (end - start)
            self._buffered += end - start
            if self._counts[bucket] >= FLUSH_ROWS:
                self._flush(bucket)
        self.rows += table.num_rows
        if self._buffered >= MAX_BUFFERED_ROWS:
            for bucket in sorted(self._buffers):
                self._flush(bucket)

    def _flush(self, bucket: int) -> None:
        parts = self._buffers.pop(bucket, None)
        if not parts:
            return
        self._buffered -= self._counts.pop(bucket)
        writer = self._writers.get(bucket)
        if writer is None:
            sink = pa.OSFile(str(self.folder / f"bucket-{bucket:03d}.arrow"), "wb")
            self._sinks[bucket] = sink
            writer = self._writers[bucket] = pa.ipc.new_stream(sink, self.schema)
        # One record batch per flush: many tiny IPC batches cost more than the copy.
        writer.write_table(pa.concat_tables(parts).combine_chunks())

    def close(self) -> None:
        for bucket in list(self._buffers):
            self._flush(bucket)
        for writer in self._writers.values():
            writer.close()
        for sink in self._sinks.values():
            sink.close()
        self._writers.clear()
        self._sinks.clear()

    def sorted_batches(self) -> Iterator[pa.Table]:
        """Each bucket as a table sorted by (id, file, line): the artifact's row order."""
        self.close()
        for bucket in range(NUM_BUCKETS):
            path = self.folder / f"bucket-{bucket:03d}.arrow"
            if not path.exists():
                continue
            with pa.OSFile(str(path), "rb") as source:
                table = pa.ipc.open_stream(source).read_all()
            order = pc.sort_indices(
                table,
                sort_keys=[("id", "ascending"), ("_file", "ascending"), ("_line", "ascending")],
            )
            yield table.take(order)
            del table
