"""croissant.json: a Croissant 1.1 document that the reference implementation
(``mlcroissant``) validates and reads back as exactly the artifact's rows."""

from __future__ import annotations

import json
import math
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from corpuskit import EXAMPLE_CORPUS, BuildConfig, build, schema
from corpuskit.layout import CROISSANT, DATA_DIR, DUPLICATES_DIR, MANIFEST, REJECTS_DIR
from corpuskit.output import croissant
from corpuskit.output.writer import SplitFiles, sha256_file

# Deprecation notices from inside rdflib and mlcroissant (not about the document).
pytestmark = [
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The inplace keyword in DataFrame.reset_index:Warning"),
]

# What mlcroissant may warn about, and why that is expected: a build stamps no date, so
# that rebuilding gives the same bytes (datePublished is only recommended).
EXPLAINED_WARNINGS = ("datePublished",)


def _split_files(root: Path, folder: str, split: str) -> SplitFiles:
    files = tuple(
        p.relative_to(root).as_posix() for p in sorted((root / folder).glob(f"{split}-*.parquet"))
    )
    rows = sum(pq.ParquetFile(root / f).metadata.num_rows for f in files)
    return SplitFiles(split, files, rows, 0, 0)


def _configs(root: Path) -> list[tuple[str, tuple[schema.Field, ...], list[SplitFiles]]]:
    """The configs of a built artifact, as the write stage hands them over."""
    return [
        (
            "default",
            schema.RECORD_FIELDS,
            [_split_files(root, DATA_DIR, "train"), _split_files(root, DATA_DIR, "eval")],
        ),
        ("rejects", schema.REJECT_FIELDS, [_split_files(root, REJECTS_DIR, "rejects")]),
        ("duplicates", schema.DUPLICATE_FIELDS, [_split_files(root, DUPLICATES_DIR, "duplicates")]),
    ]


def _document(root: Path, **changes: Any) -> dict[str, Any]:
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    args: dict[str, Any] = {
        "name": "example-news",
        "description": "News articles from the example corpus, cleaned and de-duplicated.",
        "license": "cc-by-4.0",
        "license_url": None,
        "url": "https://huggingface.co/datasets/someone/example-news",
        "citation": "@misc{example-news, title={Example news}}",
        "version": "1.0.0",
        "keywords": ["news", "corpuskit"],
        "configs": _configs(root),
        "sha256": manifest["files"],  # every file's checksum: non-Parquet ones are ignored
    }
    args.update(changes)
    return croissant.document(**args)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled example corpus built, with its croissant.json written beside the data."""
    root = tmp_path_factory.mktemp("croissant") / "example-news"
    build([Path(EXAMPLE_CORPUS)], root, BuildConfig(name="example-news", source_id="parent"))
    (root / CROISSANT).write_text(croissant.dumps(_document(root)), encoding="utf-8")
    return root


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a network connection fails the test."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"network access attempted: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def mlc_dataset(artifact: Path, offline: None) -> Any:
    mlc = pytest.importorskip("mlcroissant")
    return mlc.Dataset(jsonld=str(artifact / CROISSANT))


def _records(dataset: Any, record_set: str) -> Iterator[dict[str, Any]]:
    """A record set's records, with the ``{record_set}/`` prefix dropped from keys and
    text decoded (mlcroissant hands out sc:Text values as bytes)."""
    for record in dataset.records(record_set=record_set):
        out: dict[str, Any] = {}
        for key, value in record.items():
            if isinstance(value, bytes):
                value = value.decode("utf-8")
            elif isinstance(value, list):
                value = [v.decode("utf-8") if isinstance(v, bytes) else v for v in value]
            out[key.split("/", 1)[1]] = value
        yield out


def _rows(root: Path, folder: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in sorted((root / folder).glob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows


def test_mlcroissant_validates_it_with_no_error_and_only_explained_warnings(
    mlc_dataset: Any,
) -> None:
    issues = mlc_dataset.metadata.ctx.issues
    assert issues.errors == set()
    unexplained = [w for w in issues.warnings if not any(e in w for e in EXPLAINED_WARNINGS)]
    assert unexplained == []


def test_the_mlcroissant_command_validates_it(artifact: Path) -> None:
    command = shutil.which("mlcroissant", path=str(Path(sys.executable).parent))
    if command is None:
        pytest.skip("the mlcroissant command is not installed (pip install -e '.[test]')")
    run = subprocess.run(
        [command, "validate", "--jsonld", str(artifact / CROISSANT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "error" not in run.stderr.lower()


def test_the_context_is_inline_so_reading_needs_no_network(artifact: Path, offline: None) -> None:
    mlc = pytest.importorskip("mlcroissant")
    doc = json.loads((artifact / CROISSANT).read_text(encoding="utf-8"))
    assert isinstance(doc["@context"], dict)
    dataset = mlc.Dataset(jsonld=str(artifact / CROISSANT))
    assert next(iter(dataset.records(record_set="default")))


def test_the_default_record_set_yields_exactly_the_kept_rows(
    artifact: Path, mlc_dataset: Any
) -> None:
    records = list(_records(mlc_dataset, "default"))
    rows = _rows(artifact, DATA_DIR)
    assert len(records) == len(rows)
    assert sorted(r["id"] for r in records) == sorted(r["id"] for r in rows)


def test_default_records_carry_the_rows_values(artifact: Path, mlc_dataset: Any) -> None:
    records = {r["id"]: r for r in _records(mlc_dataset, "default")}
    rows = _rows(artifact, DATA_DIR)
    with_date = next(r for r in rows if r["published"] is not None)
    with_flags = next(r for r in rows if r["clean_flags"])
    without_title = [r for r in rows if r["title"] is None][:1]
    for row in [rows[0], with_date, with_flags, *without_title]:
        record = records[row["id"]]
        for name in ("text", "title", "language", "source_id", "url", "num_chars", "num_words"):
            assert record[name] == row[name], name
        assert math.isclose(record["language_score"], row["language_score"], rel_tol=1e-6)
        assert list(record["clean_flags"]) == row["clean_flags"]
    assert records[with_date["id"]]["published"] == with_date["published"]


def test_the_split_field_says_which_split_file_a_record_came_from(
    artifact: Path, mlc_dataset: Any
) -> None:
    splits = {r["id"]: r["split"] for r in _records(mlc_dataset, "default")}
    for split in ("train", "eval"):
        ids = {
            r["id"]
            for r in pq.read_table(
                artifact / DATA_DIR / f"{split}-00000-of-00001.parquet"
            ).to_pylist()
        }
        assert {i for i, s in splits.items() if s == split} == ids


def test_the_splits_record_set_gives_train_and_eval_their_meaning(mlc_dataset: Any) -> None:
    splits = {r["name"]: r["url"] for r in _records(mlc_dataset, "default_splits")}
    assert splits == {"train": "cr:TrainingSplit", "eval": "cr:TestSplit"}


def test_the_rejects_record_set_yields_exactly_the_rejects(
    artifact: Path, mlc_dataset: Any
) -> None:
    records = list(_records(mlc_dataset, "rejects"))
    rows = _rows(artifact, REJECTS_DIR)
    assert len(records) == len(rows) > 0
    key = ("file", "line", "reason", "detail")
    assert sorted(tuple(r[k] for k in key) for r in records) == sorted(
        tuple(r[k] for k in key) for r in rows
    )


def test_the_duplicates_record_set_yields_exactly_the_dropped_copies(
    artifact: Path, mlc_dataset: Any
) -> None:
    records = list(_records(mlc_dataset, "duplicates"))
    rows = _rows(artifact, DUPLICATES_DIR)
    assert len(records) == len(rows) > 0
    assert sorted((r["id"], r["duplicate_of"]) for r in records) == sorted(
        (r["id"], r["duplicate_of"]) for r in rows
    )


def test_every_parquet_file_is_a_file_object_with_its_sha256(artifact: Path) -> None:
    doc = _document(artifact)
    objects = {d["contentUrl"]: d for d in doc["distribution"] if d["@type"] == "cr:FileObject"}
    on_disk = {p.relative_to(artifact).as_posix(): p for p in artifact.rglob("*.parquet")}
    assert set(objects) == set(on_disk)
    for rel, path in on_disk.items():
        assert objects[rel]["sha256"] == sha256_file(path)
        assert objects[rel]["encodingFormat"] == "application/x-parquet"


def test_a_parquet_file_without_a_sha256_is_an_error(artifact: Path) -> None:
    with pytest.raises(ValueError, match="no sha256"):
        _document(artifact, sha256={})


def test_the_same_input_gives_the_same_bytes(artifact: Path) -> None:
    manifest = json.loads((artifact / MANIFEST).read_text(encoding="utf-8"))
    reordered = dict(reversed(list(manifest["files"].items())))
    first = croissant.dumps(_document(artifact))
    assert croissant.dumps(_document(artifact, sha256=reordered)) == first
    assert (artifact / CROISSANT).read_text(encoding="utf-8") == first
    assert first.endswith("}\n")


# The mapping from the specification (dtype -> Croissant dataType, is an array), written
# out here rather than derived, so a change of the module's table is caught.
EXPECTED_TYPES = {
    "string": ("sc:Text", False),
    "float32": ("sc:Float", False),
    "int32": ("sc:Integer", False),
    "timestamp[ms, tz=UTC]": ("sc:DateTime", False),
    schema.LIST_OF_STRINGS: ("sc:Text", True),
}


@pytest.mark.parametrize(
    ("config", "fields"),
    [
        ("default", schema.RECORD_FIELDS),
        ("rejects", schema.REJECT_FIELDS),
        ("duplicates", schema.DUPLICATE_FIELDS),
    ],
)
def test_every_schema_column_is_a_field_with_its_data_type(
    artifact: Path, config: str, fields: tuple[schema.Field, ...]
) -> None:
    doc = _document(artifact)
    (record_set,) = [r for r in doc["recordSet"] if r["@id"] == config]
    by_id = {f["@id"]: f for f in record_set["field"]}
    assert set(by_id) == {f"{config}/{f.name}" for f in fields} | {f"{config}/split"}
    for f in fields:
        field = by_id[f"{config}/{f.name}"]
        assert (field["dataType"], field.get("isArray", False)) == EXPECTED_TYPES[f.dtype]
        assert field["description"] == f.doc
        assert field["source"]["extract"] == {"column": f.name}


def test_a_config_left_out_is_absent(artifact: Path) -> None:
    configs = [c for c in _configs(artifact) if c[0] != "duplicates"]
    text = croissant.dumps(_document(artifact, configs=configs))
    doc = json.loads(text)
    assert [r["@id"] for r in doc["recordSet"]] == [
        "default_splits",
        "default",
        "rejects_splits",
        "rejects",
    ]
    assert "duplicates" not in text


def test_a_config_whose_splits_have_no_files_is_absent(artifact: Path) -> None:
    empty = SplitFiles("duplicates", (), 0, 0, 0)
    configs = [*_configs(artifact)[:2], ("duplicates", schema.DUPLICATE_FIELDS, [empty])]
    assert "duplicates" not in croissant.dumps(_document(artifact, configs=configs))


def test_a_split_without_files_is_absent(artifact: Path) -> None:
    (default, *others) = _configs(artifact)
    train, _ = default[2]
    configs = [("default", schema.RECORD_FIELDS, [train, SplitFiles("eval", (), 0, 0, 0)])]
    doc = _document(artifact, configs=configs + others)
    (splits,) = [r for r in doc["recordSet"] if r["@id"] == "default_splits"]
    assert splits["data"] == [
        {"default_splits/name": "train", "default_splits/url": "cr:TrainingSplit"}
    ]
    assert "eval-" not in croissant.dumps(doc)


def test_the_dataset_level_properties_are_given(artifact: Path) -> None:
    doc = _document(artifact)
    assert doc["conformsTo"] == "http://mlcommons.org/croissant/1.1"
    assert doc["@type"] == "sc:Dataset"
    assert doc["license"] == "cc-by-4.0"
    assert doc["citeAs"].startswith("@misc")
    assert doc["version"] == "1.0.0"
    assert doc["keywords"] == ["news", "corpuskit"]


def test_license_other_is_given_by_its_link(artifact: Path) -> None:
    doc = _document(artifact, license="other", license_url="https://example.org/terms")
    assert doc["license"] == "https://example.org/terms"


def test_absent_optional_properties_are_left_out(artifact: Path) -> None:
    doc = _document(artifact, url=None, citation=None, version=None)
    assert not {"url", "citeAs", "version"} & set(doc)


def test_the_module_does_not_need_mlcroissant() -> None:
    code = (
        "import sys, corpuskit.output.croissant; "
        "sys.exit('mlcroissant' in sys.modules or 'datasets' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=120)
    assert run.returncode == 0, run.stderr
