"""A map-stage batch result (keys, rejects, statistics) as plain data, and back.

The whole-file cache (:mod:`corpuskit.filecache`) stores a large input file's results
batch by batch: its kept rows as the spill parts the map stage wrote, and the rest of
each batch's :class:`~corpuskit.mapstage.base.BatchResult` as the value made here. Sequence
numbers are stored relative to the file's first record, so a file found again at another
place in the input is given its new numbers.

Values are read back with the same plain-data unpickler as the per-article cache, and
checked for the shape a result has (lengths, codes, reasons): a value someone else wrote
into a shared cache folder is a miss, never an error and never a different artifact.
"""

from __future__ import annotations

import pickle
from collections import Counter
from typing import Any

import numpy as np

from corpuskit.ids import ID_CHARS
from corpuskit.mapstage.base import BatchResult
from corpuskit.mapstage.cached import load_plain
from corpuskit.record import KeyBatch, Provenance, Reason, Reject

#: Bump when the layout of a stored batch changes.
BATCH_VERSION = 1

#: KeyBatch's array columns and how they are stored (little-endian, fixed width).
_ARRAYS = {
    "seq": "<i8",
    "num_chars": "<i8",
    "line": "<i8",
    "file": "<i4",
    "language": "<i4",
    "value": "<i4",
    "has_signature": "|b1",
    "num_shingles": "<i8",
    "paragraph_counts": "<i8",
}
_BLOBS = ("ids", "digests", "signatures", "paragraphs")
_NAMES = ("files", "languages", "values")
#: BatchResult's counters (name -> count) and plain counts, as the report adds them.
_COUNTERS = (
    "clean_steps",
    "meta_not_understood",
    "language_corrections",
    "pii",
    "language_disagreements",
)
_COUNTS = (
    "chars_in",
    "chars_removed",
    "source_rule_misses",
    "language_from_field",
    "language_fallbacks",
)
_REASONS = frozenset(r.value for r in Reason)


def encode_batch(result: BatchResult, first_seq: int) -> bytes:
    """``result`` (with its ``key_batch``; its rows are stored apart) as bytes, sequence
    numbers counted from ``first_seq``. Raises ValueError for a result without keys."""
    keys = result.key_batch
    if keys is None:
        raise ValueError("a batch is stored with its keys as columns (KeyBatch)")
    columns: dict[str, Any] = {
        name: np.ascontiguousarray(getattr(keys, name), dtype=dtype).tobytes()
        for name, dtype in _ARRAYS.items()
    }
    columns["seq"] = np.ascontiguousarray(keys.seq - first_seq, dtype="<i8").tobytes()
    columns.update({name: getattr(keys, name) for name in _BLOBS})
    columns.update({name: list(getattr(keys, name)) for name in _NAMES})
    value = {
        "version": BATCH_VERSION,
        "keys": columns,
        "rejects": [
            (
                r.reason.value,
                r.detail,
                r.provenance.file,
                r.provenance.line,
                r.text,
                r.source_id,
                r.source_record_id,
            )
            for r in result.rejects
        ],
        "counters": {name: dict(getattr(result, name)) for name in _COUNTERS},
        "counts": {name: getattr(result, name) for name in _COUNTS},
        "engine": result.language_engine,
    }
    return pickle.dumps(value, protocol=5)


def decode_batch(
    data: bytes, first_seq: int, signature_bytes: int | None = None
) -> BatchResult | None:
    """The result stored in ``data``, with sequence numbers from ``first_seq`` and every
    record counted as taken from the cache; None when ``data`` is not a stored batch
    (``signature_bytes``: the MinHash signature length the settings give; None: any)."""
    try:
        value = load_plain(data)
        if not isinstance(value, dict) or value.get("version") != BATCH_VERSION:
            return None
        keys = _key_batch(value["keys"], first_seq, signature_bytes)
        rejects = [_reject(r) for r in value["rejects"]]
        counters, counts, engine = value["counters"], value["counts"], value["engine"]
        if keys is None or None in rejects or not isinstance(engine, str):
            return None
        if set(counters) != set(_COUNTERS) or set(counts) != set(_COUNTS):
            return None
        result = BatchResult(key_batch=keys, language_engine=engine)
        for name in _COUNTERS:
            counter = counters[name]
            if not isinstance(counter, dict) or not all(
                isinstance(k, str) and type(v) is int for k, v in counter.items()
            ):
                return None
            setattr(result, name, Counter(counter))
        for name in _COUNTS:
            if type(counts[name]) is not int:
                return None
            setattr(result, name, counts[name])
        result.rejects = [r for r in rejects if r is not None]
        result.cached = len(keys) + len(result.rejects)
        return result
    except Exception:  # any malformed value is a miss, never an error
        return None


def _key_batch(columns: Any, first_seq: int, signature_bytes: int | None) -> KeyBatch | None:
    if not isinstance(columns, dict) or set(columns) != {*_ARRAYS, *_BLOBS, *_NAMES}:
        return None
    if not all(isinstance(columns[name], bytes) for name in (*_ARRAYS, *_BLOBS)):
        return None
    names = {name: columns[name] for name in _NAMES}
    if not all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in names.values()):
        return None
    if np.frombuffer(columns["has_signature"], dtype=np.uint8).max(initial=0) > 1:
        return None  # a bool column holds 0 and 1 only
    arrays = {name: np.frombuffer(columns[name], dtype=dtype) for name, dtype in _ARRAYS.items()}
    n = len(arrays["seq"])
    if any(len(a) != n for a in arrays.values()):
        return None
    counts = arrays["paragraph_counts"]
    signatures = int(arrays["has_signature"].sum())
    width = len(columns["signatures"]) // signatures if signatures else 0
    if (
        len(columns["ids"]) != ID_CHARS * n
        or not columns["ids"].isascii()
        or len(columns["digests"]) != 16 * n
        or (counts < 0).any()
        or len(columns["paragraphs"]) != 8 * int(counts.sum())
        or width * signatures != len(columns["signatures"])
        or (signature_bytes is not None and signatures and width != signature_bytes)
        or (arrays["num_chars"] < 0).any()
        or (arrays["seq"] < 0).any()
    ):
        return None
    codes_of = (("file", "files", 0), ("language", "languages", 0), ("value", "values", -1))
    for code, table, lowest in codes_of:
        codes = arrays[code]
        if n and (codes.min() < lowest or codes.max() >= len(names[table])):
            return None
    blobs = {name: columns[name] for name in _BLOBS}
    return KeyBatch(**{**arrays, "seq": arrays["seq"] + first_seq, **names, **blobs})


def _reject(stored: Any) -> Reject | None:
    if not isinstance(stored, tuple) or len(stored) != 7:
        return None
    reason, detail, file, line, text, source_id, record_id = stored
    if not (
        reason in _REASONS
        and isinstance(detail, str)
        and isinstance(file, str)
        and (line is None or type(line) is int)
        and all(isinstance(v, (str, type(None))) for v in (text, source_id, record_id))
    ):
        return None
    return Reject(Reason(reason), detail, Provenance(file, line), text, source_id, record_id)
