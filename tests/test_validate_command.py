"""`corpuskit validate`: a dry run that says what a build would keep and reject."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from corpuskit import BuildConfig, build
from corpuskit.cli import main
from corpuskit.pipeline import validate

from .conftest import files_of


def test_a_dry_run_counts_what_a_build_keeps(tmp_path: Path) -> None:
    config = BuildConfig(name="example-news", source_id="parent")
    from corpuskit import EXAMPLE_CORPUS

    dry = validate([EXAMPLE_CORPUS], config)
    report = build([EXAMPLE_CORPUS], tmp_path / "out", config)
    assert dry.report.counts == report.counts
    assert dry.examples["too_short"] == [
        ("news/harbor-gazette/2026-03-05-breaking.txt", "14 characters < --min-chars 200")
    ]


def test_validate_writes_nothing(tmp_path: Path) -> None:
    before = files_of(tmp_path)
    result = CliRunner().invoke(main, ["validate", "--example", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert files_of(tmp_path) == before
    assert result.stdout.splitlines()[0] == (
        "Would keep 39 of 45 records; duplicates 2 (exact 1, near 1); rejected 4"
    )
    assert "  too_short: news/harbor-gazette/2026-03-05-breaking.txt: 14 characters" in (
        result.stdout
    )
    assert result.stdout.endswith("Nothing was written.\n")


def test_strict_exits_1_when_anything_would_be_rejected() -> None:
    result = CliRunner().invoke(main, ["validate", "--example", "--no-cache", "--strict"])
    assert result.exit_code == 1


def test_strict_exits_0_when_nothing_would_be_rejected(tmp_path: Path) -> None:
    from .conftest import english_article

    (tmp_path / "src").mkdir()
    for i in range(3):
        (tmp_path / "src" / f"a{i}.txt").write_text(english_article(i))
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "src"), "--strict", "--no-cache"])
    assert result.exit_code == 0, result.output


def test_json_has_counts_examples_and_warnings() -> None:
    args = ["validate", "--example", "--no-cache", "--json", "--examples", "1"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["counts"]["rejected"] == {"empty": 2, "not_text": 1, "too_short": 1}
    assert [len(v) for v in got["examples"].values()] == [1, 1, 1]
    assert got["warnings"] == []


def test_validate_takes_build_options_but_not_output_ones() -> None:
    result = CliRunner().invoke(main, ["validate", "--example", "--out", "x"])
    assert result.exit_code == 2 and "No such option '--out'" in result.output
    result = CliRunner().invoke(main, ["validate", "--example", "--min-chars", "10", "--no-cache"])
    assert result.exit_code == 0 and "rejected 3" in result.stdout


def test_a_missing_source_is_one_line() -> None:
    result = CliRunner().invoke(main, ["validate", "/no/such/folder"])
    assert result.exit_code == 2
    assert "does not exist" in result.output
