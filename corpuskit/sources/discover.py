"""From the paths a user gives to an ordered list of input files.

The order and the provenance names must not depend on the machine: files are sorted by
their path relative to the folder argument, and provenance is that relative path under
the folder's own name, never an absolute path.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from corpuskit.errors import SourceError
from corpuskit.sources.base import SourceStats
from corpuskit.sources.formats import SUPPORTED, detect_format
from corpuskit.sources.streams import os_error_text


@dataclass(frozen=True)
class InputPath:
    """One file to read. ``error`` is set for a folder entry that could not be listed."""

    path: str
    display: str
    fmt: str
    error: str | None = None


def skip_key(name: str) -> str:
    """The files_skipped key for an unrecognised file: its extension, lower-cased."""
    lower = name.lower()
    stem, dot, ext = lower.rpartition(".")
    if not dot or not stem:
        return "no extension"
    if ext in ("gz", "bz2", "xz", "zst", "zip"):
        inner = stem.rpartition(".")
        if inner[1] and inner[0]:
            return f".{inner[2]}.{ext}"
    return f".{ext}"


def render_name(name: str) -> str:
    """A file name as it appears in provenance: bytes that are not UTF-8 and control
    characters are backslash-escaped, so a strange name never breaks a report or log."""
    raw = os.fsencode(name)
    text = raw.decode("utf-8", errors="backslashreplace")
    return "".join(
        ch if ch.isprintable() or ch == " " else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


def check_paths(paths: Sequence[str | os.PathLike[str] | bytes]) -> list[tuple[str, bool]]:
    """(path, is_folder) for each argument; raises SourceError for usage errors.

    Checked before anything is read, so a typo in the last argument fails in a second,
    not after an hour of reading the others.
    """
    out: list[tuple[str, bool]] = []
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    for given in paths:
        path = os.fsdecode(given)
        if not os.path.lexists(path):
            raise SourceError(f"input path {render_name(path)!r} does not exist")
        if os.path.isdir(path):
            out.append((path, True))
            continue
        name = os.path.basename(path)
        if detect_format(name) is None:
            raise SourceError(
                f"input file {render_name(path)!r} has an unsupported type; corpuskit reads "
                f"{SUPPORTED} files (or a folder of them)"
            )
        out.append((path, False))
    return out


def folder_label(path: str) -> str:
    """The folder's own name, used as the first component of provenance paths."""
    name = os.path.basename(os.path.normpath(os.path.abspath(path)))
    return render_name(name) if name else ""


def file_input(path: str) -> InputPath:
    name = os.path.basename(path)
    fmt = detect_format(name)
    assert fmt is not None  # check_paths guarantees it
    return InputPath(path, render_name(name), fmt.name)


def walk_folder(root: str, stats: SourceStats) -> Iterator[InputPath]:
    """All recognised files below ``root``, ordered by relative path (component-wise).

    A depth-first walk over name-sorted entries yields exactly that order without holding
    the whole tree. Hidden entries (name starting with ".") are skipped and counted once
    each (a hidden folder counts as one). Symlinked folders are followed, but a folder
    already visited (a symlink loop, or a second link to the same place) is not entered
    again; the walk order makes "first" deterministic. A folder that cannot be listed
    comes back as an entry with ``error`` set, so the reader rejects it in order.
    """
    label = folder_label(root)
    visited: set[tuple[int, int]] = set()
    try:
        st = os.stat(root)
        visited.add((st.st_dev, st.st_ino))
    except OSError:
        pass

    def display(rel: tuple[str, ...]) -> str:
        return "/".join(p for p in (label, *(render_name(p) for p in rel)) if p)

    listing = _list(root)
    if isinstance(listing, str):
        yield InputPath(root, label, "folder", listing)
        return
    stack: list[tuple[Iterator[os.DirEntry[str]], tuple[str, ...]]] = [(iter(listing), ())]
    while stack:
        entries, rel = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        name = entry.name
        if name.startswith("."):
            stats.skip("hidden")
            continue
        child_rel = (*rel, name)
        if _is_dir(entry):
            try:
                st = os.stat(entry.path)
            except OSError:
                continue
            key = (st.st_dev, st.st_ino)
            if key in visited:
                stats.skip("symlink loop or repeated folder")
                continue
            visited.add(key)
            listing = _list(entry.path)
            if isinstance(listing, str):
                yield InputPath(entry.path, display(child_rel), "folder", listing)
            else:
                stack.append((iter(listing), child_rel))
            continue
        fmt = detect_format(name)
        if fmt is None:
            stats.skip(skip_key(name))
            continue
        yield InputPath(entry.path, display(child_rel), fmt.name)


def _list(folder: str) -> list[os.DirEntry[str]] | str:
    """Entries sorted by name, or the error text when the folder cannot be listed."""
    try:
        with os.scandir(folder) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError as exc:
        return f"cannot list folder: {os_error_text(exc)}"


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def describe_special(mode: int) -> str | None:
    """Why a path is not a regular file we can read, or None if it is one."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "is a directory"
    if stat.S_ISFIFO(mode):
        return "is a named pipe (FIFO), not a regular file"
    if stat.S_ISSOCK(mode):
        return "is a socket, not a regular file"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "is a device, not a regular file"
    return "is not a regular file"
