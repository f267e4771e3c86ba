"""The map stage's contract: an ordered list of steps over a batch of records.

A step is a small class with two methods:

* ``compute(state, batch)`` returns one result per item of the batch, in order (a list, or
  any sequence the step's ``merge`` can join). It must not change the batch or count
  anything, so the base can run it again on parts of the batch.
* ``apply(state, batch, results, stats)`` stores the results: it sets fields of the
  items' documents, rejects items (:meth:`Batch.reject`; the base then drops them) and
  counts. It must not raise on a strange record: such work belongs in ``compute``.

Everything steps would otherwise each write again lives here, in :func:`run_step`:

* **failure isolation**: when ``compute`` raises for the whole batch, it is run again on
  each item alone; an item that still raises gets the step's ``recover`` result, or (the
  default) becomes an ``internal_error`` reject naming the exception and where it was
  raised. One bad record never fails the build, and never takes its batch with it;
* **timing**: each step's wall time is added to ``stats.seconds[step.timing]``.

The steps themselves are in :mod:`corpuskit.mapstage.steps`; ``process_batch`` in
``__init__`` runs them in order. A step is a pure function of its input and the per-worker
``MapState``, so the stage runs the same inline, in a process pool or on a cluster.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from collections.abc import Sequence, Sized
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast

from corpuskit.record import (
    MAX_REJECT_TEXT,
    Document,
    KeyBatch,
    Keys,
    Provenance,
    RawRecord,
    Reason,
    Reject,
)
from corpuskit.tokens import TokenBatch


@dataclass
class BatchResult:
    """Map output for one batch (rows and keys in input order) and what it counted."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    keys: list[Keys] = field(default_factory=list)
    # The keys as columns, once the batch is ready to travel (see pipeline.map_and_spill).
    key_batch: KeyBatch | None = None
    rejects: list[Reject] = field(default_factory=list)
    clean_steps: Counter[str] = field(default_factory=Counter)
    chars_in: int = 0
    chars_removed: int = 0
    source_rule_misses: int = 0
    # field -> values set to null because they could not be read (the article is kept)
    meta_not_understood: Counter[str] = field(default_factory=Counter)
    # "ko -> zh-Hant": tags langdetect gave that the text's script ruled out
    language_corrections: Counter[str] = field(default_factory=Counter)
    seconds: dict[str, float] = field(default_factory=dict)  # per step, for the report only
    language_engine: str = ""
    #: Records whose result came from the cache (corpuskit.cache), for the report only;
    #: cache entries found corrupt (and recomputed); why the cache is off, if it is.
    cached: int = 0
    cache_corrupt: int = 0
    cache_problem: str | None = None
    # kind -> personal data found by the pii step (corpuskit.clean.pii)
    pii: Counter[str] = field(default_factory=Counter)
    # --language-field: records tagged by their label, records without a usable label
    # (tagged by the detector), and "given -> detected" where the detector named another.
    language_from_field: int = 0
    language_fallbacks: int = 0
    language_disagreements: Counter[str] = field(default_factory=Counter)

    def count(self, tally: Tally) -> None:
        """Add what one record contributed (see :class:`Tally`)."""
        if tally.source_rule_miss:
            self.source_rule_misses += 1
        if tally.published_not_understood:
            self.meta_not_understood["published"] += 1
        if tally.cleaned is not None:
            flags, chars_in, chars_removed = tally.cleaned
            self.clean_steps.update(flags)
            self.chars_in += chars_in
            self.chars_removed += chars_removed
        if tally.correction is not None:
            self.language_corrections[tally.correction] += 1
        for kind, n in tally.pii:
            self.pii[kind] += n
        self.meta_not_understood.update(tally.unread)
        self.language_from_field += tally.language_given
        self.language_fallbacks += tally.language_fallback
        if tally.disagreement is not None:
            self.language_disagreements[tally.disagreement] += 1


@dataclass
class Tally:
    """What one record adds to its batch's statistics, kept per record so that a result
    taken from the cache counts exactly as a fresh one. Steps set it (:meth:`Batch.tally`);
    ``process_batch`` adds every record's to the batch's :class:`BatchResult`, in input
    order."""

    #: The --source-id rule did not match the record's path.
    source_rule_miss: bool = False
    #: A 'published' value was given but could not be read (set to null; article kept).
    published_not_understood: bool = False
    #: (clean flags, input chars, chars removed) once the record passed every clean check.
    cleaned: tuple[tuple[str, ...], int, int] | None = None
    #: "ko -> zh-Hant": a language tag the text's script ruled out.
    correction: str | None = None
    #: (kind, matches) of the personal data the pii step found in the record.
    pii: tuple[tuple[str, int], ...] = ()
    #: Output columns whose input value could not be read (RawRecord.unread).
    unread: tuple[str, ...] = ()
    #: The language came from the --language-field label; the label was missing or named
    #: no language (the detector's answer was used); "given -> detected" when they differ.
    language_given: bool = False
    language_fallback: bool = False
    disagreement: str | None = None


@dataclass
class Item:
    """One record on its way through the steps: its input, then its document."""

    seq: int
    raw: RawRecord
    source_id: str = ""
    doc: Document | None = None
    rejected: bool = False

    @property
    def document(self) -> Document:
        """The document (set by the clean step; later steps may rely on it)."""
        if self.doc is None:
            raise RuntimeError(f"record {self.raw.provenance} has no document yet")
        return self.doc


@dataclass
class Batch:
    """The items still in play, their tokens (once a step tokenised them) and the rejects.

    ``tokens``, when set, holds exactly one entry per item, in item order; :meth:`keep`
    keeps the two aligned.
    """

    items: list[Item]
    tokens: TokenBatch | None = None
    rejects: list[tuple[int, Reject]] = field(default_factory=list)
    #: What each record (by sequence number) adds to the statistics; see :class:`Tally`.
    tallies: dict[int, Tally] = field(default_factory=dict)

    def tally(self, item: Item) -> Tally:
        """``item``'s tally, to set what it counts."""
        found = self.tallies.get(item.seq)
        if found is None:
            found = self.tallies[item.seq] = Tally()
        return found

    def __len__(self) -> int:
        return len(self.items)

    def texts(self) -> list[str]:
        """The current text of each item (its document's once it has one)."""
        return [i.doc.text if i.doc is not None else i.raw.text for i in self.items]

    def part(self, index: int) -> Batch:
        """A batch of item ``index`` alone (with its tokens), to run a step on it alone."""
        tokens = None
        if self.tokens is not None:
            tokens = self.tokens.slice(index, index + 1)
        return Batch([self.items[index]], tokens)

    def keep(self, flags: Sequence[bool]) -> None:
        """Keep the items whose flag is true (and their tokens); the others were rejected."""
        if len(flags) != len(self.items):
            raise ValueError(f"keep got {len(flags)} flags for {len(self.items)} items")
        if all(flags):
            return
        self.items = [item for item, flag in zip(self.items, flags, strict=True) if flag]
        if self.tokens is not None:
            self.tokens = self.tokens.select(flags)

    def reject(self, item: Item, reason: Reason, detail: str, text: str | None = None) -> None:
        """Reject ``item``; ``run_step`` drops it from the batch once the step has applied.

        ``text`` (stored with the reject, cut to MAX_REJECT_TEXT) defaults to the raw input
        text."""
        text = item.raw.text if text is None else text
        item.rejected = True
        raw = item.raw
        reject = make_reject(reason, detail, raw.provenance, text, item.source_id)
        reject.source_record_id = raw.meta.get("id")
        self.rejects.append((item.seq, reject))

    def drop_rejected(self) -> None:
        """Drop the items a step rejected (and their tokens)."""
        if any(item.rejected for item in self.items):
            self.keep([not item.rejected for item in self.items])


def make_reject(
    reason: Reason, detail: str, prov: Provenance, text: str | None, source_id: str | None
) -> Reject:
    if text is not None and len(text) > MAX_REJECT_TEXT:
        text = text[:MAX_REJECT_TEXT]
    return Reject(reason, detail, prov, text, source_id)


def internal_error(exc: BaseException, prov: Provenance, text: str | None) -> Reject:
    """The reject for a record whose processing raised: the exception and where it was."""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    return make_reject(Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}{at}", prov, text, None)


#: What a step's compute returns for a batch: one result per item (a list, or a TokenBatch).
Results = TypeVar("Results", bound=Sized)


class Step(Generic[Results]):
    """One map-stage step; subclasses set ``timing`` and implement compute and apply."""

    #: The key of ``BatchResult.seconds`` this step's time is added to.
    timing: ClassVar[str] = ""

    def active(self, state: Any, batch: Batch) -> bool:
        """Whether the step has anything to do for this batch (default: it has items)."""
        return bool(batch.items)

    def compute(self, state: Any, batch: Batch) -> Results:
        """One result per item of ``batch``; no side effects (see the module docstring)."""
        raise NotImplementedError

    def merge(self, parts: list[Results]) -> Results:
        """Join the results of consecutive parts of a batch (default: lists, joined)."""
        return cast(Results, [result for part in parts for result in cast(list[Any], part)])

    def recover(self, exc: Exception) -> Results | None:
        """The result for an item whose ``compute`` raised alone; None (the default) makes
        it an ``internal_error`` reject."""
        return None

    def apply(self, state: Any, batch: Batch, results: Results, stats: BatchResult) -> None:
        """Store ``results`` (one per item): set document fields, reject items with
        :meth:`Batch.reject`, count. Only bookkeeping: anything that can fail on a strange
        record belongs in ``compute``, where the base isolates it."""
        raise NotImplementedError


def run_step(step: Step[Any], state: Any, batch: Batch, stats: BatchResult) -> None:
    """Run ``step`` over ``batch`` with failure isolation and timing (module docstring)."""
    t0 = time.perf_counter()
    if step.active(state, batch):
        try:
            results = step.compute(state, batch)
        except Exception:
            results = _one_by_one(step, state, batch)
        step.apply(state, batch, results, stats)
        batch.drop_rejected()
    stats.seconds[step.timing] = stats.seconds.get(step.timing, 0.0) + time.perf_counter() - t0


def _one_by_one(step: Step[Results], state: Any, batch: Batch) -> Results:
    """The step's results item by item; an item that raises alone is recovered or rejected
    (and dropped from ``batch``)."""
    parts: list[Results] = []
    keep: list[bool] = []
    for index, item in enumerate(batch.items):
        try:
            parts.append(step.compute(state, batch.part(index)))
        except Exception as exc:
            recovered = step.recover(exc)
            if recovered is not None:
                parts.append(recovered)
            else:
                reject = internal_error(exc, item.raw.provenance, item.raw.text)
                reject.source_record_id = item.raw.meta.get("id")
                batch.rejects.append((item.seq, reject))
                keep.append(False)
                continue
        keep.append(True)
    batch.keep(keep)
    return step.merge(parts)
