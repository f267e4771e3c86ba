"""What the pii clean step costs: whole builds with and without it, side by side.

    python benchmarks/bench_pii.py --n 20000 --repeat 3

Generates ``--n`` articles (``make_corpus.py``), then runs ``corpuskit build`` with all
clean steps and with all but ``pii``, alternating (so drift on a shared machine hits both
alike), ``--jobs 1``, ``--no-cache``. Prints each build's wall and CPU seconds, the
medians, their ratio, and the finder alone in µs per article and per KB of text.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def _build(corpus: Path, out: Path, steps: str) -> tuple[float, float]:
    cmd = [PY, "-m", "corpuskit", "build", str(corpus), "--out", str(out), "--force", "--quiet"]
    cmd += ["--no-cache", "--jobs", "1", "--clean-steps", steps]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _finder_alone(corpus: Path) -> tuple[float, float]:
    from corpuskit.clean.pii import PiiFinder
    from corpuskit.config import PII_ALLOW, PII_PHONE_REGIONS

    with corpus.open(encoding="utf-8") as fh:
        texts = [json.loads(line)["text"] for line in fh]
    finder = PiiFinder(PII_ALLOW, PII_PHONE_REGIONS)
    finder.find("warm up: +44 20 7946 0958")
    t0 = time.perf_counter()
    for text in texts:
        finder.find(text)
    seconds = time.perf_counter() - t0
    return seconds / len(texts) * 1e6, seconds / (sum(map(len, texts)) / 1000) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from corpuskit.config import CLEAN_STEPS

    work = Path(tempfile.mkdtemp(prefix="corpuskit-bench-pii-"))
    try:
        corpus = work / "corpus.jsonl"
        subprocess.run(
            [PY, str(HERE / "make_corpus.py"), "--n", str(args.n), "--out", str(corpus)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        settings = {
            "with pii": ",".join(CLEAN_STEPS),
            "without pii": ",".join(s for s in CLEAN_STEPS if s != "pii"),
        }
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in settings}
        for i in range(args.repeat):
            order = list(settings) if i % 2 == 0 else list(reversed(settings))
            for label in order:
                wall, cpu = _build(corpus, work / "out", settings[label])
                runs[label].append((wall, cpu))
                print(f"{label:12} run {i + 1}: {wall:6.2f} s wall, {cpu:6.2f} s CPU", flush=True)
        walls = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
        cpus = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
        print(
            f"\nmedian wall: with {walls['with pii']:.2f} s, without {walls['without pii']:.2f} s"
            f" -> {walls['with pii'] / walls['without pii']:.3f}x"
        )
        print(
            f"median CPU:  with {cpus['with pii']:.2f} s, without {cpus['without pii']:.2f} s"
            f" -> {cpus['with pii'] / cpus['without pii']:.3f}x"
        )
        per_article, per_kb = _finder_alone(corpus)
        print(f"finder alone: {per_article:.1f} µs per article, {per_kb:.1f} µs per KB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
