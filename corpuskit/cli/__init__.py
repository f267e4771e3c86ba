"""The `corpuskit` command: parse options, call the library, print the outcome.

No work happens here. Errors from the library (``CorpuskitError``) become one line on
stderr and a non-zero exit; so does anything unexpected, with a hint on how to get the
traceback. Ctrl-C and SIGTERM leave the previous artifact untouched and exit 130.
"""

from __future__ import annotations

import contextlib
import json
import os
import posixpath
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import click

from corpuskit import EXAMPLE_CORPUS, __version__, interrupts
from corpuskit.cli.card import card, card_config_from, card_options
from corpuskit.cli.fields import field_options, field_settings
from corpuskit.cli.settings import config_option
from corpuskit.config import (
    CLEAN_STEPS,
    EXECUTORS,
    GROUP_BY_FIELDS,
    NEAR_DUP_POLICIES,
    ON_BAD_FILE,
    PII_ACTIONS,
    BuildConfig,
    CleanConfig,
    NearDupConfig,
    SourceConfig,
    default,
    help_text,
    parse_languages,
)
from corpuskit.errors import BuildInterrupted, CorpuskitError

EPILOG_MAIN = """\b
Examples:
  corpuskit build articles/ --out dist/news
  corpuskit build feed.jsonl.gz more/ --name news --languages en,de --jobs 4
  corpuskit build --example --out dist/example-news
  python -c "import datasets; print(datasets.load_dataset('dist/news'))"
"""

EPILOG_BUILD = """\b
Examples:
  # a folder of .txt files (recursive), one article per file
  corpuskit build ../shared/seeds --out dist/peace-talks
  # JSONL with the article in 'body' and the site in 'site'; English and Ukrainian only
  corpuskit build dump.jsonl --text-field body --source-field site --languages en,uk
  # source id = the folder holding each file; whole sources go to one split
  corpuskit build corpus/ --source-id parent --group-by source_id
  # rebuild, keeping every article of an earlier artifact in its published split
  corpuskit build corpus/ --out dist/news-v2 --previous dist/news
\b
Source ids: --source-id stem (file name, default) | parent (folder of the file) |
top (first folder below SOURCE) | a regex over 'SOURCE-NAME/relative/path' whose
group 'source' (or group 1) is the id. A 'source' field in the input wins.
"""


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


def _fail(message: str, code: int) -> NoReturn:
    click.echo(f"Error: {_one_line(message)}", err=True)
    sys.exit(code)


class Main(click.Group):
    """Turns every failure into one line and an exit code, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with interrupts.stop_on_sigterm():
                return super().invoke(ctx)
        except (KeyboardInterrupt, BuildInterrupted):
            _fail(
                "build interrupted; the previous artifact (if any) is untouched and the "
                "temporary folder was removed",
                130,
            )
        except CorpuskitError as exc:
            _fail(str(exc), exc.exit_code)
        except BrokenPipeError:
            # Whoever read stdout stopped (`corpuskit inspect DIR | head`): stop quietly, as
            # Unix tools do. Point stdout at /dev/null first, or Python's flush at exit
            # raises again (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(1)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:
            if os.environ.get("CORPUSKIT_DEBUG"):
                raise
            _fail(
                f"unexpected {type(exc).__name__}: {exc} (this is a bug in corpuskit; "
                "run with CORPUSKIT_DEBUG=1 to see the traceback and report it)",
                1,
            )


@click.group(cls=Main, epilog=EPILOG_MAIN, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="corpuskit")
def main() -> None:
    """Turn raw articles into a clean, documented Hugging Face dataset.

    Articles (.txt folders, JSONL, CSV, Parquet) are validated, cleaned, tagged by
    language and source, de-duplicated, split into train and eval without leakage,
    and written as Parquet shards with a dataset card that `datasets.load_dataset`
    reads as-is.
    """


class Location(click.ParamType):  # type: ignore[type-arg]  # generic from click 8.2
    """A local path (checked as ``click.Path`` checks it) or a URL of a filesystem fsspec
    knows (``s3://…``, ``file://…``), passed on as written: the library checks it."""

    name = "path|url"

    def __init__(self, **path_options: Any) -> None:
        self.path = click.Path(path_type=Path, **path_options)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from corpuskit.storage import is_url

        if isinstance(value, str) and is_url(value):
            return value
        return self.path.convert(value, param, ctx)


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@main.command(epilog=EPILOG_BUILD)
@click.argument("sources", nargs=-1, type=Location(exists=True))
@config_option
@click.option(
    "--out",
    "-o",
    type=Location(),
    help="Artifact folder, or a URL (s3://…, gs://…, file://…). Default: dist/NAME.",
)
@click.option("--name", help="Dataset name (card title, load id). Default: the --out folder name.")
@click.option("--example", is_flag=True, help="Build the example corpus bundled with corpuskit.")
@click.option(
    "--force",
    "-f",
    is_flag=True,
    help="Replace the artifact in --out. Never replaces a folder corpuskit did not build.",
)
@click.option(
    "--wait",
    is_flag=True,
    help="If another build is writing --out, wait for it to finish instead of failing.",
)
@click.option(
    "--eval-ratio",
    type=float,
    default=default(BuildConfig, "eval_ratio"),
    show_default=True,
    help=help_text(BuildConfig, "eval_ratio"),
)
@click.option(
    "--seed",
    type=int,
    default=default(BuildConfig, "seed"),
    show_default=True,
    help=help_text(BuildConfig, "seed"),
)
@click.option(
    "--jobs",
    "-j",
    type=int,
    default=0,
    show_default=True,
    help="Worker processes for the map stage (0 = all cores; a corpus of one batch runs "
    "in-process). Never changes the output.",
)
@click.option(
    "--executor",
    type=click.Choice(EXECUTORS),
    default=default(BuildConfig, "executor"),
    show_default=True,
    help=help_text(BuildConfig, "executor"),
)
@click.option(
    "--batch-size",
    type=int,
    default=default(BuildConfig, "batch_size"),
    show_default=True,
    help=help_text(BuildConfig, "batch_size"),
)
@click.option(
    "--min-chars",
    type=int,
    default=default(BuildConfig, "min_chars"),
    show_default=True,
    help=help_text(BuildConfig, "min_chars"),
)
@click.option(
    "--max-chars",
    type=int,
    default=default(BuildConfig, "max_chars"),
    show_default=True,
    help=help_text(BuildConfig, "max_chars"),
)
@click.option(
    "--languages", help="Keep only these languages, e.g. en,uk (others: reason 'language')."
)
@click.option(
    "--language-threshold",
    type=float,
    default=default(BuildConfig, "language_threshold"),
    show_default=True,
    help=help_text(BuildConfig, "language_threshold"),
)
@click.option(
    "--source-id",
    "source_id",
    default=default(BuildConfig, "source_id"),
    show_default=True,
    help=help_text(BuildConfig, "source_id"),
)
@click.option(
    "--text-field",
    default=default(SourceConfig, "text_field"),
    show_default=True,
    help=help_text(SourceConfig, "text_field"),
)
@click.option("--title-field", default=default(SourceConfig, "title_field"), show_default=True)
@click.option("--url-field", default=default(SourceConfig, "url_field"), show_default=True)
@click.option(
    "--published-field", default=default(SourceConfig, "published_field"), show_default=True
)
@click.option(
    "--source-field",
    default=default(SourceConfig, "source_field"),
    show_default=True,
    help=help_text(SourceConfig, "source_field"),
)
@field_options
@click.option(
    "--on-bad-file",
    type=click.Choice(ON_BAD_FILE),
    default=default(SourceConfig, "on_bad_file"),
    show_default=True,
    help=help_text(SourceConfig, "on_bad_file"),
)
@click.option("--no-clean", is_flag=True, help="Skip cleaning entirely.")
@click.option("--clean-steps", help="Comma-separated cleaning steps to run (default: all).")
@click.option(
    "--boilerplate-rules",
    multiple=True,
    type=click.Path(path_type=Path),
    help="Extra furniture rule file (TOML, like the packaged one). Repeatable.",
)
@click.option(
    "--pii",
    type=click.Choice(PII_ACTIONS),
    default=default(CleanConfig, "pii"),
    show_default=True,
    help="What the pii step does with e-mail addresses, phone numbers, IP addresses, card "
    "numbers and URL tokens: replace them by <EMAIL>, <PHONE>, ...; only count them; or "
    "reject the article.",
)
@click.option(
    "--pii-allow",
    help="Comma-separated networks (192.0.2.0/24), addresses (press@example.org) and "
    "domains (@example.org) that are never personal data (added to the documentation "
    "networks).",
)
@click.option(
    "--near-dups",
    type=click.Choice(NEAR_DUP_POLICIES),
    default=default(BuildConfig, "near_dups"),
    show_default=True,
    help=help_text(BuildConfig, "near_dups"),
)
@click.option(
    "--near-threshold",
    type=float,
    default=default(NearDupConfig, "threshold"),
    show_default=True,
    help=help_text(NearDupConfig, "threshold"),
)
@click.option("--no-near-dups", is_flag=True, help="Only remove exact duplicates.")
@click.option(
    "--group-by",
    type=click.Choice(GROUP_BY_FIELDS),
    help=help_text(BuildConfig, "group_by"),
)
@click.option(
    "--stratify",
    type=click.Choice(["language"]),
    help="Give each language with enough groups its share of eval.",
)
@click.option(
    "--previous",
    type=Location(file_okay=False),
    help="An earlier artifact (folder or URL) whose articles keep their split.",
)
@card_options
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Map-stage cache folder: articles seen before under the same settings are not "
    "processed again; never changes the output. Default: the user cache folder.",
)
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option(
    "--report",
    "report_path",
    type=click.Path(path_type=Path),
    help="Also write the build report as JSON here.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the build report as JSON on stdout instead of the summary.",
)
def build(
    sources: Sequence[Path | str],
    out: Path | str | None,
    name: str | None,
    example: bool,
    force: bool,
    wait: bool,
    eval_ratio: float,
    seed: int,
    jobs: int,
    executor: str,
    batch_size: int,
    min_chars: int,
    max_chars: int,
    languages: str | None,
    language_threshold: float,
    source_id: str,
    text_field: str,
    title_field: str,
    url_field: str,
    published_field: str,
    source_field: str,
    id_field: str,
    keep_fields: str,
    language_field: str | None,
    on_bad_file: str,
    no_clean: bool,
    clean_steps: str | None,
    boilerplate_rules: Sequence[Path],
    pii: str,
    pii_allow: str | None,
    near_dups: str,
    near_threshold: float,
    no_near_dups: bool,
    group_by: str | None,
    stratify: str | None,
    previous: Path | str | None,
    cache_dir: Path | None,
    no_cache: bool,
    report_path: Path | None,
    quiet: bool,
    as_json: bool,
    **card_settings: Any,
) -> None:
    """Build a dataset artifact from SOURCE folders/files.

    SOURCE may be a folder (searched recursively for .txt, .jsonl[.gz], .csv,
    .parquet; other files are skipped and counted) or a single file.
    """
    # A second of imports (datasets, pyarrow, ...): Ctrl-C there is delivered once they
    # are done. A KeyboardInterrupt raised inside the code that `dataclass` or
    # `namedtuple` exec()s leaves CPython flagged to kill itself with SIGINT at exit, so
    # the build exited by signal instead of with 130, and a module half-imported.
    with interrupts.deferred():
        from corpuskit import pipeline

    sources, config = _config_from({**locals(), **card_settings})
    out = out or Path("dist") / config.name
    if (
        report_path is not None
        and isinstance(out, Path)
        and Path(os.path.realpath(out)) in Path(os.path.realpath(report_path)).parents
    ):
        raise click.UsageError(
            f"--report {report_path} is inside --out {out}: a file added to the artifact "
            "makes it fail `corpuskit verify`; write the report elsewhere"
        )
    from corpuskit.language import never_tagged

    for warning in never_tagged(
        config.languages, bool(config.source.language_field)
    ):  # before hours of reading
        click.echo(f"warning: {warning}", err=True)
    pipeline.use_system_allocator()  # this process is corpuskit's own
    with _live_progress(not quiet and not as_json and sys.stderr.isatty(), sources) as shown:
        report = pipeline.build(sources, out, config, force=force, wait=wait, progress=shown)
    report_json = json.dumps(report.to_json(), indent=2, default=str) + "\n"
    if report_path is not None:
        report_path.write_text(report_json)
    if as_json:
        click.echo(report_json, nl=False)
    elif not quiet:
        click.echo(report.summary())
    if not quiet:
        for warning in report.warnings():
            click.echo(f"warning: {warning}", err=True)


def _config_from(o: dict[str, Any]) -> tuple[tuple[Path | str, ...], BuildConfig]:
    """The sources and the BuildConfig that the build options in ``o`` (a command's
    parameters by name) ask for; options a command does not have take their defaults."""
    from dataclasses import replace

    sources: tuple[Path | str, ...] = tuple(o["sources"])
    source_id: str = o.get("source_id", default(BuildConfig, "source_id"))
    if o.get("example"):
        sources = (*sources, Path(EXAMPLE_CORPUS))
        if source_id == "stem":
            source_id = "parent"
    if not sources:
        raise click.UsageError("give at least one SOURCE (a folder or file), or --example")
    out, name = o.get("out"), o.get("name")
    if name is None:
        name = (
            _base_name(out, resolve=False)
            if out is not None
            else ("example-news" if o.get("example") else _base_name(sources[0]).split(".")[0])
        )
    jobs = o["jobs"]
    config = BuildConfig(
        name=name,
        eval_ratio=o["eval_ratio"],
        seed=o["seed"],
        min_chars=o["min_chars"],
        max_chars=o["max_chars"],
        languages=parse_languages(o["languages"]),
        language_threshold=o["language_threshold"],
        source_id=source_id,
        near_dups=o["near_dups"],
        group_by=o["group_by"],
        stratify_language=o["stratify"] == "language",
        card=card_config_from(o),
        jobs=jobs if jobs > 0 else (os.cpu_count() or 1),
        executor=o["executor"],
        batch_size=o["batch_size"],
        cache=None if o["no_cache"] else str(o["cache_dir"] or cache_folder()),
        previous=str(o["previous"]) if o.get("previous") else None,
        source=SourceConfig(
            text_field=o["text_field"],
            title_field=o["title_field"] or None,
            url_field=o["url_field"] or None,
            published_field=o["published_field"] or None,
            source_field=o["source_field"] or None,
            on_bad_file=o["on_bad_file"],
            **field_settings(o),
        ),
        clean=CleanConfig(
            enabled=not o["no_clean"],
            steps=tuple(_csv(o["clean_steps"]) or CLEAN_STEPS),
            boilerplate_rules=tuple(str(p) for p in o["boilerplate_rules"]),
            pii=o["pii"],
            pii_allow=(*default(CleanConfig, "pii_allow"), *_csv(o["pii_allow"])),
        ),
        near_dup=replace(
            NearDupConfig(), enabled=not o["no_near_dups"], threshold=o["near_threshold"]
        ),
    )
    return sources, config


def _live_progress(
    show: bool, sources: Sequence[Path | str]
) -> contextlib.AbstractContextManager[Any]:
    """The progress display on stderr when ``show`` (a terminal), else nothing."""
    if not show:
        return contextlib.nullcontext(None)
    from corpuskit.cli.progress import LiveProgress
    from corpuskit.sources import input_bytes

    return LiveProgress(sys.stderr, input_bytes(sources))


def _base_name(where: Path | str, resolve: bool = True) -> str:
    """The last component of a URL (``s3://b/news/`` → ``news``) or of a path (with
    symbolic links and ``..`` followed when ``resolve``)."""
    if isinstance(where, str):
        return posixpath.basename(where.rstrip("/").split("://", 1)[-1])
    return where.resolve().name if resolve else where.name


@main.command()
@click.argument("path", type=click.Path(path_type=Path, exists=True, file_okay=False))
def verify(path: Path) -> None:
    """Check that the artifact in PATH is intact.

    Every file listed in corpuskit.json must exist with its recorded sha256 and no other
    file may be present; the card's split sizes must match the Parquet row counts, and
    the manifest's counts must add up. Prints "OK: N files verified" (exit 0), or one line
    per problem (exit 1).

    \b
    Examples:
      corpuskit verify dist/news
      corpuskit verify dist/news || echo "rebuild or re-download dist/news"
    """
    from corpuskit.output.verify import verify as verify_artifact

    result = verify_artifact(path)
    if result.ok:
        click.echo(f"OK: {result.files_verified} files verified")
        return
    for problem in result.problems:
        click.echo(_one_line(str(problem)))
    sys.exit(1)


# Command groups in modules of their own, registered here (after main exists).
from corpuskit.cli.cache import cache, cache_folder  # noqa: E402
from corpuskit.cli.explore import diff, inspect  # noqa: E402
from corpuskit.cli.push import push  # noqa: E402
from corpuskit.cli.settings import init  # noqa: E402
from corpuskit.cli.validate import make_validate  # noqa: E402

main.add_command(cache)
main.add_command(card)
main.add_command(inspect)
main.add_command(init)
main.add_command(make_validate(build))
main.add_command(diff)
main.add_command(push)
