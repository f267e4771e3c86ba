"""The manifest (``corpuskit.json``): how the artifact was made, what it holds, checksums.

Also reads what an earlier artifact published (``--previous``): the split of every id.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import posixpath
import time
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from corpuskit.config import BuildConfig
from corpuskit.errors import ConfigError
from corpuskit.layout import DATA_DIR, MANIFEST
from corpuskit.output.writer import Shards, checksums, sha256_file
from corpuskit.plan import Plan
from corpuskit.report import BuildReport
from corpuskit.sources import SourceStats
from corpuskit.split import SPLITS
from corpuskit.storage import Remote, locate
from corpuskit.versions import installed

#: Distributions whose versions shape the output; the manifest records each.
VERSIONED = (
    "corpuskit",
    "datasets",
    "pyarrow",
    "langdetect",
    "langdetect-rs",
    "ftfy",
    "selectolax",
    "rensa",
    "charset-normalizer",
)


def read_pins(previous: str | os.PathLike[str]) -> dict[str, str]:
    """id → split of every record published in an earlier artifact (a folder, or a URL
    of any filesystem fsspec knows)."""
    pins: dict[str, str] = {}
    where = locate(previous, "--previous")
    files: list[tuple[str, Any]]
    if isinstance(where, Remote):
        fs = where.fs
        if not fs.exists(where.join(MANIFEST)):
            raise ConfigError(
                f"--previous {where.url}: not a corpuskit artifact (no {MANIFEST} there)"
            )
        found = sorted(str(p) for p in fs.glob(where.join(DATA_DIR, "*.parquet")))
        files = [(posixpath.basename(p), partial(fs.open, p, "rb")) for p in found]
    else:
        found_local = sorted(Path(where, DATA_DIR).glob("*.parquet"))
        files = [(p.name, partial(open, p, "rb")) for p in found_local]
    for name, opener in files:
        split = name.split("-", 1)[0]
        if split not in SPLITS:
            continue
        with opener() as fh:
            for batch in pq.ParquetFile(fh).iter_batches(columns=["id"], batch_size=65536):
                for rid in batch.column(0).to_pylist():
                    pins[rid] = split
    return pins


def previous_manifest_sha256(previous: str | os.PathLike[str]) -> str:
    """sha256 of an earlier artifact's manifest (a folder, or a URL)."""
    where = locate(previous, "--previous")
    if isinstance(where, Remote):
        return hashlib.sha256(where.fs.cat_file(where.join(MANIFEST))).hexdigest()
    return sha256_file(Path(where) / MANIFEST)


def versions(engine: str) -> dict[str, str]:
    """Python, the language engine and every VERSIONED distribution's version."""
    return {
        "python": platform.python_version(),
        "language_engine": engine,
        **installed(VERSIONED, "not installed"),
    }


def write_manifest(
    folder: Path,
    config: BuildConfig,
    report: BuildReport,
    stats: SourceStats,
    shards: Shards,
    plan: Plan,
    known: dict[str, str] | None = None,
) -> None:
    """Write ``folder/corpuskit.json``; every other file of the artifact must exist already
    (their checksums are part of it). ``built_at`` only when SOURCE_DATE_EPOCH is set, so
    the manifest is otherwise byte-identical between builds."""
    manifest: dict[str, Any] = {
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
        # kind -> personal data found by the pii step (what was done: config.clean.pii)
        "personal_data": report.pii,
        "duplicates": {
            "exact": report.exact_duplicates,
            "near": report.near_duplicates,
            "clusters": report.clusters,
            "audit": report.audit,
        },
        "splits": {s.name: s.num_examples for s in shards.splits},
        # what the card is made of, so `corpuskit card` can write it again
        "report": report.card_json(),
        "shards": shards.to_json(),
        "files": checksums(folder, known=known),
    }
    if config.source.language_field:
        # records tagged by their label, without a usable one, and where the detector differed
        manifest["language_field"] = {
            "from_field": report.language_from_field,
            "fallbacks": report.language_fallbacks,
            "disagreements": report.language_disagreements,
            "disagreements_total": report.language_disagreements_total,
        }
    if config.previous:
        manifest["previous"] = {
            "manifest_sha256": previous_manifest_sha256(config.previous),
            "pinned_groups": report.split_pinned,
            "held": len(plan.held),
            "conflicts": report.split_conflicts,
        }
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        manifest["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(epoch)))
    (folder / MANIFEST).write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False, sort_keys=False, default=str) + "\n",
        encoding="utf-8",
    )
