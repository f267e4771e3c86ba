"""The command line: help with examples, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from corpuskit.cli import main


def run(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


def test_help_has_examples() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "Examples:" in result.output


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, command in sorted(group.commands.items()):
        found.append((*prefix, name))
        if isinstance(command, click.Group):
            found += _commands(command, (*prefix, name))
    return found


@pytest.mark.parametrize("command", _commands(main), ids=" ".join)
def test_every_command_has_help_with_examples(command: tuple[str, ...]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0, result.output
    assert "Examples:" in result.output and f"corpuskit {' '.join(command)}" in result.output


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


def test_json_prints_the_report_instead_of_the_summary(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    result = run("build", str(small_corpus), "--out", str(out), "--min-chars", "50", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)  # the whole output is the JSON document
    assert report["counts"]["kept"] == 12 and report["out"] == str(out)
    assert "Built" not in result.output


def test_the_example_corpus_has_its_documented_outcome(tmp_path: Path) -> None:
    """corpuskit/examples/news/README.md, "Expected outcome", holds for the defaults."""
    out = tmp_path / "example"
    result = run("build", "--example", "--out", str(out))
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "corpuskit.json").read_text())
    assert manifest["counts"] == {
        "read": 45,
        "kept": 39,
        "duplicates": 2,
        "rejected": {"empty": 2, "not_text": 1, "too_short": 1},
    }
    assert manifest["splits"] == {"train": 34, "eval": 5}
    assert manifest["inputs"]["skipped"] == {".md": 1, ".png": 1}
    rejects = {r["file"]: r["reason"] for r in _rows(out / "rejects")}
    assert rejects == {
        "news/broken/scrambled.txt": "not_text",
        "news/diario-del-sur/2026-03-13-borrador.txt": "empty",
        "news/harbor-gazette/2026-03-05-breaking.txt": "too_short",
        "news/harbor-gazette/2026-03-11-draft.txt": "empty",
    }
    kept = {(r["source_id"], r["title"]): r for r in _rows(out / "data")}
    ferry = kept["harbor-gazette", "Island ferry to run hourly from April under new timetable"]
    dredging = kept[
        "northline-times", "Dredging contract awarded for Port Alder's silted inner basin"
    ]
    duplicates = {
        (r["file"], r["kind"]): (r["duplicate_of"], r["similarity"])
        for r in _rows(out / "duplicates")
    }
    assert duplicates == {  # similarity: 1 for a copy, the MinHash estimate for a near one
        ("news/harbor-gazette/2026-03-07-harbour-dredging.txt", "exact"): (dredging["id"], 1.0),
        ("news/wire/agency-feed.jsonl", "near"): (ferry["id"], 0.8828125),
    }
    assert Counter(r["language"] for r in kept.values()) == {
        "en": 20,
        "es": 4,
        "fr": 3,
        "de": 3,
        "uk": 3,
        "ru": 2,
        "pt": 2,
        "it": 2,
    }
    # Frozen ids and content hashes: a change here re-ids every published article (and
    # breaks --previous), so it must be deliberate.
    assert (ferry["id"], ferry["content_hash"]) == (
        "399b2c5b7aba68980797",
        "9d260cdf22a8f5e13dde5ecf3195daa7",
    )
    assert (dredging["id"], dredging["content_hash"]) == (
        "69aeb453e6f384893e2c",
        "621f9c7d210a0b57a3f7762bcd203245",
    )
    tram = kept["kyiv-evening", "У Києві запустять новий трамвайний маршрут до лівого берега"]
    assert (tram["id"], tram["language"]) == ("384e6d7684d659fb3f05", "uk")  # cp1251 decoded


def _rows(folder: Path) -> list[dict[str, Any]]:
    return [r for p in sorted(folder.glob("*.parquet")) for r in pq.read_table(p).to_pylist()]


def test_python_dash_m_runs_the_cli() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "corpuskit", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0 and "corpuskit" in result.stdout


def test_executor_ray_without_ray_installed_is_a_one_line_error(
    small_corpus: Path, tmp_path: Path, monkeypatch: Any
) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError
    out = tmp_path / "out"
    result = run("build", str(small_corpus), "--out", str(out), "--executor", "ray")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "pip install 'corpuskit[ray]'" in result.output
    assert not out.exists()


def test_an_unknown_executor_is_a_usage_error(small_corpus: Path, tmp_path: Path) -> None:
    result = run("build", str(small_corpus), "--out", str(tmp_path / "o"), "--executor", "spark")
    assert result.exit_code == 2 and "'spark' is not one of 'local', 'ray'" in result.output
