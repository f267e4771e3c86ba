"""The output schema spells out `datasets`' own forms without importing `datasets` at build
time; these tests hold every spelled-out form to what `datasets` itself produces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest

from corpuskit import schema

CONFIGS = {
    "records": schema.RECORD_FIELDS,
    "rejects": schema.REJECT_FIELDS,
    "duplicates": schema.DUPLICATE_FIELDS,
}


@pytest.mark.parametrize("name", CONFIGS)
def test_arrow_schema_equals_the_one_datasets_derives(name: str) -> None:
    fields = CONFIGS[name]
    base = schema.features(fields).arrow_schema
    expected = [base.field(f.name).with_nullable(f.nullable) for f in fields]
    ours = schema.arrow_schema(fields)
    assert list(ours) == expected
    # byte for byte: the metadata is written into every Parquet file
    assert ours.metadata == base.metadata


@pytest.mark.parametrize("name", CONFIGS)
def test_card_features_yaml_equals_the_one_datasets_writes(name: str) -> None:
    fields = CONFIGS[name]
    info = datasets.DatasetInfo(features=schema.features(fields))
    assert schema.features_yaml(fields) == info._to_yaml_dict()["features"]


def test_features_round_trip_through_the_parquet_metadata() -> None:
    restored = datasets.Features.from_arrow_schema(schema.RECORD_SCHEMA)
    assert restored == schema.features(schema.RECORD_FIELDS)


def test_a_column_of_an_unknown_dtype_is_refused() -> None:
    with pytest.raises(ValueError, match="no Arrow type known for 'int128'"):
        schema.Field("x", "int128", False, "")


def test_building_does_not_import_datasets() -> None:
    # Importing datasets costs ~2 s and ~110 MB; the build path must not pay it.
    code = (
        "import sys, corpuskit.pipeline, corpuskit.cli, corpuskit.output.verify; "
        "print('datasets' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("name", CONFIGS)
def test_parquet_stores_every_column_in_the_type_the_card_declares(
    name: str, tmp_path: Path
) -> None:
    """Readers that ignore the Arrow schema kept in the file's metadata (DuckDB, pandas
    through other engines, `load_dataset("parquet")` on a plain folder) see the Parquet
    file's own types: they must be the declared ones (a timestamp[s] column is stored in
    milliseconds, for instance)."""
    fields = CONFIGS[name]
    table = schema.arrow_schema(fields).empty_table()
    pq.write_table(table, tmp_path / "t.parquet")
    stored = pq.ParquetFile(tmp_path / "t.parquet").schema.to_arrow_schema()
    assert [(f.name, stored.field(f.name).type) for f in fields] == [
        (f.name, f.arrow_type) for f in fields
    ]
