"""Looking into artifacts: what one holds (:func:`inspect_artifact`) and what changed
between two releases (:func:`diff_artifacts`). Both read the manifest and the Parquet
shards, a few columns at a time; neither writes anything.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from corpuskit.errors import CorpuskitError
from corpuskit.layout import DATA_DIR, DUPLICATES_DIR, MANIFEST, REJECTS_DIR
from corpuskit.split import SPLITS

#: Characters of text shown in a sample row.
SAMPLE_CHARS = 200
#: Rows read at a time from a shard.
BATCH_ROWS = 65_536
_SAMPLE_COLUMNS = ["id", "language", "source_id", "title", "text"]


def _manifest(path: Path) -> dict[str, Any]:
    try:
        data = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CorpuskitError(
            f"{path} is not a corpuskit artifact (no {MANIFEST}): give the folder a build "
            "wrote, e.g. dist/NAME"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CorpuskitError(f"{path / MANIFEST} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise CorpuskitError(f"{path / MANIFEST} is not a corpuskit manifest")
    return data


def _shards(path: Path) -> Iterator[tuple[str, Path]]:
    """(split, file) of every data shard: train, then eval (then any other), by file name."""
    order = {name: i for i, name in enumerate(SPLITS)}
    files = [(file.name.split("-", 1)[0], file) for file in (path / DATA_DIR).glob("*.parquet")]
    yield from sorted(files, key=lambda sf: (order.get(sf[0], len(order)), sf[1].name))


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def inspect_artifact(path: str | os.PathLike[str], samples: int = 3) -> dict[str, Any]:
    """What the artifact in ``path`` holds, JSON-ready::

        {"name", "path", "splits": {"train": N, "eval": N}, "languages": {code: N},
         "sources": {source_id: N}, "rejected": {reason: N}, "duplicates": N,
         "personal_data": {kind: N}, "bytes": {"data", "rejects", "duplicates", "total"},
         "samples": [{"split", "id", "language", "source_id", "title", "text"}]}

    Counts are read from the shards (languages and sources most frequent first), the
    rejects and duplicates from the manifest. ``samples``: the first rows of each split,
    ``samples`` in all, text cut to ``SAMPLE_CHARS``. Raises ``CorpuskitError`` when
    ``path`` is not an artifact.
    """
    root = Path(path)
    manifest = _manifest(root)
    splits: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    shards = list(_shards(root))
    for split, file in shards:
        splits[split] += 0
        for batch in pq.ParquetFile(file).iter_batches(
            batch_size=BATCH_ROWS, columns=["language", "source_id"]
        ):
            languages.update(batch.column(0).to_pylist())
            sources.update(batch.column(1).to_pylist())
            splits[split] += batch.num_rows
    shown: list[dict[str, Any]] = []
    first_shards = {split: file for split, file in reversed(shards)}  # each split's first
    for i, split in enumerate(splits):
        # ``samples`` rows in all, shared as evenly as the splits allow, the first ones first
        share = samples // len(splits) + (1 if i < samples % len(splits) else 0)
        if share <= 0:
            continue
        rows = pq.read_table(first_shards[split], columns=_SAMPLE_COLUMNS).slice(0, share)
        for row in rows.to_pylist():
            text = row["text"]
            row["text"] = text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + "…"
            shown.append({"split": split, **row})
    shown = shown[:samples]
    counts = manifest.get("counts", {})
    sizes = {name: _folder_bytes(root / name) for name in (DATA_DIR, REJECTS_DIR, DUPLICATES_DIR)}
    sizes["total"] = _folder_bytes(root)
    return {
        "name": manifest.get("name"),
        "path": str(root),
        "splits": dict(splits),
        "languages": _ranked(languages),
        "sources": _ranked(sources),
        "rejected": counts.get("rejected", {}),
        "duplicates": counts.get("duplicates", 0),
        "personal_data": manifest.get("personal_data", {}),
        "bytes": sizes,
        "samples": shown,
    }


def _ranked(counts: Counter[str]) -> dict[str, int]:
    """Most frequent first; ties by name (the same order however the shards are read)."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


# -- diff ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Article:
    split: str
    source_id: str
    url: str | None
    title: str | None


def _articles(root: Path) -> dict[str, _Article]:
    """id → where and what, for every kept article (~150 bytes each in memory)."""
    out: dict[str, _Article] = {}
    columns = ["id", "source_id", "url", "title"]
    for split, file in _shards(root):
        for batch in pq.ParquetFile(file).iter_batches(batch_size=BATCH_ROWS, columns=columns):
            for rid, source, url, title in zip(
                *(c.to_pylist() for c in batch.columns), strict=True
            ):
                out[rid] = _Article(split, source, url, title)
    return out


def _record_key(article: _Article) -> tuple[str, str, str] | None:
    """What tells the same source record across releases when its text (so its id)
    changed: the source and the URL, else the source and the title; None without either."""
    if article.url:
        return ("url", article.source_id, article.url)
    if article.title:
        return ("title", article.source_id, article.title)
    return None


def diff_artifacts(
    old: str | os.PathLike[str], new: str | os.PathLike[str], samples: int = 5
) -> dict[str, Any]:
    """What changed from the artifact ``old`` to ``new``, JSON-ready::

        {"old", "new", "added": N, "removed": N, "changed": N, "moved": N, "unchanged": N,
         "samples": {"added": [id], "removed": [id], "changed": [{"old", "new", "url",
         "title"}], "moved": [{"id", "from", "to"}]}}

    An article is the same when its id is (ids hash the source and the text): it is
    ``moved`` when its split differs, else ``unchanged``. Of the others, an old and a new
    article of the same source with the same URL (or, without one, the same title) are
    one record ``changed`` (new text); the rest are ``removed`` and ``added``. Holds both
    artifacts' ids in memory. Raises ``CorpuskitError`` when either is not an artifact.
    """
    old_root, new_root = Path(old), Path(new)
    _manifest(old_root), _manifest(new_root)  # both must be artifacts
    before, after = _articles(old_root), _articles(new_root)
    moved = [
        (rid, a.split, after[rid].split)
        for rid, a in before.items()
        if rid in after and after[rid].split != a.split
    ]
    unchanged = sum(1 for rid in before if rid in after) - len(moved)
    gone = {rid: a for rid, a in before.items() if rid not in after}
    fresh = {rid: a for rid, a in after.items() if rid not in before}
    by_key: dict[tuple[str, str, str], list[str]] = {}
    for rid in sorted(gone):
        key = _record_key(gone[rid])
        if key is not None:
            by_key.setdefault(key, []).append(rid)
    changed: list[tuple[str, str]] = []
    for rid in sorted(fresh):
        key = _record_key(fresh[rid])
        if key is not None and by_key.get(key):
            changed.append((by_key[key].pop(0), rid))
    paired_old = {o for o, _ in changed}
    paired_new = {n for _, n in changed}
    removed = sorted(rid for rid in gone if rid not in paired_old)
    added = sorted(rid for rid in fresh if rid not in paired_new)
    return {
        "old": str(old_root),
        "new": str(new_root),
        "added": len(added),
        "removed": len(removed),
        "changed": len(changed),
        "moved": len(moved),
        "unchanged": unchanged,
        "samples": {
            "added": added[:samples],
            "removed": removed[:samples],
            "changed": [
                {"old": o, "new": n, "url": after[n].url, "title": after[n].title}
                for o, n in changed[:samples]
            ],
            "moved": [{"id": r, "from": f, "to": t} for r, f, t in sorted(moved)[:samples]],
        },
    }
