"""The card's settings as options (shared by ``build`` and ``card``), and ``corpuskit card``.

Every option comes from a :class:`corpuskit.cardconfig.CardConfig` field (its name and
help), so ``build --help``, ``card --help``, ``corpuskit init``'s file and the config class
cannot drift apart. In corpuskit.toml the keys are the fields' names (``description``,
``license_name``, ``tags``, ...).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click
from click.core import ParameterSource

from corpuskit.cardconfig import CardConfig
from corpuskit.cli.settings import config_option

F = TypeVar("F", bound=Callable[..., Any])

#: Parameter names of the card options: "card_" + the CardConfig field.
PREFIX = "card_"


def _option(f: dataclasses.Field[Any], as_built: bool) -> click.Option:
    """The option of card setting ``f``; ``as_built``: for ``corpuskit card``, where a
    setting not given keeps the artifact's value (so no default is shown)."""
    help = str(f.metadata.get("help", ""))
    if f.name == "tags":  # one --tag per tag; `tags = [...]` in corpuskit.toml
        help += ' --tag "" clears them.' if as_built else ""
        return click.Option(["--tag", "--tags", PREFIX + f.name], multiple=True, help=help)
    if as_built and f.default is None:
        help += ' "" removes it.'
    return click.Option(
        ["--" + f.name.replace("_", "-"), PREFIX + f.name],
        type=type(f.default) if f.default is not None else str,
        default=None if as_built else f.default,
        show_default=f.default is not None and not as_built,
        help=help,
    )


CARD_OPTIONS = [_option(f, as_built=False) for f in dataclasses.fields(CardConfig)]
AS_BUILT_OPTIONS = [_option(f, as_built=True) for f in dataclasses.fields(CardConfig)]


def card_options(command: F, as_built: bool = False) -> F:
    """Add the card options to a click command (like stacked ``@click.option``)."""
    params = getattr(command, "__click_params__", [])
    params.extend(reversed(AS_BUILT_OPTIONS if as_built else CARD_OPTIONS))  # click reverses
    command.__click_params__ = params  # type: ignore[attr-defined]
    return command


def card_config_from(o: Mapping[str, Any], base: CardConfig | None = None) -> CardConfig:
    """The CardConfig the card options in ``o`` (parameters by name) ask for; those not
    in ``o`` keep ``base``'s values (default: CardConfig's defaults). An empty value
    removes an optional setting (and an empty tag all tags); a license other than
    ``other`` drops the license name and link that only ``other`` has."""
    values = dataclasses.asdict(base or CardConfig())
    for f in dataclasses.fields(CardConfig):
        if PREFIX + f.name not in o:
            continue
        value = o[PREFIX + f.name]
        if f.name == "tags":
            value = tuple(tag for tag in value if tag)
        elif f.default is None and value == "":
            value = None
        values[f.name] = value
    if values["license"] != "other":
        for name in ("license_name", "license_link"):
            if PREFIX + name not in o:
                values[name] = None
    return CardConfig(**values)


@click.command()
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
@config_option
@functools.partial(card_options, as_built=True)
@click.option("--force", "-f", is_flag=True, help="Replace the card even if it was edited by hand.")
def card(path: Path, force: bool, **options: Any) -> None:
    """Write the card (README.md) and its chart of the artifact in PATH again, with new
    card settings: a description, a license, a citation. No rebuild: the manifest
    holds what the card is made of, and the data files are untouched.

    Settings not given here (as flags, or in ./corpuskit.toml or --config) keep the
    values the artifact was built with. The result is byte-identical to a build with
    the same settings. Refuses a card edited by hand (--force replaces it) and an
    artifact whose data files changed.

    \b
    Examples:
      corpuskit card dist/news --description "Local news from 12 sites, 2024-2026."
      corpuskit card dist/news --license cc-by-4.0 --tag journalism
      corpuskit card dist/news --config release.toml
    """
    from corpuskit.output.documents import rewrite

    ctx = click.get_current_context()
    given = {
        name: value
        for name, value in options.items()
        if ctx.get_parameter_source(name) is not ParameterSource.DEFAULT
    }
    changed = rewrite(path, lambda built: card_config_from(given, base=built), force=force)
    if changed:
        click.echo(f"rewrote {', '.join(changed)} in {path}")
    else:
        click.echo(f"{path}: the card already says that; nothing changed")
