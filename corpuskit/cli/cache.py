"""`corpuskit cache info|prune`: look after the map-stage cache (corpuskit.cache)."""

from __future__ import annotations

from pathlib import Path

import click

from corpuskit.errors import CorpuskitError


def cache_folder() -> Path:
    from corpuskit.cache import default_folder

    return default_folder()


@click.group()
def cache() -> None:
    """Look after the map-stage cache (see `corpuskit build --cache`).

    \b
    Examples:
      corpuskit cache info
      corpuskit cache prune --older-than 30
    """


_CACHE_OPTION = click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="The cache folder. Default: the user cache folder.",
)


@cache.command("info")
@_CACHE_OPTION
def cache_info(cache_dir: Path | None) -> None:
    """Where the cache is, how many articles and whole files it holds, and its size on disk.

    \b
    Examples:
      corpuskit cache info
      corpuskit cache info --cache /scratch/corpuskit-cache
    """
    import sqlite3

    from corpuskit.cache import info

    folder = cache_dir or cache_folder()
    try:
        got = info(folder)
    except sqlite3.Error as exc:
        raise CorpuskitError(f"{folder} does not hold a usable cache: {exc}") from None
    click.echo(f"cache: {got.folder}")
    click.echo(f"  entries: {got.entries:,} ({_mb(got.value_bytes)} of results)")
    if got.whole_files:
        click.echo(f"  whole files: {got.whole_files:,} ({_mb(got.whole_file_bytes)})")
    click.echo(f"  on disk: {_mb(got.file_bytes)}")
    if got.oldest_use is not None and got.newest_use is not None:
        click.echo(f"  last used: {_day(got.oldest_use)} (oldest) to {_day(got.newest_use)}")


@cache.command("prune")
@_CACHE_OPTION
@click.option(
    "--older-than",
    "older_than",
    type=click.FloatRange(min=0),
    help="Remove entries not used for this many days.",
)
@click.option(
    "--max-mb",
    type=click.FloatRange(min=0),
    help="Then remove the least recently used entries until the results take at most this "
    "many megabytes (0: remove everything).",
)
def cache_prune(cache_dir: Path | None, older_than: float | None, max_mb: float | None) -> None:
    """Remove old entries, or the least recently used ones beyond a size.

    \b
    Examples:
      corpuskit cache prune --older-than 30
      corpuskit cache prune --max-mb 2000
    """
    import sqlite3

    from corpuskit.cache import prune

    if older_than is None and max_mb is None:
        raise click.UsageError("say what to remove: --older-than DAYS and/or --max-mb MB")
    folder = cache_dir or cache_folder()
    max_bytes = None if max_mb is None else int(max_mb * 1_000_000)
    try:
        pruned = prune(folder, older_than, max_bytes)
    except sqlite3.Error as exc:
        raise CorpuskitError(f"{folder} does not hold a usable cache: {exc}") from None
    click.echo(f"removed {pruned.entries:,} entries ({_mb(pruned.value_bytes)}) from {folder}")


def _mb(size: int) -> str:
    return f"{size / 1_000_000:,.1f} MB"


def _day(day: int) -> str:
    import time

    return time.strftime("%Y-%m-%d", time.gmtime(day * 86400))
