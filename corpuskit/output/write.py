"""The write stage: kept rows into their split's Parquet shards, dropped copies into the
duplicates config, and the report's counts of what was written.

Rows come back from the spill in input order (``Spill.sorted_batches``), so shard contents
do not depend on batch sizes or on how many workers ran the map stage.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pyarrow as pa

from corpuskit import schema
from corpuskit.config import BuildConfig
from corpuskit.layout import DATA_DIR, DUPLICATES_DIR, REJECTS_DIR
from corpuskit.output.spill import Spill
from corpuskit.output.writer import ShardWriter, SplitFiles
from corpuskit.plan import DROPPED, KINDS, Plan
from corpuskit.record import Reject
from corpuskit.report import BuildReport
from corpuskit.split import EVAL, SPLITS, TRAIN


def reject_writer(tmp: Path, config: BuildConfig) -> ShardWriter:
    """The writer of the rejects config (fed while the map stage runs)."""
    return ShardWriter(tmp, REJECTS_DIR, "rejects", schema.REJECT_SCHEMA, config.shard_bytes)


def reject_row(r: Reject) -> dict[str, object]:
    """A reject as a row of the rejects config."""
    return {
        "reason": str(r.reason),
        "detail": r.detail,
        "file": r.provenance.file,
        "line": r.provenance.line,
        "source_id": r.source_id,
        "text": r.text,
        "source_record_id": r.source_record_id,
    }


def write_splits(
    tmp: Path, spill: Spill, plan: Plan, config: BuildConfig, report: BuildReport
) -> tuple[list[SplitFiles], SplitFiles]:
    """The write stage: every spilled row to its split's shards or to the duplicates
    config, as the plan says; fills the report's kept, split, language and source counts.
    Returns (train and eval files, duplicates files)."""
    writers = {
        s: ShardWriter(tmp, DATA_DIR, s, schema.RECORD_SCHEMA, config.shard_bytes, "language")
        for s in SPLITS
    }
    dups = ShardWriter(
        tmp, DUPLICATES_DIR, "duplicates", schema.DUPLICATE_SCHEMA, config.shard_bytes
    )
    languages: dict[str, Counter[str]] = {s: Counter() for s in SPLITS}
    sources: Counter[str] = Counter()
    for table in spill.sorted_batches():
        seqs = table.column("_seq").to_numpy()
        codes = plan.fate[seqs]
        for code, split in enumerate(SPLITS):
            mask = codes == code
            if not mask.any():
                continue
            kept = table.filter(pa.array(mask))
            kept = kept.set_column(
                kept.schema.get_field_index("dup_cluster"),
                "dup_cluster",
                plan.target_ids(seqs[mask]),
            )
            writers[split].write_table(kept)
            languages[split].update(kept.column("language").to_pylist())
            sources.update(kept.column("source_id").to_pylist())
        mask = codes == DROPPED
        if mask.any():
            gone = table.filter(pa.array(mask))
            rows = seqs[mask]
            dups.write_table(
                pa.table(
                    {
                        "id": gone.column("id"),
                        "duplicate_of": plan.target_ids(rows),
                        "kind": pa.array([KINDS[k] for k in plan.kind[rows].tolist()]),
                        "similarity": pa.array(plan.similarity[rows], pa.float32()),
                        "file": gone.column("_file"),
                        "line": gone.column("_line"),
                        "source_id": gone.column("source_id"),
                        "text": gone.column("text"),
                        "source_record_id": gone.column("source_record_id"),
                    }
                )
            )
    files = [writers[s].close() for s in (TRAIN, EVAL)]
    report.kept = sum(f.num_examples for f in files)
    report.splits = {f.name: f.num_examples for f in files}
    report.languages = _ranked(sum(languages.values(), Counter()))
    report.languages_by_split = {s: _ranked(languages[s]) for s in (TRAIN, EVAL)}
    report.sources = _ranked(sources)
    return files, dups.close()


def _ranked(counts: Counter[str]) -> dict[str, int]:
    """Most first; ties by name, so the order never depends on the input order."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
