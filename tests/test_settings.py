"""corpuskit.toml: `corpuskit init` writes it; build and validate read it; flags win."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from corpuskit.cli import build, main
from corpuskit.cli.settings import PER_RUN, setting_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _manifest_config(out: Path) -> dict[str, object]:
    return json.loads((out / "corpuskit.json").read_text())["config"]  # type: ignore[no-any-return]


def test_init_writes_every_build_option_commented_out(here: Path) -> None:
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 0, result.output
    text = (here / "corpuskit.toml").read_text()
    assert tomllib.loads(text) == {}  # everything commented out: the defaults stand
    keys = [k for p in build.params if (k := setting_key(p)) and k not in PER_RUN]
    for key in keys:
        assert f"\n# {key} = " in text, key
    values = [line[2:] for line in text.splitlines() if re.match(r"# [a-z_]+ = ", line)]
    uncommented = "\n".join(values)
    assert set(tomllib.loads(uncommented)) == set(keys)  # each value line is valid TOML


def test_init_does_not_replace_a_file_without_force(here: Path) -> None:
    (here / "corpuskit.toml").write_text("min_chars = 10\n")
    result = CliRunner().invoke(main, ["init"])
    assert result.exit_code == 2
    assert "corpuskit.toml already exists: pass --force to replace it" in result.output
    assert (here / "corpuskit.toml").read_text() == "min_chars = 10\n"


def test_build_reads_the_settings_in_the_current_folder(here: Path) -> None:
    (here / "corpuskit.toml").write_text('eval_ratio = 0.3\nmin_chars = 50\nname = "mine"\n')
    result = CliRunner().invoke(main, ["build", "--example", "--out", "o", "--no-cache"])
    assert result.exit_code == 0, result.output
    config = _manifest_config(here / "o")
    assert (config["eval_ratio"], config["min_chars"], config["name"]) == (0.3, 50, "mine")


def test_a_flag_overrides_the_file(here: Path) -> None:
    (here / "corpuskit.toml").write_text("eval_ratio = 0.3\n")
    args = ["build", "--example", "--out", "o", "--eval-ratio", "0.2", "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert _manifest_config(here / "o")["eval_ratio"] == 0.2


def test_config_names_another_file(here: Path) -> None:
    (here / "team.toml").write_text("min_chars = 77\nno_near_dups = true\n")
    args = ["build", "--example", "--out", "o", "--config", "team.toml", "--no-cache"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    config = _manifest_config(here / "o")
    assert config["min_chars"] == 77 and config["near_dup"]["enabled"] is False  # type: ignore[index]


def test_validate_reads_the_same_file_and_ignores_output_settings(here: Path) -> None:
    (here / "corpuskit.toml").write_text('min_chars = 10\nout = "dist/x"\nlicense = "mit"\n')
    result = CliRunner().invoke(main, ["validate", "--example", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert "rejected 3" in result.output  # too_short is gone with min_chars = 10


def test_an_unknown_setting_is_named_with_the_known_ones(here: Path) -> None:
    (here / "corpuskit.toml").write_text("min_char = 10\n")
    result = CliRunner().invoke(main, ["build", "--example", "--out", "o"])
    assert result.exit_code == 2
    assert "corpuskit.toml: unknown setting 'min_char'; the settings are the build" in (
        result.output
    )
    assert "min_chars" in result.output and not (here / "o").exists()


def test_a_file_that_is_not_toml_is_one_line(here: Path) -> None:
    (here / "corpuskit.toml").write_text("min_chars = = 10\n")
    result = CliRunner().invoke(main, ["build", "--example", "--out", "o"])
    assert result.exit_code == 2
    assert "corpuskit.toml is not valid TOML" in result.output


def test_a_value_of_the_wrong_type_is_refused_as_a_flag_would_be(here: Path) -> None:
    (here / "corpuskit.toml").write_text('min_chars = "many"\n')
    result = CliRunner().invoke(main, ["build", "--example", "--out", "o"])
    assert result.exit_code == 2
    assert "'many' is not a valid integer" in result.output


def test_a_list_is_given_to_a_comma_separated_option(here: Path) -> None:
    (here / "corpuskit.toml").write_text('languages = ["en", "uk"]\n')
    result = CliRunner().invoke(main, ["build", "--example", "--out", "o", "--no-cache"])
    assert result.exit_code == 0, result.output
    assert _manifest_config(here / "o")["languages"] == ["en", "uk"]


@pytest.mark.parametrize("key", sorted(PER_RUN))
def test_a_flag_for_one_run_cannot_be_a_setting(here: Path, key: str) -> None:
    (here / "corpuskit.toml").write_text(f"{key} = true\n")
    result = CliRunner().invoke(main, ["build", "--example", "--out", "o"])
    assert result.exit_code == 2
    assert f"{key!r} cannot be a setting: it is for one run" in result.output
