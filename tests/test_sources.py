"""corpuskit.sources: every input format, folder walking, decoding, and every bad input."""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import json
import os
import random
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from corpuskit.config import SourceConfig
from corpuskit.errors import ConfigError, SourceError
from corpuskit.record import RawRecord, Reason, Reject
from corpuskit.sources import MAX_REJECT_TEXT, SourceStats, iter_records
from corpuskit.sources.decode import UTF8_REPLACED, Decoded, DecodeFailure, decode_bytes

from .conftest import shared

DE = (
    "Die Bürgerinnen und Bürger müssen für die Sanierung der Straße mehr zahlen, "
    "sagte der Bürgermeister."
)
FR = (
    "Le président a déclaré mercredi que l'économie française était « en très bonne santé » "
    "malgré la grève."
)
RU = "Президент заявил, что экономика страны находится в хорошем состоянии, несмотря на санкции."
PL = "Zażółć gęślą jaźń, powiedział wczoraj minister rolnictwa podczas konferencji w Warszawie."
ES = "El niño comió muchas manzanas en el jardín de su abuela española durante la mañana."
PT = "A população não está satisfeita com as eleições, disse o ministro à imprensa ontem."
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06" + bytes(67)


def read(
    *paths: Path | str, stats: SourceStats | None = None, **options: object
) -> list[RawRecord | Reject]:
    return list(iter_records([str(p) for p in paths], SourceConfig(**options), stats))  # type: ignore[arg-type]


def only(items: list[RawRecord | Reject]) -> RawRecord | Reject:
    assert len(items) == 1, items
    return items[0]


def records(items: list[RawRecord | Reject]) -> list[RawRecord]:
    return [i for i in items if isinstance(i, RawRecord)]


def rejects(items: list[RawRecord | Reject]) -> list[Reject]:
    return [i for i in items if isinstance(i, Reject)]


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return path


# --- formats ---------------------------------------------------------------------------


def test_txt_file_is_one_record_without_meta(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("First paragraph.\n\nSecond one.\n", encoding="utf-8")
    rec = only(read(tmp_path / "a.txt"))
    assert isinstance(rec, RawRecord)
    assert rec.text == "First paragraph.\n\nSecond one.\n"
    assert rec.meta == {}
    assert rec.encoding == "utf-8"
    assert (rec.provenance.file, rec.provenance.line) == ("a.txt", None)


def test_empty_txt_file_is_an_empty_record_for_validation_to_judge(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    rec = only(read(tmp_path / "empty.txt"))
    assert isinstance(rec, RawRecord) and rec.text == ""


def test_jsonl_records_carry_text_meta_and_line_numbers(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "d.jsonl",
        [
            {
                "text": "one",
                "title": "T1",
                "url": "https://x.org/1",
                "published": "2024-01-02",
                "source": "x.org",
                "other": 1,
            },
            {"text": "two", "title": 42, "source": None, "url": ""},
        ],
    )
    first, second = read(path)
    assert isinstance(first, RawRecord) and isinstance(second, RawRecord)
    assert first.text == "one"
    assert first.meta == {
        "title": "T1",
        "url": "https://x.org/1",
        "published": "2024-01-02",
        "source": "x.org",
    }
    assert str(first.provenance) == "d.jsonl:1"
    assert second.meta == {"title": "42"}  # non-strings become strings, empty/null dropped
    assert second.provenance.line == 2


def test_custom_field_names_are_used(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"body": "hello", "headline": "H", "site": "s"}])
    rec = only(read(path, text_field="body", title_field="headline", source_field="site"))
    assert isinstance(rec, RawRecord)
    assert (rec.text, rec.meta) == ("hello", {"title": "H", "source": "s"})


def test_ndjson_and_gzipped_jsonl_are_read(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "a.ndjson", [{"text": "plain"}])
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": "zipped"}) + "\n")
    with gzip.open(tmp_path / "c.ndjson.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": "zipped too"}) + "\n")
    items = read(tmp_path)
    assert [r.text for r in records(items)] == ["plain", "zipped", "zipped too"]
    assert records(items)[1].provenance.file == f"{tmp_path.name}/b.jsonl.gz"


def test_csv_rows_carry_meta_and_data_row_numbers(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "title", "text", "url"])
        w.writerow(["1", "First", "Body one, with a comma", "https://a"])
        w.writerow(["2", "", "Body two\nspans two lines", ""])
        w.writerow(["3", "Third", "Body three", "https://c"])
    items = read(path)
    assert [r.text for r in records(items)] == [
        "Body one, with a comma",
        "Body two\nspans two lines",
        "Body three",
    ]
    assert [r.provenance.line for r in records(items)] == [1, 2, 3]  # header not counted
    assert records(items)[0].meta == {"id": "1", "title": "First", "url": "https://a"}
    assert records(items)[1].meta == {"id": "2"}


def test_csv_semicolon_delimiter_is_recognised(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    path.write_text("title;text\nEins;Der erste Text, mit Komma\n", encoding="utf-8")
    rec = only(read(path))
    assert isinstance(rec, RawRecord)
    assert (rec.text, rec.meta) == ("Der erste Text, mit Komma", {"title": "Eins"})


def test_parquet_rows_carry_meta_and_iso_dates(tmp_path: Path) -> None:
    table = pa.table(
        {
            "text": ["alpha", "beta"],
            "title": ["A", None],
            "published": pa.array([dt.datetime(2024, 3, 1, 12, 30), None], pa.timestamp("s")),
            "source": pa.array([7, 8], pa.int64()),
        }
    )
    pq.write_table(table, tmp_path / "d.parquet")
    first, second = read(tmp_path / "d.parquet")
    assert isinstance(first, RawRecord) and isinstance(second, RawRecord)
    assert first.meta == {"title": "A", "published": "2024-03-01T12:30:00", "source": "7"}
    assert (second.text, second.meta, second.provenance.line) == ("beta", {"source": "8"}, 2)


def test_parquet_is_read_in_batches_with_continuous_row_numbers(tmp_path: Path) -> None:
    n = 2500
    pq.write_table(
        pa.table({"text": [f"row {i}" for i in range(n)]}),
        tmp_path / "big.parquet",
        row_group_size=700,
    )
    items = read(tmp_path / "big.parquet")
    assert len(items) == n
    assert [r.provenance.line for r in items] == list(range(1, n + 1))
    assert items[-1].text == f"row {n - 1}"  # type: ignore[union-attr]


def test_parquet_dictionary_and_binary_text_columns(tmp_path: Path) -> None:
    pq.write_table(
        pa.table(
            {
                "text": pa.array(["same", "same", "other"]).dictionary_encode(),
            }
        ),
        tmp_path / "dict.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "text": pa.array([RU.encode("cp1251"), b"plain"], pa.binary()),
            }
        ),
        tmp_path / "bin.parquet",
    )
    assert [r.text for r in records(read(tmp_path / "dict.parquet"))] == ["same", "same", "other"]
    cyr, plain = records(read(tmp_path / "bin.parquet"))
    assert (cyr.text, cyr.encoding) == (RU, "cp1251")
    assert plain.text == "plain"


# --- folders -----------------------------------------------------------------------------


def test_folder_is_walked_recursively_in_relative_path_order(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    for rel in ["b.txt", "a/z.txt", "a/b/c.txt", "a.txt", "B.txt", "a/a.txt"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel, encoding="utf-8")
    items = read(root)
    assert [r.provenance.file for r in items] == [
        "corpus/B.txt",
        "corpus/a/a.txt",
        "corpus/a/b/c.txt",
        "corpus/a/z.txt",
        "corpus/a.txt",
        "corpus/b.txt",
    ]
    assert [r.text for r in records(items)] == [
        "B.txt",
        "a/a.txt",
        "a/b/c.txt",
        "a/z.txt",
        "a.txt",
        "b.txt",
    ]


def test_reading_twice_gives_identical_streams(tmp_path: Path) -> None:
    for i in range(20):
        (tmp_path / f"f{i}.txt").write_text(f"text {i}", encoding="utf-8")
    assert read(tmp_path) == read(tmp_path)


def test_file_argument_provenance_is_its_basename(tmp_path: Path) -> None:
    (tmp_path / "deep").mkdir()
    (tmp_path / "deep" / "x.txt").write_text("hi", encoding="utf-8")
    assert only(read(tmp_path / "deep" / "x.txt")).provenance.file == "x.txt"


def test_other_files_in_a_folder_are_skipped_and_counted(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "img1.png").write_bytes(PNG)
    (tmp_path / "img2.PNG").write_bytes(PNG)
    (tmp_path / "notes.md").write_text("# notes", encoding="utf-8")
    (tmp_path / "data.csv.gz").write_bytes(b"")
    (tmp_path / "README").write_text("x", encoding="utf-8")
    stats = SourceStats()
    items = read(tmp_path, stats=stats)
    assert len(items) == 1
    assert stats.files_skipped == {".png": 2, ".md": 1, ".csv.gz": 1, "no extension": 1}
    assert stats.files_read == 1


def test_hidden_files_and_folders_are_skipped_and_counted(tmp_path: Path) -> None:
    (tmp_path / "seen.txt").write_text("yes", encoding="utf-8")
    (tmp_path / ".hidden.txt").write_text("no", encoding="utf-8")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "a.txt").write_text("no", encoding="utf-8")
    stats = SourceStats()
    items = read(tmp_path, stats=stats)
    assert [r.text for r in records(items)] == ["yes"]
    assert stats.files_skipped == {"hidden": 2}


def test_directory_named_like_a_file_is_walked_as_a_folder(tmp_path: Path) -> None:
    # Spark and friends write folders such as table.parquet/part-0.parquet.
    (tmp_path / "x.txt").mkdir()
    (tmp_path / "x.txt" / "inner.txt").write_text("inside", encoding="utf-8")
    assert only(read(tmp_path)).provenance.file == f"{tmp_path.name}/x.txt/inner.txt"


def test_symlink_loop_terminates(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "a.txt").write_text("once", encoding="utf-8")
    os.symlink(root, root / "sub" / "loop")
    stats = SourceStats()
    items = read(root, stats=stats)
    assert [r.text for r in records(items)] == ["once"]
    assert stats.files_skipped == {"symlink loop or repeated folder": 1}


def test_non_utf8_file_name_is_escaped_in_provenance(tmp_path: Path) -> None:
    root = tmp_path / "corpus"
    root.mkdir()
    name = os.path.join(os.fsencode(root), b"caf\xe9.txt")
    with open(name, "wb") as f:
        f.write(b"text")
    rec = only(read(root))
    assert isinstance(rec, RawRecord)
    assert rec.provenance.file == "corpus/caf\\xe9.txt"
    rec.provenance.file.encode("utf-8")  # safe to write anywhere


def test_same_file_given_twice_is_read_once(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("only once", encoding="utf-8")
    stats = SourceStats()
    items = read(tmp_path, tmp_path / "a.txt", stats=stats)
    assert len(items) == 1
    assert stats.files_skipped == {"already read": 1}


def test_missing_path_raises_source_error_before_reading(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x", encoding="utf-8")
    with pytest.raises(SourceError, match="does not exist"):
        iter_records([tmp_path / "a.txt", tmp_path / "nope"], SourceConfig())


def test_unknown_extension_argument_raises_with_supported_formats(tmp_path: Path) -> None:
    (tmp_path / "doc.docx").write_bytes(b"PK\x03\x04")
    with pytest.raises(SourceError, match=r"unsupported type.*\.jsonl.*\.parquet"):
        iter_records([tmp_path / "doc.docx"], SourceConfig())


def test_invalid_on_bad_file_value_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="on-bad-file"):
        SourceConfig(on_bad_file="ignore")


# --- decoding ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (DE, "cp1252"),
        (FR, "cp1252"),
        (ES, "cp1252"),
        (PT, "cp1252"),
        ("Grüße aus Köln", "cp1252"),
        ("Été à côté", "cp1252"),
        (RU, "cp1251"),
        ("Привет мир", "cp1251"),
        (RU, "koi8-r"),
        (PL, "cp1250"),
    ],
)
def test_legacy_code_pages_are_detected_on_real_sentences(text: str, encoding: str) -> None:
    result = decode_bytes(text.encode(encoding))
    assert isinstance(result, Decoded)
    assert (result.text, result.encoding) == (text, encoding)


def test_latin1_bytes_read_as_cp1252(tmp_path: Path) -> None:
    (tmp_path / "de.txt").write_bytes(DE.encode("latin-1"))
    rec = only(read(tmp_path / "de.txt"))
    assert isinstance(rec, RawRecord)
    assert (rec.text, rec.encoding) == (DE, "cp1252")


def test_cp1252_quotes_and_euro_are_decoded(tmp_path: Path) -> None:
    text = "Der Preis beträgt 5 € – „wirklich“ günstig, sagt „Müller“."
    (tmp_path / "q.txt").write_bytes(text.encode("cp1252"))
    rec = only(read(tmp_path / "q.txt"))
    assert isinstance(rec, RawRecord)
    assert (rec.text, rec.encoding) == (text, "cp1252")


def test_cp1251_russian_file_is_decoded(tmp_path: Path) -> None:
    (tmp_path / "ru.txt").write_bytes((RU + "\n" + RU).encode("cp1251"))
    rec = only(read(tmp_path / "ru.txt"))
    assert isinstance(rec, RawRecord)
    assert (rec.text, rec.encoding) == (RU + "\n" + RU, "cp1251")


def test_utf8_bom_is_stripped(tmp_path: Path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbf" + FR.encode("utf-8"))
    rec = only(read(tmp_path / "bom.txt"))
    assert isinstance(rec, RawRecord)
    assert (rec.text, rec.encoding) == (FR, "utf-8-sig")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_with_bom(tmp_path: Path, encoding: str) -> None:
    data = FR.encode(encoding)
    if encoding == "utf-16-be":
        data = b"\xfe\xff" + data
    (tmp_path / "w.txt").write_bytes(data)
    rec = only(read(tmp_path / "w.txt"))
    assert isinstance(rec, RawRecord)
    assert rec.text == FR
    assert rec.encoding is not None and rec.encoding.startswith(encoding[:6])


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_wide_text_without_bom_is_recognised(tmp_path: Path, encoding: str) -> None:
    (tmp_path / "w.txt").write_bytes((DE + " " + RU).encode(encoding))
    rec = only(read(tmp_path / "w.txt"))
    assert isinstance(rec, RawRecord)
    assert (rec.text, rec.encoding) == (DE + " " + RU, encoding)


def _wide(pattern: str, pairs: int, zero: int, stray: int) -> bytes:
    """``pairs`` two-byte units: ``zero`` with a NUL on the ``pattern`` side ("le": second
    byte, "be": first), ``stray`` with a NUL on the other side, the rest without NULs."""
    high, low = (b"a\x00", b"\x00a") if pattern == "le" else (b"\x00a", b"a\x00")
    return high * zero + low * stray + b"ab" * (pairs - zero - stray)


@pytest.mark.parametrize(
    ("pattern", "zero", "stray", "expected"),
    [
        ("le", 100, 0, "utf-16-le"),
        ("le", 99, 0, None),  # NULs on 10 % of the units ...
        ("le", 100, 10, "utf-16-le"),
        ("le", 100, 11, None),  # ... and on at most 1 % elsewhere
        ("be", 100, 0, "utf-16-be"),
        ("be", 99, 0, None),
        ("be", 100, 10, "utf-16-be"),
        ("be", 100, 11, None),
    ],
)
def test_utf16_is_sniffed_from_where_its_nuls_fall(
    pattern: str, zero: int, stray: int, expected: str | None
) -> None:
    from corpuskit.sources.decode import sniff_wide

    data = _wide(pattern, 1000, zero, stray)
    assert sniff_wide(data) == expected
    assert sniff_wide(data + b"x") is None  # an odd length is never UTF-16


@pytest.mark.parametrize(
    ("encoding", "hits", "expected"),
    [
        ("utf-32-le", 90, "utf-32-le"),
        ("utf-32-le", 89, None),  # 90 % of the units look right
        ("utf-32-be", 90, "utf-32-be"),
        ("utf-32-be", 89, None),
    ],
)
def test_utf32_is_sniffed_when_nine_units_in_ten_look_like_it(
    encoding: str, hits: int, expected: str | None
) -> None:
    from corpuskit.sources.decode import sniff_wide

    # A unit that looks like UTF-32 has its two high bytes NUL and its low byte not; the
    # others here are spaces in all four bytes (no NUL, so no UTF-16 pattern either).
    data = "a".encode(encoding) * hits + b"    " * (100 - hits)
    assert sniff_wide(data) == expected
    assert sniff_wide(data[:-2]) != expected or expected is None  # length must be 4n


def test_the_shortest_wide_samples_are_sniffed() -> None:
    from corpuskit.sources.decode import sniff_wide

    assert sniff_wide("ab".encode("utf-16-le")) == "utf-16-le"
    assert sniff_wide("ab".encode("utf-16-be")) == "utf-16-be"
    assert sniff_wide("ab".encode("utf-32-le")) == "utf-32-le"
    assert sniff_wide("ab".encode("utf-32-be")) == "utf-32-be"
    assert sniff_wide(b"a\x00") is None  # under four bytes: nothing to go on


def test_utf8_with_one_stray_byte_stays_utf8(tmp_path: Path) -> None:
    data = (FR + " " + RU).encode("utf-8") + b" caf\xe9"
    (tmp_path / "mixed.txt").write_bytes(data)
    rec = only(read(tmp_path / "mixed.txt"))
    assert isinstance(rec, RawRecord)
    assert rec.text == FR + " " + RU + " caf\ufffd"
    assert rec.encoding == "utf-8+replace"


def test_png_renamed_txt_is_not_text(tmp_path: Path) -> None:
    (tmp_path / "photo.txt").write_bytes(PNG)
    rej = only(read(tmp_path / "photo.txt"))
    assert isinstance(rej, Reject)
    assert rej.reason is Reason.NOT_TEXT
    assert "PNG" in rej.detail and rej.text is None


def test_nul_heavy_txt_is_not_text(tmp_path: Path) -> None:
    rng = random.Random(1)
    (tmp_path / "blob.txt").write_bytes(bytes(rng.choice([0, 0, 7, 65, 200]) for _ in range(999)))
    rej = only(read(tmp_path / "blob.txt"))
    assert isinstance(rej, Reject) and rej.reason is Reason.NOT_TEXT


def test_control_characters_after_decoding_are_not_text() -> None:
    result = decode_bytes(b"ab\x01\x02\x03\x04cd\x05\x06\x07\x08" * 10)
    assert isinstance(result, DecodeFailure) and result.reason is Reason.NOT_TEXT


def test_bytes_no_encoding_explains_are_undecodable(tmp_path: Path) -> None:
    rng = random.Random(0)
    data = bytes(
        rng.choice(range(0x80, 0x100)) if rng.random() < 0.5 else rng.choice(range(0x20, 0x7F))
        for _ in range(400)
    )
    (tmp_path / "noise.txt").write_bytes(data)
    rej = only(read(tmp_path / "noise.txt"))
    assert isinstance(rej, Reject) and rej.reason is Reason.UNDECODABLE
    assert "UTF-8" in rej.detail


def test_unicode_next_line_is_not_a_line_break(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "nel.jsonl", [{"text": "a\u0085b\u2028c\x92d"}, {"text": "e"}])
    items = read(path)
    assert [r.text for r in records(items)] == ["a\u0085b\u2028c\x92d", "e"]


# --- JSONL faults ------------------------------------------------------------------------


def test_invalid_json_line_is_rejected_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"text": "ok"}\n{"text": "broken",\n{"text": "after"}\n', encoding="utf-8")
    first, bad, after = read(path)
    assert isinstance(bad, Reject) and bad.reason is Reason.BAD_JSON
    assert bad.provenance.line == 2
    assert "d.jsonl:2" in bad.detail and "invalid JSON" in bad.detail
    assert bad.text == '{"text": "broken",'
    assert isinstance(first, RawRecord) and isinstance(after, RawRecord)


def test_json_line_that_is_not_an_object_is_bad_json(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [["text", "x"], "just a string"])
    bad = rejects(read(path))
    assert [r.reason for r in bad] == [Reason.BAD_JSON, Reason.BAD_JSON]
    assert "JSON array, expected an object" in bad[0].detail


def test_missing_text_field_names_keys_and_suggests_text_field(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"id": 1, "body": "the article text", "t": "x"}])
    rej = only(read(path))
    assert isinstance(rej, Reject) and rej.reason is Reason.MISSING_TEXT
    assert "'text'" in rej.detail and "'body'" in rej.detail
    assert "--text-field body" in rej.detail


def test_text_of_wrong_type_is_wrong_type(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "d.jsonl", [{"text": 5}, {"text": ["a"]}])
    first, second = read(path)
    assert isinstance(first, Reject) and first.reason is Reason.WRONG_TYPE
    assert "field 'text' is int, expected string" in first.detail
    assert isinstance(second, Reject) and "is array" in second.detail


def test_null_text_is_missing_text(tmp_path: Path) -> None:
    rej = only(read(write_jsonl(tmp_path / "d.jsonl", [{"text": None, "source": "s1"}])))
    assert isinstance(rej, Reject) and rej.reason is Reason.MISSING_TEXT
    assert "null" in rej.detail
    assert rej.source_id == "s1"


def test_deeply_nested_json_is_bad_json_not_a_crash(tmp_path: Path) -> None:
    depth = 200_000
    (tmp_path / "deep.jsonl").write_text("[" * depth + "]" * depth + "\n", encoding="utf-8")
    rej = only(read(tmp_path / "deep.jsonl"))
    assert isinstance(rej, Reject) and rej.reason is Reason.BAD_JSON


def test_blank_lines_are_skipped_silently(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text(
        '\n{"text": "a"}\n   \n\r\n{"text": "b"}\n\n', encoding="utf-8"
    )
    items = read(tmp_path / "d.jsonl")
    assert [(r.text, r.provenance.line) for r in records(items)] == [("a", 2), ("b", 5)]
    assert not rejects(items)


def test_huge_line_is_too_long_and_the_next_line_is_read(tmp_path: Path) -> None:
    big = json.dumps({"text": "x" * 300_000})
    (tmp_path / "d.jsonl").write_text(big + '\n{"text": "small"}\n', encoding="utf-8")
    too_long, small = read(tmp_path / "d.jsonl", max_record_bytes=100_000)
    assert isinstance(too_long, Reject) and too_long.reason is Reason.TOO_LONG
    assert too_long.provenance.line == 1
    assert f"{len(big):,} bytes" in too_long.detail
    assert too_long.text is not None and len(too_long.text) == MAX_REJECT_TEXT
    assert isinstance(small, RawRecord) and small.provenance.line == 2


def test_huge_last_line_without_newline_is_too_long(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_bytes(b'{"text": "a"}\n' + b"y" * 500_000)
    ok, rej = read(tmp_path / "d.jsonl", max_record_bytes=1000)
    assert isinstance(ok, RawRecord)
    assert isinstance(rej, Reject) and rej.reason is Reason.TOO_LONG


def test_huge_line_is_skipped_without_holding_it_in_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    with path.open("wb") as f:
        f.write(b'{"text": "' + b"x" * 20_000_000 + b'"}\n{"text": "after"}\n')
    tracemalloc.start()
    try:
        items = read(path, max_record_bytes=1_000_000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [type(i) for i in items] == [Reject, RawRecord]
    assert peak < 8_000_000


def test_huge_txt_file_is_too_long_and_still_hashed(tmp_path: Path) -> None:
    data = ("word " * 50_000).encode()
    (tmp_path / "big.txt").write_bytes(data)
    stats = SourceStats()
    rej = only(read(tmp_path / "big.txt", stats=stats, max_record_bytes=10_000))
    assert isinstance(rej, Reject) and rej.reason is Reason.TOO_LONG
    assert stats.inputs[0].sha256 == hashlib.sha256(data).hexdigest()
    assert stats.inputs[0].size == len(data)


@pytest.mark.parametrize("compressible", [True, False])
def test_truncated_gzip_keeps_earlier_records_and_rejects_once(
    tmp_path: Path, compressible: bool
) -> None:
    rng = random.Random(3)

    def body(i: int) -> str:
        if compressible:
            return f"article {i} " + "words " * 50
        return " ".join(f"{rng.getrandbits(40):x}" for _ in range(40))

    lines = "".join(json.dumps({"text": body(i)}) + "\n" for i in range(400))
    packed = gzip.compress(lines.encode(), compresslevel=1)
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    items = read(tmp_path / "cut.jsonl.gz")
    *kept, last = items
    assert kept and all(isinstance(r, RawRecord) for r in kept)
    assert [r.provenance.line for r in kept] == list(range(1, len(kept) + 1))
    assert isinstance(last, Reject) and last.reason is Reason.UNREADABLE
    assert "truncated gzip" in last.detail and f"after line {len(kept):,}" in last.detail


def test_gz_file_that_is_not_gzip_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "plain.jsonl.gz").write_text('{"text": "a"}\n', encoding="utf-8")
    rej = only(read(tmp_path / "plain.jsonl.gz"))
    assert isinstance(rej, Reject) and rej.reason is Reason.UNREADABLE
    assert "gzip" in rej.detail


def test_binary_file_named_jsonl_is_one_not_text_reject(tmp_path: Path) -> None:
    (tmp_path / "img.jsonl").write_bytes(PNG + b"\n" * 50)
    rej = only(read(tmp_path / "img.jsonl"))
    assert isinstance(rej, Reject) and rej.reason is Reason.NOT_TEXT


def test_cp1252_jsonl_file_is_decoded_per_line(tmp_path: Path) -> None:
    body = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in (DE, FR, ES))
    (tmp_path / "legacy.jsonl").write_bytes(body.encode("cp1252"))
    items = read(tmp_path / "legacy.jsonl")
    assert [(r.text, r.encoding) for r in records(items)] == [
        (DE, "cp1252"),
        (FR, "cp1252"),
        (ES, "cp1252"),
    ]


def test_utf16_jsonl_is_transcoded(tmp_path: Path) -> None:
    body = "".join(json.dumps({"text": t}, ensure_ascii=False) + "\n" for t in (RU, DE))
    (tmp_path / "wide.jsonl").write_bytes(body.encode("utf-16"))
    items = read(tmp_path / "wide.jsonl")
    assert [(r.text, r.encoding) for r in records(items)] == [(RU, "utf-16-le"), (DE, "utf-16-le")]


def test_lone_surrogate_escape_becomes_replacement_character(tmp_path: Path) -> None:
    (tmp_path / "s.jsonl").write_text('{"text": "a\\ud800b \\ud83d\\ude00"}\n', encoding="utf-8")
    rec = only(read(tmp_path / "s.jsonl"))
    assert isinstance(rec, RawRecord)
    assert rec.text == "a\ufffdb \U0001f600"
    rec.text.encode("utf-8")


def test_reject_text_is_capped(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('{"text": "' + "z" * 50_000 + '"\n', encoding="utf-8")
    rej = only(read(tmp_path / "d.jsonl"))
    assert isinstance(rej, Reject) and rej.reason is Reason.BAD_JSON
    assert rej.text is not None and len(rej.text) == MAX_REJECT_TEXT
    assert "cut to the first 10,000" in rej.detail


# --- CSV faults ---------------------------------------------------------------------------


def test_csv_row_with_wrong_field_count_is_bad_row(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("title,text\nA,good\nB,bad,extra\nC,fine\n", encoding="utf-8")
    a, bad, c = read(tmp_path / "d.csv")
    assert isinstance(bad, Reject) and bad.reason is Reason.BAD_ROW
    assert bad.provenance.line == 2
    assert "row 2 (file line 3) has 3 fields but the header has 2" in bad.detail
    assert isinstance(a, RawRecord) and isinstance(c, RawRecord)


def test_csv_with_nul_bytes_does_not_crash(tmp_path: Path) -> None:
    rows = "".join(f"{i},some ordinary text for row {i}\n" for i in range(200))
    (tmp_path / "few.csv").write_bytes(b"id,text\n" + rows.encode() + b"7,nul\x00inside\n")
    (tmp_path / "many.csv").write_bytes(b"id,text\n1,a\x00\x00\x00\x00b\n")
    few = read(tmp_path / "few.csv")
    assert len(records(few)) == 201
    assert isinstance(only(read(tmp_path / "many.csv")), Reject)


def test_excel_style_csv_with_bom_crlf_and_cp1251(tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbftext,title\r\nhello,Hi\r\n")
    (tmp_path / "ru.csv").write_bytes(f"text;title\r\n{RU};{RU[:9]}\r\n".encode("cp1251"))
    bom = only(read(tmp_path / "bom.csv"))
    ru = only(read(tmp_path / "ru.csv"))
    assert isinstance(bom, RawRecord) and (bom.text, bom.meta) == ("hello", {"title": "Hi"})
    assert isinstance(ru, RawRecord)
    assert (ru.text, ru.meta, ru.encoding) == (RU, {"title": RU[:9]}, "cp1251")


LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n", "cr": "\r"}


@pytest.mark.parametrize("ending", sorted(LINE_ENDINGS))
def test_csv_rows_are_read_whatever_the_line_endings(tmp_path: Path, ending: str) -> None:
    # Excel's "CSV (Macintosh)" ends lines in a bare CR; it once read as one header line.
    eol = LINE_ENDINGS[ending]
    lines = [
        "id;title;text",
        "1;Ferry;The ferry left at noon.",
        '2;Pier;"The pier reopened,' + eol + 'after repairs."',
        "3;Bus;Buses ran late.",
    ]
    (tmp_path / "d.csv").write_bytes((eol.join(lines) + eol).encode("cp1252"))
    items = read(tmp_path / "d.csv")
    assert [r.text for r in records(items)] == [
        "The ferry left at noon.",
        "The pier reopened,\nafter repairs."
        if ending == "cr"
        else f"The pier reopened,{eol}after repairs.",
        "Buses ran late.",
    ]
    assert [r.meta["title"] for r in records(items)] == ["Ferry", "Pier", "Bus"]
    assert [r.provenance.line for r in records(items)] == [1, 2, 3]


@pytest.mark.parametrize("ending", sorted(LINE_ENDINGS))
def test_jsonl_lines_are_read_whatever_the_line_endings(tmp_path: Path, ending: str) -> None:
    eol = LINE_ENDINGS[ending]
    rows = [json.dumps({"text": f"Story {i} about the market."}) for i in range(3)]
    (tmp_path / "d.jsonl").write_bytes(
        eol.join(rows).encode() + (b"" if ending == "lf" else eol.encode())
    )
    items = read(tmp_path / "d.jsonl")
    assert [r.text for r in records(items)] == [f"Story {i} about the market." for i in range(3)]
    assert [r.provenance.line for r in records(items)] == [1, 2, 3]


def test_mixed_line_endings_in_one_file_each_end_a_line(tmp_path: Path) -> None:
    rows = [json.dumps({"text": f"Item {i}"}) for i in range(4)]
    data = (rows[0] + "\r" + rows[1] + "\r\n" + rows[2] + "\n" + rows[3] + "\r").encode("utf-16")
    (tmp_path / "d.jsonl").write_bytes(data)
    assert [r.text for r in records(read(tmp_path / "d.jsonl"))] == [f"Item {i}" for i in range(4)]


@pytest.mark.parametrize("split_at", [1, 2, 3])
def test_cr_at_a_chunk_boundary_is_one_line_end(split_at: int) -> None:
    # A CRLF split across two reads must stay one line end, a bare CR must still end one.
    from corpuskit.sources.streams import bare_cr_to_lf

    data = b"a\r\nb\rc\r"
    for cut in range(len(data) + 1):
        chunks = (
            [data[:cut], data[cut:]]
            if split_at == 1
            else [data[i : i + split_at] for i in range(0, len(data), split_at)]
        )
        assert b"".join(bare_cr_to_lf(iter(chunks))) == b"a\r\nb\nc\n"


def test_txt_article_with_bare_cr_keeps_its_paragraphs(tmp_path: Path) -> None:
    from corpuskit.clean import Cleaner
    from corpuskit.config import CleanConfig

    (tmp_path / "a.txt").write_bytes(b"First paragraph here.\r\rSecond paragraph here.\r")
    raw = only(read(tmp_path / "a.txt"))
    assert isinstance(raw, RawRecord)
    cleaned = Cleaner(CleanConfig()).clean(raw.text).text
    assert cleaned == "First paragraph here.\n\nSecond paragraph here."


def test_csv_without_text_column_is_one_missing_text_reject(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("id,body\n1,a\n2,b\n", encoding="utf-8")
    rej = only(read(tmp_path / "d.csv"))
    assert isinstance(rej, Reject) and rej.reason is Reason.MISSING_TEXT
    assert "--text-field body" in rej.detail and "whole file" in rej.detail


def test_csv_long_field_is_too_long_and_field_limit_restored(tmp_path: Path) -> None:
    before = csv.field_size_limit()
    (tmp_path / "d.csv").write_text("text\n" + "w" * 5_000 + "\nshort\n", encoding="utf-8")
    long_row, short = read(tmp_path / "d.csv", max_record_bytes=1_000)
    assert isinstance(long_row, Reject) and long_row.reason is Reason.TOO_LONG
    assert isinstance(short, RawRecord) and short.provenance.line == 2
    assert csv.field_size_limit() == before


def test_csv_article_longer_than_default_csv_limit_is_read(tmp_path: Path) -> None:
    text = "word " * 40_000  # 200,000 characters, over the csv module's default 131,072
    (tmp_path / "d.csv").write_text(f'text\n"{text}"\n', encoding="utf-8")
    rec = only(read(tmp_path / "d.csv"))
    assert isinstance(rec, RawRecord) and rec.text == text


# --- Parquet faults ------------------------------------------------------------------------


def test_corrupt_parquet_is_one_bad_row_reject(tmp_path: Path) -> None:
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 this is not really parquet")
    rej = only(read(tmp_path / "bad.parquet"))
    assert isinstance(rej, Reject) and rej.reason is Reason.BAD_ROW
    assert "Parquet" in rej.detail


def test_truncated_parquet_is_one_bad_row_reject(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["a"] * 100}), tmp_path / "t.parquet")
    data = (tmp_path / "t.parquet").read_bytes()
    (tmp_path / "t.parquet").write_bytes(data[: len(data) - 20])
    rej = only(read(tmp_path / "t.parquet"))
    assert isinstance(rej, Reject) and rej.reason is Reason.BAD_ROW


def test_parquet_without_text_column_is_one_missing_text_reject(tmp_path: Path) -> None:
    pq.write_table(pa.table({"body": ["a", "b", "c"]}), tmp_path / "d.parquet")
    rej = only(read(tmp_path / "d.parquet"))
    assert isinstance(rej, Reject) and rej.reason is Reason.MISSING_TEXT
    assert "3 rows" in rej.detail and "--text-field body" in rej.detail


def test_parquet_text_column_of_wrong_type_is_one_wrong_type_reject(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "d.parquet")
    rej = only(read(tmp_path / "d.parquet"))
    assert isinstance(rej, Reject) and rej.reason is Reason.WRONG_TYPE
    assert "int64" in rej.detail


def test_parquet_null_and_too_long_cells_are_rejected_per_row(tmp_path: Path) -> None:
    pq.write_table(pa.table({"text": ["ok", None, "x" * 5000]}), tmp_path / "d.parquet")
    ok, null, long_cell = read(tmp_path / "d.parquet", max_record_bytes=1000)
    assert isinstance(ok, RawRecord)
    assert isinstance(null, Reject) and null.reason is Reason.MISSING_TEXT
    assert isinstance(long_cell, Reject) and long_cell.reason is Reason.TOO_LONG
    assert long_cell.provenance.line == 3


# --- unreadable files and the bad-file policy -----------------------------------------------


def test_broken_symlink_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text("fine", encoding="utf-8")
    os.symlink(tmp_path / "gone.txt", tmp_path / "link.txt")
    good, bad = read(tmp_path)
    assert isinstance(good, RawRecord)
    assert isinstance(bad, Reject) and bad.reason is Reason.UNREADABLE
    assert "broken symbolic link" in bad.detail
    assert bad.provenance.file == f"{tmp_path.name}/link.txt"


def test_fifo_is_unreadable_instead_of_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.txt")
    rej = only(read(tmp_path))
    assert isinstance(rej, Reject) and rej.reason is Reason.UNREADABLE
    assert "pipe" in rej.detail


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("bad.parquet", b"not parquet at all"),
        ("cut.jsonl.gz", gzip.compress(b'{"text": "a"}\n' * 1000)[:60]),
        ("img.csv", PNG),
    ],
)
def test_on_bad_file_error_raises_source_error(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    with pytest.raises(SourceError, match=name.replace(".", r"\.")):
        read(tmp_path / name, on_bad_file="error")


def test_on_bad_file_error_raises_for_broken_symlink(tmp_path: Path) -> None:
    os.symlink(tmp_path / "gone.jsonl", tmp_path / "link.jsonl")
    with pytest.raises(SourceError, match="broken symbolic link"):
        read(tmp_path, on_bad_file="error")


def test_on_bad_file_error_keeps_record_rejects_as_rejects(tmp_path: Path) -> None:
    (tmp_path / "d.jsonl").write_text('not json\n{"text": "a"}\n', encoding="utf-8")
    bad, ok = read(tmp_path / "d.jsonl", on_bad_file="error")
    assert isinstance(bad, Reject) and isinstance(ok, RawRecord)


# --- stats ----------------------------------------------------------------------------------


def test_stats_inputs_have_size_and_sha256_of_each_file(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text(FR, encoding="utf-8")
    with gzip.open(tmp_path / "b.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"text": DE}) + "\n")
    pq.write_table(pa.table({"text": [RU]}), tmp_path / "c.parquet")
    (tmp_path / "d.csv").write_text("text\nhello\n", encoding="utf-8")
    (tmp_path / "e.jsonl").write_text("not json\n", encoding="utf-8")
    stats = SourceStats()
    read(tmp_path, stats=stats)
    names = ["a.txt", "b.jsonl.gz", "c.parquet", "d.csv", "e.jsonl"]
    assert [f.path for f in stats.inputs] == [f"{tmp_path.name}/{n}" for n in names]
    for entry, name in zip(stats.inputs, names, strict=True):
        data = (tmp_path / name).read_bytes()
        assert entry.size == len(data)
        assert entry.sha256 == hashlib.sha256(data).hexdigest()
    assert stats.files_read == 5


# --- real data ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rel", "expected"),
    [
        ("web/readability-pages.jsonl", 130),
        ("langid/leipzig-sentences-23langs.jsonl", 4600),
    ],
)
def test_shared_data_reads_without_rejects(rel: str, expected: int) -> None:
    path = shared(f"data/{rel}")
    items = read(path)
    assert not rejects(items)
    assert len(items) == expected


# --- encoding detection on real text, measured -----------------------------------------------

#: The legacy code pages a real corpus arrives in, and the Leipzig languages written in each.
CODE_PAGES = {
    "cp1251": ("ru", "uk", "bg", "mk", "be", "sr"),
    "koi8-r": ("ru",),
    "cp1252": ("de", "fr", "es", "pt", "it", "ca", "nl", "sv", "da", "nb", "nn"),
    "cp1250": ("hr", "sl", "bs"),
}


#: Misread rates measured on 2026-11-29 (single sentences / three-sentence texts), with a
#: little headroom. A heuristic that gets worse fails here; one that gets better should
#: lower its bound. cp1250 is weak on single sentences (Croatian, Slovene and Bosnian read
#: as cp1252: 18.5 %, 97 of 525), and good once a text has a few sentences (1.5 %).
@pytest.mark.parametrize(
    ("valid", "extra", "utf8"),
    [
        ("é" * 8, "", True),  # eight valid multi-byte characters per stray byte: UTF-8
        ("é" * 7, "", False),  # seven: a legacy code page explains the bytes better
        ("é" * 7, "\x80", True),  # U+0080 is a valid non-ASCII character too
        ("é" * 7, "\x7f", False),  # DEL is ASCII: it is no evidence of UTF-8
        ("é" * 8, "\ufffd" * 3, True),  # U+FFFD in the file is neither valid nor a stray byte
        ("é" * 5, "\ufffd" * 3, False),
    ],
)
def test_utf8_with_stray_bytes_needs_eight_valid_characters_per_stray_byte(
    valid: str, extra: str, utf8: bool
) -> None:
    data = f"Caf{valid}{extra} ".encode() + b"\xff" + b" au port."
    decoded = decode_bytes(data)
    if utf8:
        assert decoded == Decoded(f"Caf{valid}{extra} \ufffd au port.", UTF8_REPLACED)
    else:  # a legacy reading, or undecodable: never UTF-8 with replacements
        assert not isinstance(decoded, Decoded) or decoded.encoding != UTF8_REPLACED, decoded


def test_a_file_longer_than_the_sample_may_cut_a_character_at_the_sample_end() -> None:
    # The candidates are scored on the first SAMPLE_BYTES; with one ASCII byte (a line end)
    # in front of two-byte Shift-JIS characters, the sample ends inside one. charset-normalizer
    # then dropped Shift-JIS and the whole file was undecodable.
    from corpuskit.sources.decode import SAMPLE_BYTES

    story = OTHER_SCRIPTS["ja"]
    text = "\n" + story * (SAMPLE_BYTES // len(story.encode("cp932")) + 2)
    data = text.encode("cp932")
    with pytest.raises(UnicodeDecodeError):  # the sample does end inside a character
        data[:SAMPLE_BYTES].decode("cp932")
    assert decode_bytes(data) == Decoded(text, "cp932")


@pytest.mark.parametrize(
    ("token", "penalty"),
    [
        ("Straße", 0),
        ("naïve", 0),
        ("Hello", 0),
        ("Bьrger", 1),  # two scripts in one word: Latin text read as cp1251
        ("рТЙЧЕФ", 1),  # case flips inside a word: KOI8-R read as cp1251
        ("Za¿ó³æ", 1),  # a symbol between letters: Polish read as cp1252
        ("á¿b", 1),  # ... also right after a combining mark
        ("๐า", 1),  # a non-ASCII digit right before a letter
        ("\u0301a", 1),
        ("a\u0301\u0301", 1),  # a mark with no letter, more marks than letters
        ("ｱｲｳ", 1),  # half-width katakana
        ("Ïðåç", 1),
        ("Ïðå", 0),  # four or more accented Latin letters and no plain one
        # Each pattern adds one, so two patterns in a word make two.
        ("BьrgerЙ", 2),
        ("Bь¿r", 2),
        ("\u0301Bь", 2),
        ("aｱ", 2),
        ("ïðÅçè", 2),
        ("Ïðå³æ", 2),
    ],
)
def test_each_misreading_pattern_adds_one_to_a_tokens_penalty(token: str, penalty: int) -> None:
    from corpuskit.sources.plausibility import _token_penalty

    assert _token_penalty(token) == penalty


@pytest.mark.parametrize(
    ("size", "nuls", "binary"),
    [
        (500, 0, False),
        (500, 1, True),  # at least one NUL, and one per thousand bytes
        (3000, 2, False),
        (3000, 3, True),
        (3500, 3, True),
    ],
)
def test_nul_bytes_say_binary_from_one_per_thousand(size: int, nuls: int, binary: bool) -> None:
    from corpuskit.sources.decode import too_many_nuls

    assert too_many_nuls(b"\x00" * nuls + b"a" * (size - nuls)) is binary


@pytest.mark.parametrize(
    ("length", "controls", "message"),
    [
        (10, 1, None),  # one control character is never enough
        (50, 2, "2 of 50 characters are control characters (4%)"),
        (100, 2, None),  # 2 %: not more than 2 %
        (100, 3, "3 of 100 characters are control characters (3%)"),
        (200, 2, None),
    ],
)
def test_decoded_text_of_control_characters_is_binary(
    length: int, controls: int, message: str | None
) -> None:
    from corpuskit.sources.decode import control_problem

    problem = control_problem("\x01" * controls + "a" * (length - controls))
    assert problem == message or (
        message is not None and problem is not None and problem.startswith(message)
    )


def test_undecodable_after_a_bom_names_the_bom_and_the_byte() -> None:
    failure = decode_bytes(b"\xff\xfe" + "ok".encode("utf-16-le") + b"\x00\xd8\x41")
    assert isinstance(failure, DecodeFailure) and failure.reason is Reason.UNDECODABLE
    assert (
        "starts with a utf-16-le byte-order mark but is not valid utf-16-le (at byte 6)"
        in failure.detail
    )


def test_binary_with_nuls_says_how_many() -> None:
    failure = decode_bytes(b"abc\x00\x01\x02\x00" * 10)
    assert isinstance(failure, DecodeFailure) and failure.reason is Reason.NOT_TEXT
    assert failure.detail.startswith("contains 20 NUL bytes in 70 bytes")


def test_text_of_control_characters_names_its_encoding() -> None:
    failure = decode_bytes(b"\x01\x02\x03\x04 abc")
    assert isinstance(failure, DecodeFailure) and failure.reason is Reason.NOT_TEXT
    assert failure.detail.startswith("decoded as utf-8, but 4 of 8 characters")


@pytest.mark.parametrize(
    ("text", "misses"),
    [
        ("ПРИВЕТ", 1),
        ("ПРИВ", 1),
        ("ПРИ", 0),  # four or more upper-case letters ...
        ("ПРИВЕТЫЙ вгд", 2),  # ... more than twice the lower-case ones; "вгд" has no vowel
        ("ПРИВЕТ иии", 0),  # six upper, three lower: not more than twice
        ("ПРИВЕТЫЙ иии", 1),
        ("ABCDEF", 0),  # ASCII case says nothing about a code page
        ("вгд бвгд", 2),
        ("ããã ñ ñ", 2),  # Portuguese explains the three ã, not the two ñ
    ],
)
def test_tie_breaker_counts_case_and_spelling_evidence(text: str, misses: int) -> None:
    from corpuskit.sources.plausibility import tie_breaker

    assert tie_breaker(text) == misses


def test_implausibility_counts_the_non_ascii_tokens() -> None:
    from corpuskit.sources.plausibility import implausibility

    assert implausibility("the naïve café opened") == (0.0, 2)


def test_line_decoder_labels_ascii_lines_with_the_files_code_page() -> None:
    from corpuskit.sources.decode import LineDecoder

    assert LineDecoder("cp1251", "utf-8").decode(b"plain") == Decoded("plain", "cp1251")
    assert LineDecoder(None, "utf-8").decode(b"plain") == Decoded("plain", "utf-8")
    # With no code page for the file, a line that is not UTF-8 gets its own detection.
    assert LineDecoder(None).decode("Le café du port".encode("cp1252")) == Decoded(
        "Le café du port", "cp1252"
    )


def test_every_candidate_list_ends_with_the_last_resort() -> None:
    from corpuskit.sources.decode import candidate_order

    assert candidate_order(b"plain ascii")[:4] == ["cp1252", "cp1251", "cp1250", "koi8-r"]
    assert candidate_order(b"plain ascii")[-1] == "iso8859-1"


def test_a_code_page_that_fails_after_the_sample_gives_way_to_the_next() -> None:
    # cp1252 has no 0x81: a file whose first 256 KiB read as cp1252 and that has one later
    # is read with the next candidate that decodes all of it, not called undecodable.
    from corpuskit.sources.decode import SAMPLE_BYTES

    head = FR.encode("cp1252") + b" "
    data = head * (SAMPLE_BYTES // len(head) + 2) + b"\x81"
    decoded = decode_bytes(data)
    assert isinstance(decoded, Decoded) and decoded.encoding != "cp1252"


# Our own two-sentence news texts in scripts the four common code pages cannot spell; only
# the candidates charset-normalizer proposes can read them.
OTHER_SCRIPTS = {
    "el": "Το δημοτικό συμβούλιο ενέκρινε χθες το βράδυ τον νέο προϋπολογισμό της πόλης. Οι "
    "κάτοικοι του λιμανιού ζήτησαν περισσότερα λεωφορεία και καλύτερους δρόμους.",
    "tr": "Belediye meclisi dün akşam şehrin yeni bütçesini onayladı. Liman mahallesinde "
    "yaşayanlar daha fazla otobüs ve güzel yollar istediğini söyledi.",
    "ja": "市議会は昨夜、市の新しい予算を承認しました。港の住民は、もっと多くのバスとより良い道路を"
    "求めています。",
    "zh": "市议会昨晚批准了该市的新预算。港口附近的居民要求增加公共汽车并修好道路。",
    "zh-Hant": "市議會昨晚批准了該市的新預算。港口附近的居民要求增加公共汽車並修好道路。",
    "ko": "시의회는 어젯밤 시의 새 예산을 승인했다. 항구 주민들은 더 많은 버스와 더 나은 도로를 "
    "요구했다.",
    "he": "מועצת העיר אישרה אתמול בערב את התקציב החדש של העיר. תושבי הנמל ביקשו יותר אוטובוסים.",
    "ar": "وافق مجلس المدينة مساء أمس على الميزانية الجديدة للمدينة. وطالب سكان الميناء بمزيد من "
    "الحافلات.",
    "lt": "Miesto taryba vakar vakare patvirtino naują miesto biudžetą. Uosto gyventojai "
    "paprašė daugiau autobusų ir geresnių kelių.",
    "th": "สภาเมืองอนุมัติงบประมาณใหม่ของเมืองเมื่อคืนนี้ ชาวบ้านที่ท่าเรือขอรถประจำทางเพิ่ม",
}


@pytest.mark.parametrize(
    ("lang", "page"),
    [
        ("el", "cp1253"),
        ("el", "iso8859-7"),
        ("tr", "cp1254"),
        ("tr", "iso8859-9"),
        ("ja", "shift_jis"),
        ("ja", "euc_jp"),
        ("zh", "gbk"),
        ("zh", "gb18030"),
        ("zh-Hant", "big5"),
        ("ko", "euc_kr"),
        ("he", "cp1255"),
        ("he", "iso8859-8"),
        ("ar", "cp1256"),
        ("lt", "cp1257"),
        ("th", "cp874"),
    ],
)
def test_code_pages_of_other_scripts_are_recognised(lang: str, page: str) -> None:
    # Hebrew read as cp1251 ("оетцъ дтйш") or cp1253 ("δςιψ") is as clean as the Hebrew
    # reading by every other measure: vowel-less Cyrillic words and Greek and Hebrew final
    # letters inside a word settle it.
    decoded = decode_bytes(OTHER_SCRIPTS[lang].encode(page))
    assert isinstance(decoded, Decoded) and decoded.text == OTHER_SCRIPTS[lang]


MISREAD_BOUNDS = {
    ("cp1251", 1): 0.003,  # measured 0.08 % (1 of 1,189); without the penalty for
    ("cp1251", 3): 0.003,  # "Ïðåçèäåíò" (Cyrillic read as cp1252) 0.84 % and 0.78 %
    ("koi8-r", 1): 0.01,  # 0 of 188
    ("koi8-r", 3): 0.01,  # 0 of 54
    ("cp1252", 1): 0.01,  # 0.56 %
    ("cp1252", 3): 0.015,  # 1.05 %
    ("cp1250", 1): 0.20,  # 18.5 %
    ("cp1250", 3): 0.025,  # 1.55 %
}


@pytest.fixture(scope="module")
def leipzig_by_language() -> dict[str, list[str]]:
    by: dict[str, list[str]] = {}
    path = shared("data/langid/leipzig-sentences-23langs.jsonl")
    for line in path.read_text(encoding="utf-8").split("\n"):  # not splitlines(): U+2028
        if not line:
            continue
        record = json.loads(line)
        by.setdefault(record["lang"], []).append(record["text"])
    return by


@pytest.mark.parametrize(("page", "sentences"), sorted(MISREAD_BOUNDS))
def test_legacy_code_pages_are_recognised_on_real_text(
    leipzig_by_language: dict[str, list[str]], page: str, sentences: int
) -> None:
    texts = []
    for lang in CODE_PAGES[page]:
        lines = leipzig_by_language[lang]
        for i in range(0, len(lines) - sentences + 1, sentences):
            text = " ".join(lines[i : i + sentences])
            try:
                data = text.encode(page)
            except UnicodeEncodeError:
                continue  # a character the code page lacks: not a file it could have held
            if not data.isascii():
                texts.append((text, data))
    assert len(texts) > 50
    misread = sum(
        1
        for text, data in texts
        if not isinstance(d := decode_bytes(data), Decoded) or d.text != text
    )
    assert misread / len(texts) <= MISREAD_BOUNDS[page, sentences], (misread, len(texts))


def test_a_long_shift_jis_jsonl_file_is_read_as_shift_jis(tmp_path: Path) -> None:
    # The head sniffed for the file's code page ends inside a character too; without that
    # prior, each line is guessed alone, and a short one ("予算", budget) reads as cp1252.
    from corpuskit.sources.decode import SAMPLE_BYTES

    story = OTHER_SCRIPTS["ja"]
    texts = [f"{i}: {story}" for i in range(2 * SAMPLE_BYTES // len(story.encode("cp932")))]
    texts[-1] = "予算"
    rows = [json.dumps({"text": text}, ensure_ascii=False) for text in texts]
    data = ("\n".join(rows) + "\n").encode("cp932")
    for pad in range(2):
        (tmp_path / f"d{pad}.jsonl").write_bytes(b" " * pad + data)
        got = records(read(tmp_path / f"d{pad}.jsonl"))
        assert [r.text for r in got] == texts
        assert {r.encoding for r in got} == {"cp932"}


def test_every_registered_format_has_an_importable_reader_and_distinct_suffixes() -> None:
    from corpuskit.sources import formats

    suffixes = [s for f in formats.FORMATS for s in f.suffixes]
    assert len(suffixes) == len(set(suffixes))
    for fmt in formats.FORMATS:
        assert callable(formats.reader(fmt.name))
        assert all(s == s.lower() and s.startswith(".") for s in fmt.suffixes)


def test_the_stem_rule_strips_exactly_the_registered_endings() -> None:
    from corpuskit.sourceid import stem
    from corpuskit.sources import formats

    for fmt in formats.FORMATS:
        for suffix in fmt.suffixes:
            assert stem(f"feeds/site-a{suffix.upper()}") == "site-a"
    assert stem("feeds/site-a.json") == "site-a"  # not an input format: last extension
