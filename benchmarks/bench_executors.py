"""Throughput of the map-stage executors: the local pool against Ray, at 1 and 2 workers.

    python benchmarks/bench_executors.py [--n 20000] [--repeat 1]

Builds one generated corpus (``make_corpus.py``) with ``--executor local`` and
``--executor ray`` at ``--jobs 1`` and ``2``, each as its own ``corpuskit build`` process,
and reports wall seconds, articles/s and the ratio to the local pool at ``--jobs 1``
measured in the same run. Every build's artifact is compared with the first one's: the
executors must agree byte for byte.

Ray runs in a network namespace holding only loopback (``unshare -n``; ``-rn`` without
root), as in ``tests/test_ray.py``, so that it never advertises this machine's address.
A Ray build includes starting and stopping its local Ray (~3 s here).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from golden import digests as golden_digests  # every file's sha256, by relative path

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


def _command(corpus: Path, out: Path, executor: str, jobs: int) -> list[str]:
    build = [
        str(BIN / "corpuskit"),
        "build",
        str(corpus),
        "--out",
        str(out),
        "--name",
        "bench",  # not the folder's name, which differs per run
        "--force",
        "--quiet",
        "--no-cache",  # every build from cold
        "--executor",
        executor,
        "--jobs",
        str(jobs),
    ]
    if executor != "ray":
        return build
    prefix = ["unshare", "-n"] if os.geteuid() == 0 else ["unshare", "-rn"]
    return [*prefix, "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *build]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="articles (default 20,000)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per setting (median shown)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="corpuskit-executors-"))
    try:
        corpus = work / "corpus.jsonl"
        make = [sys.executable, str(HERE / "make_corpus.py"), "--n", str(args.n)]
        subprocess.run(
            [*make, "--out", str(corpus)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
        env["SOURCE_DATE_EPOCH"] = "1767225600"  # the card's date: the same for every run
        env.pop("RAY_ADDRESS", None)
        settings = [("local", 1), ("local", 2), ("ray", 1), ("ray", 2)]
        times: dict[tuple[str, int], list[float]] = {s: [] for s in settings}
        digests: dict[tuple[str, int], tuple[tuple[str, str], ...]] = {}
        for _ in range(args.repeat):
            for executor, jobs in settings:
                out = work / f"out-{executor}-{jobs}"
                start = time.perf_counter()
                subprocess.run(_command(corpus, out, executor, jobs), check=True, env=env)
                times[(executor, jobs)].append(time.perf_counter() - start)
                digests[(executor, jobs)] = tuple(sorted(golden_digests(out).items()))
        base = statistics.median(times[("local", 1)])
        print(f"executors, {args.n:,} articles, {os.cpu_count()} cores, median of {args.repeat}")
        print(f"{'run':<22}{'wall s':>8}{'articles/s':>12}{'÷ local 1':>11}")
        for setting in settings:
            wall = statistics.median(times[setting])
            name = f"--executor {setting[0]} -j{setting[1]}"
            print(f"{name:<22}{wall:>8.2f}{args.n / wall:>12,.0f}{wall / base:>11.2f}")
        same = len(set(digests.values())) == 1
        print("artifacts identical across executors:", "yes" if same else "NO")
        if not same:
            raise SystemExit(1)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
