"""The map stage: a batch of raw records in, kept rows + rejects + small keys out.

``process_batch`` runs the steps of :data:`corpuskit.mapstage.steps.STEPS` in order over
one batch (the contract is in :mod:`corpuskit.mapstage.base`). It is a pure function of the
batch and a ``MapState`` built once per worker from the config, so it runs unchanged inline,
in a process pool or on a cluster. Every record leaves as exactly one kept row or one
reject; an exception while processing one record becomes an ``internal_error`` reject for
that record, never a failed build.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from corpuskit import language
from corpuskit.cache import MapCache
from corpuskit.clean import Cleaner
from corpuskit.config import BuildConfig
from corpuskit.mapstage.base import Batch, BatchResult, Item, run_step
from corpuskit.mapstage.cached import (
    CachedResults,
    assemble,
    encode,
    fresh_outcomes,
    settings_digest,
)
from corpuskit.mapstage.steps import STEPS, parse_published, scrub_rejects
from corpuskit.record import RawRecord, Reject
from corpuskit.sourceid import SourceIdRule

__all__ = ["BatchResult", "MapState", "make_state", "parse_published", "process_batch"]


class MapState:
    """Per-worker state: compiled cleaning rules, a seeded detector, the source-id rule,
    and this process's connection to the cache (``config.cache``; None: no cache)."""

    def __init__(self, config: BuildConfig):
        self.config = config
        self.cleaner = Cleaner(config.clean)
        self.detector = language.make_detector(config.language)
        self.rule = SourceIdRule(config.source_id)
        self.validation = config.validation
        self.cache = MapCache(config.cache) if config.cache else None
        self.settings = settings_digest(config) if self.cache is not None else b""


def make_state(config: BuildConfig) -> MapState:
    return MapState(config)


def process_batch(state: MapState, batch: Sequence[tuple[int, RawRecord | Reject]]) -> BatchResult:
    """Validate, clean, tag and fingerprint one batch of ``(seq, record)`` pairs.

    Records the sources already rejected (a file that could not be read) only get their
    source id. The others go through every step; rows and keys come out in input order,
    and so do the rejects, so no output depends on where batch boundaries fall. With a
    cache, records found there skip the steps (:mod:`corpuskit.mapstage.cached`).
    """
    cache = state.cache
    if cache is None or not cache.enabled:
        result = _process(state, batch)[0]
        if cache is not None:
            result.cache_problem = cache.problem
        return result
    t0 = time.perf_counter()
    corrupt = cache.corrupt
    near = state.config.near_dup
    lookup = CachedResults(
        cache, state.settings, batch, near.num_perm * 4 if near.enabled else None
    )
    todo = [(seq, record) for seq, record in batch if seq not in lookup.hits]
    t1 = time.perf_counter()
    fresh, work = _process(state, todo)
    t2 = time.perf_counter()
    outcomes = fresh_outcomes(fresh, work.rejects, work.tallies)
    cache.put(
        (lookup.keys[seq], encode(outcome))
        for seq, outcome in outcomes.items()
        if seq in lookup.keys
    )
    result = assemble(batch, lookup.hits, fresh, work.rejects, work.tallies)
    result.seconds["cache"] = (t1 - t0) + (time.perf_counter() - t2)
    result.cache_problem = cache.problem
    result.cache_corrupt = cache.corrupt - corrupt
    return result


def _process(
    state: MapState, batch: Sequence[tuple[int, RawRecord | Reject]]
) -> tuple[BatchResult, Batch]:
    """Every step over ``batch``: the result, and the batch as the steps left it (its
    rejects and tallies by sequence number)."""
    stats = BatchResult(language_engine=state.detector.engine)
    work = Batch([])
    for seq, record in batch:
        if isinstance(record, Reject):
            if record.source_id is None:
                record.source_id = state.rule.derive(record.provenance.file)[0]
            work.rejects.append((seq, record))
        else:
            work.items.append(Item(seq, record))
    for step in STEPS:
        run_step(step, state, work, stats)
    scrub_rejects(state, work)
    stats.rejects = [r for _, r in sorted(work.rejects, key=lambda pair: pair[0])]
    for seq in sorted(work.tallies):
        stats.count(work.tallies[seq])
    return stats, work
