"""An on-disk holding area between the map stage and the write stage.

Kept records leave the map stage in input order, but the artifact lists them in id order
(ids are hashes, so that order is both canonical — the same whatever the input order — and
well shuffled). Records are spilled into buckets by id prefix as Arrow IPC streams; reading
back sorts one bucket at a time, so memory holds one bucket (corpus / 256), never the corpus.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

NUM_BUCKETS = 256
FLUSH_ROWS = 256  # per bucket
MAX_BUFFERED_ROWS = 4096  # over all buckets: caps memory at a few thousand texts

INTERNAL_FIELDS = [
    pa.field("_seq", pa.int64(), nullable=False),
    pa.field("_file", pa.string(), nullable=False),
    pa.field("_line", pa.int64()),
]


class Spill:
    """Buckets of rows keyed by their ``id`` column's leading hex digits."""

    def __init__(self, folder: Path, schema: pa.Schema):
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.schema = pa.schema(list(schema) + INTERNAL_FIELDS)
        self._buffers: dict[int, list[Mapping[str, Any]]] = {}
        self._writers: dict[int, pa.RecordBatchStreamWriter] = {}
        self._sinks: dict[int, Any] = {}
        self.rows = 0
        self._buffered = 0

    @staticmethod
    def bucket_of(record_id: str) -> int:
        return int(record_id[:2], 16) % NUM_BUCKETS

    def add(self, row: Mapping[str, Any]) -> None:
        bucket = self.bucket_of(row["id"])
        buf = self._buffers.setdefault(bucket, [])
        buf.append(row)
        self.rows += 1
        self._buffered += 1
        if len(buf) >= FLUSH_ROWS:
            self._flush(bucket)
        elif self._buffered >= MAX_BUFFERED_ROWS:
            for b in sorted(self._buffers):
                self._flush(b)

    def _flush(self, bucket: int) -> None:
        rows = self._buffers.pop(bucket, None)
        if not rows:
            return
        self._buffered -= len(rows)
        writer = self._writers.get(bucket)
        if writer is None:
            sink = pa.OSFile(str(self.folder / f"bucket-{bucket:03d}.arrow"), "wb")
            self._sinks[bucket] = sink
            writer = self._writers[bucket] = pa.ipc.new_stream(sink, self.schema)
        writer.write_table(pa.Table.from_pylist(rows, schema=self.schema))

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
