"""The baseline: what users write today to tag a news dump's languages with `datasets`.

    python benchmarks/baseline_datasets.py corpus.jsonl --out /tmp/baseline [--engine rs|py]

``load_dataset("json")`` → ``.map(batched=True)`` with langdetect (seeded with
``DetectorFactory.seed = 0``, as langdetect users do) → ``.to_parquet()``. Nothing else:
no validation, cleaning, de-duplication or split; corpuskit's whole build is measured
against this script that only tags languages.

- ``--engine rs`` (default): ``langdetect_rs.detect_langs_batch``, one call per batch, on
  all cores outside the GIL.
- ``--engine py``: the pure-Python ``langdetect`` one text at a time (~40x slower: use a
  small corpus).

Each run gets a fresh, temporary Hugging Face cache (``HF_HOME``) and ``HF_HUB_OFFLINE=1``,
so nothing is reused from an earlier run; the cache is removed afterwards. The script
prints one JSON line with its own timings (load, map, write) on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def tag_rs(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Language and probability of each text, langdetect-rs batch call."""
    from langdetect_rs import detect_langs_batch

    languages: list[str] = []
    scores: list[float] = []
    for result in detect_langs_batch(batch["text"]):
        if result:
            languages.append(result[0].lang)
            scores.append(result[0].prob)
        else:  # no features (empty text, digits only, ...)
            languages.append("und")
            scores.append(0.0)
    return {"language": languages, "language_score": scores}


def tag_py(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
    """Language and probability of each text, the pure-Python langdetect, one by one."""
    from langdetect import detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    languages: list[str] = []
    scores: list[float] = []
    for text in batch["text"]:
        try:
            best = detect_langs(text)[0]
            languages.append(best.lang)
            scores.append(best.prob)
        except LangDetectException:
            languages.append("und")
            scores.append(0.0)
    return {"language": languages, "language_score": scores}


def run(corpus: Path, out: Path, engine: str = "rs", batch_size: int = 1000) -> dict[str, Any]:
    """Load, tag, write; returns the step timings. Sets the HF environment first."""
    cache = Path(tempfile.mkdtemp(prefix="hf-bench-cache-"))
    os.environ["HF_HOME"] = str(cache)
    os.environ["HF_DATASETS_CACHE"] = str(cache / "datasets")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        t0 = time.perf_counter()
        from datasets import load_dataset  # imported after the environment is set

        if engine == "rs":
            from langdetect_rs import DetectorFactory

            tag = tag_rs
        else:
            from langdetect import DetectorFactory

            tag = tag_py
        DetectorFactory.seed = 0
        t1 = time.perf_counter()
        ds = load_dataset("json", data_files=str(corpus), split="train")
        t2 = time.perf_counter()
        ds = ds.map(tag, batched=True, batch_size=batch_size)
        t3 = time.perf_counter()
        out.mkdir(parents=True, exist_ok=True)
        ds.to_parquet(str(out / "train.parquet"))
        t4 = time.perf_counter()
        languages: dict[str, int] = {}
        for lang in ds["language"]:
            languages[lang] = languages.get(lang, 0) + 1
        return {
            "engine": engine,
            "rows": ds.num_rows,
            "import": t1 - t0,
            "load": t2 - t1,
            "map": t3 - t2,
            "write": t4 - t3,
            "total": t4 - t0,
            "languages": dict(sorted(languages.items(), key=lambda kv: -kv[1])),
        }
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="JSONL with a 'text' field")
    parser.add_argument("--out", type=Path, required=True, help="folder for train.parquet")
    parser.add_argument("--engine", choices=["rs", "py"], default="rs")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)
    result = run(args.corpus, args.out, args.engine, args.batch_size)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
