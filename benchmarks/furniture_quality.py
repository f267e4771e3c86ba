"""What the furniture step removes from real pages, and what share of their words survive.

    python benchmarks/furniture_quality.py             # figures for this tree
    python benchmarks/furniture_quality.py --show      # ... and every paragraph removed
    python benchmarks/furniture_quality.py --base REV  # ... next to a git revision's

Inputs: the readability pages (``../shared/data/web/readability-pages.jsonl``: text that
Mozilla Readability extracted from real pages, so nearly all of it is prose a cleaner must
keep) and the seeds (``../shared/seeds``: news articles with real site furniture).

Figures, per input set:
- **kept-word share**: words (``\\w+``) in the cleaned texts / words in the raw texts, the
  whole clean stage counted (markup, furniture, repetition, ...);
- **furniture paragraphs / words**: what the furniture step alone removes, measured as the
  difference between cleaning with and without it.

With ``--base`` the same figures are computed by the cleaner of another revision (exported
with ``git archive``) in a subprocess, so the two trees never share imported modules.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
WORD_RE = re.compile(r"\w+")


def inputs() -> dict[str, list[str]]:
    """{input set: raw texts}; an input set whose file is missing is left out."""
    sets: dict[str, list[str]] = {}
    pages = SHARED / "data" / "web" / "readability-pages.jsonl"
    if pages.exists():
        rows = [
            json.loads(line)
            for line in pages.read_text(encoding="utf-8").split("\n")
            if line.strip()
        ]
        sets["readability"] = [row["text"] for row in rows]
    seeds = sorted((SHARED / "seeds").glob("*.txt"))
    if seeds:
        sets["seeds"] = [p.read_text(encoding="utf-8") for p in seeds]
    return sets


def measure(texts: list[str]) -> dict[str, Any]:
    """Figures for one input set with the corpuskit importable in this process."""
    from corpuskit.clean import Cleaner
    from corpuskit.config import CLEAN_STEPS, CleanConfig

    full = Cleaner(CleanConfig())
    without = Cleaner(CleanConfig(steps=tuple(s for s in CLEAN_STEPS if s != "furniture")))
    words_in = words_out = furniture_words = 0
    removed: list[str] = []
    for text in texts:
        cleaned = full.clean(text, has_title=True).text
        kept_without = without.clean(text, has_title=True).text
        words_in += len(WORD_RE.findall(text))
        words_out += len(WORD_RE.findall(cleaned))
        after = Counter(cleaned.split("\n\n"))
        for para in kept_without.split("\n\n"):
            if after[para] > 0:
                after[para] -= 1
            else:
                removed.append(para)
                furniture_words += len(WORD_RE.findall(para))
    return {
        "texts": len(texts),
        "words_in": words_in,
        "words_out": words_out,
        "kept_word_share": words_out / words_in if words_in else 1.0,
        "furniture_paragraphs": len(removed),
        "furniture_words": furniture_words,
        "removed": removed,
    }


def measure_all() -> dict[str, dict[str, Any]]:
    return {name: measure(texts) for name, texts in inputs().items()}


def measure_revision(rev: str) -> dict[str, dict[str, Any]]:
    """The same figures computed by revision ``rev`` of corpuskit, in a subprocess."""
    with tempfile.TemporaryDirectory(prefix="corpuskit-furniture-") as tmp:
        archive = Path(tmp) / "base.tar"
        subprocess.run(["git", "-C", str(REPO), "archive", "-o", str(archive), rev], check=True)
        tree = Path(tmp) / "tree"
        tree.mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(tree, filter="data")
        code = (
            "import json, sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]);"
            "import furniture_quality as q; print(json.dumps(q.measure_all()))"
        )
        done = subprocess.run(
            [sys.executable, "-c", code, str(tree), str(REPO / "benchmarks")],
            check=True,
            capture_output=True,
            text=True,
        )
        result: dict[str, dict[str, Any]] = json.loads(done.stdout)
        return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", help="also measure this git revision, for comparison")
    parser.add_argument("--show", action="store_true", help="list every removed paragraph")
    parser.add_argument("--json", type=Path, help="write the figures to this file")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    runs = {"this tree": measure_all()}
    if args.base:
        runs[f"base {args.base}"] = measure_revision(args.base)
    if not runs["this tree"]:
        print(f"no inputs: {SHARED} is missing", file=sys.stderr)
        return 1
    print(
        f"{'run':<16} {'input':<12} {'texts':>5} {'words in':>9} {'kept share':>10} "
        f"{'furniture ¶':>11} {'words':>6}"
    )
    for run, sets in runs.items():
        for name, m in sets.items():
            print(
                f"{run:<16} {name:<12} {m['texts']:>5} {m['words_in']:>9,} "
                f"{100 * m['kept_word_share']:>9.3f}% {m['furniture_paragraphs']:>11} "
                f"{m['furniture_words']:>6}"
            )
    if args.show:
        for run, sets in runs.items():
            for name, m in sets.items():
                print(f"\n## removed as furniture: {run}, {name}")
                for para in m["removed"]:
                    print(f"  - {para[:160]!r}")
    if args.json:
        args.json.write_text(
            json.dumps(runs, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
