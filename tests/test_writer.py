"""Parquet shards: Hub names, size bounds, embedded features, exact sizes."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from unittest.mock import Mock

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpuskit import schema
from corpuskit.output import writer
from corpuskit.output.writer import (
    ShardWriter,
    SplitFiles,
    arrow_nbytes,
    checksums,
    read_nbytes_holds,
    sha256_file,
    table_from_rows,
)


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


# -- sizes counted while writing -----------------------------------------------------------
#
# The card and the manifest record each split's (and each language config's) in-memory Arrow
# size, as `datasets` measures it. The writer counts it from the rows it writes
# (read_nbytes); it must be exactly what measuring the written files gives (arrow_nbytes,
# which reads every row group back, and is checked against `datasets` in test_card.py).


def _article(rnd: random.Random, i: int, languages: str, nulls: bool) -> dict:
    def text(most: int) -> str:
        return "".join(rnd.choices("abcé€😀 ", k=rnd.randint(0, most)))

    def maybe(value: object) -> object:
        return None if nulls and rnd.random() < 0.3 else value

    return {
        "id": f"{i:08x}",
        "text": text(300),
        "title": maybe(text(20)),
        "language": rnd.choice(languages),
        "language_score": rnd.random(),
        "source_id": rnd.choice(["wire", ""]),
        "url": maybe(""),
        "published": maybe(datetime(2020, 1, 1, tzinfo=timezone.utc)),
        "num_chars": i,
        "num_words": i,
        "content_hash": text(8),
        "dup_cluster": f"{i:08x}",
        "clean_flags": [text(3) for _ in range(rnd.choice([0, 0, 1, 3]))],
        "chars_removed": 0,
        "source_record_id": maybe(str(i)),
        "metadata": maybe("{}"),
    }


def _measured(tmp_path: Path, files: SplitFiles, by: str | None) -> tuple[int, dict[str, int]]:
    into: dict[str, int] = {}
    total = sum(arrow_nbytes(tmp_path / f, by, into) for f in files.files)
    return total, dict(sorted(into.items()))


@pytest.mark.parametrize("seed", range(6))
def test_the_sizes_counted_while_writing_are_the_sizes_measured_in_the_files(
    tmp_path: Path, seed: int
) -> None:
    # Several row groups and shards; languages whose rows hold nulls in one row group and
    # none in another; empty strings and lists; tables written in slices of every size.
    rnd = random.Random(seed)
    nulls = seed % 2 == 0
    rows = [_article(rnd, i, "eeef" if seed < 4 else "e", nulls) for i in range(2345)]
    for row in rows[1000:2000]:  # a row group without nulls, in a nullable schema
        row.update(title="t", url="u", source_record_id="1", metadata="{}")
        row["published"] = datetime(2021, 1, 1, tzinfo=timezone.utc)
    table = table_from_rows(rows, schema.RECORD_SCHEMA)
    w = ShardWriter(tmp_path, "data", "train", schema.RECORD_SCHEMA, 600_000, "language")
    start = 0
    while start < table.num_rows:
        size = rnd.choice([1, 7, 333, 1000, 1500])
        w.write_table(table.slice(start, size))
        start += size
    files = w.close()
    assert len(files.files) > 1 and files.num_examples == len(rows)
    assert (files.num_bytes, files.num_bytes_by) == _measured(tmp_path, files, "language")


def test_a_list_with_null_lists_and_null_items_is_counted_as_read_back(tmp_path: Path) -> None:
    s = pa.schema(
        [
            pa.field("by", pa.string(), nullable=False),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("blob", pa.binary()),
            pa.field("n", pa.int64()),
            pa.field("x", pa.float64(), nullable=False),
        ]
    )
    tags = [None, [], ["a", None], ["", "bc", "def"], None, ["z"]]
    rows = [
        {
            "by": "pq"[i % 3 == 0],
            "tags": tags[i % 6] if i < 1500 else ["a"],
            "blob": None if i % 5 == 0 else b"\x00" * (i % 4),
            "n": None if i % 7 == 0 else i,
            "x": 0.5,
        }
        for i in range(2100)
    ]
    w = ShardWriter(tmp_path, "t", "t", s, 1 << 30, "by")
    for i in range(0, len(rows), 450):
        w.write_table(table_from_rows(rows[i : i + 450], s))
    files = w.close()
    assert (files.num_bytes, files.num_bytes_by) == _measured(tmp_path, files, "by")


@pytest.mark.parametrize(
    "schema_by",
    [
        (schema.RECORD_SCHEMA, "language"),
        (schema.RECORD_SCHEMA, None),
        (schema.REJECT_SCHEMA, None),
        (schema.DUPLICATE_SCHEMA, None),
    ],
)
def test_the_counting_rules_hold_for_every_config_with_this_pyarrow(
    schema_by: tuple[pa.Schema, str | None],
) -> None:
    assert read_nbytes_holds(*schema_by)


def test_a_writer_measures_its_files_when_the_rules_do_not_hold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rnd = random.Random(9)
    table = table_from_rows(
        [_article(rnd, i, "ef", True) for i in range(1200)], schema.RECORD_SCHEMA
    )

    def write(folder: str) -> SplitFiles:
        w = ShardWriter(tmp_path, folder, "train", schema.RECORD_SCHEMA, 1 << 30, "language")
        w.write_table(table)
        return w.close()

    counted = write("counted")
    measure = Mock(wraps=writer.arrow_nbytes)
    monkeypatch.setattr(writer, "arrow_nbytes", measure)
    monkeypatch.setattr(writer, "read_nbytes_holds", lambda *_: False)
    measured = write("measured")
    monkeypatch.undo()
    monkeypatch.setattr(writer, "arrow_nbytes", measure)
    monkeypatch.setattr(writer, "MAX_COUNTED_DATA", 1000)  # too big to count: measured
    too_big = write("too_big")
    assert measure.call_count == 2
    assert (
        (counted.num_bytes, counted.num_bytes_by)
        == (
            measured.num_bytes,
            measured.num_bytes_by,
        )
        == (too_big.num_bytes, too_big.num_bytes_by)
    )


def test_a_null_that_hides_bytes_or_items_in_memory_counts_none(tmp_path: Path) -> None:
    # Arrow lets a null value keep bytes (a list, items) behind it; Parquet keeps none.
    valid = pa.py_buffer(bytes([0b101]))
    text = pa.Array.from_buffers(
        pa.string(),
        3,
        [valid, pa.array([0, 3, 6, 9], pa.int32()).buffers()[1], pa.py_buffer(b"abcdefghi")],
    )
    flags = pa.ListArray.from_arrays(
        pa.array([0, 1, 3, 4], pa.int32()),
        pa.array(["a", "bb", None, "c"]),
        mask=pa.array([False, True, False]),
    )
    s = pa.schema(
        [
            pa.field("by", pa.string(), nullable=False),
            pa.field("text", pa.string()),
            pa.field("flags", pa.list_(pa.string())),
        ]
    )
    table = pa.Table.from_arrays([pa.array(["p", "p", "q"]), text, flags], schema=s)
    w = ShardWriter(tmp_path, "t", "t", s, 1 << 30, "by")
    w.write_table(table)
    files = w.close()
    assert (files.num_bytes, files.num_bytes_by) == _measured(tmp_path, files, "by")


# -- encoding on another thread ------------------------------------------------------------


def _write_articles(root: Path, encoder: ThreadPoolExecutor | None) -> SplitFiles:
    rnd = random.Random(3)
    table = table_from_rows(
        [_article(rnd, i, "ef", True) for i in range(5321)], schema.RECORD_SCHEMA
    )
    w = ShardWriter(root, "data", "train", schema.RECORD_SCHEMA, 500_000, "language", encoder)
    start = 0
    while start < table.num_rows:
        size = rnd.choice([1, 390, 1000, 2500])
        w.write_table(table.slice(start, size))
        start += size
    return w.close()


def test_a_writer_that_encodes_on_a_thread_writes_the_same_files(tmp_path: Path) -> None:
    here = _write_articles(tmp_path / "here", None)
    with ThreadPoolExecutor(1) as encoder:
        there = _write_articles(tmp_path / "there", encoder)
    assert here == there and len(here.files) > 2
    for f in here.files:
        assert (tmp_path / "here" / f).read_bytes() == (tmp_path / "there" / f).read_bytes()


def test_a_failure_on_the_encoding_thread_is_raised_by_the_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object) -> Callable[[], None]:
        def step() -> None:
            raise OSError("No space left on device")

        return step

    monkeypatch.setattr(writer, "_write_group", fail)
    with ThreadPoolExecutor(1) as encoder, pytest.raises(OSError, match="No space left"):
        _write_articles(tmp_path, encoder)
