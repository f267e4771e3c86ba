"""The floor: the least any tool that tags a JSONL corpus's languages must do.

    python benchmarks/floor.py corpus.jsonl --out /tmp/floor

``pyarrow.json.read_json`` (multi-threaded, C++) → ``langdetect_rs.detect_langs_batch`` on
the ``text`` column, 1,000 texts per call (on all cores, outside the GIL) → one
``pyarrow.parquet.write_table``. No `datasets`, no validation, cleaning, de-duplication,
split or card. What corpuskit does beyond this is its own cost; what the `datasets`
baseline does beyond it is that library's. Prints one JSON line with its timings.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


def run(corpus: Path, out: Path, batch_size: int = 1000) -> dict[str, Any]:
    t0 = time.perf_counter()
    import pyarrow as pa
    import pyarrow.json as pj
    import pyarrow.parquet as pq
    from langdetect_rs import DetectorFactory, detect_langs_batch

    DetectorFactory.seed = 0
    t1 = time.perf_counter()
    # Large blocks: the default (1 MB) splits 2 KB articles' lines across too many chunks.
    table = pj.read_json(corpus, read_options=pj.ReadOptions(block_size=16 << 20))
    t2 = time.perf_counter()
    texts = table.column("text").to_pylist()
    languages: list[str] = []
    scores: list[float] = []
    for start in range(0, len(texts), batch_size):
        for result in detect_langs_batch(texts[start : start + batch_size]):
            languages.append(result[0].lang if result else "und")
            scores.append(result[0].prob if result else 0.0)
    t3 = time.perf_counter()
    table = table.append_column("language", pa.array(languages))
    table = table.append_column("language_score", pa.array(scores, pa.float32()))
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "train.parquet", compression="zstd")
    t4 = time.perf_counter()
    return {
        "rows": table.num_rows,
        "import": t1 - t0,
        "load": t2 - t1,
        "map": t3 - t2,
        "write": t4 - t3,
        "total": t4 - t0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, help="JSONL with a 'text' field")
    parser.add_argument("--out", type=Path, required=True, help="folder for train.parquet")
    parser.add_argument("--batch-size", type=int, default=1000)
    args = parser.parse_args(argv)
    print(json.dumps(run(args.corpus, args.out, args.batch_size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
