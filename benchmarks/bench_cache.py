"""Incremental rebuilds: a corpus that grew by 1 %, rebuilt with the map-stage cache.

    python benchmarks/bench_cache.py --n 100000            # issue 19's figure
    python benchmarks/bench_cache.py --n 20000 --grow 0.01

Generates ``n × (1 + grow)`` articles (``make_corpus.py``) and splits them into two files:
``base.jsonl`` (the first ``n``) and ``new.jsonl`` (the rest). Then, each a separate
``corpuskit build`` with the default ``--jobs``:

1. ``cold base``: the base corpus, ``--no-cache`` (the reference for the cache's cost);
2. ``warm base``: the base corpus, filling an empty cache (what a first build costs with
   the cache on);
3. ``cold grown``: base + new, ``--no-cache``: the baseline of the ratio;
4. ``cached grown``: base + new, with the cache of step 2.

Prints wall seconds, the ratio of 4 to 3 (issue 19's bar: ≤ 0.10) and of 2 to 1, the
time by stage of each build (from ``--report``), and checks that 3 and 4 wrote
byte-identical artifacts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from golden import digests  # every file's sha256, by relative path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def _build(label: str, sources: list[Path], out: Path, cache: Path | None) -> dict[str, object]:
    report = out.with_suffix(".report.json")
    cmd = [PY, "-m", "corpuskit", "build", *map(str, sources), "--out", str(out), "--force"]
    cmd += ["--name", "bench", "--quiet", "--report", str(report)]
    cmd += ["--cache", str(cache)] if cache is not None else ["--no-cache"]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    data = json.loads(report.read_text())
    timings = data["timings"]
    stages = {k: timings.get(k, 0.0) for k in ("map", "global", "write")}
    stages["map.cache"] = timings.get("map.cache", 0.0)
    row = {"label": label, "wall": wall, "from_cache": data.get("from_cache", 0), **stages}
    print(
        f"{label:14} {wall:7.2f} s   from cache {row['from_cache']:>8,}   "
        + "  ".join(f"{k} {v:6.2f}" for k, v in stages.items()),
        flush=True,
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="base articles (default 100,000)")
    parser.add_argument("--grow", type=float, default=0.01, help="share of new articles")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="corpuskit-bench-cache-"))
    try:
        total = args.n + max(1, round(args.n * args.grow))
        corpus = work / "all.jsonl"
        subprocess.run(
            [PY, str(HERE / "make_corpus.py"), "--n", str(total), "--out", str(corpus)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        base, new = work / "src" / "base.jsonl", work / "src" / "new.jsonl"
        base.parent.mkdir()
        with corpus.open("rb") as fh, base.open("wb") as b, new.open("wb") as n:
            for i, line in enumerate(fh):
                (b if i < args.n else n).write(line)
        corpus.unlink()
        cache = work / "cache"
        rows = [
            _build("cold base", [base], work / "cold-base", None),
            _build("warm base", [base], work / "warm-base", cache),
            _build("cold grown", [base, new], work / "cold-grown", None),
            _build("cached grown", [base, new], work / "cached-grown", cache),
        ]
        same = digests(work / "cold-grown") == digests(work / "cached-grown")
        walls = {str(r["label"]): float(r["wall"]) for r in rows}  # type: ignore[arg-type]
        ratio = walls["cached grown"] / walls["cold grown"]
        overhead = walls["warm base"] / walls["cold base"]
        verdict = "PASS" if ratio <= 0.1 else "FAIL"
        print(f"\ncached grown / cold grown: {ratio:.3f} (bar ≤ 0.10: {verdict})")
        print(f"filling the cache / cold build: {overhead:.3f}")
        print(f"artifacts byte-identical: {'yes' if same else 'NO'}")
        if args.json:
            figures = {
                "n": args.n,
                "total": total,
                "rows": rows,
                "ratio": ratio,
                "fill_overhead": overhead,
                "identical": same,
            }
            args.json.write_text(json.dumps(figures, indent=2) + "\n")
        if not same:
            raise SystemExit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
