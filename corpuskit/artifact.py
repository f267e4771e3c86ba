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

TMP_MARK = ".corpuskit-tmp-"
OLD_MARK = ".corpuskit-old-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(out: Path) -> list[Path]:
    """Remove temporary folders that a killed build of ``out`` left behind."""
    removed = []
    for mark in (TMP_MARK, OLD_MARK):
        for path in out.parent.glob(f".{out.name}{mark}*"):
            try:
                pid = int(path.name.rsplit("-", 1)[-1])
            except ValueError:
                continue
            if pid != os.getpid() and not _alive(pid):
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
    check_target(out, force)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {out.parent}: {exc.strerror}") from exc
    remove_stale(out)
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
    old = out.parent / f".{out.name}{OLD_MARK}{os.getpid()}"
    if out.exists():
        out.rename(old)
    try:
        tmp.rename(out)
    except OSError:
        if old.exists():
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)
