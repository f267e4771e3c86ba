"""Golden artifacts: does this tree build byte-identical artifacts to an earlier commit?

    python benchmarks/golden.py                 # the working tree against HEAD
    python benchmarks/golden.py --base v0.1.0   # ... against any git revision
    python benchmarks/golden.py --keep /tmp/g   # keep both sides' artifacts to diff them

A refactor or a speed change must not change a single output byte unless an issue asks
for it. This script exports ``--base`` with ``git archive``, builds every reference corpus
with both trees (same Python, same installed libraries, same ``--out`` path, one after
the other), and compares every file of every artifact. Exit status 0 when all files are
identical, 1 otherwise (each differing file is listed).

Reference corpora: the bundled example corpus; ``../shared/seeds``, the Leipzig sentences
and the readability pages when ``../shared`` is beside the repository; a generated
multilingual corpus (``make_corpus.py``) built with a pool of workers, and again with
other split and near-duplicate settings.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@dataclass(frozen=True)
class Reference:
    name: str
    sources: tuple[str, ...]
    args: tuple[str, ...] = ()


def references(work: Path, n: int) -> list[Reference]:
    generated = work / "generated.jsonl"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "make_corpus.py"),
            "--n",
            str(n),
            "--out",
            str(generated),
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    refs = [Reference("example", (), ("--example",))]
    optional = [
        Reference("seeds", (str(SHARED / "seeds"),)),
        Reference(
            "leipzig",
            (str(SHARED / "data" / "langid" / "leipzig-sentences-23langs.jsonl"),),
            ("--min-chars", "50"),
        ),
        Reference("readability", (str(SHARED / "data" / "web" / "readability-pages.jsonl"),)),
    ]
    refs += [r for r in optional if all(Path(s).exists() for s in r.sources)]
    refs.append(Reference("generated", (str(generated),), ("--jobs", "2", "--batch-size", "500")))
    refs.append(
        Reference(
            "generated-variant",
            (str(generated),),
            (
                "--near-dups",
                "keep",
                "--group-by",
                "source_id",
                "--stratify",
                "language",
                "--seed",
                "3",
                "--eval-ratio",
                "0.2",
                "--jobs",
                "1",
            ),
        )
    )
    return refs


def export(revision: str, into: Path) -> Path:
    """The tree of ``revision`` (only what git tracks), unpacked into ``into``."""
    into.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision],
        check=True,
        capture_output=True,
    ).stdout
    with tempfile.TemporaryFile() as fh:
        fh.write(archive)
        fh.seek(0)
        with tarfile.open(fileobj=fh) as tar:
            tar.extractall(into, filter="data")
    return into


def build_all(tree: Path, refs: list[Reference], work: Path, side: Path) -> list[str]:
    """Build every reference with the corpuskit package in ``tree``, from cold.

    A tree with the map-stage cache (``--no-cache`` in its help) builds each reference
    twice, into a cache of its own: the second build reads every result from the cache
    and must give the first one's bytes. Returns the files where they differ.
    """
    env = dict(os.environ, PYTHONPATH=str(tree), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    env.pop("SOURCE_DATE_EPOCH", None)
    which = subprocess.run(
        [sys.executable, "-c", "import corpuskit; print(corpuskit.__file__)"],
        env=env,
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not which.startswith(str(tree)):
        raise SystemExit(f"corpuskit was imported from {which}, not from {tree}")
    helps = subprocess.run(
        [sys.executable, "-m", "corpuskit", "build", "--help"],
        env=env,
        cwd=work,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cached = "--no-cache" in helps
    side.mkdir()
    differences: list[str] = []
    for ref in refs:
        out = work / "out" / ref.name  # the same path for both sides: it may be in the card
        command = [sys.executable, "-m", "corpuskit", "build", *ref.sources, "--out", str(out)]
        command += ["-q", *ref.args]
        cache = ["--cache", str(work / "cache" / side.name / ref.name)] if cached else []
        _run(command + cache, env, work, f"{ref.name}: the build with {tree}")
        shutil.move(str(out), side / ref.name)
        if cached:
            _run(command + cache, env, work, f"{ref.name}: the cached build with {tree}")
            again = digests(out)
            first = digests(side / ref.name)
            differences += [
                f"{ref.name}/{rel} differs when read from the cache"
                for rel in sorted(first.keys() | again.keys())
                if first.get(rel) != again.get(rel)
            ]
            print(f"{ref.name}: cached rebuild {'identical' if first == again else 'DIFFERENT'}")
            shutil.rmtree(out)
    return differences


def _run(command: list[str], env: dict[str, str], work: Path, what: str) -> None:
    run = subprocess.run(command, env=env, cwd=work, capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{what} failed:\n{run.stderr}")


def digests(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def compare(base: Path, head: Path, refs: list[Reference]) -> list[str]:
    differences = []
    for ref in refs:
        a, b = digests(base / ref.name), digests(head / ref.name)
        for rel in sorted(a.keys() | b.keys()):
            if a.get(rel) != b.get(rel):
                state = "only in base" if rel not in b else "only in head" if rel not in a else ""
                differences.append(f"{ref.name}/{rel} {state or 'differs'}")
        print(f"{ref.name}: {len(b)} files, {'identical' if a == b else 'DIFFERENT'}")
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", default="HEAD", help="git revision to compare against")
    parser.add_argument("--n", type=int, default=5000, help="articles in the generated corpus")
    parser.add_argument("--keep", type=Path, help="keep the work folder here (must not exist)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="corpuskit-golden-"))
    if args.keep:
        work.mkdir(parents=True)
    try:
        refs = references(work, args.n)
        base_tree = export(args.base, work / "base-src")
        differences = build_all(base_tree, refs, work, work / "base")
        differences += build_all(REPO, refs, work, work / "head")
        differences += compare(work / "base", work / "head", refs)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    for line in differences:
        print(line)
    print(f"{'OK: every file identical' if not differences else 'DIFFERENT'} (base {args.base})")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
