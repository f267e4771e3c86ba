"""BuildConfig: everything that decides what a build produces.

The whole config is recorded in the manifest, so an artifact says how it was made; only
settings that cannot change the output (``jobs``, ``batch_size``) are left out of that
record, which is why a build with ``--jobs 1`` and ``--jobs 8`` is byte-identical.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from corpuskit.clean import CleanConfig
from corpuskit.dedup import NearDupConfig
from corpuskit.errors import ConfigError
from corpuskit.sourceid import SourceIdRule
from corpuskit.sources import SourceConfig

NEAR_DUP_POLICIES = ("drop", "keep")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")


@dataclass(frozen=True)
class BuildConfig:
    """Settings of one build. Defaults are what `corpuskit build` uses."""

    name: str = "corpus"
    eval_ratio: float = 0.1
    seed: int = 0
    min_chars: int = 200
    max_chars: int = 1_000_000
    languages: tuple[str, ...] = ()
    language_threshold: float = 0.5
    source_id: str = "stem"
    near_dups: str = "drop"
    group_by: str | None = None
    stratify_language: bool = False
    license: str = "other"
    pretty_name: str | None = None
    shard_bytes: int = 256 * 1024 * 1024
    source: SourceConfig = field(default_factory=SourceConfig)
    clean: CleanConfig = field(default_factory=CleanConfig)
    near_dup: NearDupConfig = field(default_factory=NearDupConfig)
    previous: str | None = None
    # Execution settings: they never change the artifact, so they are not in the manifest.
    jobs: int = 1
    batch_size: int = 1000

    def __post_init__(self) -> None:
        if not NAME_RE.match(self.name):
            raise ConfigError(
                f"dataset name {self.name!r} is not allowed: use letters, digits, '.', '_' "
                "or '-' (at most 96 characters, starting with a letter or digit)"
            )
        if not 0.0 < self.eval_ratio < 1.0:
            raise ConfigError(
                f"--eval-ratio must be between 0 and 1 (exclusive), got {self.eval_ratio}"
            )
        if self.min_chars < 0 or self.max_chars < 1 or self.min_chars > self.max_chars:
            raise ConfigError(
                f"--min-chars ({self.min_chars}) must be >= 0 and <= --max-chars ({self.max_chars})"
            )
        if not 0.0 <= self.language_threshold <= 1.0:
            raise ConfigError(
                f"--language-threshold must be between 0 and 1, got {self.language_threshold}"
            )
        if self.near_dups not in NEAR_DUP_POLICIES:
            raise ConfigError(
                f"--near-dups must be one of {', '.join(NEAR_DUP_POLICIES)}, got {self.near_dups!r}"
            )
        SourceIdRule(self.source_id)  # raises ConfigError on a bad rule
        if self.jobs < 1:
            raise ConfigError(f"--jobs must be at least 1, got {self.jobs}")
        if self.batch_size < 1:
            raise ConfigError(f"batch size must be at least 1, got {self.batch_size}")
        if self.shard_bytes < 1024:
            raise ConfigError(f"shard size must be at least 1 KiB, got {self.shard_bytes}")
        if self.previous is not None and not Path(self.previous, "corpuskit.json").is_file():
            raise ConfigError(
                f"--previous {self.previous}: not a corpuskit artifact (no corpuskit.json there)"
            )

    def to_manifest(self) -> dict[str, Any]:
        """The settings that shape the output, JSON-ready (no execution settings)."""
        data = dataclasses.asdict(self)
        for key in ("jobs", "batch_size", "previous"):
            data.pop(key)
        return data


def parse_languages(value: str | None) -> tuple[str, ...]:
    """Parse ``en,uk`` into a sorted tuple; an empty value means 'all languages'."""
    if not value:
        return ()
    codes = sorted({code.strip() for code in value.split(",") if code.strip()})
    for code in codes:
        if not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?|und", code):
            raise ConfigError(
                f"--languages: {code!r} is not a language code (expected ISO 639-1 like 'en', "
                "comma-separated)"
            )
    return tuple(codes)
