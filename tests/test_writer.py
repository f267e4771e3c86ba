"""Parquet shards: Hub names, size bounds, embedded features, exact sizes."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq

from corpuskit import schema
from corpuskit.output.writer import ShardWriter, checksums, sha256_file


def _row(i: int) -> dict:
    return {
        "reason": "empty",
        "detail": f"row {i} " + "x" * 200,
        "file": "f.jsonl",
        "line": i,
        "source_id": "f",
        "text": None,
        "source_record_id": None,
    }


def test_shards_get_hub_names_with_the_total(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, "rejects", "rejects", schema.REJECT_SCHEMA, shard_bytes=20_000)
    for i in range(2000):
        w.write(_row(i))
    files = w.close()
    assert len(files.files) > 1
    n = len(files.files)
    assert files.files[0] == f"rejects/rejects-00000-of-{n:05d}.parquet"
    assert files.num_examples == 2000
    assert not list((tmp_path / "rejects").glob(".*"))


def test_empty_split_writes_no_file(tmp_path: Path) -> None:
    files = ShardWriter(tmp_path, "data", "eval", schema.RECORD_SCHEMA, 1 << 20).close()
    assert files.files == ()
    assert files.num_examples == 0
    assert not list((tmp_path / "data").iterdir())


def test_features_travel_in_the_parquet_schema(tmp_path: Path) -> None:
    w = ShardWriter(tmp_path, "rejects", "rejects", schema.REJECT_SCHEMA, 1 << 20)
    w.write(_row(1))
    f = w.close()
    meta = pq.read_schema(tmp_path / f.files[0]).metadata[b"huggingface"]
    assert json.loads(meta)["info"]["features"]["line"] == {"dtype": "int32", "_type": "Value"}


def test_checksums_cover_every_file(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "b").write_text("y")
    sums = checksums(tmp_path)
    assert list(sums) == ["a", "d/b"]
    assert sums["a"] == sha256_file(tmp_path / "a")


def test_nbytes_measured_per_row_group_equals_the_whole_table(tmp_path: Path) -> None:
    from corpuskit.output.writer import arrow_nbytes

    w = ShardWriter(tmp_path, "rejects", "rejects", schema.REJECT_SCHEMA, shard_bytes=1 << 30)
    for i in range(2500):
        w.write(_row(i))
    files = w.close()
    path = tmp_path / files.files[0]
    assert pq.ParquetFile(path).num_row_groups == 3
    assert arrow_nbytes(path) == pq.read_table(path).nbytes == files.num_bytes
