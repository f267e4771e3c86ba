"""Parquet shards in the Hub layout, and the manifest's file checksums.

Rows arrive already in their final order; a ``ShardWriter`` streams them into
``data/{split}-{i:05d}-of-{n:05d}.parquet`` files that close once they hold ``shard_bytes``
of Arrow data. The total ``n`` is only known at the end, so shards are written under
temporary names and renamed by ``close()``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

ROW_GROUP_ROWS = 1000
WRITE_BATCH_ROWS = 500


@dataclass(frozen=True)
class SplitFiles:
    """What was written for one split: files (relative to the artifact root) and sizes."""

    name: str
    files: tuple[str, ...]
    num_examples: int
    num_bytes: int  # in-memory Arrow size, as `datasets` records it
    download_size: int  # bytes on disk


class ShardWriter:
    """Streams rows of one schema into size-bounded, zstd-compressed Parquet shards."""

    def __init__(self, root: Path, folder: str, split: str, schema: pa.Schema, shard_bytes: int):
        self.root = root
        self.folder = folder
        self.split = split
        self.schema = schema
        self.shard_bytes = shard_bytes
        self._buffer: list[Mapping[str, Any]] = []
        self._writer: pq.ParquetWriter | None = None
        self._shard_nbytes = 0
        self._tmp_paths: list[Path] = []
        self.num_examples = 0
        (root / folder).mkdir(parents=True, exist_ok=True)

    def write(self, row: Mapping[str, Any]) -> None:
        self._buffer.append(row)
        if len(self._buffer) >= WRITE_BATCH_ROWS:
            self._flush()

    def _open(self) -> pq.ParquetWriter:
        path = self.root / self.folder / f".{self.split}-{len(self._tmp_paths):05d}.partial"
        self._tmp_paths.append(path)
        self._shard_nbytes = 0
        return pq.ParquetWriter(
            path, self.schema, compression="zstd", write_page_index=False, store_schema=True
        )

    def _flush(self) -> None:
        if not self._buffer:
            return
        table = pa.Table.from_pylist(self._buffer, schema=self.schema)
        self._buffer = []
        if self._writer is None:
            self._writer = self._open()
        self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.num_examples += table.num_rows
        self._shard_nbytes += table.nbytes
        if self._shard_nbytes >= self.shard_bytes:
            self._writer.close()
            self._writer = None

    def close(self) -> SplitFiles:
        """Flush, close, rename to the final ``-of-N`` names and measure what was written.

        A split with no rows still gets one (empty) shard so that the declared config loads.
        """
        self._flush()
        if self._writer is None and not self._tmp_paths:
            self._writer = self._open()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        n = len(self._tmp_paths)
        files: list[str] = []
        num_bytes = download = 0
        for i, tmp in enumerate(self._tmp_paths):
            final = self.root / self.folder / f"{self.split}-{i:05d}-of-{n:05d}.parquet"
            tmp.rename(final)
            files.append(final.relative_to(self.root).as_posix())
            download += final.stat().st_size
            num_bytes += pq.read_table(final).nbytes
        return SplitFiles(self.split, tuple(files), self.num_examples, num_bytes, download)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def checksums(root: Path, exclude: Sequence[str] = ()) -> dict[str, str]:
    """sha256 of every file in the artifact, by POSIX relative path, sorted."""
    out: dict[str, str] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root).as_posix()
        if rel not in exclude:
            out[rel] = sha256_file(path)
    return out
