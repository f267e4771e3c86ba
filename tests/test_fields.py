"""The input's own fields (issue 20): its record id, its other fields as JSON metadata, and
its language label."""

from __future__ import annotations

import csv
import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import datasets
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from corpuskit import BuildConfig, build, schema
from corpuskit.cli import _config_from, main
from corpuskit.cli import build as build_command
from corpuskit.cli.settings import template
from corpuskit.config import SourceConfig
from corpuskit.language import normalise_label
from corpuskit.layout import DUPLICATES_DIR, MANIFEST, REJECTS_DIR
from corpuskit.mapstage.cached import settings_digest
from corpuskit.record import RawRecord
from corpuskit.report import BuildReport
from corpuskit.sources import iter_records
from corpuskit.sources.fields import metadata_json

from .conftest import english_article, files_of, french_article

CONFIG = BuildConfig(name="news", min_chars=50)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def read_one(path: Path, **source: Any) -> RawRecord:
    (record,) = iter_records([path], SourceConfig(**source))
    assert isinstance(record, RawRecord)
    return record


def build_rows(
    tmp_path: Path, source: Path, config: BuildConfig = CONFIG, out: str = "out"
) -> tuple[list[dict[str, Any]], BuildReport]:
    """Build ``source``; every kept row (train, then eval) and the report."""
    report = build([source], tmp_path / out, config)
    rows = []
    for path in sorted((tmp_path / out / "data").glob("*.parquet")):
        rows += pq.read_table(path).to_pylist()
    return rows, report


def by_text(rows: list[dict[str, Any]], text: str) -> dict[str, Any]:
    (row,) = [r for r in rows if r["text"] == text]
    return row


# -- metadata ----------------------------------------------------------------------------------


def test_jsonl_fields_not_read_otherwise_land_in_metadata_as_sorted_compact_json(
    tmp_path: Path,
) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {
                "text": "body",
                "title": "T",
                "id": 7,
                "zeta": "Zoë",
                "byline": None,
                "n": [1, {"b": 2}],
            }
        ],
    )
    record = read_one(path)
    assert record.metadata == '{"byline":null,"n":[1,{"b":2}],"zeta":"Zoë"}'


def test_csv_columns_not_read_otherwise_land_in_metadata_as_strings(tmp_path: Path) -> None:
    path = tmp_path / "a.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["id", "text", "byline", "words"], ["9", "body", "Ann", "120"]])
    assert read_one(path).metadata == '{"byline":"Ann","words":"120"}'


def test_parquet_columns_become_json_values_dates_as_iso_text(tmp_path: Path) -> None:
    table = pa.table(
        {
            "text": ["body"],
            "seen": pa.array([dt.datetime(2024, 5, 1, 12, 30)], pa.timestamp("ms", tz="UTC")),
            "day": [dt.date(2024, 5, 1)],
            "tags": [["a", "b"]],
            "desk": [{"name": "Kyiv", "floor": 3}],
            "score": [0.5],
        }
    )
    pq.write_table(table, tmp_path / "a.parquet")
    assert json.loads(read_one(tmp_path / "a.parquet").metadata or "") == {
        "day": "2024-05-01",
        "desk": {"floor": 3, "name": "Kyiv"},
        "score": 0.5,
        "seen": "2024-05-01T12:30:00+00:00",
        "tags": ["a", "b"],
    }


def test_a_parquet_binary_column_is_left_out_of_metadata_and_counted(tmp_path: Path) -> None:
    table = pa.table({"text": ["body"], "thumb": [b"\x89PNG"], "byline": ["Ann"]})
    pq.write_table(table, tmp_path / "a.parquet")
    record = read_one(tmp_path / "a.parquet")
    assert record.metadata == '{"byline":"Ann"}'
    assert record.unread == ("metadata",)


def test_keep_fields_restricts_metadata_to_the_fields_named(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "body", "byline": "Ann", "desk": "x"}])
    assert read_one(path, keep_fields=("byline", "absent")).metadata == '{"byline":"Ann"}'


def test_keep_fields_empty_keeps_no_metadata(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "body", "byline": "Ann"}])
    assert read_one(path, keep_fields=()).metadata is None


def test_a_record_without_other_fields_has_null_metadata(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "body", "id": "x", "url": "https://a"}])
    assert read_one(path).metadata is None


def test_metadata_over_the_record_cap_is_null_and_counted() -> None:
    assert metadata_json({"a": "x" * 100}, ["a"], max_bytes=50) == (None, True)


def test_personal_data_in_metadata_is_redacted_and_the_json_stays_valid(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [{"text": english_article(1), "byline": 'Ann "AL" Lee <ann@example.net>'}],
    )
    rows, report = build_rows(tmp_path, path)
    assert json.loads(rows[0]["metadata"]) == {"byline": 'Ann "AL" Lee <<EMAIL>>'}
    assert report.pii == {"email": 1}


def test_personal_data_in_metadata_keys_and_numbers_is_redacted_and_counted(
    tmp_path: Path,
) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {
                "text": english_article(1),
                "contacts": {"john.doe@example.com": "author", "jane@example.org": "editor"},
                "payment": 4111111111111111,
                "pages": 3,
            }
        ],
    )
    rows, report = build_rows(tmp_path, path)
    assert json.loads(rows[0]["metadata"]) == {
        "contacts": {"<EMAIL>": "editor", "<EMAIL>'": "author"},  # keys in sorted order
        "pages": 3,
        "payment": "<CARD>",
    }
    assert report.pii == {"email": 2, "card": 1}


# -- the record id -----------------------------------------------------------------------------


def test_a_text_id_is_kept_as_it_is(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "body", "id": "doc-001"}])
    assert read_one(path).meta["id"] == "doc-001"


def test_a_numeric_id_is_kept_as_its_digits(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "body", "id": 123}])
    assert read_one(path).meta["id"] == "123"


def test_id_field_names_the_field_and_the_default_id_field_then_is_metadata(
    tmp_path: Path,
) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "body", "id": 1, "guid": "g-1"}])
    record = read_one(path, id_field="guid")
    assert record.meta["id"] == "g-1"
    assert record.metadata == '{"id":1}'


def test_an_id_that_is_neither_text_nor_a_number_is_null_and_counted(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [{"text": english_article(1), "id": [1, 2]}, {"text": english_article(2), "id": 5}],
    )
    rows, report = build_rows(tmp_path, path)
    assert by_text(rows, english_article(1))["source_record_id"] is None
    assert by_text(rows, english_article(2))["source_record_id"] == "5"
    assert report.meta_not_understood == {"source_record_id": 1}
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["metadata_not_understood"] == {"source_record_id": 1}


def test_txt_files_have_no_record_id_and_no_metadata(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(english_article(1))
    rows, _ = build_rows(tmp_path, tmp_path / "in")
    assert (rows[0]["source_record_id"], rows[0]["metadata"]) == (None, None)


def test_rejects_and_dropped_duplicates_carry_the_record_id(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"text": english_article(1), "id": "kept"},
            {"text": english_article(1), "id": "copy"},
            {"text": "too short", "id": "short"},
        ],
    )
    build_rows(tmp_path, path)
    rejects = pq.read_table(tmp_path / "out" / REJECTS_DIR).to_pylist()
    dups = pq.read_table(tmp_path / "out" / DUPLICATES_DIR).to_pylist()
    assert [r["source_record_id"] for r in rejects] == ["short"]
    assert [d["source_record_id"] for d in dups] == ["copy"]


# -- the language label ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "code"),
    [
        ("en", "en"),
        ("en-US", "en"),
        ("EN_gb", "en"),
        ("eng", "en"),
        ("zh-CN", "zh-Hans"),
        ("zh-Hans", "zh-Hans"),
        ("zh-TW", "zh-Hant"),
        ("zh-Hant-HK", "zh-Hant"),
        ("zh", "zh"),
        ("la", "la"),
        ("", None),
        ("und", None),
        ("English", None),
        ("12", None),
    ],
)
def test_language_labels_are_normalised_to_the_artifacts_codes(
    label: str, code: str | None
) -> None:
    assert normalise_label(label) == code


def labelled(tmp_path: Path) -> Path:
    return write_jsonl(
        tmp_path / "a.jsonl",
        [
            {"text": english_article(1), "lang": "en-GB"},  # agrees
            {"text": english_article(2), "lang": "de"},  # the detector says en
            {"text": french_article(3), "lang": ""},  # no label: the detector's fr
            {"text": french_article(4)},  # no field: the same
        ],
    )


LABELLED = replace(CONFIG, source=SourceConfig(language_field="lang"))


def test_language_field_gives_the_language_normalised(tmp_path: Path) -> None:
    rows, report = build_rows(tmp_path, labelled(tmp_path), LABELLED)
    assert by_text(rows, english_article(1))["language"] == "en"
    assert by_text(rows, english_article(1))["language_score"] > 0.9
    assert by_text(rows, english_article(2))["language"] == "de"
    assert report.language_from_field == 2


def test_a_label_the_detector_disagrees_with_stands_scores_zero_and_is_counted(
    tmp_path: Path,
) -> None:
    rows, report = build_rows(tmp_path, labelled(tmp_path), LABELLED)
    assert by_text(rows, english_article(2))["language_score"] == 0.0
    assert report.language_disagreements == {"de -> en": 1}
    assert report.language_disagreements_total == 1
    assert "the detector disagreed: 1 (de -> en 1)" in report.summary()
    assert report.to_json()["language_disagreements"] == {"de -> en": 1}
    manifest = json.loads((tmp_path / "out" / MANIFEST).read_text())
    assert manifest["language_field"] == {
        "from_field": 2,
        "fallbacks": 2,
        "disagreements": {"de -> en": 1},
        "disagreements_total": 1,
    }


def test_an_empty_or_missing_label_falls_back_to_the_detector_and_is_counted(
    tmp_path: Path,
) -> None:
    rows, report = build_rows(tmp_path, labelled(tmp_path), LABELLED)
    assert by_text(rows, french_article(3))["language"] == "fr"
    assert by_text(rows, french_article(4))["language"] == "fr"
    assert report.language_fallbacks == 2


def test_languages_keeps_what_the_given_label_says_not_the_detector(tmp_path: Path) -> None:
    config = replace(LABELLED, languages=("de",))
    rows, report = build_rows(tmp_path, labelled(tmp_path), config)
    assert [r["text"] for r in rows] == [english_article(2)]
    assert report.rejected == {"language": 3}


def test_the_language_field_is_not_metadata(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": "body", "lang": "en", "desk": "x"}])
    assert read_one(path, language_field="lang").metadata == '{"desk":"x"}'
    assert read_one(path).metadata == '{"desk":"x","lang":"en"}'


# -- the cache ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        SourceConfig(id_field="guid"),
        SourceConfig(keep_fields=("byline",)),
        SourceConfig(language_field="lang"),
    ],
)
def test_the_cache_key_changes_with_each_field_setting(source: SourceConfig) -> None:
    assert settings_digest(replace(CONFIG, source=source)) != settings_digest(CONFIG)


def test_a_changed_metadata_value_is_not_taken_from_the_cache(tmp_path: Path) -> None:
    config = replace(CONFIG, cache=str(tmp_path / "cache"))
    rows = [{"text": english_article(i), "id": i, "byline": "Ann"} for i in range(2)]
    build_rows(tmp_path, write_jsonl(tmp_path / "a.jsonl", rows), config, "one")
    rows[0]["byline"] = "Bob"  # the same text, another byline
    got, report = build_rows(tmp_path, write_jsonl(tmp_path / "a.jsonl", rows), config, "two")
    assert by_text(got, english_article(0))["metadata"] == '{"byline":"Bob"}'
    assert report.from_cache == 1


# -- the artifact ------------------------------------------------------------------------------


def test_load_dataset_gives_the_new_columns_in_their_declared_types(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "a.jsonl", [{"text": english_article(1), "id": 1, "x": "y"}])
    build([path], tmp_path / "out", CONFIG)
    ds = datasets.load_dataset(str(tmp_path / "out"), cache_dir=str(tmp_path / "hf"))
    features = ds["train"].features
    assert features["source_record_id"] == datasets.Value("string")
    assert features["metadata"] == datasets.Value("string")
    assert features == schema.features(schema.RECORD_FIELDS)
    assert ds["train"][0]["metadata"] == '{"x":"y"}'


def test_two_builds_with_user_fields_are_byte_identical(tmp_path: Path) -> None:
    rows = [
        {"text": english_article(i), "id": i, "lang": "en", "byline": f"B{i}", "n": {"z": 1}}
        for i in range(6)
    ]
    path = write_jsonl(tmp_path / "a.jsonl", rows)
    build([path], tmp_path / "one", LABELLED)
    build([path], tmp_path / "two", LABELLED)
    assert files_of(tmp_path / "one") == files_of(tmp_path / "two")


# -- the command line --------------------------------------------------------------------------


def _source_of(*args: str) -> SourceConfig:
    """The SourceConfig that `corpuskit build` makes of ``args``."""
    ctx = build_command.make_context("build", ["x.jsonl", *args])
    return _config_from(dict(ctx.params))[1].source


def test_the_options_set_the_source_config(tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").touch()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path)
        assert _source_of().keep_fields is None
        assert _source_of("--keep-fields", "").keep_fields == ()
        assert _source_of("--keep-fields", "a, b").keep_fields == ("a", "b")
        assert _source_of("--id-field", "").id_field is None
        assert _source_of("--language-field", "lang").language_field == "lang"


def test_corpuskit_init_lists_the_field_options(tmp_path: Path) -> None:
    text = template(build_command)
    assert '# id_field = "id"' in text
    assert '# keep_fields = "*"' in text
    assert '# language_field = ""' in text


def test_build_help_shows_the_field_options() -> None:
    out = CliRunner().invoke(main, ["build", "--help"]).output
    assert "--id-field" in out and "--keep-fields" in out and "--language-field" in out
