"""From the paths a user gives to an ordered list of input files.

The order and the provenance names must not depend on the machine: files are sorted by
their path relative to the folder argument, and provenance is that relative path under
the folder's own name, never an absolute path.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from corpuskit.errors import CorpuskitError, SourceError
from corpuskit.sources.base import SourceStats
from corpuskit.sources.formats import SUPPORTED, detect_format
from corpuskit.sources.streams import os_error_text
from corpuskit.storage import Remote, error_text, locate

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem


@dataclass(frozen=True)
class InputPath:
    """One file to read. ``error`` is set for a folder entry that could not be listed;
    ``fs`` for a file on an fsspec filesystem (``path`` is then that filesystem's)."""

    path: str
    display: str
    fmt: str
    error: str | None = None
    fs: AbstractFileSystem | None = None


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


def check_paths(
    paths: Sequence[str | os.PathLike[str] | bytes],
) -> list[tuple[str | Remote, bool]]:
    """(path, is_folder) for each argument; raises SourceError for usage errors.

    Checked before anything is read, so a typo in the last argument fails in a second,
    not after an hour of reading the others. A URL (see :mod:`corpuskit.storage`) comes
    back as a ``Remote``, or as a local path for ``file://``.
    """
    out: list[tuple[str | Remote, bool]] = []
    if isinstance(paths, (str, bytes, os.PathLike)):
        paths = [paths]
    for given in paths:
        try:
            where = locate(os.fsdecode(given), "SOURCE")
        except CorpuskitError as exc:
            raise SourceError(str(exc)) from None
        if isinstance(where, Remote):
            out.append((where, _check_remote(where)))
            continue
        path = where
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


def _check_remote(where: Remote) -> bool:
    """Whether a remote SOURCE is a folder; raises SourceError when it is missing,
    cannot be reached, or is a file of an unsupported type."""
    try:
        info = where.fs.info(where.path)
    except FileNotFoundError:
        raise SourceError(f"input path {where.url!r} does not exist") from None
    except Exception as exc:  # a filesystem's client raises its own errors too
        raise SourceError(f"input path {where.url!r} cannot be read: {error_text(exc)}") from None
    if info.get("type") == "directory":
        return True
    if detect_format(where.name) is None:
        raise SourceError(
            f"input file {where.url!r} has an unsupported type; corpuskit reads "
            f"{SUPPORTED} files (or a folder of them)"
        )
    return False


def remote_file_input(where: Remote) -> InputPath:
    fmt = detect_format(where.name)
    assert fmt is not None  # check_paths guarantees it
    return InputPath(where.path, render_name(where.name), fmt.name, fs=where.fs)


def walk_remote(root: Remote, stats: SourceStats) -> Iterator[InputPath]:
    """Every recognised file below a remote folder, in the order (and with the provenance
    names) :func:`walk_folder` gives the same tree on a local disk, so an artifact does not
    depend on where its sources were stored."""
    fs = root.fs
    top = root.path.rstrip("/")

    def listing(path: str) -> list[Entry] | str:
        try:
            entries = fs.ls(path, detail=True)
        except Exception as exc:  # a filesystem's client raises its own errors too
            return f"cannot list folder: {error_text(exc)}"
        found = []
        for entry in entries:
            full = str(entry["name"]).rstrip("/")
            if full and full != path.rstrip("/"):  # some filesystems list the folder itself
                found.append((posixpath.basename(full), full, entry.get("type") == "directory"))
        return sorted(found)

    return _walk_tree(top, render_name(root.name), listing, lambda path: True, stats, fs)


#: A folder entry: (name, path, is a folder).
Entry = tuple[str, str, bool]


def _walk_tree(
    root: str,
    label: str,
    listing: Callable[[str], list[Entry] | str],
    enter: Callable[[str], bool],
    stats: SourceStats,
    fs: AbstractFileSystem | None,
) -> Iterator[InputPath]:
    """A depth-first walk over name-sorted entries: files by relative path, component-wise,
    without holding the whole tree. ``listing`` gives a folder's sorted entries or the
    error text; ``enter`` says whether to go into a sub-folder (False: already visited)."""

    def display(rel: tuple[str, ...]) -> str:
        return "/".join(p for p in (label, *(render_name(p) for p in rel)) if p)

    first = listing(root)
    if isinstance(first, str):
        yield InputPath(root, label, "folder", first, fs=fs)
        return
    stack: list[tuple[Iterator[Entry], tuple[str, ...]]] = [(iter(first), ())]
    while stack:
        entries, rel = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        name, path, is_dir = entry
        if name.startswith("."):
            stats.skip("hidden")
            continue
        child_rel = (*rel, name)
        if is_dir:
            if not enter(path):
                continue
            inner = listing(path)
            if isinstance(inner, str):
                yield InputPath(path, display(child_rel), "folder", inner, fs=fs)
            else:
                stack.append((iter(inner), child_rel))
            continue
        fmt = detect_format(name)
        if fmt is None:
            stats.skip(skip_key(name))
            continue
        yield InputPath(path, display(child_rel), fmt.name, fs=fs)


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

    Hidden entries (name starting with ".") are skipped and counted once each (a hidden
    folder counts as one). Symlinked folders are followed, but a folder already visited (a
    symlink loop, or a second link to the same place) is not entered again; the walk order
    makes "first" deterministic. A folder that cannot be listed comes back as an entry with
    ``error`` set, so the reader rejects it in order.
    """
    visited: set[tuple[int, int]] = set()
    try:
        st = os.stat(root)
        visited.add((st.st_dev, st.st_ino))
    except OSError:
        pass

    def enter(path: str) -> bool:
        try:
            st = os.stat(path)
        except OSError:
            return False
        key = (st.st_dev, st.st_ino)
        if key in visited:
            stats.skip("symlink loop or repeated folder")
            return False
        visited.add(key)
        return True

    return _walk_tree(root, folder_label(root), _list, enter, stats, None)


def _list(folder: str) -> list[Entry] | str:
    """Entries sorted by name, or the error text when the folder cannot be listed."""
    try:
        with os.scandir(folder) as it:
            return sorted((e.name, e.path, _is_dir(e)) for e in it)
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
