"""The map stage's steps, in the order they run (see :mod:`corpuskit.mapstage.base`).

=============  ==========  =============================================================
step           timing      what it does
=============  ==========  =============================================================
Validate       validate    source id; rejects what is not an article (empty, too short,
                           too long, binary)
Clean          clean       the clean steps (:mod:`corpuskit.clean`); rejects what is
                           spam by paragraph ratios or too short once cleaned; personal
                           data in the title, url, record id and metadata
Tokenise       tokenise    one TokenBatch for the batch, for the n-gram ratios and MinHash
CheckNgrams    clean       rejects what is spam by word n-gram ratios; counts the cleaning
TagLanguage    language    langdetect tags, script corrections; the --language-field
                           label (checked against the tag); the --languages filter
MinHash        minhash     MinHash signatures (near-duplicate detection only)
Containment    fingerprint shingle counts and paragraph keys (near-duplicate detection only)
Emit           fingerprint content hash, id, the output row and the global stage's keys
=============  ==========  =============================================================
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from corpuskit import dedup, ids, language
from corpuskit.clean.pii import KINDS, cut_last_word, decoded
from corpuskit.dedup.containment import PARAGRAPH_MIN_TOKENS
from corpuskit.mapstage.base import Batch, BatchResult, Item, Step, Tally
from corpuskit.record import MAX_REJECT_TEXT, Document, Keys, Reason
from corpuskit.tokens import TokenBatch
from corpuskit.validate import check_clean, check_raw

if TYPE_CHECKING:
    from corpuskit.clean import Cleaner
    from corpuskit.mapstage import MapState


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


class Validate(Step[list[tuple[str, bool, Any]]]):
    """Source id (a 'source' field wins over the --source-id rule); the raw-text checks."""

    timing = "validate"

    def compute(self, state: MapState, batch: Batch) -> list[tuple[str, bool, Any]]:
        out = []
        for item in batch.items:
            source = item.raw.meta.get("source")
            if source:
                source_id, applied = str(source), True
            else:
                source_id, applied = state.rule.derive(item.raw.provenance.file)
            out.append((source_id, applied, check_raw(item.raw.text, state.validation)))
        return out

    def apply(
        self, state: MapState, batch: Batch, results: Sequence[Any], stats: BatchResult
    ) -> None:
        for item, (source_id, applied, problem) in zip(batch.items, results, strict=True):
            item.source_id = source_id
            if not applied:
                batch.tally(item).source_rule_miss = True
            if problem:
                batch.reject(item, problem[0], problem[1])


#: What Clean computes for one record: the document, or why it is not an article any more
#: (reason, detail); whether a 'published' value was given but not understood; and the
#: personal data found in the document (kind, matches).
Cleaned = tuple[Document | None, tuple[Reason, str] | None, bool, tuple[tuple[str, int], ...]]


class Clean(Step[list[Cleaned]]):
    """Cleaning (word n-gram ratios aside: CheckNgrams measures them for the whole batch);
    a document for every record that is still an article afterwards."""

    timing = "clean"

    def compute(self, state: MapState, batch: Batch) -> list[Cleaned]:
        # Which texts and titles the pii step must look at, screened for the whole batch.
        texts = state.cleaner.pii_screen([item.raw.text for item in batch.items])
        titles = state.cleaner.pii_screen([_title(item) or "" for item in batch.items])
        return [
            self._one(state, item, text, title)
            for item, text, title in zip(batch.items, texts, titles, strict=True)
        ]

    @staticmethod
    def _one(state: MapState, item: Item, pii_text: bool = True, pii_title: bool = True) -> Cleaned:
        raw = item.raw
        title = _title(item)
        cleaner = state.cleaner
        result = cleaner.clean(raw.text, has_title=title is not None, ngrams=False, pii=pii_text)
        if result.repetitive:
            return None, (Reason.REPETITIVE, result.repetitive), False, ()
        problem = check_clean(result.text, len(raw.text), state.validation)
        if problem is not None:
            return None, problem, False, ()
        found = Counter(result.pii)
        if title is not None and pii_title:
            title, in_title = cleaner.scrub(title)
            found.update(in_title)
        url = str(raw.meta["url"]) if raw.meta.get("url") else None
        if url is not None:
            url, in_url = cleaner.scrub(url, ("secret",))
            found.update(in_url)
        record_id = raw.meta.get("id")
        if record_id is not None:
            record_id, in_id = cleaner.scrub(record_id, ID_PII)
            found.update(in_id)
        metadata = raw.metadata
        if metadata is not None:
            metadata, in_metadata = scrub_metadata(cleaner, metadata)
            found.update(in_metadata)
        if found and state.config.clean.pii == "reject":
            # Counted when the reject's text is redacted (mapstage.scrub_rejects).
            kinds = ", ".join(f"{kind} {n}" for kind, n in pii_counts(found))
            return None, (Reason.PII, f"holds personal data ({kinds}); --pii reject"), False, ()
        published = parse_published(raw.meta.get("published"))
        doc = Document(
            text=result.text,
            provenance=raw.provenance,
            source_id=item.source_id,
            title=title or result.title,
            url=url,
            published=published,
            clean_flags=list(result.flags),
            chars_removed=result.chars_removed,
            source_record_id=record_id,
            metadata=metadata,
        )
        date_not_understood = bool(raw.meta.get("published")) and published is None
        return doc, None, date_not_understood, pii_counts(found)

    def apply(
        self, state: MapState, batch: Batch, results: Sequence[Cleaned], stats: BatchResult
    ) -> None:
        for item, (doc, problem, date_not_understood, pii) in zip(
            batch.items, results, strict=True
        ):
            if problem is not None:
                batch.reject(item, problem[0], problem[1])
                continue
            if date_not_understood:
                batch.tally(item).published_not_understood = True
            if item.raw.unread:
                batch.tally(item).unread = item.raw.unread
            if pii:
                batch.tally(item).pii = pii
            item.doc = doc


#: The personal data looked for in a record id: an id may look like a phone or card number
#: or an IP address and still be a plain number, but an e-mail address or a secret token
#: is what it says.
ID_PII = ("email", "secret")


def scrub_metadata(cleaner: Cleaner, metadata: str) -> tuple[str, Counter[str]]:
    """The ``metadata`` JSON with the personal data in it redacted (as ``--pii`` says), and
    what was found. One scan of the whole text finds nothing in most records; otherwise
    each key and value is scrubbed on its own, so the JSON stays valid: keys (an address
    book keyed by e-mail), strings, and numbers (a card number stored as an integer; a
    redacted number becomes a string)."""
    _, found = cleaner.scrub(metadata, redact_it=False)
    if not found:
        return metadata, found
    found = Counter()

    def text(value: str) -> str:
        redacted, more = cleaner.scrub(value)
        found.update(more)
        return redacted

    def scrubbed(value: Any) -> Any:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            shown = json.dumps(value)
            redacted = text(shown)
            return value if redacted == shown else redacted
        if isinstance(value, dict):
            out: dict[str, Any] = {}
            for key, item in value.items():
                name = text(key)
                while name in out:  # two keys redacted to one placeholder: keep both
                    name += "'"
                out[name] = scrubbed(item)
            return out
        if isinstance(value, list):
            return [scrubbed(v) for v in value]
        return value

    plain = scrubbed(json.loads(metadata))
    return json.dumps(plain, ensure_ascii=False, sort_keys=True, separators=(",", ":")), found


def pii_counts(found: Counter[str]) -> tuple[tuple[str, int], ...]:
    """Personal data by kind, in the order of ``corpuskit.clean.pii.KINDS``."""
    return tuple((kind, found[kind]) for kind in KINDS if found[kind])


def scrub_rejects(state: MapState, batch: Batch) -> None:
    """Personal data in the rejects' texts (the rejects config is published too): redacted
    with ``--pii redact`` or ``reject``, and counted for a record not counted yet.

    A reject holds raw text, where personal data may hide behind an entity (``&#64;``) or
    odd spaces that cleaning would have turned into a finding: when the decoded form
    (:func:`corpuskit.clean.pii.decoded`) holds more, that form is published, redacted.
    A text cut at ``MAX_REJECT_TEXT`` loses its last word, which may be half an address.
    """
    cleaner = state.cleaner
    if cleaner.pii is None:
        return
    redacts = cleaner.redacts
    for seq, reject in batch.rejects:
        if redacts and reject.source_record_id:
            reject.source_record_id = cleaner.scrub(reject.source_record_id, ID_PII)[0]
        if not reject.text:
            continue
        text = reject.text
        if redacts and len(text) >= MAX_REJECT_TEXT:
            text = cut_last_word(text)
        text, found = cleaner.scrub(text, redact_it=redacts)
        plain = decoded(text)
        if plain != text:
            plain, more = cleaner.scrub(plain, redact_it=redacts)
            if more:
                found.update(more)
                if redacts:
                    text = plain
        if redacts:
            reject.text = text
        if not found:
            continue
        tally = batch.tallies.get(seq)
        if tally is None:
            tally = batch.tallies[seq] = Tally()
        if not tally.pii:
            tally.pii = pii_counts(found)


def _title(item: Item) -> str | None:
    title = item.raw.meta.get("title")
    return str(title).strip() if title else None


class Tokenise(Step[TokenBatch]):
    """One TokenBatch for the cleaned texts, if a later step needs words."""

    timing = "tokenise"

    def active(self, state: MapState, batch: Batch) -> bool:
        config = state.config
        return bool(batch.items) and (config.near_dup.enabled or state.cleaner.measures_ngrams)

    def compute(self, state: MapState, batch: Batch) -> TokenBatch:
        return TokenBatch.from_texts(batch.texts())

    def merge(self, parts: list[TokenBatch]) -> TokenBatch:
        return TokenBatch.concat(parts)

    def apply(self, state: MapState, batch: Batch, results: TokenBatch, stats: BatchResult) -> None:
        batch.tokens = results


class CheckNgrams(Step[Sequence[str | None]]):
    """Reject repetitive texts (word n-gram ratios); count the cleaning of the others."""

    timing = "clean"

    def active(self, state: MapState, batch: Batch) -> bool:
        return True  # the counting runs even when the ratios are off

    def compute(self, state: MapState, batch: Batch) -> Sequence[str | None]:
        if state.cleaner.measures_ngrams and batch.tokens is not None:
            return state.cleaner.ngram_verdicts(batch.texts(), batch.tokens)
        return [None] * len(batch)

    def apply(
        self, state: MapState, batch: Batch, results: Sequence[str | None], stats: BatchResult
    ) -> None:
        for item, verdict in zip(batch.items, results, strict=True):
            doc = item.document
            if verdict is not None:
                batch.reject(item, Reason.REPETITIVE, verdict)
            else:
                cleaned = (tuple(doc.clean_flags), len(item.raw.text), doc.chars_removed)
                batch.tally(item).cleaned = cleaned
        if not state.config.near_dup.enabled:
            batch.tokens = None  # nothing reads them any more


#: (langdetect's tag, the tag after the script check, its score) for one text.
Tagged = tuple[str, str, float]


class TagLanguage(Step[list[Tagged]]):
    """langdetect tags (a text the detector fails on alone is 'und'); script corrections;
    the --languages filter."""

    timing = "language"

    def compute(self, state: MapState, batch: Batch) -> list[Tagged]:
        texts = batch.texts()
        guesses = state.detector.detect_batch(texts)
        out = []
        for (code, score), text in zip(
            language.tag(guesses, state.config.language_threshold), texts, strict=True
        ):
            fixed, fixed_score = language.correct_by_script(code, score, text)
            out.append((code, fixed, fixed_score) if fixed != code else (code, code, score))
        return out

    def recover(self, exc: Exception) -> list[Tagged]:
        undetermined = language.UNDETERMINED
        return [(undetermined, undetermined, 0.0)]  # what a text without features gets

    def apply(
        self, state: MapState, batch: Batch, results: Sequence[Tagged], stats: BatchResult
    ) -> None:
        cfg = state.config
        wanted = set(cfg.languages)
        for item, (tagged, code, score) in zip(batch.items, results, strict=True):
            doc = item.document
            if code != tagged:
                batch.tally(item).correction = f"{tagged} -> {code}"
            if cfg.source.language_field:
                code, score = _given_language(batch, item, code, score)
            doc.language, doc.language_score = code, score
            if wanted and code not in wanted:
                detail = (
                    f"language {code} (score {score:.2f}) is not in "
                    f"--languages {','.join(cfg.languages)}"
                )
                batch.reject(item, Reason.LANGUAGE, detail, doc.text)


def _given_language(batch: Batch, item: Item, detected: str, score: float) -> tuple[str, float]:
    """The language and score of a record under --language-field: its label, normalised
    (:func:`corpuskit.language.normalise_label`), with the detector's score when the
    detector names the same language and 0 when not (a disagreement, counted); the
    detector's answer when there is no usable label (counted too)."""
    tally = batch.tally(item)
    given = language.normalise_label(item.raw.meta.get("language"))
    if given is None:
        tally.language_fallback = True
        return detected, score
    tally.language_given = True
    if detected == language.UNDETERMINED:
        return given, 0.0
    if not language.same_language(given, detected):
        tally.disagreement = f"{given} -> {detected}"
        return given, 0.0
    return detected, score  # the same language, as precisely as the detector names it


class MinHash(Step[list[bytes]]):
    """MinHash signatures of the kept texts (:mod:`corpuskit.dedup`)."""

    timing = "minhash"

    def active(self, state: MapState, batch: Batch) -> bool:
        return bool(batch.items) and state.config.near_dup.enabled

    def compute(self, state: MapState, batch: Batch) -> list[bytes]:
        tokens = batch.tokens
        if tokens is None:
            tokens = TokenBatch.from_texts(batch.texts())
        return list(dedup.signatures_from_tokens(tokens, state.config.near_dup))

    def apply(
        self, state: MapState, batch: Batch, results: Sequence[bytes], stats: BatchResult
    ) -> None:
        for item, signature in zip(batch.items, results, strict=True):
            item.document.signature = signature


class Containment(Step[list[tuple[int, bytes]]]):
    """Per text: shingle positions and the keys of its long paragraphs, for containment
    (:mod:`corpuskit.dedup.containment`)."""

    timing = "fingerprint"

    def active(self, state: MapState, batch: Batch) -> bool:
        return bool(batch.items) and state.config.near_dup.enabled

    def compute(self, state: MapState, batch: Batch) -> list[tuple[int, bytes]]:
        tokens = batch.tokens
        if tokens is None or len(tokens) != len(batch):
            tokens = TokenBatch.from_texts(batch.texts())
        shingle = state.config.near_dup.shingle_size
        # Shingle positions: one per window of shingle_size tokens, one for a short text.
        positions = [max(n - shingle + 1, min(n, 1)) for n in tokens.counts.tolist()]
        return list(zip(positions, tokens.paragraph_keys(PARAGRAPH_MIN_TOKENS), strict=True))

    def apply(
        self, state: MapState, batch: Batch, results: Sequence[Any], stats: BatchResult
    ) -> None:
        for item, (shingles, paragraphs) in zip(batch.items, results, strict=True):
            item.document.num_shingles = shingles
            item.document.paragraphs = paragraphs


class Emit(Step[list[tuple[str, int]]]):
    """Content hash, id and word count; the output row and the global stage's keys."""

    timing = "fingerprint"

    def compute(self, state: MapState, batch: Batch) -> list[tuple[str, int]]:
        # Whether each text has characters of a script written without spaces (for
        # num_words), read off the tokens when there are any; None: ids.fingerprint looks.
        spaceless: list[bool | None] = [None] * len(batch)
        if batch.tokens is not None and len(batch.tokens) == len(batch):
            spaceless = [n > 0 for n in batch.tokens.char_token_counts().tolist()]
        return [
            ids.fingerprint(item.document.text, flag)
            for item, flag in zip(batch.items, spaceless, strict=True)
        ]

    def apply(
        self, state: MapState, batch: Batch, results: Sequence[Any], stats: BatchResult
    ) -> None:
        group_by = state.config.group_by
        for item, (chash, num_words) in zip(batch.items, results, strict=True):
            doc = item.document
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
                "source_record_id": doc.source_record_id,
                "metadata": doc.metadata,
                "_seq": item.seq,
                "_file": doc.provenance.file,
                "_line": doc.provenance.line,
            }
            value = row.get(group_by) if group_by else None
            stats.rows.append(row)
            stats.keys.append(
                Keys(
                    item.seq,
                    rid,
                    chash,
                    len(doc.text),
                    doc.language,
                    None if value is None else str(value),
                    doc.provenance.file,
                    doc.provenance.line,
                    doc.signature,
                    doc.num_shingles,
                    doc.paragraphs if doc.signature is not None else b"",
                )
            )


#: The map stage, in order. A new step is one class above and one entry here.
STEPS: tuple[Step[Any], ...] = (
    Validate(),
    Clean(),
    Tokenise(),
    CheckNgrams(),
    TagLanguage(),
    MinHash(),
    Containment(),
    Emit(),
)
