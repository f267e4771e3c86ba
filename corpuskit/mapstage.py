"""The map stage: a batch of raw records in, kept rows + rejects + small keys out.

``process_batch`` is a pure function of the batch and a ``MapState`` built once per worker
from the config, so it runs unchanged inline, in a process pool or (later) on a cluster.
Every record leaves as exactly one kept row or one reject; an exception while processing
one record becomes an ``internal_error`` reject for that record, never a failed build.
"""

from __future__ import annotations

import time
import traceback
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from corpuskit import dedup, ids, language
from corpuskit.clean import Cleaner
from corpuskit.config import BuildConfig
from corpuskit.record import Document, Provenance, RawRecord, Reason, Reject
from corpuskit.sourceid import SourceIdRule
from corpuskit.validate import ValidationConfig, check_clean, check_raw

REJECT_TEXT_CHARS = 10_000


@dataclass(frozen=True, slots=True)
class Keys:
    """What the global stage learns about a kept record: small, never the text."""

    seq: int
    id: str
    content_hash: str
    num_chars: int
    language: str
    group: str | None
    file: str
    line: int | None
    signature: bytes | None


@dataclass
class BatchResult:
    """Map output for one batch, in input order."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    keys: list[Keys] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    clean_steps: Counter[str] = field(default_factory=Counter)
    chars_in: int = 0
    chars_removed: int = 0
    source_rule_misses: int = 0
    published_unparsed: int = 0
    seconds: Counter[str] = field(default_factory=Counter)  # per step, for the report only
    language_engine: str = ""


class MapState:
    """Per-worker state: compiled cleaning rules, a seeded detector, the source-id rule."""

    def __init__(self, config: BuildConfig):
        self.config = config
        self.cleaner = Cleaner(config.clean)
        self.detector = language.make_detector(
            language.LanguageConfig(seed=config.seed, threshold=config.language_threshold)
        )
        self.rule = SourceIdRule(config.source_id)
        self.validation = ValidationConfig(config.min_chars, config.max_chars)


def make_state(config: BuildConfig) -> MapState:
    return MapState(config)


def _reject(
    reason: Reason, detail: str, prov: Provenance, text: str | None, source_id: str | None
) -> Reject:
    if text is not None and len(text) > REJECT_TEXT_CHARS:
        text = text[:REJECT_TEXT_CHARS]
    return Reject(reason, detail, prov, text, source_id)


def parse_published(value: Any) -> datetime | None:
    """ISO 8601 (date or datetime, 'Z' allowed) to an aware UTC datetime; None if not understood.

    A naive time is taken as UTC: feeds rarely say, and guessing the machine's zone would make
    the artifact depend on where it was built.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        try:
            parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc).replace(microsecond=0)


def process_batch(state: MapState, batch: Sequence[tuple[int, RawRecord | Reject]]) -> BatchResult:
    """Validate, clean, tag and fingerprint one batch of ``(seq, record)`` pairs."""
    cfg = state.config
    out = BatchResult(language_engine=state.detector.engine)
    docs: list[tuple[int, Document]] = []
    # Rejects are kept with their input position: the batch emits them in input order, so
    # the rejects config does not depend on where batch boundaries fall.
    rejects: list[tuple[int, Reject]] = []
    t0 = time.perf_counter()
    for seq, item in batch:
        if isinstance(item, Reject):
            if item.source_id is None:
                item.source_id = state.rule.derive(item.provenance.file)[0]
            rejects.append((seq, item))
            continue
        try:
            doc = _prepare(state, item, out)
        except Exception as exc:  # one bad record must not stop the build
            rejects.append((seq, _internal_error(exc, item.provenance, item.text)))
            continue
        if isinstance(doc, Reject):
            rejects.append((seq, doc))
        else:
            docs.append((seq, doc))

    t1 = time.perf_counter()
    docs = _tag_languages(state, docs, rejects)
    t2 = time.perf_counter()
    signatures: list[bytes | None] = [None] * len(docs)
    if cfg.near_dup.enabled and docs:
        try:
            signatures = list(dedup.signatures([d.text for _, d in docs], cfg.near_dup))
        except Exception:
            for i, (_, d) in enumerate(docs):
                signatures[i] = _one_signature(d.text, cfg)
    t3 = time.perf_counter()
    for (seq, doc), sig in zip(docs, signatures, strict=True):
        if cfg.near_dup.enabled and sig is None:
            failure = RuntimeError("MinHash signature failed")
            rejects.append((seq, _internal_error(failure, doc.provenance, doc.text)))
            continue
        _emit(doc, seq, sig, cfg, out)
    out.rejects = [r for _, r in sorted(rejects, key=lambda pair: pair[0])]
    t4 = time.perf_counter()
    out.seconds.update(
        {"validate+clean": t1 - t0, "language": t2 - t1, "minhash": t3 - t2, "fingerprint": t4 - t3}
    )
    return out


def _one_signature(text: str, cfg: BuildConfig) -> bytes | None:
    try:
        return dedup.signatures([text], cfg.near_dup)[0]
    except Exception:
        return None


def _internal_error(exc: BaseException, prov: Provenance, text: str | None) -> Reject:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" at {where.filename.rsplit('/', 1)[-1]}:{where.lineno}" if where else ""
    return _reject(Reason.INTERNAL_ERROR, f"{type(exc).__name__}: {exc}{at}", prov, text, None)


def _prepare(state: MapState, raw: RawRecord, out: BatchResult) -> Document | Reject:
    meta = raw.meta
    source = meta.get("source")
    if source:
        source_id = str(source)
    else:
        source_id, applied = state.rule.derive(raw.provenance.file)
        if not applied:
            out.source_rule_misses += 1
    problem = check_raw(raw.text, state.validation)
    if problem:
        return _reject(problem[0], problem[1], raw.provenance, raw.text, source_id)
    given_title = str(meta["title"]).strip() if meta.get("title") else None
    result = state.cleaner.clean(raw.text, has_title=given_title is not None)
    if result.repetitive:
        return _reject(Reason.REPETITIVE, result.repetitive, raw.provenance, raw.text, source_id)
    problem = check_clean(result.text, len(raw.text), state.validation)
    if problem:
        return _reject(problem[0], problem[1], raw.provenance, raw.text, source_id)
    out.clean_steps.update(result.flags)
    out.chars_in += len(raw.text)
    out.chars_removed += result.chars_removed
    published = parse_published(meta.get("published"))
    if meta.get("published") and published is None:
        out.published_unparsed += 1
    return Document(
        text=result.text,
        provenance=raw.provenance,
        source_id=source_id,
        title=given_title or result.title,
        url=str(meta["url"]) if meta.get("url") else None,
        published=published,
        clean_flags=list(result.flags),
        chars_removed=result.chars_removed,
    )


def _tag_languages(
    state: MapState, docs: list[tuple[int, Document]], rejects: list[tuple[int, Reject]]
) -> list[tuple[int, Document]]:
    cfg = state.config
    texts = [d.text for _, d in docs]
    try:
        guesses = state.detector.detect_batch(texts)
    except Exception:
        guesses = []
        for text in texts:
            try:
                guesses.extend(state.detector.detect_batch([text]))
            except Exception:
                guesses.append(None)
    tags = language.tag(guesses, cfg.language_threshold)
    kept: list[tuple[int, Document]] = []
    wanted = set(cfg.languages)
    for (seq, doc), (code, score) in zip(docs, tags, strict=True):
        doc.language, doc.language_score = code, score
        if wanted and code not in wanted:
            detail = (
                f"language {code} (score {score:.2f}) is not in "
                f"--languages {','.join(cfg.languages)}"
            )
            rejects.append(
                (seq, _reject(Reason.LANGUAGE, detail, doc.provenance, doc.text, doc.source_id))
            )
            continue
        kept.append((seq, doc))
    return kept


def _emit(doc: Document, seq: int, sig: bytes | None, cfg: BuildConfig, out: BatchResult) -> None:
    chash, num_words = ids.fingerprint(doc.text)
    rid = ids.record_id(doc.source_id, chash)
    row = {
        "id": rid,
        "text": doc.text,
        "title": doc.title,
        "language": doc.language,
        "language_score": doc.language_score,
        "source_id": doc.source_id,
        "url": doc.url,
        "published": doc.published,
        "num_chars": len(doc.text),
        "num_words": num_words,
        "content_hash": chash,
        "dup_cluster": rid,
        "clean_flags": doc.clean_flags,
        "chars_removed": doc.chars_removed,
        "_seq": seq,
        "_file": doc.provenance.file,
        "_line": doc.provenance.line,
    }
    group = None
    if cfg.group_by:
        value = row.get(cfg.group_by)
        group = None if value is None else str(value)
    out.rows.append(row)
    out.keys.append(
        Keys(
            seq,
            rid,
            chash,
            len(doc.text),
            doc.language,
            group,
            doc.provenance.file,
            doc.provenance.line,
            sig,
        )
    )
