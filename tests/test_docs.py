"""The README's option table and commands say what `--help` says (as sqlite-utils checks
its docs), so the docs cannot drift from the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import click

from corpuskit.cli import main

README = Path(__file__).resolve().parents[1] / "README.md"
TABLE_HEADER = "| option | default | what it does |"


def _table_rows() -> list[list[str]]:
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(TABLE_HEADER) + 2  # past the header and its |---| line
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
        rows.append([c.strip() for c in cells])
    return rows


def _options_in(cell: str) -> list[str]:
    return re.findall(r"`(--[a-z][a-z-]*)", cell)


def _build_options() -> dict[str, click.Option]:
    build = main.commands["build"]
    return {
        name: param
        for param in build.params
        if isinstance(param, click.Option)
        for name in param.opts
        if name.startswith("--") and name != "--help"
    }


def test_every_build_option_is_in_the_readme_table() -> None:
    documented = {opt for row in _table_rows() for opt in _options_in(row[0])}
    assert sorted(set(_build_options()) - documented) == []


def test_every_option_in_the_readme_table_exists() -> None:
    documented = {opt for row in _table_rows() for opt in _options_in(row[0])}
    assert sorted(documented - set(_build_options())) == []


def _has_default(param: click.Option) -> bool:
    """False for flags and for options whose default is computed (None / unset)."""
    return (
        not param.is_flag
        and param.default is not None
        and not repr(param.default).startswith("Sentinel")
    )


def test_the_readme_table_gives_the_cli_defaults() -> None:
    options = _build_options()
    checked = 0
    for first, default, _ in _table_rows():
        names = _options_in(first)
        values = re.findall(r"`([^`]*)`", default)
        if default == "—":
            for name in names:
                assert not _has_default(options[name]), f"{name}: README says no default"
            continue
        if len(values) != len(names):
            continue  # e.g. "`text`, …" for five field options: not a one-to-one list
        for name, value in zip(names, values, strict=True):
            if _has_default(options[name]):
                assert value == str(options[name].default), f"{name}: README says {value}"
                checked += 1
    assert checked >= 10  # the table's single defaults are really compared


def test_the_readme_shows_every_command() -> None:
    text = README.read_text(encoding="utf-8")
    for command in main.commands:
        assert f"corpuskit {command}" in text, command


def test_every_command_the_readme_runs_exists() -> None:
    text = README.read_text(encoding="utf-8")
    in_code = re.findall(r"(?:^|`)corpuskit ([a-z]+)", text, flags=re.M)
    assert in_code and set(in_code) <= set(main.commands), set(in_code) - set(main.commands)
