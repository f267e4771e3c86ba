"""Content hashes and record ids: cryptographic, so they agree across machines and runs."""

from __future__ import annotations

import hashlib


def normalise(text: str) -> str:
    """The text as compared for exact duplicates: casefolded, whitespace folded."""
    return " ".join(text.casefold().split())


def content_hash(text: str) -> str:
    """128-bit BLAKE2b of the normalised text: the exact-duplicate key."""
    return hashlib.blake2b(
        normalise(text).encode("utf-8", "surrogatepass"), digest_size=16
    ).hexdigest()


def fingerprint(text: str) -> tuple[str, int]:
    """(content hash, word count) from one casefold and one split: on the hot path, the
    word count comes free with the normalisation (casefolding never creates whitespace)."""
    words = text.casefold().split()
    digest = hashlib.blake2b(" ".join(words).encode("utf-8", "surrogatepass"), digest_size=16)
    return digest.hexdigest(), len(words)


def record_id(source_id: str, text_hash: str) -> str:
    """80-bit id from source id + normalised text (via its hash): the same article from the
    same source always gets the same id, whatever the input order or machine."""
    key = f"{source_id}\x00{text_hash}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=10).hexdigest()
