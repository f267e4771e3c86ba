"""The map-stage cache: a rebuild reuses what did not change, and never changes a byte."""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corpuskit import BuildConfig, build
from corpuskit.cache import DB_NAME, MapCache, _digest, info, prune
from corpuskit.cli import main
from corpuskit.config import CardConfig, CleanConfig, NearDupConfig
from corpuskit.mapstage.cached import decode
from corpuskit.report import BuildReport

from .conftest import REPO, english_article, files_of, french_article

CONFIG = BuildConfig(name="news", min_chars=50, source_id="parent", batch_size=4)


@pytest.fixture
def corpus(write_corpus: Any) -> Path:
    files: dict[str, str | bytes] = {
        f"site-a/a{i}.txt": english_article(40_000 + i) for i in range(8)
    }
    files.update({f"site-b/f{i}.txt": french_article(i) for i in range(3)})
    files["site-b/copy.txt"] = english_article(40_000)  # an exact duplicate
    files["site-b/short.txt"] = "Too short to keep."  # a reject
    return write_corpus(files, "corpus")


def cold(sources: list[Path], out: Path, config: BuildConfig) -> dict[str, bytes]:
    build(sources, out, replace(config, cache=None))
    return files_of(out)


# -- the store -------------------------------------------------------------------------------


def test_stored_values_are_found_by_key(tmp_path: Path) -> None:
    cache = MapCache(tmp_path)
    cache.put([(b"k1", b"one"), (b"k2", b"two")])
    assert cache.get([b"k1", b"k2", b"k3"]) == {b"k1": b"one", b"k2": b"two"}


def test_a_value_that_does_not_match_its_digest_is_a_miss(tmp_path: Path) -> None:
    MapCache(tmp_path).put([(b"k1", b"one"), (b"k2", b"two")])
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("UPDATE entries SET value = ? WHERE key = ?", (b"ONE", b"k1"))
    cache = MapCache(tmp_path)
    assert cache.get([b"k1", b"k2"]) == {b"k2": b"two"}
    assert cache.corrupt == 1


def test_a_file_that_is_not_a_cache_turns_the_cache_off_with_the_reason(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"this is not a database" * 100)
    cache = MapCache(tmp_path)
    assert not cache.enabled
    assert cache.problem is not None and "not used: file is not a database" in cache.problem
    cache.put([(b"k", b"v")])
    assert cache.get([b"k"]) == {}


_WRITER = """
import sys
from corpuskit.cache import MapCache
cache = MapCache(sys.argv[1])
tag = sys.argv[2].encode()
for batch in range(10_000):
    cache.put([(tag + b"%d-%d" % (batch, i), b"x" * 2000) for i in range(50)])
    if batch == 3:
        print("writing", flush=True)
"""


def _writer(folder: Path, tag: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(folder), tag],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )


def test_a_writer_killed_mid_write_leaves_whole_batches(tmp_path: Path) -> None:
    writer = _writer(tmp_path, "a")
    assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    got = info(tmp_path)
    assert got.entries >= 200 and got.entries % 50 == 0  # whole transactions only
    cache = MapCache(tmp_path)
    keys = [b"a%d-%d" % (b, i) for b in range(got.entries // 50) for i in range(50)]
    assert len(cache.get(keys)) == got.entries and cache.corrupt == 0


def test_two_processes_write_at_once_without_losing_entries(tmp_path: Path) -> None:
    script = (
        "import sys\nfrom corpuskit.cache import MapCache\n"
        "c = MapCache(sys.argv[1])\n"
        "for b in range(40):\n"
        "    c.put([(sys.argv[2].encode() + b'%d-%d' % (b, i), b'v' * 500) for i in range(25)])\n"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(tmp_path), tag], cwd=REPO)
        for tag in ("a", "b")
    ]
    assert [p.wait() for p in procs] == [0, 0]
    assert info(tmp_path).entries == 2 * 40 * 25


def test_info_counts_entries_and_bytes(tmp_path: Path) -> None:
    MapCache(tmp_path).put([(b"k1", b"x" * 100), (b"k2", b"y" * 50)])
    got = info(tmp_path)
    assert (got.entries, got.value_bytes) == (2, 150)
    assert got.file_bytes > 0 and got.oldest_use == got.newest_use == int(time.time() // 86400)


def test_info_of_a_folder_without_a_cache_is_empty(tmp_path: Path) -> None:
    assert info(tmp_path / "none").entries == 0


def test_prune_by_age_removes_only_entries_unused_for_that_long(tmp_path: Path) -> None:
    MapCache(tmp_path).put([(b"old", b"x" * 10), (b"new", b"y" * 10)])
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("UPDATE entries SET used = used - 40 WHERE key = ?", (b"old",))
    pruned = prune(tmp_path, older_than_days=30)
    assert (pruned.entries, pruned.value_bytes) == (1, 10)
    assert MapCache(tmp_path).get([b"old", b"new"]) == {b"new": b"y" * 10}


def test_prune_by_size_removes_the_least_recently_used_first(tmp_path: Path) -> None:
    MapCache(tmp_path).put([(b"a", b"x" * 100), (b"b", b"y" * 100), (b"c", b"z" * 100)])
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.execute("UPDATE entries SET used = used - 5 WHERE key = ?", (b"b",))
        db.execute("UPDATE entries SET used = used - 3 WHERE key = ?", (b"a",))
    pruned = prune(tmp_path, max_bytes=150)
    assert pruned.entries == 2
    assert list(MapCache(tmp_path).get([b"a", b"b", b"c"])) == [b"c"]


def test_a_stored_value_that_would_build_an_object_is_never_read_back() -> None:
    assert decode(pickle.dumps(("k", os.system, (), None))) is None
    assert decode(b"not a pickle") is None


@pytest.mark.parametrize(
    "outcome",
    [
        ("k", {}, (1, 2), None),  # a row without its fields
        ("r", "no_such_reason", "detail", None, None, None),
        ("r", "too_short", 3, None, None, None),  # a detail that is not text
        ("k", {}, ("a", "zz", 1, "en", None, None, 0, b""), None),
        ("r", "too_short", "d", None, None, (True,)),  # a tally of the wrong shape
    ],
)
def test_a_value_of_the_wrong_shape_is_a_miss_not_an_error(outcome: tuple[object, ...]) -> None:
    assert decode(pickle.dumps(outcome)) is None


def test_a_value_someone_else_wrote_under_a_real_key_is_recomputed(
    tmp_path: Path, corpus: Path
) -> None:
    config = replace(CONFIG, cache=str(tmp_path / "cache"))
    build([corpus], tmp_path / "warm", config)
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        bad = pickle.dumps(("r", "no_such_reason", "x", None, None, None))
        db.execute("UPDATE entries SET value = ?, digest = ?", (bad, _digest(bad)))
    report = build([corpus], tmp_path / "again", config)
    assert report.from_cache == 0
    assert files_of(tmp_path / "again") == cold([corpus], tmp_path / "cold", CONFIG)


# -- builds ----------------------------------------------------------------------------------


def test_a_cached_rebuild_takes_every_result_from_the_cache_and_the_same_bytes(
    tmp_path: Path, corpus: Path
) -> None:
    expected = cold([corpus], tmp_path / "cold", CONFIG)
    config = replace(CONFIG, cache=str(tmp_path / "cache"))
    first = build([corpus], tmp_path / "first", config)
    second = build([corpus], tmp_path / "second", config)
    assert first.from_cache == 0 and second.from_cache == second.read == 13
    assert files_of(tmp_path / "first") == files_of(tmp_path / "second") == expected


def test_a_grown_corpus_reuses_the_results_of_the_articles_it_had(
    tmp_path: Path, corpus: Path, write_corpus: Any
) -> None:
    config = replace(CONFIG, cache=str(tmp_path / "cache"))
    build([corpus], tmp_path / "v1", config)
    more = write_corpus({f"site-c/n{i}.txt": english_article(50_000 + i) for i in range(3)}, "more")
    expected = cold([corpus, more], tmp_path / "cold", CONFIG)
    grown = build([corpus, more], tmp_path / "v2", config)
    assert grown.from_cache == 13 and grown.read == 16
    assert files_of(tmp_path / "v2") == expected


def test_an_article_that_moved_down_its_file_is_still_found(tmp_path: Path) -> None:
    import json

    lines = [json.dumps({"text": english_article(i), "source": "feed"}) for i in range(6)]
    feed = tmp_path / "src" / "feed.jsonl"
    feed.parent.mkdir()
    feed.write_text("\n".join(lines[1:]) + "\n")
    config = replace(CONFIG, cache=str(tmp_path / "cache"))
    build([feed.parent], tmp_path / "v1", config)
    feed.write_text("\n".join(lines) + "\n")  # a new first line: every other moved down
    report = build([feed.parent], tmp_path / "v2", config)
    assert report.from_cache == 5
    assert files_of(tmp_path / "v2") == cold([feed.parent], tmp_path / "cold", CONFIG)


#: One change per family of settings the map stage reads.
MAP_SETTINGS = {
    "min_chars": {"min_chars": 400},
    "max_chars": {"max_chars": 2_000},
    "languages": {"languages": ("en",)},
    "language_threshold": {"language_threshold": 0.99},
    "seed": {"seed": 7},
    "source_id": {"source_id": "stem"},
    "group_by": {"group_by": "source_id"},
    "clean_steps": {"clean": CleanConfig(steps=("unicode", "whitespace"))},
    "no_clean": {"clean": CleanConfig(enabled=False)},
    "shingle_size": {"near_dup": NearDupConfig(shingle_size=3)},
    "num_perm": {"near_dup": NearDupConfig(num_perm=64)},
    "no_near_dups": {"near_dup": NearDupConfig(enabled=False)},
}


def rebuild_changed(tmp_path: Path, corpus: Path, changes: dict[str, Any]) -> BuildReport:
    """Warm a cache with CONFIG, rebuild with ``changes`` using it, and check the artifact
    against a cold build with the same changes; returns the rebuild's report."""
    config = replace(CONFIG, cache=str(tmp_path / "cache"))
    build([corpus], tmp_path / "warm", config)
    changed = replace(config, **changes)
    report = build([corpus], tmp_path / "changed", changed)
    assert files_of(tmp_path / "changed") == cold([corpus], tmp_path / "cold", changed)
    return report


@pytest.mark.parametrize("family", sorted(MAP_SETTINGS))
def test_a_changed_map_setting_reuses_nothing_and_matches_a_cold_build(
    tmp_path: Path, corpus: Path, family: str
) -> None:
    assert rebuild_changed(tmp_path, corpus, MAP_SETTINGS[family]).from_cache == 0


#: Settings only the global and write stages read.
GLOBAL_SETTINGS = {
    "eval_ratio": {"eval_ratio": 0.4},
    "near_dups": {"near_dups": "keep"},
    "near_threshold": {"near_dup": NearDupConfig(threshold=0.8)},
    "name_and_card": {
        "name": "other",
        "card": CardConfig(license="cc-by-4.0", description="News.", language_configs=1),
    },
}


@pytest.mark.parametrize("family", sorted(GLOBAL_SETTINGS))
def test_a_changed_global_setting_reuses_every_result_and_matches_a_cold_build(
    tmp_path: Path, corpus: Path, family: str
) -> None:
    report = rebuild_changed(tmp_path, corpus, GLOBAL_SETTINGS[family])
    assert report.from_cache == report.read


def test_an_edited_rules_file_reuses_nothing_and_matches_a_cold_build(
    tmp_path: Path, corpus: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('[[line]]\npattern = "^also read"\n', encoding="utf-8")
    config = replace(
        CONFIG,
        cache=str(tmp_path / "cache"),
        clean=CleanConfig(boilerplate_rules=(str(rules),)),
    )
    build([corpus], tmp_path / "warm", config)
    rules.write_text('[[line]]\npattern = "^read more"\n', encoding="utf-8")
    report = build([corpus], tmp_path / "edited", config)
    assert report.from_cache == 0
    assert files_of(tmp_path / "edited") == cold([corpus], tmp_path / "cold", config)


def test_a_corrupted_entry_is_recomputed_and_changes_nothing(tmp_path: Path, corpus: Path) -> None:
    config = replace(CONFIG, cache=str(tmp_path / "cache"))
    build([corpus], tmp_path / "warm", config)
    with sqlite3.connect(tmp_path / "cache" / DB_NAME) as db:
        key, value = db.execute("SELECT key, value FROM entries ORDER BY key LIMIT 1").fetchone()
        flipped = bytes([value[0] ^ 1]) + value[1:]
        db.execute("UPDATE entries SET value = ? WHERE key = ?", (flipped, key))
    report = build([corpus], tmp_path / "again", config)
    assert (report.cache_corrupt, report.from_cache) == (1, report.read - 1)
    assert files_of(tmp_path / "again") == cold([corpus], tmp_path / "cold", CONFIG)
    assert build([corpus], tmp_path / "healed", config).cache_corrupt == 0  # stored again


def test_an_unusable_cache_is_reported_and_changes_nothing(tmp_path: Path, corpus: Path) -> None:
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / DB_NAME).write_bytes(b"garbage" * 1000)
    report = build([corpus], tmp_path / "out", replace(CONFIG, cache=str(tmp_path / "cache")))
    assert report.cache_problem is not None and "file is not a database" in report.cache_problem
    assert "warning: cache at" in report.summary()
    assert files_of(tmp_path / "out") == cold([corpus], tmp_path / "cold", CONFIG)


def test_a_store_locked_while_another_worker_sets_it_up_is_retried_not_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two workers opening a new store at once: SQLite tells the one that loses the race
    to switch it to WAL "database is locked" at once, without waiting."""
    real_connect = sqlite3.connect
    refusals = []

    class LosesTheRace(sqlite3.Connection):
        def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
            if sql.startswith("PRAGMA journal_mode") and len(refusals) < 2:
                refusals.append(sql)
                raise sqlite3.OperationalError("database is locked")
            return super().execute(sql, *args)

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        return real_connect(*args, factory=LosesTheRace, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", connect)
    cache = MapCache(tmp_path / "cache")
    assert (cache.enabled, cache.problem, len(refusals)) == (True, None, 2)
    cache.put([(b"k", b"v")])
    assert cache.get([b"k"]) == {b"k": b"v"}
    cache.close()


def test_pool_workers_share_the_cache(tmp_path: Path, corpus: Path) -> None:
    config = replace(CONFIG, cache=str(tmp_path / "cache"), jobs=2)
    build([corpus], tmp_path / "warm", config)
    report = build([corpus], tmp_path / "again", config)
    assert report.from_cache == report.read
    assert files_of(tmp_path / "again") == cold([corpus], tmp_path / "cold", CONFIG)


#: A build that stops inside its third batch's cache transaction (entries inserted, not
#: committed) and says so: the test kills it there, whatever the machine's speed.
_STOPPED_BUILD = """
import sys, time
import corpuskit.cache as cache
from corpuskit import pipeline
from corpuskit.config import BuildConfig

calls = []
real_put = cache.MapCache.put

def put(self, entries):
    calls.append(1)
    if len(calls) == 3:
        self._db.execute("BEGIN")
        self._db.executemany(
            "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
            ((key, value, b"", 0) for key, value in entries),
        )
        print("mid-write", flush=True)
        time.sleep(3600)
    real_put(self, entries)

cache.MapCache.put = put
config = BuildConfig(name="big", min_chars=50, source_id="stem", batch_size=8, cache=sys.argv[3])
pipeline.build([sys.argv[1]], sys.argv[2], config)
"""


def test_a_build_killed_mid_write_leaves_a_cache_the_next_build_uses(
    tmp_path: Path, write_corpus: Any
) -> None:
    big = write_corpus({f"s/a{i}.txt": english_article(60_000 + i) for i in range(40)}, "big")
    cache = tmp_path / "cache"
    command = [sys.executable, "-c", _STOPPED_BUILD, str(big), str(tmp_path / "out"), str(cache)]
    proc = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "mid-write\n"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert info(cache).entries == 16  # two whole batches; the third was never committed
    config = replace(CONFIG, source_id="stem", cache=str(cache))
    report = build([big], tmp_path / "next", config)
    assert report.from_cache == 16
    assert files_of(tmp_path / "next") == cold([big], tmp_path / "cold", config)


# -- the CLI ---------------------------------------------------------------------------------


def test_the_cli_caches_by_default_and_says_how_much_came_from_it(
    tmp_path: Path, corpus: Path
) -> None:
    args = ["build", str(corpus), "--out", str(tmp_path / "out"), "--min-chars", "50"]
    assert CliRunner().invoke(main, args).exit_code == 0
    result = CliRunner().invoke(main, [*args, "--force"])
    assert result.exit_code == 0, result.output
    assert "from the cache: 13 of 13" in result.output
    xdg = Path(os.environ["XDG_CACHE_HOME"])
    assert (xdg / "corpuskit" / DB_NAME).is_file()


def test_no_cache_neither_reads_nor_writes_it(tmp_path: Path, corpus: Path) -> None:
    args = ["build", str(corpus), "--out", str(tmp_path / "out"), "--min-chars", "50"]
    args += ["--cache", str(tmp_path / "cache"), "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "cache").exists()
    assert "from the cache" not in result.output


def test_cache_info_prints_where_and_how_much(tmp_path: Path, corpus: Path) -> None:
    build([corpus], tmp_path / "out", replace(CONFIG, cache=str(tmp_path / "cache")))
    result = CliRunner().invoke(main, ["cache", "info", "--cache", str(tmp_path / "cache")])
    assert result.exit_code == 0, result.output
    assert f"cache: {tmp_path / 'cache'}\n  entries: 13 (" in result.output


def test_cache_prune_needs_to_be_told_what_to_remove(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["cache", "prune", "--cache", str(tmp_path)])
    assert result.exit_code == 2
    assert "say what to remove: --older-than DAYS and/or --max-mb MB" in result.output


def test_cache_prune_to_zero_empties_the_cache(tmp_path: Path, corpus: Path) -> None:
    build([corpus], tmp_path / "out", replace(CONFIG, cache=str(tmp_path / "cache")))
    args = ["cache", "prune", "--cache", str(tmp_path / "cache"), "--max-mb", "0"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("removed 13 entries (")
    assert info(tmp_path / "cache").entries == 0


def test_cache_info_on_a_file_that_is_not_a_cache_is_one_line(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"garbage" * 1000)
    result = CliRunner().invoke(main, ["cache", "info", "--cache", str(tmp_path)])
    assert result.exit_code == 1
    assert "does not hold a usable cache: file is not a database" in result.output
    assert "Traceback" not in result.output
