"""The build options that name the input's own fields: ``--id-field``, ``--keep-fields``
and ``--language-field`` (one decorator, placed beside ``--text-field``), and the
SourceConfig settings they give."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import click

from corpuskit.config import ALL_FIELDS, SourceConfig, default, help_text

F = TypeVar("F", bound=Callable[..., Any])


def field_options(command: F) -> F:
    """Add the three options to ``command`` (in this order, under the ones above)."""
    options = [
        click.option(
            "--id-field",
            default=default(SourceConfig, "id_field"),
            show_default=True,
            help=help_text(SourceConfig, "id_field"),
        ),
        click.option(
            "--keep-fields",
            default=ALL_FIELDS,
            show_default=True,
            help=help_text(SourceConfig, "keep_fields"),
        ),
        click.option("--language-field", help=help_text(SourceConfig, "language_field")),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def field_settings(o: Mapping[str, Any]) -> dict[str, Any]:
    """The SourceConfig settings of the options in ``o`` (a command's parameters by name;
    missing ones take their defaults). ``--keep-fields '*'`` is every field, ``''`` none."""
    keep = o.get("keep_fields", ALL_FIELDS)
    return {
        "id_field": o.get("id_field", default(SourceConfig, "id_field")) or None,
        "keep_fields": None if keep == ALL_FIELDS else (keep or ""),
        "language_field": o.get("language_field") or None,
    }
