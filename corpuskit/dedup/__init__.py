"""Near-duplicate detection: MinHash signatures (map stage), LSH clustering (global stage).

Why it is split this way: signatures are the only per-record work that needs the text, so they
are computed next to the other per-record work (in batches, in parallel); the global stage then
holds one compact signature per record (``num_perm`` little-endian uint32, 512 bytes by default)
and never a text, which keeps clustering and the cross-split audit in memory for millions of
records.

``minhash.py`` (map stage: shingles, signatures, similarity), ``index.py`` (global stage:
LSH clusters, the cross-split audit), ``containment.py`` (how much of one article lies
inside another, by paragraph keys and shingle counts).
"""

from corpuskit.config import NearDupConfig  # defined with every other setting
from corpuskit.dedup.index import AuditResult, NearDupIndex
from corpuskit.dedup.minhash import (
    estimate_jaccard,
    exact_jaccard,
    shingle_tokens,
    signature_scheme,
    signatures,
    signatures_from_tokens,
)
from corpuskit.tokens import TOKENIZER_VERSION

__all__ = [
    "TOKENIZER_VERSION",
    "AuditResult",
    "NearDupConfig",
    "NearDupIndex",
    "estimate_jaccard",
    "exact_jaccard",
    "shingle_tokens",
    "signature_scheme",
    "signatures",
    "signatures_from_tokens",
]
