"""`corpuskit inspect` and `corpuskit diff`: look into artifacts (corpuskit.output.explore)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

_ARTIFACT = click.Path(path_type=Path, exists=True, file_okay=False)


def _top(counts: dict[str, int], n: int = 8) -> str:
    shown = ", ".join(f"{k} {v:,}" for k, v in list(counts.items())[:n])
    more = len(counts) - n
    return (shown or "none") + (f" (+{more:,} more)" if more > 0 else "")


@click.command()
@click.argument("path", type=_ARTIFACT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--samples", default=3, show_default=True, help="Sample rows to show.")
def inspect(path: Path, as_json: bool, samples: int) -> None:
    """What the artifact in PATH holds: splits, languages, sources, sizes, sample rows.

    \b
    Examples:
      corpuskit inspect dist/news
      corpuskit inspect dist/news --json | jq .splits
    """
    from corpuskit.output.explore import inspect_artifact

    got = inspect_artifact(path, samples=samples)
    if as_json:
        click.echo(json.dumps(got, indent=2, ensure_ascii=False, default=str))
        return
    total = sum(got["splits"].values())
    click.echo(
        f"{got['name']} ({got['path']}): {total:,} articles, {len(got['languages'])} "
        f"languages, {len(got['sources'])} sources, {got['bytes']['total'] / 1e6:,.1f} MB"
    )
    click.echo("  splits: " + _top(got["splits"]))
    click.echo("  languages: " + _top(got["languages"]))
    click.echo("  sources: " + _top(got["sources"]))
    click.echo(f"  rejected: {_top(got['rejected'])}; duplicates dropped: {got['duplicates']:,}")
    if got["personal_data"]:
        click.echo("  personal data found: " + _top(got["personal_data"]))
    for row in got["samples"]:
        text = " ".join(row["text"].split())[:100]
        title = f"{row['title']}: " if row["title"] else ""
        click.echo(
            f"  sample ({row['split']}, {row['language']}, {row['source_id']}): {title}{text}"
        )


@click.command()
@click.argument("old", type=_ARTIFACT)
@click.argument("new", type=_ARTIFACT)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.option("--samples", default=5, show_default=True, help="Ids shown per kind of change.")
def diff(old: Path, new: Path, as_json: bool, samples: int) -> None:
    """What changed from the artifact OLD to NEW: articles added, removed, changed (same
    source and URL or title, new text) and moved between splits.

    \b
    Examples:
      corpuskit diff dist/news-v1 dist/news-v2
      corpuskit diff dist/news-v1 dist/news-v2 --json | jq .moved
    """
    from corpuskit.output.explore import diff_artifacts

    got: dict[str, Any] = diff_artifacts(old, new, samples=samples)
    if as_json:
        click.echo(json.dumps(got, indent=2, ensure_ascii=False))
        return
    click.echo(
        f"{got['old']} -> {got['new']}: added {got['added']:,}, removed {got['removed']:,}, "
        f"changed {got['changed']:,}, moved {got['moved']:,}, unchanged {got['unchanged']:,}"
    )
    shown = got["samples"]
    for rid in shown["added"]:
        click.echo(f"  + {rid}")
    for rid in shown["removed"]:
        click.echo(f"  - {rid}")
    for pair in shown["changed"]:
        click.echo(f"  ~ {pair['old']} -> {pair['new']} ({pair['url'] or pair['title']})")
    for move in shown["moved"]:
        click.echo(f"  > {move['id']}: {move['from']} -> {move['to']}")
