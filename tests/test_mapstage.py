"""The map stage's step contract (corpuskit.mapstage.base): isolation, timing, order."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from corpuskit.mapstage import steps
from corpuskit.mapstage.base import Batch, BatchResult, Item, Step, run_step
from corpuskit.record import Provenance, RawRecord, Reason
from corpuskit.tokens import TokenBatch


def _batch(*texts: str) -> Batch:
    return Batch([Item(i, RawRecord(t, Provenance(f"f{i}.txt"))) for i, t in enumerate(texts)])


class Upper(Step):
    """A step that fails for any batch holding 'bad', and counts what it applies."""

    timing = "upper"

    def compute(self, state: Any, batch: Batch) -> list[str]:
        texts = batch.texts()
        if any("bad" in t for t in texts):
            raise ValueError("bad text")
        return [t.upper() for t in texts]

    def apply(self, state: Any, batch: Batch, results: Sequence[Any], stats: BatchResult) -> None:
        for item, result in zip(batch.items, results, strict=True):
            item.raw.text = result
        stats.chars_in += len(results)


def test_a_step_failing_on_one_item_rejects_only_that_item_as_internal_error() -> None:
    batch, stats = _batch("a", "bad", "c"), BatchResult()
    run_step(Upper(), None, batch, stats)
    assert batch.texts() == ["A", "C"]
    ((seq, reject),) = batch.rejects
    assert seq == 1 and reject.reason is Reason.INTERNAL_ERROR
    assert reject.detail.startswith("ValueError: bad text at test_mapstage.py:")
    assert reject.text == "bad" and reject.provenance.file == "f1.txt"


def test_apply_runs_once_even_when_compute_was_retried_item_by_item() -> None:
    batch, stats = _batch("a", "bad", "c"), BatchResult()
    run_step(Upper(), None, batch, stats)
    assert stats.chars_in == 2  # counted for the two survivors, once


class Recovering(Upper):
    def recover(self, exc: Exception) -> list[str]:
        return ["?"]


def test_a_step_may_recover_an_item_instead_of_rejecting_it() -> None:
    batch, stats = _batch("a", "bad"), BatchResult()
    run_step(Recovering(), None, batch, stats)
    assert batch.texts() == ["A", "?"] and batch.rejects == []


def test_each_step_adds_its_time_under_its_timing_key() -> None:
    stats = BatchResult()
    run_step(Upper(), None, _batch("a"), stats)
    run_step(Upper(), None, _batch("b"), stats)
    assert set(stats.seconds) == {"upper"} and stats.seconds["upper"] > 0


def test_keep_drops_items_and_their_tokens_together() -> None:
    batch = _batch("one two", "three", "four five six")
    batch.tokens = TokenBatch.from_texts(batch.texts())
    batch.keep([True, False, True])
    assert batch.texts() == ["one two", "four five six"]
    assert batch.tokens.counts.tolist() == [2, 3]


def test_tokens_merged_from_parts_equal_the_batch_tokens() -> None:
    texts = ["one two", "", "四五六 seven"]
    whole = TokenBatch.from_texts(texts)
    merged = TokenBatch.concat([TokenBatch.from_texts([t]) for t in texts])
    for name in ("hashes", "lengths", "is_char", "offsets", "para_start"):
        assert getattr(merged, name).tolist() == getattr(whole, name).tolist()


def test_a_batch_reports_time_under_the_keys_the_benchmark_reads() -> None:
    from corpuskit.config import BuildConfig
    from corpuskit.mapstage import MapState, process_batch

    record = RawRecord("A short text about the harbour.", Provenance("f.txt"))
    result = process_batch(MapState(BuildConfig(min_chars=10)), [(0, record)])
    assert list(result.seconds) == [
        "validate",
        "clean",
        "tokenise",
        "language",
        "minhash",
        "fingerprint",
    ]


def test_the_stage_runs_validate_first_and_emit_last() -> None:
    names = [type(s).__name__ for s in steps.STEPS]
    assert names[0] == "Validate" and names[-1] == "Emit"
    assert all(s.timing for s in steps.STEPS)
