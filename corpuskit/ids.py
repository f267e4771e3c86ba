"""Content hashes and record ids: cryptographic, so they agree across machines and runs."""

from __future__ import annotations

import hashlib
import re

from corpuskit.tokens import PER_CHAR_BLOCKS

# Characters of scripts written without spaces (Han, kana, Thai, ...): each is one word,
# as each is one token of the near-duplicate shingles.
_SPACELESS_RE = re.compile("[" + "".join(f"{chr(a)}-{chr(b)}" for a, b in PER_CHAR_BLOCKS) + "]")
_ALNUM_RE = re.compile(r"[^\W_]")


def normalise(text: str) -> str:
    """The text as compared for exact duplicates: casefolded, whitespace folded."""
    return " ".join(text.casefold().split())


def content_hash(text: str) -> str:
    """128-bit BLAKE2b of the normalised text: the exact-duplicate key."""
    return hashlib.blake2b(
        normalise(text).encode("utf-8", "surrogatepass"), digest_size=16
    ).hexdigest()


def fingerprint(text: str, spaceless: bool | None = None) -> tuple[str, int]:
    """(content hash, word count) from one casefold and one split: on the hot path, the
    word count comes free with the normalisation (casefolding never creates whitespace).

    Words are whitespace-separated, except in scripts written without spaces (Han, kana,
    Thai, Lao, Khmer, Myanmar), where each character is a word, as in the near-duplicate
    shingles (:mod:`corpuskit.tokens`): a 310-character Chinese article is ~300 words, not 3.
    ``spaceless`` says whether the text has such characters, when the caller knows (the map
    stage reads it off its tokens: searching 2 KB for them costs ~20 µs); None: look.
    """
    words = text.casefold().split()
    digest = hashlib.blake2b(" ".join(words).encode("utf-8", "surrogatepass"), digest_size=16)
    if spaceless is None:
        spaceless = not text.isascii() and _SPACELESS_RE.search(text) is not None
    if not spaceless:
        return digest.hexdigest(), len(words)
    return digest.hexdigest(), sum(map(_word_count, words))


def _word_count(word: str) -> int:
    """Words in one whitespace-separated token: its spaceless-script characters, plus each
    run of other letters or digits ("2024年" is two words; "。" alone is none)."""
    rest, spaceless = _SPACELESS_RE.subn(" ", word)
    if not spaceless:
        return 1
    return spaceless + sum(1 for part in rest.split() if _ALNUM_RE.search(part))


#: Characters of a record id (hex digits of 80 bits): fixed, so the global stage keeps ids
#: in one flat byte array.
ID_CHARS = 20


def record_id(source_id: str, text_hash: str) -> str:
    """80-bit id from source id + normalised text (via its hash): the same article from the
    same source always gets the same id, whatever the input order or machine."""
    key = f"{source_id}\x00{text_hash}".encode("utf-8", "surrogatepass")
    return hashlib.blake2b(key, digest_size=ID_CHARS // 2).hexdigest()
