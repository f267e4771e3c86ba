"""The map stage with a cache: a record seen before, under the same settings, is not
cleaned, tagged or hashed again (the store is :mod:`corpuskit.cache`).

**The key** of a record is a BLAKE2b hash of :func:`settings_digest` (every setting the
map stage reads, the content of the rule files, the source code of corpuskit itself and
the versions of the libraries that shape a result) and of the record: its text, its
meta values, its other fields (the ``metadata`` JSON, and which values could not be
read), its encoding and the path of its file (the source id comes from it). Its line
and its place in the input are not in the key: they are attached again on the way out,
so an article that moved down its file is still found.

**The value** is the record's whole outcome: its row and keys, or its reject, and what it
adds to the statistics (:class:`corpuskit.mapstage.base.Tally`), so a batch assembled
from cached and fresh outcomes is exactly the batch the map stage would return.

Values are read back with an unpickler that builds nothing but plain data and dates, so
a cache folder written by someone else cannot run code here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import pickle
import platform
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from functools import cache
from pathlib import Path
from typing import Any

from corpuskit.cache import MapCache
from corpuskit.config import BuildConfig
from corpuskit.mapstage.base import BatchResult, Tally
from corpuskit.record import Keys, Provenance, RawRecord, Reason, Reject
from corpuskit.versions import installed

#: Distributions whose code shapes a map-stage result (corpuskit's own code is hashed).
SHAPING = (
    "langdetect",
    "langdetect-rs",
    "ftfy",
    "selectolax",
    "rensa",
    "numpy",
    "wordfreq",
    "zhon",
    "regex",
    "phonenumbers",
    "phonenumberslite",
    "pyarrow",
)

#: Settings that only the global or the write stage reads: changing them reuses every
#: cached result (the split, the near-duplicate policy and thresholds, the card's fields).
GLOBAL_ONLY = (
    "name",
    "eval_ratio",
    "near_dups",
    "stratify_language",
    "card",
    "shard_bytes",
)
GLOBAL_ONLY_NEAR_DUP = ("threshold", "split_margin", "containment")

#: Bump when the layout of a stored value changes.
VALUE_VERSION = 3


@cache
def _code_digest() -> str:
    """BLAKE2b of corpuskit's own files (code, packaged rules and word lists): an edited
    checkout never reuses results of the code it replaced."""
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(root.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "unicode": unicodedata.unidata_version,
        **installed(SHAPING, "-"),
    }


def settings_digest(config: BuildConfig) -> bytes:
    """What, besides the record itself, a map-stage result depends on, hashed.

    Raises ``OSError`` when a --boilerplate-rules file cannot be read (the build would
    fail on it anyway).
    """
    settings = config.to_manifest()
    for key in GLOBAL_ONLY:
        settings.pop(key, None)
    for key in GLOBAL_ONLY_NEAR_DUP:
        settings["near_dup"].pop(key, None)
    rules = [
        hashlib.blake2b(Path(p).read_bytes(), digest_size=16).hexdigest()
        for p in config.clean.boilerplate_rules
    ]
    described = {
        "value_version": VALUE_VERSION,
        "settings": settings,
        "rule_files": rules,
        "code": _code_digest(),
        "versions": _versions(),
    }
    text = json.dumps(described, sort_keys=True, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def record_key(settings: bytes, record: RawRecord) -> bytes:
    """The cache key of ``record`` under ``settings`` (see the module docstring)."""
    digest = hashlib.blake2b(settings, digest_size=20)
    digest.update(record.text.encode("utf-8", "surrogatepass"))
    digest.update(b"\0" + record.provenance.file.encode("utf-8", "surrogatepass"))
    digest.update(b"\0" + (record.encoding or "").encode())
    meta = json.dumps(record.meta, sort_keys=True, default=repr, ensure_ascii=True)
    digest.update(b"\0" + meta.encode())
    metadata = record.metadata
    digest.update(
        b"\0-" if metadata is None else b"\0+" + metadata.encode("utf-8", "surrogatepass")
    )
    digest.update(b"\0" + ",".join(record.unread).encode())
    return digest.digest()


# -- outcomes: what one record became, without where it was --------------------------------

#: A kept record: ("k", row without _seq/_file/_line, Keys fields without seq/file/line,
#: tally); a rejected one: ("r", reason, detail, text, source_id, source_record_id, tally).
Outcome = tuple[Any, ...]


#: The fields of a Tally, in the order a stored value holds them.
_TALLY_FIELDS = tuple(f.name for f in dataclasses.fields(Tally))


def _tally_tuple(tally: Tally | None) -> tuple[Any, ...] | None:
    if tally is None:
        return None
    return tuple(getattr(tally, name) for name in _TALLY_FIELDS)


def _tally(value: tuple[Any, ...] | None) -> Tally | None:
    return None if value is None else Tally(*value)


_ROW_PLACE = ("_seq", "_file", "_line")


def kept_outcome(row: dict[str, Any], keys: Keys, tally: Tally | None) -> Outcome:
    kept_row = {k: v for k, v in row.items() if k not in _ROW_PLACE}
    fields = (
        keys.id,
        keys.content_hash,
        keys.num_chars,
        keys.language,
        keys.group,
        keys.signature,
        keys.num_shingles,
        keys.paragraphs,
    )
    return ("k", kept_row, fields, _tally_tuple(tally))


def rejected_outcome(reject: Reject, tally: Tally | None) -> Outcome:
    return (
        "r",
        reject.reason.value,
        reject.detail,
        reject.text,
        reject.source_id,
        reject.source_record_id,
        _tally_tuple(tally),
    )


def encode(outcome: Outcome) -> bytes:
    return pickle.dumps(outcome, protocol=5)


#: The one kind of class a stored value may hold: dates.
_ALLOWED_CLASSES: dict[tuple[str, str], type] = {
    ("datetime", "datetime"): datetime,
    ("datetime", "timezone"): timezone,
    ("datetime", "timedelta"): timedelta,
}


class _PlainUnpickler(pickle.Unpickler):
    """Builds plain data only (and the classes of ``_ALLOWED_CLASSES``)."""

    def find_class(self, module: str, name: str) -> Any:
        found = _ALLOWED_CLASSES.get((module, name))
        if found is None:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a cache value")
        return found


def load_plain(value: bytes) -> Any:
    """Unpickle ``value``, building nothing but plain data and dates. Raises
    ``pickle.UnpicklingError`` (or another error of a malformed pickle) otherwise."""
    return _PlainUnpickler(io.BytesIO(value)).load()


def decode(value: bytes, signature_bytes: int | None = None) -> Outcome | None:
    """The outcome stored in ``value``, or None when it cannot be read back as one: not a
    pickle of plain data, or not of the shape and types a map-stage outcome has (a value
    someone else wrote into a shared cache folder must be a miss, never an error).
    ``signature_bytes``: the MinHash signature length the settings give (None: any)."""
    try:
        outcome = load_plain(value)
        return outcome if _well_formed(outcome, signature_bytes) else None
    except Exception:  # any malformed value is a miss, never an error
        return None


_ROW_TYPES: dict[str, tuple[type, ...]] = {
    "id": (str,), "text": (str,), "title": (str, type(None)), "language": (str,),
    "language_score": (float,), "source_id": (str,), "url": (str, type(None)),
    "published": (datetime, type(None)), "num_chars": (int,), "num_words": (int,),
    "content_hash": (str,), "dup_cluster": (str,), "clean_flags": (list,),
    "chars_removed": (int,), "source_record_id": (str, type(None)), "metadata": (str, type(None)),
}  # fmt: skip
_REASONS = frozenset(r.value for r in Reason)
_HEX = frozenset("0123456789abcdef")


def _well_formed(outcome: Any, signature_bytes: int | None) -> bool:
    if not isinstance(outcome, tuple) or len(outcome) != _OUTCOME_LENGTH.get(outcome[:1], -1):
        return False
    if not _tally_ok(outcome[-1]):
        return False
    if outcome[0] == "r":
        _, reason, detail, text, source_id, record_id, _tally_value = outcome
        return (
            reason in _REASONS
            and isinstance(detail, str)
            and isinstance(text, (str, type(None)))
            and isinstance(source_id, (str, type(None)))
            and isinstance(record_id, (str, type(None)))
        )
    _, row, fields, _tally_value = outcome
    if not isinstance(row, dict) or set(row) != set(_ROW_TYPES):
        return False
    if not all(isinstance(row[k], t) for k, t in _ROW_TYPES.items()):
        return False
    if not all(isinstance(flag, str) for flag in row["clean_flags"]):
        return False
    if not isinstance(fields, tuple) or len(fields) != 8:
        return False
    rid, chash, num_chars, lang, group, signature, shingles, paragraphs = fields
    return (
        isinstance(rid, str)
        and isinstance(chash, str)
        and len(chash) == 32
        and set(chash) <= _HEX
        and isinstance(num_chars, int)
        and isinstance(lang, str)
        and isinstance(group, (str, type(None)))
        and (
            signature is None
            or (
                isinstance(signature, bytes)
                and (signature_bytes is None or len(signature) == signature_bytes)
            )
        )
        and isinstance(shingles, int)
        and isinstance(paragraphs, bytes)
    )


def _tally_ok(value: Any) -> bool:
    if value is None:
        return True
    if not isinstance(value, tuple) or len(value) != len(_TALLY_FIELDS):
        return False
    miss, published, cleaned, correction, pii, unread, given, fallback, disagreement = value
    return (
        isinstance(miss, bool)
        and isinstance(published, bool)
        and (
            cleaned is None
            or (
                isinstance(cleaned, tuple)
                and len(cleaned) == 3
                and isinstance(cleaned[0], tuple)
                and all(isinstance(f, str) for f in cleaned[0])
                and isinstance(cleaned[1], int)
                and isinstance(cleaned[2], int)
            )
        )
        and isinstance(correction, (str, type(None)))
        and isinstance(pii, tuple)
        and all(
            isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], int)
            for p in pii
        )
        and isinstance(unread, tuple)
        and all(isinstance(u, str) for u in unread)
        and isinstance(given, bool)
        and isinstance(fallback, bool)
        and isinstance(disagreement, (str, type(None)))
    )


#: The length of a stored outcome of each kind (anything else is not read back).
_OUTCOME_LENGTH = {("k",): 4, ("r",): 7}


# -- the batch -------------------------------------------------------------------------------


class CachedResults:
    """A batch's lookups: the outcomes found, by sequence number, and the key of every
    record that can be cached."""

    def __init__(
        self,
        cache: MapCache,
        settings: bytes,
        batch: Sequence[tuple[int, Any]],
        signature_bytes: int | None = None,
    ):
        self.keys: dict[int, bytes] = {
            seq: record_key(settings, record)
            for seq, record in batch
            if isinstance(record, RawRecord)
        }
        found = cache.get(self.keys.values())
        self.hits: dict[int, Outcome] = {}
        for seq, key in self.keys.items():
            value = found.get(key)
            outcome = decode(value, signature_bytes) if value is not None else None
            if outcome is not None:
                self.hits[seq] = outcome


def fresh_outcomes(
    result: BatchResult, rejects: Sequence[tuple[int, Reject]], tallies: dict[int, Tally]
) -> dict[int, Outcome]:
    """The outcome of every record the map stage just processed, by sequence number.
    Internal errors are left out: they may not happen again."""
    out: dict[int, Outcome] = {}
    for row, keys in zip(result.rows, result.keys, strict=True):
        out[keys.seq] = kept_outcome(row, keys, tallies.get(keys.seq))
    for seq, reject in rejects:
        if reject.reason is not Reason.INTERNAL_ERROR:
            out[seq] = rejected_outcome(reject, tallies.get(seq))
    return out


def assemble(
    batch: Sequence[tuple[int, Any]],
    hits: dict[int, Outcome],
    fresh: BatchResult,
    fresh_rejects: Sequence[tuple[int, Reject]],
    tallies: dict[int, Tally],
) -> BatchResult:
    """The batch's result, in input order, from cached outcomes (``hits``) and the map
    stage's ``fresh`` result for the others."""
    out = BatchResult(
        language_engine=fresh.language_engine, seconds=dict(fresh.seconds), cached=len(hits)
    )
    rows = {keys.seq: (row, keys) for row, keys in zip(fresh.rows, fresh.keys, strict=True)}
    rejected = dict(fresh_rejects)
    for seq, record in batch:
        outcome = hits.get(seq)
        tally: Tally | None
        if outcome is None:
            if seq in rows:
                row, keys = rows[seq]
                out.rows.append(row)
                out.keys.append(keys)
            else:
                out.rejects.append(rejected[seq])
            tally = tallies.get(seq)
        else:
            prov: Provenance = record.provenance
            if outcome[0] == "k":
                _, kept_row, fields, tally_value = outcome
                out.rows.append({**kept_row, "_seq": seq, "_file": prov.file, "_line": prov.line})
                rid, chash, num_chars, lang, group, signature, shingles, paragraphs = fields
                out.keys.append(
                    Keys(
                        seq,
                        rid,
                        chash,
                        num_chars,
                        lang,
                        group,
                        prov.file,
                        prov.line,
                        signature,
                        shingles,
                        paragraphs,
                    )
                )
            else:
                _, reason, detail, text, source_id, record_id, tally_value = outcome
                reject = Reject(Reason(reason), detail, prov, text, source_id, record_id)
                out.rejects.append(reject)
            tally = _tally(tally_value)
        if tally is not None:
            out.count(tally)
    return out
