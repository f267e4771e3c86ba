"""One build at a time per output folder: an exclusive ``flock`` on a lock file.

The kernel releases a ``flock`` when its holder exits, however it exits (SIGKILL and
power cuts included), so a lock can never outlive a dead build: there is no stale lock
to detect or break. The holder writes its pid into the file, so a second build can say
who is writing, and deletes the file before it lets go, so no lock file stays beside
the artifact. A waiter may then hold the lock of a deleted file: after each ``flock`` it
checks that the file it locked is still the one at the path, and starts again if not
(else two builds could each hold "the" lock, on two different files). A killed build's
file stays behind, locked by nobody, and is reused by the next build.

Why not the ``filelock`` package: it truncates the file when it opens it to wait, which
erases the holder's pid, and its 4.x series falls back to other lock kinds by file
system; what is needed here is the plain ``flock`` below.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from corpuskit.errors import OutputError


class OutputLocked(OutputError):
    """Another build holds the output folder."""


@contextlib.contextmanager
def hold(lock_file: Path, out: str, wait: bool) -> Iterator[None]:
    """Hold the lock for the block; released on every exit path.

    ``wait``: block until the other build is done (Ctrl-C still interrupts) instead of
    raising ``OutputLocked`` at once. Raises ``OutputError`` when the lock file cannot
    be created.
    """
    while True:
        fd = _open(lock_file)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
                who = f"pid {holder}" if holder.isdigit() else "another process"
                raise OutputLocked(
                    f"another build ({who}) is writing {out}: wait for it to finish, or "
                    "pass --wait to start when it does"
                ) from None
            if _same_file(fd, lock_file):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # the holder we waited for deleted it: lock the new one
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock_file)  # while still holding it (see the module docstring)
        os.close(fd)


def _open(lock_file: Path) -> int:
    try:
        return os.open(lock_file, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise OutputError(f"cannot create the lock file {lock_file}: {exc.strerror}") from exc


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (mine.st_dev, mine.st_ino)
