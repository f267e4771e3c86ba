"""`corpuskit inspect` and `corpuskit diff`: looking into artifacts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corpuskit import BuildConfig, build
from corpuskit.cli import main
from corpuskit.output.explore import diff_artifacts, inspect_artifact

from .conftest import english_article, french_article

CONFIG = BuildConfig(name="news", min_chars=50, source_id="parent")


def _feed(folder: Path, records: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def _records(n: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {"text": english_article(80_000 + i), "url": f"https://n.example/{i}", "source": "wire"}
        for i in range(start, start + n)
    ]


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    records = [*_records(20), {"text": french_article(1), "source": "presse"}]
    build([_feed(tmp_path / "src1", records)], tmp_path / "v1", CONFIG)
    return tmp_path / "v1"


def test_inspect_counts_splits_languages_and_sources(v1: Path) -> None:
    got = inspect_artifact(v1)
    assert got["name"] == "news" and sum(got["splits"].values()) == 21
    assert list(got["splits"]) == ["train", "eval"]
    assert got["languages"] == {"en": 20, "fr": 1}
    assert got["sources"] == {"wire": 20, "presse": 1}
    assert got["bytes"]["total"] > got["bytes"]["data"] > 0


def test_inspect_shows_as_many_samples_as_asked_shared_by_the_splits(v1: Path) -> None:
    samples = inspect_artifact(v1, samples=3)["samples"]
    assert [s["split"] for s in samples] == ["train", "train", "eval"]


def test_inspect_shows_sample_rows_cut_short(v1: Path) -> None:
    samples = inspect_artifact(v1, samples=2)["samples"]
    assert [s["split"] for s in samples] == ["train", "eval"]
    assert all(len(s["text"]) <= 201 and s["text"].endswith("…") for s in samples)


def test_inspect_json_on_the_command_line(v1: Path) -> None:
    result = CliRunner().invoke(main, ["inspect", str(v1), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert set(got) >= {"splits", "languages", "sources", "rejected", "samples", "bytes"}


def test_inspect_text_on_the_command_line(v1: Path) -> None:
    result = CliRunner().invoke(main, ["inspect", str(v1), "--samples", "0"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"news ({v1}): 21 articles, 2 languages, 2 sources, ")
    assert "  languages: en 20, fr 1\n" in result.output
    assert "sample" not in result.output


def test_inspect_of_a_folder_that_is_not_an_artifact_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["inspect", str(tmp_path)])
    assert result.exit_code == 1
    assert f"{tmp_path} is not a corpuskit artifact (no corpuskit.json)" in result.output
    assert "Traceback" not in result.output


def test_diff_of_an_artifact_with_itself_is_all_unchanged(v1: Path) -> None:
    got = diff_artifacts(v1, v1)
    assert (got["added"], got["removed"], got["changed"], got["moved"]) == (0, 0, 0, 0)
    assert got["unchanged"] == 21


def test_diff_tells_added_removed_and_changed(tmp_path: Path, v1: Path) -> None:
    records = _records(20)[2:] + _records(3, start=100)  # two gone, three new
    records[0] = {**records[0], "text": english_article(99_999)}  # same URL, new text
    build([_feed(tmp_path / "src2", records)], tmp_path / "v2", CONFIG)
    got = diff_artifacts(v1, tmp_path / "v2")
    # the French article had no URL or title: gone, so removed
    assert (got["added"], got["removed"], got["changed"]) == (3, 3, 1)
    assert got["samples"]["changed"][0]["url"] == "https://n.example/2"
    assert got["unchanged"] + got["moved"] == 17


def test_diff_tells_articles_that_moved_between_splits(tmp_path: Path, v1: Path) -> None:
    records = [*_records(20), {"text": french_article(1), "source": "presse"}]
    build([_feed(tmp_path / "src3", records)], tmp_path / "v3", BuildConfig(
        name="news", min_chars=50, source_id="parent", eval_ratio=0.5
    ))  # fmt: skip
    got = diff_artifacts(v1, tmp_path / "v3")
    assert got["moved"] > 0 and got["moved"] + got["unchanged"] == 21
    assert all(m["from"] == "train" and m["to"] == "eval" for m in got["samples"]["moved"])


def test_diff_json_on_the_command_line_has_the_counts(tmp_path: Path, v1: Path) -> None:
    result = CliRunner().invoke(main, ["diff", str(v1), str(v1), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert {k: got[k] for k in ("added", "removed", "changed", "moved")} == dict.fromkeys(
        ("added", "removed", "changed", "moved"), 0
    )


def test_diff_text_on_the_command_line(v1: Path) -> None:
    result = CliRunner().invoke(main, ["diff", str(v1), str(v1)])
    assert result.exit_code == 0, result.output
    assert result.output == (
        f"{v1} -> {v1}: added 0, removed 0, changed 0, moved 0, unchanged 21\n"
    )


def test_diff_against_a_folder_that_is_not_an_artifact_is_one_line(
    tmp_path: Path, v1: Path
) -> None:
    (tmp_path / "empty").mkdir()
    result = CliRunner().invoke(main, ["diff", str(v1), str(tmp_path / "empty")])
    assert result.exit_code == 1
    assert "is not a corpuskit artifact (no corpuskit.json)" in result.output


def test_a_reader_that_closed_the_pipe_ends_inspect_quietly(v1: Path) -> None:
    """`corpuskit inspect DIR | head`: the pipe's read end is closed before inspect
    writes (here: before it starts), so every write fails with EPIPE."""
    import os
    import subprocess
    import sys

    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "corpuskit", "inspect", str(v1), "--samples", "3"],
            stdout=write,
            stderr=subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (1, b"")
