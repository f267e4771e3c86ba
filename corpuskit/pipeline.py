"""Wires the stages: read → map → plan → write → report.

``build()`` is the library entry point the CLI calls. The artifact is written into a
temporary folder and swapped in at the end (:mod:`corpuskit.output.staging`), so a failed
or interrupted build never leaves a half-written artifact behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Protocol

import pyarrow as pa

from corpuskit import mapstage, schema
from corpuskit.config import BuildConfig
from corpuskit.errors import CorpuskitError
from corpuskit.executors import make_executor
from corpuskit.filecache import make_schedule
from corpuskit.layout import WORK_DIR
from corpuskit.output.documents import write_documents
from corpuskit.output.manifest import read_pins, write_manifest
from corpuskit.output.spill import Spill, SpillPart, spill_schema, write_part
from corpuskit.output.staging import staging
from corpuskit.output.write import reject_row, reject_writer, write_splits
from corpuskit.output.writer import Shards
from corpuskit.plan import Plan, Planner
from corpuskit.record import KeyBatch, RawRecord, Reject
from corpuskit.report import BuildReport, NothingKept
from corpuskit.sources import SourceStats, iter_marked, iter_records
from corpuskit.storage import is_url

__all__ = ["BuildProgress", "BuildReport", "NothingKept", "Validation", "build", "validate"]


def build(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    config: BuildConfig | None = None,
    force: bool = False,
    wait: bool = False,
    progress: BuildProgress | None = None,
) -> BuildReport:
    """Build the artifact for ``sources`` into ``out``; returns what was counted.

    ``sources`` and ``out`` may be URLs of any filesystem fsspec knows (see
    :mod:`corpuskit.storage`).
    ``force``: replace an existing artifact (never a folder corpuskit did not build).
    ``wait``: wait for another build of ``out`` to finish instead of failing at once.
    ``progress``: told where the build is (:class:`BuildProgress`), e.g. to draw it.
    Raises ``CorpuskitError`` subclasses: ``OutputError`` for an unusable ``out``
    (checked before any work), ``NothingKept``, ``SourceError``, ``ConfigError``.
    """
    config = config or BuildConfig()
    report = BuildReport(name=config.name, out=os.fspath(out) if is_url(out) else str(Path(out)))
    t0 = time.perf_counter()
    with staging(out, force, sources, wait) as tmp:
        pins = read_pins(config.previous) if config.previous else {}
        work = tmp / WORK_DIR  # the spill and the near-dup signatures; removed at the end
        work.mkdir()
        stats = SourceStats()
        spill = Spill()
        rejects = reject_writer(tmp, config)

        def write_rejects(batch: Sequence[Reject]) -> None:
            for r in batch:
                rejects.write(reject_row(r))

        plan = _read_map_plan(
            sources, config, work, report, write_rejects, stats, spill, pins, t0, progress
        )

        # write: shards, the card, the manifest
        if progress is not None:
            progress.stage("write")
        t2 = time.perf_counter()
        split_files, dup_files = write_splits(tmp, spill, plan, config, report)
        reject_files = rejects.close()
        report.timings["write"] = time.perf_counter() - t2
        if report.kept == 0:
            raise NothingKept(report)
        shutil.rmtree(tmp / WORK_DIR, ignore_errors=True)
        shards = Shards(tuple(split_files), reject_files, dup_files)
        digests = write_documents(tmp, config, report, shards)
        write_manifest(tmp, config, report, stats, shards, plan, known=digests)
    report.timings["total"] = time.perf_counter() - t0
    return report


def _read_map_plan(
    sources: Sequence[str | os.PathLike[str]],
    config: BuildConfig,
    work: Path,
    report: BuildReport,
    on_rejects: Callable[[Sequence[Reject]], None],
    stats: SourceStats,
    spill: Spill,
    pins: dict[str, str],
    t0: float,
    progress: BuildProgress | None = None,
) -> Plan:
    """Read and map every record, then decide duplicates, clusters and the split.

    Whoever maps a batch spills its kept rows into ``work`` (added to ``spill``); keys go
    to the planner, rejects to ``on_rejects``; ``report`` counts it all.
    """
    planner = Planner(
        config.near_dup,
        config.near_dups,
        config.eval_ratio,
        config.seed,
        stratify=config.stratify_language,
        folder=work,
    )
    if progress is not None:
        progress.stage("map")
    done = rejected = 0
    # closing(): on an error or interrupt the pool is shut down here, in order, not
    # whenever the garbage collector finalises the generator (at interpreter exit).
    with contextlib.closing(_map(sources, config, stats, work, report)) as results:
        for result, part in results:
            if part is not None:
                spill.add(part)
            if result.key_batch is not None:
                planner.add_batch(result.key_batch)
            else:
                planner.add(result.keys)
            on_rejects(result.rejects)
            report.add_batch(result)
            if progress is not None:
                done += (part.rows if part is not None else 0) + len(result.rejects)
                rejected += len(result.rejects)
                progress.mapped(done, rejected, stats.bytes_read)
    report.finish_map(stats, time.perf_counter() - t0)

    # plan: duplicates, clusters and the split, from the keys alone
    if progress is not None:
        progress.stage("global")
    t1 = time.perf_counter()
    plan = planner.decide(pins)
    planner.close()  # its signature file is in the work folder, removed by the caller
    report.add_plan(plan)
    report.timings.update(
        {
            "global": time.perf_counter() - t1,
            "global.near_dup": plan.near_dup_seconds,
            "global.containment": plan.containment_seconds,
        }
    )
    return plan


class BuildProgress(Protocol):
    """What a build tells a progress display: the stage it enters (``"map"``: reading
    and the map stage; ``"global"``; ``"write"``), and after each map-stage batch the
    records done, the rejects so far and the input bytes read."""

    def stage(self, name: str) -> None: ...

    def mapped(self, records: int, rejected: int, bytes_read: int) -> None: ...


@dataclass
class Validation:
    """What a build would do: ``report`` (read, rejected by reason, duplicates; ``kept``
    is what would be kept) and up to ``examples`` rejects of each reason as
    ``(file:line, detail)``."""

    report: BuildReport
    examples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @property
    def kept(self) -> int:
        return self.report.kept


def validate(
    sources: Sequence[str | os.PathLike[str]],
    config: BuildConfig | None = None,
    examples: int = 3,
) -> Validation:
    """A dry run of :func:`build`: reads, maps and plans exactly as a build would, and
    writes nothing but temporary files (under ``TMPDIR``, removed at the end). Raises what
    ``build`` raises, except ``OutputError`` and ``NothingKept``."""
    config = config or BuildConfig()
    report = BuildReport(name=config.name, out="")
    found: dict[str, list[tuple[str, str]]] = {}

    def collect(batch: Sequence[Reject]) -> None:
        for r in batch:
            shown = found.setdefault(str(r.reason), [])
            if len(shown) < examples:
                shown.append((str(r.provenance), r.detail))

    t0 = time.perf_counter()
    pins = read_pins(config.previous) if config.previous else {}
    with tempfile.TemporaryDirectory(prefix="corpuskit-validate-") as scratch:
        _read_map_plan(
            sources, config, Path(scratch), report, collect, SourceStats(), Spill(), pins, t0
        )
    report.kept = report.read - report.duplicates - sum(report.rejected.values())
    report.timings["total"] = time.perf_counter() - t0
    return Validation(report, dict(sorted(found.items())))


def _map(
    sources: Sequence[str | os.PathLike[str]],
    config: BuildConfig,
    stats: SourceStats,
    spill_folder: Path,
    report: BuildReport,
) -> Generator[Mapped, None, None]:
    """The map stage's results, batch by batch, in input order, each with the spill part
    its kept rows went to; checks at the end that every record read came back (as a row
    or a reject). With a cache, large files found in it whole are not read
    (:mod:`corpuskit.filecache`); ``report`` counts them."""
    # Arguments are read in a fixed order, so `build a b` and `build b a` agree.
    ordered = sorted(sources, key=os.fspath)
    schedule, files = make_schedule(config, spill_folder)
    items = (
        iter_records(ordered, config.source, stats)
        if files is None
        else iter_marked(ordered, config.source, stats, files)
    )
    executor = make_executor(
        config.jobs,
        preload=_WORKER_MODULES,
        setup=use_system_allocator,
        kind=config.executor,
        describe=_batch_start,
    )
    in_process = config.jobs <= 1 and config.executor == "local"
    state = mapstage.MapState(config) if in_process else None
    # make_state travels by name, like the map function (tests patch it).
    factory = (lambda: state) if state is not None else partial(mapstage.make_state, config)
    # The map function travels by name (patched in tests to stop a worker mid-batch).
    # Ray workers may run on other machines, where the spill folder is not: their parts
    # come back through Ray's object store and are written here.
    work = partial(
        map_and_spill,
        mapstage.process_batch,
        str(spill_folder),
        ship=config.executor == "ray",
    )
    results = executor.map(factory, work, schedule.batches(items))
    mapped = 0
    try:
        # closing these generators closes the executor's
        with (
            contextlib.closing(results),
            contextlib.closing(schedule.results(results)) as ordered_results,
        ):
            for result, part in ordered_results:
                mapped += (part.rows if part is not None else 0) + len(result.rejects)
                yield result, part
    finally:
        if files is not None:
            report.files_from_cache = files.found
            report.cache_corrupt += files.cache.corrupt
            files.close()
    # "read" is what the sources yielded, not what came back from the map stage, so a
    # record lost between the two cannot balance the books by vanishing from both.
    if mapped != stats.records:
        raise CorpuskitError(
            f"internal error: {stats.records:,} records were read but the map stage "
            f"accounted for {mapped:,}; no artifact was written (this is a bug in "
            "corpuskit; please report it)"
        )


#: What a pool worker imports: this module (map_and_spill travels by name), the map stage,
#: and pandas, which pyarrow imports at its first ``pa.array`` call (to check for pandas
#: objects).
_WORKER_MODULES = ("corpuskit.pipeline", "corpuskit.mapstage", "pandas")


def use_system_allocator() -> None:
    """Make Arrow allocate with the C library's malloc in this process.

    pyarrow's wheels default to mimalloc, which keeps freed memory for reuse: the build
    process of a 20k-article build peaked at 269 MB with it and at 204 MB with the system
    allocator, pool workers at 197/150 MB against 183/128 MB, at the same speed (measured
    here). A process-wide setting: the CLI calls this for its own process, and pool
    workers for theirs (only in processes the pool started); ``build()`` called as a
    library leaves the caller's choice alone.

    With glibc, blocks of ``MMAP_THRESHOLD`` bytes or more are also made to come from
    their own mappings, always: glibc otherwise raises its threshold as large blocks are
    freed (up to 32 MB), after which the global stage's and write stage's arrays came
    from the heap and stayed resident once freed.
    """
    pa.set_memory_pool(pa.system_memory_pool())
    _fixed_mmap_threshold(MMAP_THRESHOLD)


#: Bytes from which glibc's malloc serves a block from its own mapping, fixed (see
#: use_system_allocator). glibc starts at 128 KiB; at that size the map stage's token
#: arrays were mapped and unmapped per batch, +2-4 CPU s per 20k articles (measured);
#: at 1 MiB that cost was within noise.
MMAP_THRESHOLD = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h


def _fixed_mmap_threshold(size: int) -> None:
    """``mallopt(M_MMAP_THRESHOLD, size)`` where the C library has ``mallopt`` (glibc);
    elsewhere nothing."""
    try:
        # The symbols already loaded into this process, the C library's among them
        # (find_library would start a subprocess to look for it).
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return
    mallopt(_M_MMAP_THRESHOLD, size)


#: A batch of the map stage's input: (sequence number, record or reject) pairs.
Batch = Sequence[tuple[int, RawRecord | Reject]]

#: A map-stage result, and the spill part of its kept rows (None when it kept none).
Mapped = tuple[mapstage.BatchResult, SpillPart | None]

_SPILL_SCHEMA = spill_schema(schema.RECORD_SCHEMA)


def map_and_spill(
    process: Callable[[mapstage.MapState, Batch], mapstage.BatchResult],
    folder: str,
    state: mapstage.MapState,
    batch: Batch,
    ship: bool = False,
) -> Mapped:
    """Run the map stage (``process``) over one batch and write its kept rows as a spill
    part, where the batch ran: rows never travel back to the build process, only keys and
    rejects. With ``ship`` the part's bytes travel back instead, for the build process to
    write (a worker on another machine cannot write into the build's folder).

    The part is named by the batch's first sequence number, which no other batch has.
    """
    result = process(state, batch)
    # Keys travel as columns: a few objects to unpickle per batch, not ~12 per record.
    result.key_batch, result.keys = KeyBatch.from_keys(result.keys), []
    if not result.rows:
        return result, None
    path = Path(folder) / f"part-{batch[0][0]:012d}.arrow"
    part = write_part(result.rows, _SPILL_SCHEMA, path, ship)
    result.rows = []
    return result, part


def _batch_start(batch: Batch) -> str:
    """Where a batch starts, for error messages: ``file:line``."""
    return str(batch[0][1].provenance) if batch else "an empty batch"
