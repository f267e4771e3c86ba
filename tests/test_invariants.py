"""Property tests for the artifact as a whole: order independence and accounting."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corpuskit import EXAMPLE_CORPUS, BuildConfig, build, mapstage
from corpuskit.errors import CorpuskitError
from corpuskit.mapstage import BatchResult, MapState

from .conftest import FR_PARAS, english_article, files_of

SETTINGS = settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _records(seeds: list[int]) -> list[dict[str, str]]:
    records = [{"text": english_article(s), "source": f"site{s % 3}"} for s in seeds]
    records.append({"text": "\n\n".join(FR_PARAS), "source": "fr"})
    records.append({"text": english_article(seeds[0]), "source": "copy"})  # exact duplicate
    records.append({"text": "too short", "source": "x"})
    records.append({"text": 42, "source": "x"})  # wrong type
    return records


def _write_jsonl(path: Path, records: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _data(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((out / "data").glob("*.parquet"))}


@SETTINGS
@given(
    st.lists(st.integers(0, 10**6), min_size=2, max_size=12, unique=True),
    st.randoms(use_true_random=False),
)
def test_shuffling_input_rows_changes_nothing_in_the_data(
    tmp_path_factory, seeds: list[int], rnd: random.Random
) -> None:
    tmp = tmp_path_factory.mktemp("order")
    records = _records(seeds)
    shuffled = records[:]
    rnd.shuffle(shuffled)
    cfg = BuildConfig(name="o", min_chars=50)
    build([_write_jsonl(tmp / "a" / "feed.jsonl", records)], tmp / "out-a", cfg)
    build([_write_jsonl(tmp / "b" / "feed.jsonl", shuffled)], tmp / "out-b", cfg)
    assert _data(tmp / "out-a") == _data(tmp / "out-b")
    card_a = (tmp / "out-a" / "README.md").read_text()
    card_b = (tmp / "out-b" / "README.md").read_text()
    # Only the rejects' line numbers (their provenance) may differ between the two.
    strip = [
        ln
        for ln in card_a.splitlines()
        if "num_bytes" not in ln and "download_size" not in ln and "dataset_size" not in ln
    ]
    assert strip == [
        ln
        for ln in card_b.splitlines()
        if "num_bytes" not in ln and "download_size" not in ln and "dataset_size" not in ln
    ]


@SETTINGS
@given(
    st.lists(st.integers(0, 10**6), min_size=2, max_size=12, unique=True), st.permutations(range(4))
)
def test_file_order_and_names_of_folders_do_not_change_the_data(
    tmp_path_factory, seeds: list[int], order: list[int]
) -> None:
    tmp = tmp_path_factory.mktemp("files")
    texts = [english_article(s) for s in seeds]
    chunks = [texts[i::4] for i in range(4)]
    for variant, perm in (("a", range(4)), ("b", order)):
        for slot, i in enumerate(perm):
            for j, text in enumerate(chunks[i]):
                # The same article always has the same source id ("src<i>") and so the same id,
                # but sits in a differently named and ordered file.
                _write_jsonl(
                    tmp / variant / f"{slot}-{j}.jsonl", [{"text": text, "source": f"src{i}"}]
                )
    cfg = BuildConfig(name="o", min_chars=50)
    build([tmp / "a"], tmp / "out-a", cfg)
    build([tmp / "b"], tmp / "out-b", cfg)
    assert _data(tmp / "out-a") == _data(tmp / "out-b")


@SETTINGS
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=12, unique=True))
def test_every_record_is_kept_dropped_or_rejected(tmp_path_factory, seeds: list[int]) -> None:
    tmp = tmp_path_factory.mktemp("acct")
    records = _records(seeds)
    report = build(
        [_write_jsonl(tmp / "in" / "feed.jsonl", records)],
        tmp / "out",
        BuildConfig(name="a", min_chars=50),
    )
    counts = json.loads((tmp / "out" / "corpuskit.json").read_text())["counts"]
    assert counts["read"] == len(records)
    assert counts["read"] == counts["kept"] + counts["duplicates"] + sum(
        counts["rejected"].values()
    )
    assert counts["rejected"] == {"too_short": 1, "wrong_type": 1}
    assert report.exact_duplicates == 1


# -- accounting against what the sources yielded --------------------------------------------


def _accounting_corpus(root: Path) -> tuple[Path, int]:
    """Ten article files, an exact copy, a too-short file, a broken JSONL line: 14 records."""
    files = {f"a{i}.txt": english_article(80_000 + i) for i in range(10)}
    files["copy.txt"] = english_article(80_000)
    files["short.txt"] = "Too short."
    files["feed.jsonl"] = json.dumps({"text": english_article(80_100)}) + "\n{broken\n"
    root.mkdir(parents=True)
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root, 14


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("batch_size", [1, 2, 3, 7])
def test_read_counts_what_the_sources_yielded_for_any_batching(
    tmp_path: Path, batch_size: int, jobs: int
) -> None:
    src, records = _accounting_corpus(tmp_path / "src")
    config = BuildConfig(name="acct", min_chars=50, batch_size=batch_size, jobs=jobs)
    report = build([src], tmp_path / "out", config)
    assert report.read == records
    assert (report.kept, report.duplicates) == (11, 1)
    assert report.rejected == {"too_short": 1, "bad_json": 1}
    assert report.balanced()


def _drop_last_of_full_batches(state: MapState, batch: Sequence[tuple[int, Any]]) -> BatchResult:
    """A planted bug: the map stage loses the last record of every full batch."""
    result = _REAL_PROCESS_BATCH(state, batch)
    if len(batch) == state.config.batch_size and result.rows:
        result.rows.pop()
        result.keys.pop()
    return result


_REAL_PROCESS_BATCH = mapstage.process_batch


def test_a_record_lost_inside_the_map_stage_fails_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src, _ = _accounting_corpus(tmp_path / "src")
    monkeypatch.setattr(mapstage, "process_batch", _drop_last_of_full_batches)
    with pytest.raises(CorpuskitError, match="14 records were read but the map stage accounted"):
        build([src], tmp_path / "out", BuildConfig(name="acct", min_chars=50, batch_size=3))
    assert not (tmp_path / "out").exists()


# -- determinism across processes ------------------------------------------------------------


def _copy_tree(src: Path, dst: Path, reverse: bool) -> None:
    """Copy ``src`` creating files in sorted or reverse order (the order a folder lists)."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    for path in reversed(files) if reverse else files:
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())


def test_cli_builds_are_byte_identical_across_processes(tmp_path: Path) -> None:
    """Hash seeds, --jobs, batch sizes, working folders, relative or absolute SOURCE and
    the order files were created in change no byte of the artifact."""
    runs = [
        ("0", "a", ["--jobs", "1"], False),
        ("4242", "b", ["--jobs", "2", "--batch-size", "7"], True),
        ("random", "c", ["--jobs", "2", "--batch-size", "3"], False),
    ]
    artifacts = []
    for seed, where, extra, reverse in runs:
        cwd = tmp_path / where
        _copy_tree(Path(EXAMPLE_CORPUS), cwd / "news", reverse)
        source = "news" if where == "c" else str(cwd / "news")  # relative, or absolute
        env = dict(os.environ, PYTHONHASHSEED=seed)
        env.pop("SOURCE_DATE_EPOCH", None)
        command = [sys.executable, "-m", "corpuskit", "build", source, "--name", "example-news"]
        run = subprocess.run(
            [*command, "--source-id", "parent", "--out", "dist/x", "-q", *extra],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        artifacts.append(files_of(cwd / "dist" / "x"))
    assert len(artifacts[0]) >= 5
    assert artifacts[1] == artifacts[0]
    assert artifacts[2] == artifacts[0]
