"""Wires the stages: sources → map stage (executor) → global stage → write stage.

``build()`` is the library entry point the CLI calls. The artifact is written into a
temporary folder and swapped in at the end (see ``artifact``), so a failed or interrupted
build never leaves a half-written artifact behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from corpuskit import artifact, card, mapstage, schema
from corpuskit.config import BuildConfig
from corpuskit.errors import CorpuskitError
from corpuskit.executors import make_executor
from corpuskit.layout import CARD, DATA_DIR, DUPLICATES_DIR, MANIFEST, REJECTS_DIR, WORK_DIR
from corpuskit.plan import DROPPED, Plan, Planner
from corpuskit.record import RawRecord, Reject
from corpuskit.sources import SourceStats, iter_records
from corpuskit.spill import Spill
from corpuskit.split import EVAL, SPLITS, TRAIN
from corpuskit.writer import ShardWriter, SplitFiles, checksums, sha256_file


class NothingKept(CorpuskitError):
    """Every record was rejected or dropped: there is no dataset to write."""

    def __init__(self, report: BuildReport):
        reasons = (
            ", ".join(
                f"{k} {v:,}" for k, v in sorted(report.rejected.items(), key=lambda kv: -kv[1])
            )
            or "none"
        )
        super().__init__(
            f"no article was kept out of {report.read:,} records read (rejected: {reasons}; "
            f"duplicates: {report.duplicates:,}); nothing was written. Check --text-field, "
            "--min-chars and --languages"
            + (
                f"; {sum(report.files_skipped.values())} files were skipped as not articles "
                f"({', '.join(sorted(report.files_skipped))})"
                if report.files_skipped
                else ""
            )
        )


@dataclass
class BuildReport:
    """Everything a build counted. ``counts`` is the accounting the tests check."""

    name: str
    out: str
    read: int = 0
    kept: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    splits: dict[str, int] = field(default_factory=dict)
    languages: dict[str, int] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    clean_steps: dict[str, int] = field(default_factory=dict)
    chars_in: int = 0
    chars_removed: int = 0
    files_read: int = 0
    files_skipped: dict[str, int] = field(default_factory=dict)
    clusters: int = 0
    clustered_records: int = 0
    split_forced: int = 0
    split_pinned: int = 0
    split_conflicts: int = 0
    held: list[tuple[str, str, str]] = field(default_factory=list)
    audit: dict[str, Any] = field(default_factory=dict)
    source_rule_misses: int = 0
    meta_not_understood: dict[str, int] = field(default_factory=dict)
    language_corrections: dict[str, int] = field(default_factory=dict)
    index_bytes: int = 0
    language_engine: str = ""
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def duplicates(self) -> int:
        return self.exact_duplicates + self.near_duplicates

    @property
    def counts(self) -> dict[str, Any]:
        return {
            "read": self.read,
            "kept": self.kept,
            "duplicates": self.duplicates,
            "rejected": dict(sorted(self.rejected.items())),
        }

    def balanced(self) -> bool:
        return self.read == self.kept + self.duplicates + sum(self.rejected.values())

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items()}
        data["counts"] = self.counts
        return data


def _batches(
    items: Iterable[RawRecord | Reject], size: int
) -> Iterator[list[tuple[int, RawRecord | Reject]]]:
    batch: list[tuple[int, RawRecord | Reject]] = []
    for seq, item in enumerate(items):
        batch.append((seq, item))
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _reject_row(r: Reject) -> dict[str, Any]:
    return {
        "reason": str(r.reason),
        "detail": r.detail,
        "file": r.provenance.file,
        "line": r.provenance.line,
        "source_id": r.source_id,
        "text": r.text,
    }


def read_pins(previous: str | os.PathLike[str]) -> dict[str, str]:
    """id → split of every record published in an earlier artifact."""
    pins: dict[str, str] = {}
    for path in sorted(Path(previous, DATA_DIR).glob("*.parquet")):
        split = path.name.split("-", 1)[0]
        if split not in SPLITS:
            continue
        for batch in pq.ParquetFile(path).iter_batches(columns=["id"], batch_size=65536):
            for rid in batch.column(0).to_pylist():
                pins[rid] = split
    return pins


def versions(engine: str) -> dict[str, str]:
    out = {"python": platform.python_version(), "language_engine": engine}
    for dist in (
        "corpuskit",
        "datasets",
        "pyarrow",
        "langdetect",
        "langdetect-rs",
        "ftfy",
        "selectolax",
        "rensa",
        "charset-normalizer",
    ):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def build(
    sources: Sequence[str | os.PathLike[str]],
    out: str | os.PathLike[str],
    config: BuildConfig | None = None,
    force: bool = False,
    wait: bool = False,
) -> BuildReport:
    """Build the artifact for ``sources`` into ``out``; returns what was counted.

    ``force``: replace an existing artifact (never a folder corpuskit did not build).
    ``wait``: wait for another build of ``out`` to finish instead of failing at once.
    Raises ``CorpuskitError`` subclasses: ``OutputError`` for an unusable ``out``
    (checked before any work), ``NothingKept``, ``SourceError``, ``ConfigError``.
    """
    config = config or BuildConfig()
    out_path = Path(out)
    report = BuildReport(name=config.name, out=str(out_path))
    t0 = time.perf_counter()
    with artifact.staging(out_path, force, sources, wait) as tmp:
        pins = read_pins(config.previous) if config.previous else {}
        stats = SourceStats()
        # Arguments are read in a fixed order, so `build a b` and `build b a` agree.
        items = iter_records(sorted(sources, key=os.fspath), config.source, stats)
        spill = Spill(tmp / WORK_DIR, schema.RECORD_SCHEMA)
        planner = Planner(
            config.near_dup,
            config.near_dups,
            config.eval_ratio,
            config.seed,
            stratify=config.stratify_language,
        )
        rejects = ShardWriter(tmp, REJECTS_DIR, "rejects", schema.REJECT_SCHEMA, config.shard_bytes)
        rejected: Counter[str] = Counter()
        clean_steps: Counter[str] = Counter()
        meta_not_understood: Counter[str] = Counter()
        language_corrections: Counter[str] = Counter()
        step_seconds: Counter[str] = Counter()
        mapped = 0
        executor = make_executor(config.jobs)
        state = mapstage.MapState(config) if config.jobs <= 1 else None
        factory = (lambda: state) if state is not None else partial(mapstage.make_state, config)
        results = executor.map(factory, mapstage.process_batch, _batches(items, config.batch_size))
        # closing(): on an error or interrupt the pool is shut down here, in order, not
        # whenever the garbage collector finalises the generator (at interpreter exit).
        with contextlib.closing(results):
            for result in results:
                for row in result.rows:
                    spill.add(row)
                planner.add(result.keys)
                for r in result.rejects:
                    rejected[str(r.reason)] += 1
                    rejects.write(_reject_row(r))
                clean_steps.update(result.clean_steps)
                report.chars_in += result.chars_in
                report.chars_removed += result.chars_removed
                report.source_rule_misses += result.source_rule_misses
                meta_not_understood.update(result.meta_not_understood)
                language_corrections.update(result.language_corrections)
                mapped += len(result.rows) + len(result.rejects)
                step_seconds.update(result.seconds)
                report.language_engine = result.language_engine
        report.timings["map"] = time.perf_counter() - t0
        # "read" is what the sources yielded, not what came back from the map stage, so a
        # record lost between the two cannot balance the books by vanishing from both.
        report.read = stats.records
        if mapped != stats.records:
            raise CorpuskitError(
                f"internal error: {stats.records:,} records were read but the map stage "
                f"accounted for {mapped:,}; no artifact was written (this is a bug in "
                "corpuskit; please report it)"
            )
        report.timings.update({f"map.{k}": v for k, v in step_seconds.items()})
        report.rejected = dict(rejected)
        report.clean_steps = dict(clean_steps)
        report.meta_not_understood = dict(sorted(meta_not_understood.items()))
        report.language_corrections = dict(sorted(language_corrections.items()))
        report.files_read = stats.files_read
        report.files_skipped = dict(stats.files_skipped)

        t1 = time.perf_counter()
        plan = planner.decide(pins)
        report.timings["global"] = time.perf_counter() - t1
        report.timings["global.near_dup"] = plan.near_dup_seconds
        report.timings["global.containment"] = plan.containment_seconds

        t2 = time.perf_counter()
        split_files, dup_files = _write(tmp, spill, plan, config, report)
        reject_files = rejects.close()
        report.timings["write"] = time.perf_counter() - t2
        _fill_plan(report, plan)
        if report.kept == 0:
            raise NothingKept(report)

        shutil.rmtree(tmp / WORK_DIR, ignore_errors=True)
        card_text = card.render(config, report, split_files, reject_files, dup_files)
        (tmp / CARD).write_text(card_text, encoding="utf-8")
        manifest = {
            "name": config.name,
            "config": config.to_manifest(),
            "versions": versions(report.language_engine),
            "inputs": {
                "files": [
                    {"path": f.path, "bytes": f.size, "sha256": f.sha256}
                    for f in sorted(stats.inputs, key=lambda f: f.path)
                ],
                "skipped": dict(sorted(stats.files_skipped.items())),
            },
            "counts": report.counts,
            # field -> values set to null because they could not be read; the articles stayed
            "metadata_not_understood": report.meta_not_understood,
            "duplicates": {
                "exact": report.exact_duplicates,
                "near": report.near_duplicates,
                "clusters": report.clusters,
                "audit": report.audit,
            },
            "splits": {s.name: s.num_examples for s in split_files},
            "files": checksums(tmp),
        }
        if config.previous:
            manifest["previous"] = {
                "manifest_sha256": sha256_file(Path(config.previous) / MANIFEST),
                "pinned_groups": report.split_pinned,
                "held": len(plan.held),
                "conflicts": report.split_conflicts,
            }
        epoch = os.environ.get("SOURCE_DATE_EPOCH")
        if epoch and epoch.isdigit():
            manifest["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))
        (tmp / MANIFEST).write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n",
            encoding="utf-8",
        )
    report.timings["total"] = time.perf_counter() - t0
    return report


def _write(
    tmp: Path, spill: Spill, plan: Plan, config: BuildConfig, report: BuildReport
) -> tuple[list[SplitFiles], SplitFiles]:
    writers = {
        s: ShardWriter(tmp, DATA_DIR, s, schema.RECORD_SCHEMA, config.shard_bytes) for s in SPLITS
    }
    dups = ShardWriter(
        tmp, DUPLICATES_DIR, "duplicates", schema.DUPLICATE_SCHEMA, config.shard_bytes
    )
    languages: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    fate, dup_of, kind, similarity = plan.arrays()
    for table in spill.sorted_batches():
        seqs = table.column("_seq").to_numpy()
        codes = fate[seqs]
        for code, split in enumerate(SPLITS):
            mask = codes == code
            if not mask.any():
                continue
            kept = table.filter(pa.array(mask))
            clusters = [
                plan.cluster_of.get(seq, rid)
                for seq, rid in zip(
                    kept.column("_seq").to_pylist(), kept.column("id").to_pylist(), strict=True
                )
            ]
            kept = kept.set_column(
                kept.schema.get_field_index("dup_cluster"), "dup_cluster", pa.array(clusters)
            )
            writers[split].write_table(kept)
            languages.update(kept.column("language").to_pylist())
            sources.update(kept.column("source_id").to_pylist())
        mask = codes == DROPPED
        if mask.any():
            gone = table.filter(pa.array(mask))
            rows = gone.column("_seq").to_numpy()
            dups.write_table(
                pa.table(
                    {
                        "id": gone.column("id"),
                        "duplicate_of": pa.array([dup_of[r] for r in rows.tolist()]),
                        "kind": pa.array([kind[r] for r in rows.tolist()]),
                        "similarity": pa.array(similarity[rows], pa.float32()),
                        "file": gone.column("_file"),
                        "line": gone.column("_line"),
                        "source_id": gone.column("source_id"),
                        "text": gone.column("text"),
                    }
                )
            )
    files = [writers[s].close() for s in (TRAIN, EVAL)]
    report.kept = sum(f.num_examples for f in files)
    report.splits = {f.name: f.num_examples for f in files}
    report.languages = dict(languages.most_common())
    report.sources = dict(sorted(sources.items(), key=lambda kv: (-kv[1], kv[0])))
    return files, dups.close()


def _fill_plan(report: BuildReport, plan: Plan) -> None:
    report.exact_duplicates = plan.exact_duplicates
    report.near_duplicates = plan.near_duplicates
    report.clusters = plan.clusters
    report.clustered_records = plan.clustered_records
    report.index_bytes = plan.index_bytes
    report.held = sorted(plan.held)
    if plan.split_plan is not None:
        report.split_forced = len(plan.split_plan.forced)
        report.split_pinned = plan.split_plan.pinned
        report.split_conflicts = len(plan.split_plan.conflicts)
    if plan.audit is not None:
        report.audit = dict(plan.audit.__dict__)
