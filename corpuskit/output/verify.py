"""Check that an artifact folder is still exactly what its build wrote.

Artifacts get copied, synced, uploaded and hand-edited; a flipped byte in a shard or a
stale card only shows up later as a confusing ``load_dataset`` failure (or, worse, as
silently different data). ``verify`` answers "is this folder intact?" cheaply: it hashes
every file once and reads only Parquet footers (row counts), never the tables.

What is checked, each failure becoming one :class:`Problem` (file + what is wrong):

* every file listed in ``corpuskit.json`` ``files`` exists and its sha256 matches;
* no file is present that the manifest does not list (``corpuskit.json`` itself aside);
* the card's YAML ``dataset_info``: each split's ``num_examples`` equals the rows of the
  Parquet files its ``configs`` pattern selects (``load_dataset`` checks exactly that, so
  a mismatch would fail every load), and ``download_size`` equals their size on disk;
* the manifest's ``counts`` add up (``read == kept + duplicates + sum(rejected)``) and
  agree with the rows in ``data/``, ``rejects/`` and ``duplicates/``, and its ``splits``
  with the rows of each split.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pyarrow as pa
import pyarrow.dataset as pa_ds
import pyarrow.parquet as pq

from corpuskit.errors import CorpuskitError
from corpuskit.layout import CARD, DATA_DIR, DUPLICATES_DIR, MANIFEST, REJECTS_DIR
from corpuskit.output.staging import walk
from corpuskit.output.writer import sha256_file
from corpuskit.sources.discover import render_name


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an artifact: which file ("" for the folder) and what."""

    file: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message


@dataclass
class VerifyResult:
    """The outcome of :func:`verify`; ``ok`` when there is no problem."""

    path: Path
    files_verified: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def raise_for_problems(self) -> None:
        """Raise :class:`ArtifactInvalid` if anything is wrong (for library callers)."""
        if self.problems:
            raise ArtifactInvalid(self)


class ArtifactInvalid(CorpuskitError):
    """An artifact failed verification; ``result.problems`` lists every problem."""

    def __init__(self, result: VerifyResult) -> None:
        self.result = result
        shown = "; ".join(str(p) for p in result.problems[:3])
        more = len(result.problems) - 3
        super().__init__(
            f"{result.path} is not an intact corpuskit artifact "
            f"({len(result.problems)} problem(s)): {shown}"
            + (f"; and {more} more (run `corpuskit verify {result.path}`)" if more > 0 else "")
        )


def verify(path: str | os.PathLike[str]) -> VerifyResult:
    """Check the artifact at ``path``; never raises for a damaged artifact, it reports."""
    root = Path(path)
    result = VerifyResult(root)
    if not root.is_dir():
        result.problems.append(Problem("", f"{root} is not a folder"))
        return result
    checker = _Checker(root, result)
    manifest = checker.manifest()
    listed = checker.files(manifest)
    checker.strays(listed)
    checker.card()
    checker.counts(manifest)
    result.problems = sorted(set(result.problems))
    return result


class _Checker:
    """One verification run: shares the Parquet row counts between the checks."""

    def __init__(self, root: Path, result: VerifyResult) -> None:
        self.root = root
        self.result = result
        self._rows: dict[str, int | None] = {}
        self._filters: dict[str, Any] = {}  # config name -> its `filters` entry

    def problem(self, file: str, message: str) -> None:
        self.result.problems.append(Problem(render_name(file), message))

    # -- manifest and files -------------------------------------------------------------

    def manifest(self) -> Mapping[str, Any] | None:
        path = self.root / MANIFEST
        if not path.is_file():
            self.problem(MANIFEST, "missing: not a corpuskit artifact, or the manifest was lost")
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.problem(MANIFEST, f"cannot be read as JSON: {exc}")
            return None
        if not isinstance(data, dict):
            self.problem(MANIFEST, f"is a JSON {type(data).__name__}, expected an object")
            return None
        return data

    def files(self, manifest: Mapping[str, Any] | None) -> set[str]:
        """Check every listed file's sha256; return the listed paths."""
        if manifest is None:
            return set()
        files = manifest.get("files")
        if not isinstance(files, dict):
            self.problem(MANIFEST, "has no 'files' object mapping paths to sha256")
            return set()
        listed: set[str] = set()
        for rel, digest in sorted(files.items()):
            listed.add(rel)
            if not _safe_relative(rel):
                self.problem(MANIFEST, f"lists {rel!r}, which is not a path inside the artifact")
                continue
            full = self.root / rel
            if full.is_symlink() or (full.exists() and not full.is_file()):
                self.problem(rel, "is not a regular file")
                continue
            if not full.exists():
                self.problem(rel, "listed in corpuskit.json but missing")
                continue
            try:
                actual = sha256_file(full)
            except OSError as exc:
                self.problem(rel, f"cannot be read: {exc.strerror or exc}")
                continue
            if actual != digest:
                self.problem(
                    rel, f"sha256 mismatch: the manifest says {digest}, the file has {actual}"
                )
                continue
            self.result.files_verified += 1
        return listed

    def strays(self, listed: set[str]) -> None:
        for rel in walk(self.root):
            if rel != MANIFEST and rel not in listed:
                self.problem(rel, "not listed in corpuskit.json (a stray file)")

    # -- Parquet footers ----------------------------------------------------------------

    def rows(self, rel: str) -> int | None:
        """Rows of one Parquet file from its footer; None (and a problem) if unreadable."""
        if rel not in self._rows:
            try:
                self._rows[rel] = pq.read_metadata(self.root / rel).num_rows
            except (OSError, pa.ArrowException) as exc:
                self.problem(rel, f"not a readable Parquet file: {exc}")
                self._rows[rel] = None
        return self._rows[rel]

    def total_rows(self, rels: list[str]) -> int | None:
        counts = [self.rows(rel) for rel in rels]
        return None if any(c is None for c in counts) else sum(c or 0 for c in counts)

    def parquet_in(self, folder: str, prefix: str = "") -> list[str]:
        """Parquet files of ``folder`` (not hidden), optionally by name prefix, sorted."""
        base = self.root / folder
        if not base.is_dir():
            return []
        return sorted(
            f"{folder}/{p.name}"
            for p in base.iterdir()
            if p.name.endswith(".parquet")
            and p.name.startswith(prefix)
            and not p.name.startswith((".", "__"))
            and p.is_file()
        )

    # -- card ---------------------------------------------------------------------------

    def card(self) -> None:
        path = self.root / CARD
        if not path.is_file():
            return  # already reported as missing or unlisted by the file checks
        try:
            from huggingface_hub import DatasetCard

            data = DatasetCard.load(path).data.to_dict()
        except Exception as exc:  # any parse failure is a finding, not a crash
            self.problem(CARD, f"its YAML metadata cannot be parsed: {type(exc).__name__}: {exc}")
            return
        patterns = self._config_patterns(data.get("configs"))
        infos = data.get("dataset_info")
        if infos is None:
            self.problem(CARD, "has no dataset_info: load_dataset cannot check split sizes")
            return
        if isinstance(infos, dict):
            infos = [infos]
        if not isinstance(infos, list):
            self.problem(CARD, "dataset_info is neither a mapping nor a list")
            return
        described: set[tuple[str, str]] = set()
        for info in infos:
            if not isinstance(info, dict):
                self.problem(CARD, "a dataset_info entry is not a mapping")
                continue
            config = str(info.get("config_name", "default"))
            config_files: set[str] = set()
            for split in info.get("splits") or []:
                name = str(split.get("name")) if isinstance(split, dict) else None
                if name is None:
                    self.problem(CARD, f"dataset_info {config}: a split entry has no name")
                    continue
                described.add((config, name))
                files = self._split_files(config, name, patterns)
                if files is None:
                    continue
                config_files.update(files)
                self._check_split(config, name, split.get("num_examples"), files)
            self._check_download_size(config, info.get("download_size"), config_files)
        for config, splits in patterns.items():
            for name in splits:
                if (config, name) not in described:
                    self.problem(
                        CARD,
                        f"configs declares {config}/{name} but dataset_info does not describe "
                        "it, so its size is never checked",
                    )

    def _config_patterns(self, configs: Any) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {}
        if not isinstance(configs, list):
            self.problem(CARD, "has no 'configs' list declaring the splits' data files")
            return out
        for entry in configs:
            if not isinstance(entry, dict):
                continue
            name = str(entry.get("config_name", "default"))
            splits = out.setdefault(name, {})
            if entry.get("filters") is not None:
                self._filters[name] = entry["filters"]
            data_files = entry.get("data_files")
            if isinstance(data_files, (str, dict)):
                data_files = [data_files]
            for item in data_files or []:
                paths: Any
                if isinstance(item, str):
                    split, paths = "train", item
                elif isinstance(item, dict):
                    split, paths = str(item.get("split", "train")), item.get("path")
                else:
                    continue
                listed = [paths] if isinstance(paths, str) else list(paths or [])
                splits.setdefault(split, []).extend(str(p) for p in listed)
        return out

    def _split_files(
        self, config: str, split: str, patterns: Mapping[str, Mapping[str, list[str]]]
    ) -> list[str] | None:
        globs = patterns.get(config, {}).get(split)
        if not globs:
            self.problem(
                CARD, f"dataset_info {config}/{split} has no data_files pattern in configs"
            )
            return None
        files: set[str] = set()
        for pattern in globs:
            if not _safe_relative(pattern):
                self.problem(CARD, f"configs {config}/{split}: pattern {pattern!r} is unsafe")
                return None
            for match in self.root.glob(pattern):
                rel = match.relative_to(self.root).as_posix()
                if match.is_file() and not any(
                    part.startswith((".", "__")) for part in PurePosixPath(rel).parts
                ):
                    files.add(rel)
        if not files:
            self.problem(
                CARD,
                f"configs {config}/{split}: {', '.join(globs)} matches no file, so "
                "load_dataset would fail",
            )
            return None
        return sorted(files)

    def _check_split(self, config: str, split: str, declared: Any, files: list[str]) -> None:
        if config in self._filters:
            rows = self._filtered_rows(config, files)
        else:
            rows = self.total_rows(files)
        if rows is None:
            return
        if declared != rows:
            self.problem(
                CARD,
                f"dataset_info {config}/{split}: num_examples is {declared} but its Parquet "
                f"files hold {rows:,} rows (load_dataset would fail with "
                "NonMatchingSplitsSizesError)",
            )

    def _filtered_rows(self, config: str, files: list[str]) -> int | None:
        """Rows of ``files`` that the config's ``filters`` keep, as ``datasets`` reads them
        (``pyarrow.parquet.filters_to_expression``); None (and a problem) if it cannot."""
        try:
            expression = pq.filters_to_expression(self._filters[config])
            dataset = pa_ds.dataset([str(self.root / rel) for rel in files], format="parquet")
            return int(dataset.count_rows(filter=expression))
        except (OSError, TypeError, ValueError, pa.ArrowException) as exc:
            self.problem(CARD, f"configs {config}: its filters cannot be applied: {exc}")
            return None

    def _check_download_size(self, config: str, declared: Any, files: set[str]) -> None:
        if declared is None or not files:
            return
        size = sum((self.root / rel).stat().st_size for rel in files)
        if declared != size:
            self.problem(
                CARD,
                f"dataset_info {config}: download_size is {declared} but its files take "
                f"{size:,} bytes",
            )

    # -- counts -------------------------------------------------------------------------

    def counts(self, manifest: Mapping[str, Any] | None) -> None:
        if manifest is None:
            return
        counts = manifest.get("counts")
        if not isinstance(counts, dict):
            self.problem(MANIFEST, "has no 'counts' object")
            return
        read, kept, dups = counts.get("read"), counts.get("kept"), counts.get("duplicates")
        rejected = counts.get("rejected")
        numbers = (read, kept, dups, *(rejected.values() if isinstance(rejected, dict) else [None]))
        if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in numbers):
            self.problem(
                MANIFEST,
                "counts must hold non-negative integers read, kept, duplicates and a "
                f"'rejected' object of them; found {counts}",
            )
            return
        assert isinstance(read, int) and isinstance(kept, int) and isinstance(dups, int)
        assert isinstance(rejected, dict)
        total_rejected = sum(rejected.values())
        if read != kept + dups + total_rejected:
            self.problem(
                MANIFEST,
                f"counts do not add up: read {read:,} != kept {kept:,} + duplicates "
                f"{dups:,} + rejected {total_rejected:,}",
            )
        for folder, what, expected in (
            (DATA_DIR, "kept", kept),
            (REJECTS_DIR, "rejected", total_rejected),
            (DUPLICATES_DIR, "duplicates", dups),
        ):
            rows = self.total_rows(self.parquet_in(folder))
            if rows is not None and rows != expected:
                self.problem(
                    MANIFEST,
                    f"counts say {what} {expected:,} but {folder}/ holds {rows:,} rows",
                )
        splits = manifest.get("splits")
        if isinstance(splits, dict):
            for name, expected in sorted(splits.items()):
                rows = self.total_rows(self.parquet_in(DATA_DIR, f"{name}-"))
                if rows is not None and rows != expected:
                    self.problem(
                        MANIFEST,
                        f"splits say {name} {expected} but {DATA_DIR}/{name}-*.parquet holds "
                        f"{rows:,} rows",
                    )


def _safe_relative(rel: str) -> bool:
    """A POSIX path that stays inside the artifact: relative, no '..', no empty parts."""
    if not rel or "\\" in rel or "\x00" in rel:
        return False
    path = PurePosixPath(rel)
    return not path.is_absolute() and ".." not in path.parts and rel == path.as_posix()
