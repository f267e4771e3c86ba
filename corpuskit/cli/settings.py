"""`corpuskit.toml`: build settings kept in a file. `corpuskit init` writes a commented one;
`build` and `validate` read `./corpuskit.toml` (or `--config FILE`), and flags given on
the command line override it.

The keys are the build options' long names with "_" for "-" (`eval_ratio`, `min_chars`,
`no_near_dups`, `cache`), so the file is documented by `corpuskit build --help` and
cannot drift from it: both are generated from the same click parameters. The file's
values become the options' defaults (click's ``default_map``), and click checks and
converts them exactly as it does a flag's value.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import click

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

#: The file `build` reads from the current folder when no --config is given.
SETTINGS_FILE = "corpuskit.toml"
#: Flags for one run only: a file may not set them (the command line has no flag to turn
#: them off again, and a stored `force = true` would replace every artifact silently).
PER_RUN = frozenset({"force", "wait", "example", "quiet", "json"})


def setting_key(param: click.Parameter) -> str | None:
    """The file key of a command option: its longest name, without dashes, "-" as "_"
    (None for arguments and --help)."""
    if not isinstance(param, click.Option) or param.name in (None, "help", "config"):
        return None
    longest = max(param.opts, key=len)
    return longest.lstrip("-").replace("-", "_")


def load_settings(path: Path, known: list[click.Parameter]) -> dict[str, Any]:
    """The settings in ``path`` as {parameter name: value}, for the parameters ``known``.

    Raises ``click.BadParameter`` for a file that cannot be read or parsed, and for a key
    that names no build option (the message lists the keys there are).
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise click.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise click.BadParameter(f"{path} is not valid TOML: {exc}") from None
    by_key = {key: p for p in known if (key := setting_key(p)) is not None}
    unknown = sorted(set(data) - set(by_key))
    if unknown:
        raise click.BadParameter(
            f"{path}: unknown setting {unknown[0]!r}; the settings are the build options' "
            f"names: {', '.join(sorted(by_key))}"
        )
    once = sorted(set(data) & PER_RUN)
    if once:
        raise click.BadParameter(
            f"{path}: {once[0]!r} cannot be a setting: it is for one run, and a flag on the "
            "command line could not turn it off again; pass it as a flag"
        )
    out = {}
    for key, value in data.items():
        param = by_key[key]
        assert param.name is not None
        if isinstance(value, list) and not param.multiple:
            value = ",".join(str(v) for v in value)  # languages = ["en", "fr"] → "en,fr"
        out[param.name] = value
    return out


def apply_settings(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path | None:
    """The --config callback (eager, so it runs before the other options): the file's
    settings become the command's defaults. Without --config, ./corpuskit.toml is read
    when there is one."""
    path = value
    if path is None and Path(SETTINGS_FILE).is_file():
        path = Path(SETTINGS_FILE)
    if path is None:
        return value
    from corpuskit.cli import build  # every build option may be in the file

    settings = load_settings(path, build.params)
    mine = {p.name for p in ctx.command.params}
    ctx.default_map = {
        **(ctx.default_map or {}),
        **{k: v for k, v in settings.items() if k in mine},
    }
    return path


config_option = click.option(
    "--config",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    is_eager=True,
    expose_value=False,
    callback=apply_settings,
    help=f"Read settings from this TOML file (default: ./{SETTINGS_FILE} if present); "
    "flags given here override them.",
)


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)  # a TOML basic string


def template(command: click.Command) -> str:
    """A commented corpuskit.toml: every option of ``command``, its help and default."""
    ctx = click.Context(command)
    lines = [
        "# corpuskit settings, read by `corpuskit build` and `corpuskit validate` in this",
        "# folder (or given with --config FILE). Uncomment what you want to change; a flag",
        "# on the command line overrides the value here. `corpuskit build --help` says more.",
        "",
    ]
    for param in command.params:
        key = setting_key(param)
        if key is None or key in PER_RUN:
            continue
        assert isinstance(param, click.Option)
        if param.help:
            lines += textwrap.wrap(
                param.help, width=88, initial_indent="# ", subsequent_indent="# "
            )
        default = param.get_default(ctx, call=False)
        if param.is_flag:
            shown = _toml_value(default is True)
        elif isinstance(default, (str, int, float)) or (
            isinstance(default, (list, tuple)) and default
        ):
            shown = _toml_value(default)
        else:  # no default (click's "unset"): an example of the type
            shown = "[]" if param.multiple else '""'
        lines += [f"# {key} = {shown}", ""]
    return "\n".join(lines)


@click.command()
@click.option("--force", "-f", is_flag=True, help=f"Replace an existing {SETTINGS_FILE}.")
def init(force: bool) -> None:
    """Write a commented corpuskit.toml in the current folder: every build option with its
    default, ready to uncomment.

    \b
    Examples:
      corpuskit init
      corpuskit build articles/          # reads ./corpuskit.toml
    """
    from corpuskit.cli import build

    path = Path(SETTINGS_FILE)
    if path.exists() and not force:
        raise click.UsageError(f"{path} already exists: pass --force to replace it")
    path.write_text(template(build), encoding="utf-8")
    click.echo(f"wrote {path}: uncomment the settings to change, then run corpuskit build")
