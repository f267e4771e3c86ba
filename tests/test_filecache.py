"""Whole files in the cache: a large input file seen before is taken back whole, not read,
and the artifact is byte for byte a cold build's."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corpuskit import BuildConfig, build
from corpuskit import filecache as filecache_module
from corpuskit.cache import DB_NAME, FILES_DIR, MapCache, info, prune
from corpuskit.cli import main
from corpuskit.config import NearDupConfig, SourceConfig
from corpuskit.filecache import FileCache, _Filling, _Ticket
from corpuskit.mapstage import BatchResult
from corpuskit.mapstage.replay import decode_batch, encode_batch
from corpuskit.record import KeyBatch, Keys, Provenance, Reason, Reject
from corpuskit.report import BuildReport
from corpuskit.sources import InputFile

from .conftest import english_article, files_of, french_article

CONFIG = BuildConfig(name="news", min_chars=50, batch_size=4)


@pytest.fixture(autouse=True)
def every_file_is_large(monkeypatch: pytest.MonkeyPatch) -> None:
    """The test corpora are small: every JSONL file counts as large enough."""
    monkeypatch.setattr(filecache_module, "MIN_FILE_BYTES", 1)


def feed_lines(first: int, count: int) -> list[str]:
    """JSONL lines of ``count`` articles (a French one, a duplicate and a reject among them)."""
    lines = []
    for i in range(first, first + count):
        text = french_article(i) if i % 7 == 0 else english_article(i)
        lines.append(json.dumps({"text": text, "url": f"https://example.org/{i}"}))
    lines.append(json.dumps({"text": english_article(first), "url": "https://copy.example"}))
    lines.append(json.dumps({"text": "Too short."}))
    lines.append("{not json")
    return lines


def write_feed(folder: Path, name: str, first: int, count: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("\n".join(feed_lines(first, count)) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    write_feed(folder, "2026-11-28.jsonl", 0, 30)
    write_feed(folder, "2026-11-29.jsonl", 100, 20)
    return folder


def cold(sources: list[Path], out: Path, config: BuildConfig) -> dict[str, bytes]:
    build(sources, out, replace(config, cache=None))
    return files_of(out)


def cached(tmp_path: Path, **changes: Any) -> BuildConfig:
    return replace(CONFIG, cache=str(tmp_path / "cache"), **changes)


# -- builds ----------------------------------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_rebuild_takes_every_large_file_whole_with_the_same_bytes(
    tmp_path: Path, corpus: Path, jobs: int
) -> None:
    config = cached(tmp_path, jobs=jobs)
    first = build([corpus], tmp_path / "first", config)
    second = build([corpus], tmp_path / "second", config)
    assert first.files_from_cache == 0
    assert second.files_from_cache == 2 and second.from_cache == second.read == 56
    expected = cold([corpus], tmp_path / "cold", CONFIG)
    assert files_of(tmp_path / "first") == files_of(tmp_path / "second") == expected


def test_the_report_of_a_rebuild_from_whole_files_is_the_cold_builds(
    tmp_path: Path, corpus: Path
) -> None:
    build([corpus], tmp_path / "warm", cached(tmp_path))
    again = build([corpus], tmp_path / "again", cached(tmp_path))
    cold_report = build([corpus], tmp_path / "cold", CONFIG)
    assert again.files_from_cache == 2
    assert again.card_json() == cold_report.card_json()
    assert "from the cache: 56 of 56, 2 whole files" in again.summary()


def test_a_new_file_is_read_and_the_old_ones_are_taken_whole(tmp_path: Path, corpus: Path) -> None:
    build([corpus], tmp_path / "v1", cached(tmp_path))
    write_feed(corpus, "2026-11-30.jsonl", 200, 10)
    grown = build([corpus], tmp_path / "v2", cached(tmp_path))
    assert grown.files_from_cache == 2 and grown.read == 56 + 13
    assert grown.from_cache == 56
    assert files_of(tmp_path / "v2") == cold([corpus], tmp_path / "cold", CONFIG)


def test_a_file_found_at_another_place_in_the_input_gets_its_new_numbers(
    tmp_path: Path, corpus: Path
) -> None:
    # A new file that sorts first moves both old files down the input: their records'
    # sequence numbers (and so the order of rejects and duplicates) change.
    build([corpus], tmp_path / "v1", cached(tmp_path))
    write_feed(corpus, "2026-11-01.jsonl", 300, 9)
    moved = build([corpus], tmp_path / "v2", cached(tmp_path))
    assert moved.files_from_cache == 2
    assert files_of(tmp_path / "v2") == cold([corpus], tmp_path / "cold", CONFIG)


def test_an_appended_file_is_read_again_and_its_old_articles_come_from_the_cache(
    tmp_path: Path, corpus: Path
) -> None:
    build([corpus], tmp_path / "v1", cached(tmp_path))
    path = corpus / "2026-11-29.jsonl"
    path.write_text(path.read_text() + "\n".join(feed_lines(400, 5)) + "\n", encoding="utf-8")
    grown = build([corpus], tmp_path / "v2", cached(tmp_path))
    assert grown.files_from_cache == 1  # the other file
    # 33 taken whole, 22 old articles of the appended file (its broken JSON line is no
    # article), and 1 new line that is the same record as an old one ("Too short.")
    assert grown.from_cache == 33 + 22 + 1
    assert files_of(tmp_path / "v2") == cold([corpus], tmp_path / "cold", CONFIG)
    assert build([corpus], tmp_path / "v3", cached(tmp_path)).files_from_cache == 2


def test_a_changed_map_setting_takes_no_file_whole(tmp_path: Path, corpus: Path) -> None:
    build([corpus], tmp_path / "warm", cached(tmp_path))
    changed = cached(tmp_path, near_dup=NearDupConfig(num_perm=64))
    report = build([corpus], tmp_path / "changed", changed)
    assert (report.files_from_cache, report.from_cache) == (0, 0)
    assert files_of(tmp_path / "changed") == cold([corpus], tmp_path / "cold", changed)


def test_a_changed_global_setting_takes_every_file_whole(tmp_path: Path, corpus: Path) -> None:
    build([corpus], tmp_path / "warm", cached(tmp_path))
    changed = cached(tmp_path, eval_ratio=0.4, near_dup=NearDupConfig(threshold=0.8))
    report = build([corpus], tmp_path / "changed", changed)
    assert report.files_from_cache == 2
    assert files_of(tmp_path / "changed") == cold([corpus], tmp_path / "cold", changed)


def test_a_renamed_file_is_not_taken_whole(tmp_path: Path, corpus: Path) -> None:
    # Its name is its provenance (and may be its source id): another name, another result.
    build([corpus], tmp_path / "v1", cached(tmp_path))
    (corpus / "2026-11-29.jsonl").rename(corpus / "2026-11-29b.jsonl")
    report = build([corpus], tmp_path / "v2", cached(tmp_path))
    assert report.files_from_cache == 1
    assert files_of(tmp_path / "v2") == cold([corpus], tmp_path / "cold", CONFIG)


def test_a_small_file_is_left_to_the_per_article_cache(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(filecache_module, "MIN_FILE_BYTES", 1 << 30)
    build([corpus], tmp_path / "v1", cached(tmp_path))
    report = build([corpus], tmp_path / "v2", cached(tmp_path))
    assert (report.files_from_cache, report.from_cache) == (0, 54)
    assert info(tmp_path / "cache").whole_files == 0


# -- a damaged or foreign entry --------------------------------------------------------------


def entry_folders(cache: Path) -> list[Path]:
    return sorted(p for p in (cache / FILES_DIR).iterdir() if p.is_dir())


def test_a_damaged_part_is_a_miss_that_changes_nothing_and_is_stored_again(
    tmp_path: Path, corpus: Path
) -> None:
    build([corpus], tmp_path / "warm", cached(tmp_path))
    part = sorted(entry_folders(tmp_path / "cache")[0].glob("*.arrow"))[1]
    data = bytearray(part.read_bytes())
    data[len(data) // 2] ^= 1
    part.write_bytes(bytes(data))
    report = build([corpus], tmp_path / "again", cached(tmp_path))
    assert report.files_from_cache == 1 and report.cache_corrupt == 1
    assert files_of(tmp_path / "again") == cold([corpus], tmp_path / "cold", CONFIG)
    healed = build([corpus], tmp_path / "healed", cached(tmp_path))
    assert (healed.files_from_cache, healed.cache_corrupt) == (2, 0)


def test_an_entry_whose_folder_is_gone_is_a_miss_and_is_stored_again(
    tmp_path: Path, corpus: Path
) -> None:
    import shutil

    build([corpus], tmp_path / "warm", cached(tmp_path))
    for folder in entry_folders(tmp_path / "cache"):
        shutil.rmtree(folder)
    report = build([corpus], tmp_path / "again", cached(tmp_path))
    assert report.files_from_cache == 0 and report.from_cache == 54
    assert files_of(tmp_path / "again") == cold([corpus], tmp_path / "cold", CONFIG)
    assert build([corpus], tmp_path / "healed", cached(tmp_path)).files_from_cache == 2


def test_a_batch_of_the_wrong_shape_with_a_matching_checksum_is_a_miss(
    tmp_path: Path, corpus: Path
) -> None:
    # Someone who can write the cache folder can also write a checksum that matches.
    import hashlib
    import pickle

    import xxhash

    build([corpus], tmp_path / "warm", cached(tmp_path))
    db = sqlite3.connect(tmp_path / "cache" / DB_NAME)
    key, value, folder = db.execute("SELECT key, value, folder FROM files LIMIT 1").fetchone()
    stored = pickle.loads(value)
    name = stored["batches"][0][0]
    forged = pickle.dumps({"version": 1, "keys": {}, "rejects": [], "counters": {}})
    (tmp_path / "cache" / FILES_DIR / folder / name).write_bytes(forged)
    stored["batches"][0] = (name, xxhash.xxh3_128_hexdigest(forged), *stored["batches"][0][2:])
    value = pickle.dumps(stored)
    digest = hashlib.blake2b(value, digest_size=16).digest()
    with db:
        db.execute("UPDATE files SET value = ?, digest = ? WHERE key = ?", (value, digest, key))
    db.close()
    report = build([corpus], tmp_path / "again", cached(tmp_path))
    assert report.files_from_cache == 1
    assert files_of(tmp_path / "again") == cold([corpus], tmp_path / "cold", CONFIG)


@pytest.mark.parametrize(
    "damage",
    [
        b"",
        b"not a pickle",
        b"\x80\x05N.",  # None
    ],
)
def test_a_stored_batch_that_is_not_one_reads_back_as_none(damage: bytes) -> None:
    assert decode_batch(damage, 0) is None


def a_batch() -> BatchResult:
    keys = [
        Keys(7, "a" * 20, "0" * 32, 120, "en", None, "f.jsonl", 3, b"\x01" * 8, 5, b"\x02" * 16),
        Keys(9, "b" * 20, "1" * 32, 80, "fr", "x", "f.jsonl", 5, None, 0, b""),
    ]
    result = BatchResult(key_batch=KeyBatch.from_keys(keys), language_engine="langdetect-rs")
    result.rejects = [Reject(Reason.TOO_SHORT, "f.jsonl:4: too short", Provenance("f.jsonl", 4))]
    result.clean_steps.update({"furniture": 2})
    result.chars_in, result.chars_removed = 200, 12
    return result


def test_a_stored_batch_reads_back_with_its_new_sequence_numbers() -> None:
    back = decode_batch(encode_batch(a_batch(), first_seq=6), first_seq=106)
    assert back is not None and back.key_batch is not None
    assert back.key_batch.seq.tolist() == [107, 109]
    assert back.key_batch.ids == b"a" * 20 + b"b" * 20
    assert back.key_batch.languages == ["en", "fr"] and back.key_batch.values == ["x"]
    assert back.rejects == a_batch().rejects
    assert (back.cached, back.chars_in, back.clean_steps["furniture"]) == (3, 200, 2)


def test_a_stored_batch_whose_signatures_do_not_fit_the_settings_is_a_miss() -> None:
    assert decode_batch(encode_batch(a_batch(), 0), 0, signature_bytes=8) is not None
    assert decode_batch(encode_batch(a_batch(), 0), 0, signature_bytes=512) is None


def test_a_file_that_changed_while_it_was_read_is_not_stored(tmp_path: Path) -> None:
    cache = FileCache(cached(tmp_path), tmp_path)
    filling = cache.storing(_Ticket(b"k" * 20, "a" * 64), first_seq=0)
    assert isinstance(filling, _Filling)
    filling.add(a_batch(), None)
    filling.commit(InputFile("f.jsonl", 10, "b" * 64))  # read with another sha256
    assert MapCache(tmp_path / "cache").get_file(b"k" * 20) is None
    assert not filling.folder.exists()


def test_a_file_with_an_internal_error_is_not_stored(tmp_path: Path) -> None:
    cache = FileCache(cached(tmp_path), tmp_path)
    filling = cache.storing(_Ticket(b"k" * 20, "a" * 64), first_seq=0)
    assert filling is not None
    failed = a_batch()
    failed.rejects.append(Reject(Reason.INTERNAL_ERROR, "boom", Provenance("f.jsonl", 9)))
    filling.add(failed, None)
    filling.commit(InputFile("f.jsonl", 10, "a" * 64))
    assert MapCache(tmp_path / "cache").get_file(b"k" * 20) is None


def test_a_build_that_fails_part_way_leaves_no_entry_and_no_folder(
    tmp_path: Path, corpus: Path
) -> None:
    config = cached(tmp_path, source=SourceConfig(on_bad_file="error"))
    (corpus / "2026-11-29.jsonl").write_bytes(b"\x00\x01binary\x00" * 100)
    with pytest.raises(Exception, match="on_bad_file"):
        build([corpus], tmp_path / "out", config)
    # The file read to its end before the failure is stored; the failing one is not.
    assert info(tmp_path / "cache").whole_files == 1
    assert len(entry_folders(tmp_path / "cache")) == 1


# -- looking after the store -----------------------------------------------------------------


def test_info_counts_whole_files_and_their_bytes(tmp_path: Path, corpus: Path) -> None:
    build([corpus], tmp_path / "out", cached(tmp_path))
    got = info(tmp_path / "cache")
    on_disk = sum(p.stat().st_size for p in (tmp_path / "cache" / FILES_DIR).rglob("*.*"))
    assert got.whole_files == 2 and got.whole_file_bytes >= on_disk
    assert got.file_bytes > on_disk
    result = CliRunner().invoke(main, ["cache", "info", "--cache", str(tmp_path / "cache")])
    assert "  whole files: 2 (" in result.output


def test_prune_by_age_removes_whole_files_and_their_folders(tmp_path: Path, corpus: Path) -> None:
    build([corpus], tmp_path / "out", cached(tmp_path))
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        db.execute("UPDATE files SET used = used - 10")
    pruned = prune(tmp_path / "cache", older_than_days=5)
    assert pruned.entries == 2
    assert info(tmp_path / "cache").whole_files == 0
    assert entry_folders(tmp_path / "cache") == []
    assert info(tmp_path / "cache").entries == 54  # used today: kept


def test_prune_by_size_counts_whole_files_with_the_articles(tmp_path: Path, corpus: Path) -> None:
    build([corpus], tmp_path / "out", cached(tmp_path))
    before = info(tmp_path / "cache")
    pruned = prune(tmp_path / "cache", max_bytes=0)
    assert pruned.entries == before.entries + before.whole_files
    assert pruned.value_bytes == before.value_bytes + before.whole_file_bytes
    assert entry_folders(tmp_path / "cache") == []


def test_prune_removes_an_unnamed_folder_once_it_is_old(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build([corpus], tmp_path / "out", cached(tmp_path))
    left = tmp_path / "cache" / FILES_DIR / "tmp-left-by-a-killed-build"
    left.mkdir()
    (left / "000000.batch").write_bytes(b"x")
    prune(tmp_path / "cache", older_than_days=1000)
    assert left.exists()  # young: a build may be filling it
    monkeypatch.setattr("corpuskit.cache.ORPHAN_SECONDS", 0)
    time.sleep(0.01)
    prune(tmp_path / "cache", older_than_days=1000)
    assert not left.exists()
    assert len(entry_folders(tmp_path / "cache")) == 2  # named ones stay


def test_a_rebuild_after_prune_reads_the_files_again_with_the_same_bytes(
    tmp_path: Path, corpus: Path
) -> None:
    build([corpus], tmp_path / "v1", cached(tmp_path))
    prune(tmp_path / "cache", max_bytes=0)
    report: BuildReport = build([corpus], tmp_path / "v2", cached(tmp_path))
    assert (report.files_from_cache, report.from_cache) == (0, 0)
    assert files_of(tmp_path / "v2") == files_of(tmp_path / "v1")


def test_a_file_that_cannot_be_hashed_is_read_as_usual(tmp_path: Path) -> None:
    import io

    real = tmp_path / "f.jsonl"
    real.write_bytes(b"x" * 10)

    class Failing(io.BufferedReader):
        def readinto(self, buffer: Any) -> int:
            raise OSError(5, "Input/output error")

    cache = FileCache(cached(tmp_path), tmp_path)
    with Failing(io.FileIO(real)) as fh:
        assert cache("f.jsonl", "jsonl", fh) is None
        assert fh.tell() == 0


def test_a_stored_batch_changed_after_it_was_checked_ends_the_build_with_one_line(
    tmp_path: Path, corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corpuskit.errors import CorpuskitError

    build([corpus], tmp_path / "warm", cached(tmp_path))
    real = FileCache.replayed

    def changed_since_linked(self: FileCache, replay: Any, first_seq: int) -> Any:
        for path, _part in replay.batches:
            path.unlink()  # its own file now, not the cache's (a hard link)
            path.write_bytes(b"changed")
        return real(self, replay, first_seq)

    monkeypatch.setattr(FileCache, "replayed", changed_since_linked)
    with pytest.raises(CorpuskitError, match="changed while this build used it"):
        build([corpus], tmp_path / "out", cached(tmp_path))
    assert not (tmp_path / "out").exists()
