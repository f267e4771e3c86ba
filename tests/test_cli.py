"""The command line: help with examples, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from corpuskit.cli import main


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_help_has_examples() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output


def test_build_help_has_examples() -> None:
    result = run("build", "--help")
    assert result.exit_code == 0
    assert "corpuskit build" in result.output and "Examples:" in result.output


def test_build_succeeds_with_rejects_and_prints_accounting(
    small_corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    result = run("build", str(small_corpus), "--out", str(out), "--min-chars", "50")
    assert result.exit_code == 0, result.output
    assert "read 15 = kept 12 + duplicates 1" in result.output
    assert (out / "README.md").is_file()


def test_name_defaults_to_the_out_folder(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "peace-talks"
    assert run("build", str(small_corpus), "--out", str(out), "-q").exit_code == 0
    assert json.loads((out / "corpuskit.json").read_text())["name"] == "peace-talks"


def test_an_existing_artifact_without_force_fails_with_one_line(
    small_corpus: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    assert run("build", str(small_corpus), "--out", str(out), "-q").exit_code == 0
    before = (out / "corpuskit.json").read_bytes()
    result = run("build", str(small_corpus), "--out", str(out), "--seed", "1")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "--force" in result.output
    assert (out / "corpuskit.json").read_bytes() == before


def test_force_replaces_an_artifact(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert run("build", str(small_corpus), "--out", str(out), "-q").exit_code == 0
    before = (out / "corpuskit.json").read_bytes()
    result = run("build", str(small_corpus), "--out", str(out), "--force", "--seed", "1", "-q")
    assert result.exit_code == 0
    assert (out / "corpuskit.json").read_bytes() != before


def test_a_report_inside_out_is_a_usage_error(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("build", str(small_corpus), "--out", str(out), "--report", str(out / "r.json"))
    assert result.exit_code == 2 and "--report" in result.output
    assert not out.exists()


def test_missing_source_is_a_usage_error(tmp_path: Path) -> None:
    result = run("build", str(tmp_path / "nope"), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2


def test_no_source_is_a_usage_error() -> None:
    assert run("build").exit_code == 2


def test_bad_option_value_is_a_usage_error(small_corpus: Path, tmp_path: Path) -> None:
    result = run("build", str(small_corpus), "--out", str(tmp_path / "o"), "--eval-ratio", "2")
    assert result.exit_code == 2
    assert "--eval-ratio" in result.output


def test_bad_source_id_regex_is_a_usage_error(small_corpus: Path, tmp_path: Path) -> None:
    result = run("build", str(small_corpus), "--out", str(tmp_path / "o"), "--source-id", "([")
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_report_json_is_written(small_corpus: Path, tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    result = run(
        "build",
        str(small_corpus),
        "--out",
        str(tmp_path / "o"),
        "--min-chars",
        "50",
        "--report",
        str(report),
        "-q",
    )
    assert result.exit_code == 0
    assert json.loads(report.read_text())["counts"]["kept"] == 12


def test_example_corpus_builds(tmp_path: Path) -> None:
    out = tmp_path / "example"
    result = run("build", "--example", "--out", str(out))
    assert result.exit_code == 0, result.output
    counts = json.loads((out / "corpuskit.json").read_text())["counts"]
    assert counts["kept"] >= 30
    assert counts["read"] == counts["kept"] + counts["duplicates"] + sum(
        counts["rejected"].values()
    )


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "corpuskit", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "corpuskit" in result.stdout
