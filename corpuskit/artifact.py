"""Atomic output: build into a temporary folder beside ``--out``, swap it in at the end.

Whatever happens before the swap (an error, Ctrl-C, SIGTERM, even SIGKILL), the previous
artifact is untouched. Temporary folders are named after the output and the owning
process, so the next build can remove the ones whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from corpuskit.errors import OutputError
from corpuskit.procs import process_alive

TMP_MARK = ".corpuskit-tmp-"
OLD_MARK = ".corpuskit-old-"


def remove_stale(out: Path) -> list[Path]:
    """Remove temporary folders that a killed build of ``out`` left behind.

    An "old" folder is the previous artifact moved aside for the final swap. If its build
    was killed between the two renames, ``out`` is missing and that folder is the only
    copy of the previous artifact, so it is put back as ``out`` instead of being removed.
    Names are matched by prefix, not glob: ``out`` may contain ``[`` or ``*``.
    """
    removed: list[Path] = []
    if not out.parent.is_dir():
        return removed
    for mark in (OLD_MARK, TMP_MARK):
        prefix = f".{out.name}{mark}"
        for path in sorted(p for p in out.parent.iterdir() if p.name.startswith(prefix)):
            try:
                pid = int(path.name[len(prefix) :])
            except ValueError:
                continue
            if pid == os.getpid() or process_alive(pid):
                continue
            if mark == OLD_MARK and not os.path.lexists(out):
                with contextlib.suppress(OSError):  # if it cannot go back, never delete it
                    path.rename(out)
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def check_target(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out} exists and is not a folder: choose another path")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise OutputError(
            f"--out {out} exists and is not empty: pass --force to replace it, or choose "
            "another folder"
        )


@contextlib.contextmanager
def staging(out: Path, force: bool) -> Iterator[Path]:
    """Yield a fresh temporary folder; on normal exit it replaces ``out``, else it vanishes."""
    out = out.absolute()
    remove_stale(out)  # first: it may restore a previous artifact that check_target must see
    check_target(out, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out.parent}: {exc.strerror}") from exc
    tmp = out.parent / f".{out.name}{TMP_MARK}{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot write in {out.parent}: {exc.strerror}") from exc
    try:
        yield tmp
        _swap(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap(tmp: Path, out: Path) -> None:
    """Two renames; whatever interrupts them (an OSError, Ctrl-C, SIGTERM raised between
    them) puts the previous artifact back, so ``out`` is never left missing."""
    old = out.parent / f".{out.name}{OLD_MARK}{os.getpid()}"
    try:
        if out.exists():
            out.rename(old)
        tmp.rename(out)
    except BaseException:
        if old.exists() and not os.path.lexists(out):
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
