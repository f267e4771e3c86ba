"""`corpuskit validate`: a dry run of `build` (corpuskit.pipeline.validate), taking build's
options (the same click parameters, minus the ones that only say where the artifact goes)."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from corpuskit import interrupts
from corpuskit.cli.card import PREFIX as CARD_PREFIX


def _validate(strict: bool, examples: int, as_json: bool, **options: Any) -> None:
    from corpuskit.cli import _config_from, _one_line

    with interrupts.deferred():  # see build
        from corpuskit import pipeline
    from corpuskit.language import never_tagged

    sources, config = _config_from(options)
    for warning in never_tagged(config.languages, bool(config.source.language_field)):
        click.echo(f"warning: {warning}", err=True)
    pipeline.use_system_allocator()
    got = pipeline.validate(sources, config, examples=examples)
    report = got.report
    if as_json:
        data = {
            "counts": report.counts,
            "examples": {
                reason: [{"where": where, "detail": detail} for where, detail in shown]
                for reason, shown in got.examples.items()
            },
            "warnings": report.warnings(),
        }
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        rejected = sum(report.rejected.values())
        click.echo(
            f"Would keep {report.kept:,} of {report.read:,} records; duplicates "
            f"{report.duplicates:,} (exact {report.exact_duplicates:,}, near "
            f"{report.near_duplicates:,}); rejected {rejected:,}"
        )
        if report.rejected:
            click.echo("  rejected: " + report.rejects_by_count())
        for reason, shown in got.examples.items():
            for where, detail in shown:
                click.echo("  " + _one_line(f"{reason}: {where}: {detail}")[:300])
        click.echo("Nothing was written.")
    for warning in report.warnings():
        click.echo(f"warning: {warning}", err=True)
    if strict and report.rejected:
        sys.exit(1)


#: Build options that only say where and how the artifact is written.
_WRITE_ONLY = {"out", "name", "force", "wait", "report_path", "quiet", "as_json"}


def make_validate(build: click.Command) -> click.Command:
    """The validate command, with ``build``'s options but the write-only ones."""
    return click.Command(
        "validate",
        callback=_validate,
        params=[
            *(
                p
                for p in build.params
                if p.name not in _WRITE_ONLY and not (p.name or "").startswith(CARD_PREFIX)
            ),
            click.Option(
                ["--strict"], is_flag=True, help="Exit 1 if any record would be rejected."
            ),
            click.Option(
                ["--examples"], default=3, show_default=True, help="Rejects shown per reason."
            ),
            click.Option(["--json", "as_json"], is_flag=True, help="Print JSON instead of text."),
        ],
        help="""A dry run of `build`: what would be kept and rejected, by reason, with examples.

        Takes build's options; reads, cleans, tags and de-duplicates exactly as a build would,
        and writes nothing (temporary files only). With --strict, exits 1 if any record would
        be rejected.

        \b
        Examples:
          corpuskit validate articles/ --min-chars 300
          corpuskit validate feed.jsonl --text-field body --strict
        """,
    )
