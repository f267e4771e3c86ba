"""The input formats: which file-name endings each one has, and which function reads it.

The one registry of readers. Discovery (which files of a folder are inputs), the error for
an unsupported file argument and the ``stem`` source-id rule (a file name without its
format's ending) all read it, so a new format is one entry here plus its reader module.

A reader is a function ``read(source, config)`` that yields every ``RawRecord`` and
``Reject`` of one opened file (see :class:`Reader`); it is imported the first time a file
of its format is read, so ``import corpuskit.sources`` stays cheap.
"""

from __future__ import annotations

import importlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Protocol, cast

from corpuskit.config import SourceConfig
from corpuskit.record import RawRecord, Reject
from corpuskit.sources.streams import HashingReader


@dataclass(frozen=True)
class OpenedFile:
    """One input file, open: ``reader`` hashes every byte read through it; ``raw`` is the
    file itself (for a reader that must seek, like Parquet's); ``display`` its provenance."""

    reader: HashingReader
    raw: io.BufferedIOBase
    display: str
    path: str


class Reader(Protocol):
    def __call__(self, source: OpenedFile, config: SourceConfig) -> Iterator[RawRecord | Reject]:
        """Every record and reject of ``source``, in file order."""
        ...


@dataclass(frozen=True)
class Format:
    name: str
    #: Lower-case name endings, compound ones (``.jsonl.gz``) before their tails.
    suffixes: tuple[str, ...]
    #: ``module:function`` of the reader.
    reader: str


FORMATS: tuple[Format, ...] = (
    Format(
        "jsonl",
        (".jsonl.gz", ".ndjson.gz", ".jsonl", ".ndjson"),
        "corpuskit.sources.jsonl:read_jsonl",
    ),
    Format("text", (".txt",), "corpuskit.sources.text:read_text"),
    Format("csv", (".csv",), "corpuskit.sources.csv:read_csv"),
    Format("parquet", (".parquet",), "corpuskit.sources.parquet:read_parquet"),
)
BY_NAME: dict[str, Format] = {f.name: f for f in FORMATS}
#: Every recognised ending, longest first, so ``a.jsonl.gz`` is not taken for ``.gz``.
SUFFIXES: tuple[tuple[str, Format], ...] = tuple(
    sorted(((s, f) for f in FORMATS for s in f.suffixes), key=lambda sf: -len(sf[0]))
)
#: For messages: ".jsonl.gz, .ndjson.gz, ..." in registry order.
SUPPORTED = ", ".join(s for f in FORMATS for s in f.suffixes)


def detect_format(name: str) -> Format | None:
    """The format of a file name (case-insensitive), or None if it is not an input."""
    lower = name.lower()
    for suffix, fmt in SUFFIXES:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return fmt
    return None


def strip_suffix(name: str) -> str | None:
    """``name`` without its format's ending (case kept), or None if it has none."""
    lower = name.lower()
    for suffix, _ in SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)] or name
    return None


@cache
def reader(name: str) -> Reader:
    """The reader function of format ``name`` (imported on first use)."""
    module, function = BY_NAME[name].reader.split(":")
    return cast(Reader, getattr(importlib.import_module(module), function))
