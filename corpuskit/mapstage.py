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
from corpuskit.containment import PARAGRAPH_MIN_TOKENS
from corpuskit.record import Document, Provenance, RawRecord, Reason, Reject
from corpuskit.sourceid import SourceIdRule
from corpuskit.tokens import TokenBatch
from corpuskit.validate import check_clean, check_raw

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
    # For containment (see corpuskit.containment): shingle positions in the text and the
    # 8-byte keys of its long paragraphs. Empty when near-duplicate detection is off.
    num_shingles: int = 0
    paragraphs: bytes = b""


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
    # field -> values set to null because they could not be read (the article is kept)
    meta_not_understood: Counter[str] = field(default_factory=Counter)
    # "ko -> zh-Hant": tags langdetect gave that the text's script ruled out
    language_corrections: Counter[str] = field(default_factory=Counter)
    seconds: Counter[str] = field(default_factory=Counter)  # per step, for the report only
    language_engine: str = ""


class MapState:
    """Per-worker state: compiled cleaning rules, a seeded detector, the source-id rule."""

    def __init__(self, config: BuildConfig):
        self.config = config
        self.cleaner = Cleaner(config.clean)
        self.detector = language.make_detector(config.language)
        self.rule = SourceIdRule(config.source_id)
        self.validation = config.validation


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
    the artifact depend on where it was built. None too when the value names no instant that
    UTC can hold (year 1 at +01:00, year 9999 at -05:00): the caller counts it, the article
    stays. Never raises.
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
    try:
        return parsed.astimezone(timezone.utc).replace(microsecond=0)
    except OverflowError:  # e.g. 0001-01-01T00:00+01:00, a framework's minimum date
        return None


def process_batch(state: MapState, batch: Sequence[tuple[int, RawRecord | Reject]]) -> BatchResult:
    """Validate, clean, tag and fingerprint one batch of ``(seq, record)`` pairs.

    The batch's kept texts are tokenised once (:class:`~corpuskit.tokens.TokenBatch`) for
    both the repetition ratios of cleaning and the MinHash signatures.
    """
    cfg = state.config
    out = BatchResult(language_engine=state.detector.engine)
    cleaned: list[tuple[int, Document, str]] = []  # with the raw text, for a later reject
    # Rejects are kept with their input position: the batch emits them in input order, so
    # the rejects config does not depend on where batch boundaries fall.
    rejects: list[tuple[int, Reject]] = []
    t0 = time.perf_counter()
    out.seconds["clean"] = 0.0  # _prepare adds the time of each clean() call
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
            cleaned.append((seq, doc, item.text))

    t1 = time.perf_counter()
    cleaned, tokens = _tokenise(state, cleaned, rejects)
    t2 = time.perf_counter()
    docs, tokens = _check_ngrams(state, cleaned, tokens, rejects, out)
    if not cfg.near_dup.enabled:
        tokens = None  # nothing reads them any more
    t3 = time.perf_counter()
    docs, tokens = _tag_languages(state, docs, tokens, rejects, out)
    t4 = time.perf_counter()
    signatures: list[bytes | None] = [None] * len(docs)
    if cfg.near_dup.enabled and docs:
        signatures = _signatures(docs, tokens, cfg)
    t5 = time.perf_counter()
    counts, paragraphs = _containment_keys(docs, tokens, cfg)
    # Whether each text has characters of a script written without spaces (for num_words),
    # read off the tokens when there are any for this batch; None: ids.fingerprint looks.
    spaceless: list[bool | None] = [None] * len(docs)
    if tokens is not None and len(tokens) == len(docs):
        spaceless = [n > 0 for n in tokens.char_token_counts().tolist()]
    for (seq, doc), sig, n_tokens, paras, has_spaceless in zip(
        docs, signatures, counts, paragraphs, spaceless, strict=True
    ):
        if cfg.near_dup.enabled and sig is None:
            failure = RuntimeError("MinHash signature failed")
            rejects.append((seq, _internal_error(failure, doc.provenance, doc.text)))
            continue
        _emit(doc, seq, sig, n_tokens, paras, has_spaceless, cfg, out)
    out.rejects = [r for _, r in sorted(rejects, key=lambda pair: pair[0])]
    t6 = time.perf_counter()
    clean_calls = out.seconds.pop("clean")
    out.seconds.update(
        {
            # validation, source ids and building the records: what is not clean() itself
            "validate": (t1 - t0) - clean_calls,
            "clean": clean_calls + (t3 - t2),
            "tokenise": t2 - t1,
            "language": t4 - t3,
            "minhash": t5 - t4,
            "fingerprint": t6 - t5,
        }
    )
    return out


def _tokenise(
    state: MapState, cleaned: list[tuple[int, Document, str]], rejects: list[tuple[int, Reject]]
) -> tuple[list[tuple[int, Document, str]], TokenBatch | None]:
    """One TokenBatch for the batch's cleaned texts, if a step needs words. A text that makes
    tokenising raise becomes an ``internal_error`` reject (found by retrying one by one)."""
    cfg = state.config
    if not cleaned or not (cfg.near_dup.enabled or state.cleaner.measures_ngrams):
        return cleaned, None
    try:
        return cleaned, TokenBatch.from_texts([d.text for _, d, _ in cleaned])
    except Exception:
        pass
    survivors = []
    for seq, doc, raw in cleaned:
        try:
            TokenBatch.from_texts([doc.text])
        except Exception as exc:
            rejects.append((seq, _internal_error(exc, doc.provenance, raw)))
        else:
            survivors.append((seq, doc, raw))
    return survivors, TokenBatch.from_texts([d.text for _, d, _ in survivors])


def _check_ngrams(
    state: MapState,
    cleaned: list[tuple[int, Document, str]],
    tokens: TokenBatch | None,
    rejects: list[tuple[int, Reject]],
    out: BatchResult,
) -> tuple[list[tuple[int, Document]], TokenBatch | None]:
    """Reject repetitive texts (word n-gram ratios); count the cleaning of the others."""
    texts = [d.text for _, d, _ in cleaned]
    if state.cleaner.measures_ngrams and tokens is not None:
        try:
            verdicts = state.cleaner.ngram_verdicts(texts, tokens)
        except Exception:
            verdicts = [_one_verdict(state, text) for text in texts]
    else:
        verdicts = [None] * len(texts)
    docs: list[tuple[int, Document]] = []
    keep: list[bool] = []
    for (seq, doc, raw), verdict in zip(cleaned, verdicts, strict=True):
        if isinstance(verdict, Exception):
            rejects.append((seq, _internal_error(verdict, doc.provenance, raw)))
        elif verdict is not None:
            rejects.append(
                (seq, _reject(Reason.REPETITIVE, verdict, doc.provenance, raw, doc.source_id))
            )
        else:
            out.clean_steps.update(doc.clean_flags)
            out.chars_in += len(raw)
            out.chars_removed += doc.chars_removed
            docs.append((seq, doc))
        keep.append(verdict is None)
    if tokens is not None and len(docs) < len(cleaned):
        tokens = tokens.select(keep)
    return docs, tokens


def _one_verdict(state: MapState, text: str) -> str | Exception | None:
    try:
        return state.cleaner.ngram_verdicts([text])[0]
    except Exception as exc:
        return exc


def _signatures(
    docs: list[tuple[int, Document]], tokens: TokenBatch | None, cfg: BuildConfig
) -> list[bytes | None]:
    """MinHash signatures of the kept texts; None for a text whose signature raised."""
    try:
        if tokens is None:
            tokens = TokenBatch.from_texts([d.text for _, d in docs])
        return list(dedup.signatures_from_tokens(tokens, cfg.near_dup))
    except Exception:
        return [_one_signature(d.text, cfg) for _, d in docs]


def _containment_keys(
    docs: list[tuple[int, Document]], tokens: TokenBatch | None, cfg: BuildConfig
) -> tuple[list[int], list[bytes]]:
    """(tokens, paragraph keys) per kept text for containment; from the batch's tokens, or
    tokenised again one by one when those failed. Nothing when near-dup detection is off."""
    if not cfg.near_dup.enabled:
        return [0] * len(docs), [b""] * len(docs)
    if tokens is not None and len(tokens) == len(docs):
        return tokens.counts.tolist(), tokens.paragraph_keys(PARAGRAPH_MIN_TOKENS)
    counts, keys = [], []
    for _, doc in docs:
        try:
            one = TokenBatch.from_texts([doc.text])
        except Exception:  # the text's signature failed too: it becomes a reject
            counts.append(0)
            keys.append(b"")
            continue
        counts.append(int(one.counts[0]))
        keys.append(one.paragraph_keys(PARAGRAPH_MIN_TOKENS)[0])
    return counts, keys


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
    t0 = time.perf_counter()
    result = state.cleaner.clean(raw.text, has_title=given_title is not None, ngrams=False)
    out.seconds["clean"] += time.perf_counter() - t0
    if result.repetitive:
        return _reject(Reason.REPETITIVE, result.repetitive, raw.provenance, raw.text, source_id)
    problem = check_clean(result.text, len(raw.text), state.validation)
    if problem:
        return _reject(problem[0], problem[1], raw.provenance, raw.text, source_id)
    published = parse_published(meta.get("published"))
    if meta.get("published") and published is None:
        out.meta_not_understood["published"] += 1
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
    state: MapState,
    docs: list[tuple[int, Document]],
    tokens: TokenBatch | None,
    rejects: list[tuple[int, Reject]],
    out: BatchResult,
) -> tuple[list[tuple[int, Document]], TokenBatch | None]:
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
    for i, ((_, doc), (code, score)) in enumerate(zip(docs, tags, strict=True)):
        fixed = language.correct_by_script(code, score, doc.text)
        if fixed[0] != code:
            out.language_corrections[f"{code} -> {fixed[0]}"] += 1
            tags[i] = fixed
    kept: list[tuple[int, Document]] = []
    keep: list[bool] = []
    wanted = set(cfg.languages)
    for (seq, doc), (code, score) in zip(docs, tags, strict=True):
        doc.language, doc.language_score = code, score
        keep.append(not wanted or code in wanted)
        if not keep[-1]:
            detail = (
                f"language {code} (score {score:.2f}) is not in "
                f"--languages {','.join(cfg.languages)}"
            )
            rejects.append(
                (seq, _reject(Reason.LANGUAGE, detail, doc.provenance, doc.text, doc.source_id))
            )
            continue
        kept.append((seq, doc))
    if tokens is not None and len(kept) < len(docs):
        tokens = tokens.select(keep)
    return kept, tokens


def _emit(
    doc: Document,
    seq: int,
    sig: bytes | None,
    n_tokens: int,
    paragraphs: bytes,
    spaceless: bool | None,
    cfg: BuildConfig,
    out: BatchResult,
) -> None:
    chash, num_words = ids.fingerprint(doc.text, spaceless)
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
            # Shingle positions: one per window of shingle_size tokens, one for a short text.
            max(n_tokens - cfg.near_dup.shingle_size + 1, min(n_tokens, 1)),
            paragraphs if sig is not None else b"",
        )
    )
