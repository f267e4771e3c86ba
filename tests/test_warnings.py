"""Warnings that prevent wasted builds: printed on stderr, kept in the JSON report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from corpuskit.cli import main

from .conftest import english_article, french_article


def _feed(tmp_path: Path, records: list[dict[str, Any]]) -> Path:
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


def _build(tmp_path: Path, folder: Path, *options: str) -> Any:
    args = ["build", str(folder), "--out", str(tmp_path / "out"), "--no-cache", *options]
    return CliRunner().invoke(main, args)


def test_mostly_too_short_suggests_a_min_chars(tmp_path: Path) -> None:
    records = [{"text": "A short note about the council meeting. " * 3} for _ in range(15)]
    records += [{"text": english_article(i)} for i in range(5)]
    result = _build(tmp_path, _feed(tmp_path, records))
    assert result.exit_code == 0, result.output
    assert (
        "warning: 15 of 20 records (75%) were rejected as too_short: their median length is "
        "120 characters; if they are articles, lower --min-chars (e.g. --min-chars 120)"
    ) in result.stderr


def test_mostly_missing_text_names_the_field_that_holds_it(tmp_path: Path) -> None:
    records = [{"body": english_article(i), "id": i} for i in range(12)]
    records += [{"text": english_article(100 + i)} for i in range(5)]
    result = _build(tmp_path, _feed(tmp_path, records))
    assert result.exit_code == 0, result.output
    assert "12 of 17 records (71%) were rejected as missing_text" in result.stderr
    assert "pass --text-field body" in result.stderr


def test_mostly_other_languages_lists_them(tmp_path: Path) -> None:
    records = [{"text": french_article(i)} for i in range(8)]
    records += [{"text": english_article(i)} for i in range(4)]
    result = _build(tmp_path, _feed(tmp_path, records), "--languages", "en")
    assert result.exit_code == 0, result.output
    assert (
        "8 of 12 records (67%) were rejected as language: their languages: fr 8; add them "
        "to --languages, or leave it out"
    ) in result.stderr


def test_an_empty_split_is_named(tmp_path: Path) -> None:
    result = _build(tmp_path, _feed(tmp_path, [{"text": english_article(1)}]))
    assert result.exit_code == 0, result.output
    assert "warning: split 'eval' is empty" in result.stderr


def test_a_language_code_the_detector_never_gives_is_named_before_reading(
    tmp_path: Path,
) -> None:
    records = [{"text": english_article(i)} for i in range(12)]
    result = _build(tmp_path, _feed(tmp_path, records), "--languages", "en,nb")
    assert result.exit_code == 0, result.output
    assert (
        "warning: --languages 'nb': no article is ever tagged 'nb' (langdetect does not know "
        "it), so every article would be rejected as language; did you mean 'no'"
    ) in result.stderr


def test_a_normal_build_warns_about_nothing(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", "--example", "--out", str(tmp_path / "o")])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_quiet_prints_no_warnings_and_json_keeps_them(tmp_path: Path) -> None:
    records = [{"text": "A short note about the council meeting. " * 3} for _ in range(15)]
    records += [{"text": english_article(i)} for i in range(5)]
    folder = _feed(tmp_path, records)
    quiet = _build(tmp_path, folder, "-q")
    assert quiet.exit_code == 0 and quiet.output == ""
    as_json = _build(tmp_path, folder, "--json", "--force")
    assert "were rejected as too_short" in json.loads(as_json.stdout)["warnings"][0]
