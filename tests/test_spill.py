"""The spill: kept rows written as parts by whoever ran a batch, read back in artifact order."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit import schema
from corpuskit.output import spill as spill_module
from corpuskit.output.spill import Spill, bucket_of, spill_schema, write_part

SCHEMA = spill_schema(schema.RECORD_SCHEMA)


def _row(seq: int, text: str = "words", file: str = "a.jsonl") -> dict[str, Any]:
    rid = hashlib.blake2b(f"{seq}".encode(), digest_size=10).hexdigest()
    return {
        "id": rid,
        "text": text,
        "title": None,
        "language": "en",
        "language_score": 0.5,
        "source_id": "s",
        "url": None,
        "published": None,
        "num_chars": len(text),
        "num_words": 1,
        "content_hash": "h",
        "dup_cluster": rid,
        "clean_flags": [],
        "chars_removed": 0,
        "source_record_id": None,
        "metadata": None,
        "_seq": seq,
        "_file": file,
        "_line": seq + 1,
    }


def _spill(tmp_path: Path, rows: list[dict[str, Any]], cuts: list[int]) -> Spill:
    """``rows`` written as parts cut at ``cuts`` (as batches would be)."""
    spill = Spill()
    bounds = [0, *sorted(set(cuts)), len(rows)]
    for i, (a, b) in enumerate(itertools.pairwise(bounds)):
        if b > a:
            spill.add(write_part(rows[a:b], SCHEMA, tmp_path / f"part-{i}.arrow"))
    return spill


def _read(spill: Spill) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for table in spill.sorted_batches():
        out.extend(
            zip(table.column("id").to_pylist(), table.column("_seq").to_pylist(), strict=True)
        )
    return out


def test_rows_come_back_sorted_by_id(tmp_path: Path) -> None:
    rows = [_row(i) for i in range(500)]
    got = _read(_spill(tmp_path, rows, [100, 250]))
    assert got == sorted((r["id"], r["_seq"]) for r in rows)


def test_each_table_holds_one_bucket_in_bucket_order(tmp_path: Path) -> None:
    rows = [_row(i) for i in range(2000)]
    tables = list(_spill(tmp_path, rows, [700]).sorted_batches())
    buckets = [{bucket_of(rid) for rid in t.column("id").to_pylist()} for t in tables]
    assert all(len(b) == 1 for b in buckets)
    order = [b.pop() for b in buckets]
    assert order == sorted(order) and len(order) == len(set(order))


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(0, 300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    group_bytes=st.sampled_from([1, 4096, 1 << 30]),
    max_open=st.sampled_from([1, 512]),
    copy_parts=st.sampled_from([1, 2, 16]),
)
def test_order_does_not_depend_on_parts_or_group_size(
    tmp_path_factory: pytest.TempPathFactory,
    n: int,
    cuts: list[int],
    group_bytes: int,
    max_open: int,
    copy_parts: int,
) -> None:
    rows = [_row(i) for i in range(n)]
    one = _read(_spill(tmp_path_factory.mktemp("one"), rows, []))
    real = spill_module.GROUP_BYTES, spill_module.MAX_OPEN_PARTS, spill_module.COPY_PARTS
    spill_module.GROUP_BYTES, spill_module.MAX_OPEN_PARTS = group_bytes, max_open
    spill_module.COPY_PARTS = copy_parts
    try:
        many = _read(_spill(tmp_path_factory.mktemp("many"), rows, [c for c in cuts if c <= n]))
    finally:
        spill_module.GROUP_BYTES, spill_module.MAX_OPEN_PARTS, spill_module.COPY_PARTS = real
    assert many == one


def test_groups_cover_every_bucket_once_and_respect_the_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spill_module, "GROUP_BYTES", 20_000)
    spill = _spill(tmp_path, [_row(i, "x" * 200) for i in range(1000)], [300, 600])
    groups = spill.groups()
    assert groups[0][0] == 0 and groups[-1][1] == spill_module.NUM_BUCKETS
    assert all(a[1] == b[0] for a, b in itertools.pairwise(groups))
    assert len(groups) > 5


def test_ties_on_id_are_ordered_by_file_then_line(tmp_path: Path) -> None:
    same = [_row(7, file=f) for f in ("b.jsonl", "a.jsonl")]
    same[0]["_line"], same[1]["_line"] = 3, 9
    table = next(_spill(tmp_path, same, [1]).sorted_batches())
    assert table.column("_file").to_pylist() == ["a.jsonl", "b.jsonl"]


def test_a_part_keeps_the_schema(tmp_path: Path) -> None:
    part = write_part([_row(1)], SCHEMA, tmp_path / "p.arrow")
    with pa.memory_map(part.path) as source:
        assert pa.ipc.open_file(source).schema == SCHEMA
    assert part.rows == 1 and part.nbytes > 0


def test_a_shipped_part_is_written_by_the_spill_to_the_same_bytes(tmp_path: Path) -> None:
    rows = [_row(i, f"text {i}") for i in range(40)]
    written = write_part(rows, SCHEMA, tmp_path / "written.arrow")
    shipped = write_part(rows, SCHEMA, tmp_path / "shipped.arrow", ship=True)
    assert not (tmp_path / "shipped.arrow").exists()  # the worker wrote nothing
    spill = Spill()
    spill.add(shipped)
    assert (tmp_path / "shipped.arrow").read_bytes() == (tmp_path / "written.arrow").read_bytes()
    assert spill.parts[0].data is None  # the bytes are not held once written
    assert (spill.parts[0].offsets, spill.parts[0].nbytes) == (written.offsets, written.nbytes)
