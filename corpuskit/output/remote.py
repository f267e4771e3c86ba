"""Publishing an artifact to a remote filesystem: ``--out`` given as an fsspec URL.

The build runs in a local temporary folder (under ``TMPDIR``), as every build does; at
the end the finished artifact is published to the URL. Object stores have no rename and
no file locks, so the guarantees of :mod:`corpuskit.output.staging` are kept this way:

1. **One build at a time**: a lock object ``URL/.corpuskit-lock`` holds its holder's host,
   pid, start time and a random token. It is created exclusively (``mode="xb"``) where
   the filesystem honours that; fsspec lets a filesystem accept "xb" and overwrite
   anyway, so the object is also looked for first and read back after (two builds that
   start within the same moment on such a filesystem can both pass that check). A
   second build fails naming the holder, or waits (``wait``). A lock whose holder is a
   dead process on this host is taken over; one from another host, or one that cannot be
   read, stays until its build ends or a person deletes it (the message says which
   object): no clock decides that a build elsewhere is dead. URLs with pattern
   characters (``[``, ``*``, ``?``) are refused: fsspec's move and remove expand them.
2. **Nothing corpuskit did not make is deleted**: the same rule as for a local folder
   (missing, empty, or an artifact whose manifest lists every file in it, with ``force``).
3. **A crash never leaves a half-published artifact for good**: the files are first
   uploaded under ``URL/.corpuskit-tmp-TOKEN/``. Writing ``URL/.corpuskit-new-TOKEN.json``
   (the list of files to move in and of old files to remove) is the commit point; then
   each file is moved to its place (data files first, the card and the manifest last)
   and the old artifact's other files are removed. A build killed before the commit
   point leaves the previous artifact whole, and its upload is removed by the next
   build; one killed after it is finished by the next build (rolled forward). During the
   move itself (seconds; a copy per file on object stores) a reader may see a mix of the
   two artifacts: ``corpuskit verify`` tells a whole artifact from a partial one, since
   the manifest, with every file's checksum, is written last.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import socket
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from corpuskit import interrupts
from corpuskit.errors import CorpuskitError, OutputError
from corpuskit.layout import CARD, LOCK_NAME, MANIFEST, NEW_MARK, TMP_MARK, WORK_PREFIX
from corpuskit.output.lock import OutputLocked
from corpuskit.output.staging import judge_replaceable, refuse_overlap, unlisted, walk
from corpuskit.storage import Remote, error_text, locate

#: Seconds between two looks at a lock held by another build (``wait``).
POLL_SECONDS = 1.0
#: Tokens of the locks this process's builds hold now.
_HELD: set[str] = set()


@contextlib.contextmanager
def staging(
    target: Remote, force: bool, sources: Sequence[str | os.PathLike[str]], wait: bool
) -> Iterator[Path]:
    """Yield a fresh local folder; on normal exit it is published to ``target``.

    Raises ``OutputError`` (before any work) when ``target`` overlaps a SOURCE, another
    build holds it (unless ``wait``), it holds anything corpuskit did not write, or the
    filesystem refuses an operation.
    """
    if any(ch in target.path for ch in "[]*?"):
        # fsspec's copy, move and recursive remove expand these as patterns.
        raise OutputError(
            f"--out {target.url}: a URL with '[', ']', '*' or '?' cannot be published safely "
            "(fsspec reads them as patterns); choose a name without them"
        )
    for source in sources:
        where = locate(source, "SOURCE")
        if isinstance(where, Remote) and where.fs.protocol == target.fs.protocol:
            refuse_overlap(
                target.url, PurePosixPath(target.path), PurePosixPath(where.path), source
            )
    with hold(target, wait):
        with _fs_errors(target):
            recover(target)
            check_replaceable(target, force)
        with tempfile.TemporaryDirectory(prefix="corpuskit-") as scratch:
            local = Path(scratch) / "artifact"
            local.mkdir()
            yield local
            with _fs_errors(target):
                publish(local, target, force)


@contextlib.contextmanager
def _fs_errors(target: Remote) -> Iterator[None]:
    """The filesystem's own errors (OSError, or its client library's) as one-line
    ``OutputError``s naming the URL. Wraps filesystem calls only, never the build."""
    try:
        yield
    except CorpuskitError:
        raise
    except Exception as exc:
        raise OutputError(f"cannot write --out {target.url}: {error_text(exc)}") from exc


def present(target: Remote) -> list[str]:
    """Every file below ``target`` as a relative POSIX path, sorted, corpuskit's own
    working entries left out."""
    fs = target.fs
    fs.invalidate_cache()
    root = target.path.rstrip("/")
    found = []
    for path in fs.find(root, withdirs=False, detail=False):
        rel = str(path)[len(root) + 1 :] if str(path).startswith(root + "/") else None
        if rel and not rel.split("/", 1)[0].startswith(WORK_PREFIX):
            found.append(rel)
    return sorted(found)


def check_replaceable(target: Remote, force: bool) -> None:
    """The rule of :func:`corpuskit.output.staging.check_replaceable`, on ``target``."""
    files = present(target)
    foreign = None
    if files and MANIFEST in files:
        text = target.fs.cat_file(target.join(MANIFEST)).decode("utf-8", "replace")
        foreign = unlisted(text, files)
    judge_replaceable(target.url, files, foreign, force)


# -- the lock ------------------------------------------------------------------------------


@contextlib.contextmanager
def hold(target: Remote, wait: bool) -> Iterator[None]:
    """Hold ``URL/.corpuskit-lock`` for the block (see the module docstring)."""
    fs = target.fs
    path = target.join(LOCK_NAME)
    mine = {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "token": secrets.token_hex(8),
    }
    while True:
        with _fs_errors(target):
            if _create(fs, path, mine):
                break
            holder = _read_lock(fs, path)
            if holder is None:
                continue  # released in between: try again
            if _dead_here(holder):
                fs.rm_file(path)
                continue
        if not wait:
            raise OutputLocked(
                f"another build (pid {holder.get('pid')} on {holder.get('host')}, since "
                f"{holder.get('since')}) is writing {target.url}: wait for it to finish, or "
                f"pass --wait to start when it does; if that build is gone, delete "
                f"{target.display(path)}"
            )
        time.sleep(POLL_SECONDS)
    _HELD.add(str(mine["token"]))
    try:
        yield
    finally:
        _HELD.discard(str(mine["token"]))
        with contextlib.suppress(Exception):
            held = _read_lock(fs, path)
            if held is not None and held.get("token") == mine["token"]:
                fs.rm_file(path)


def _create(fs: Any, path: str, content: dict[str, Any]) -> bool:
    """Create the lock object if there is none; whether this call created it.

    An exclusive create (``mode="xb"``) where the filesystem honours it; fsspec lets a
    filesystem accept "xb" and overwrite anyway, so the object is also looked for first,
    and read back after: between two builds that start within the same moment on such a
    filesystem, only the read-back stands guard.
    """
    data = json.dumps(content, sort_keys=True).encode("utf-8")
    if fs.exists(path):
        return False
    try:
        with fs.open(path, "xb") as fh:
            fh.write(data)
    except FileExistsError:
        return False
    except (NotImplementedError, ValueError):
        fs.pipe_file(path, data)  # no exclusive create here at all
    held = _read_lock(fs, path)
    return held is not None and held.get("token") == content["token"]


def _read_lock(fs: Any, path: str) -> dict[str, Any] | None:
    """The lock's holder; None when there is no lock. A lock that cannot be parsed (being
    written this moment, or left torn by a killed build) counts as held by someone unknown:
    it is never removed here (the message says which object to delete)."""
    try:
        data = fs.cat_file(path)
    except FileNotFoundError:
        return None
    try:
        holder = json.loads(data)
    except ValueError:
        holder = None
    if isinstance(holder, dict):
        return holder
    return {"host": "an unknown host", "pid": "?", "since": "?", "token": None}


def _dead_here(holder: dict[str, Any]) -> bool:
    """Whether the holder was a process of this host that no longer runs (or this very
    process, whose build ended without letting go: a container restarted with the same
    pid)."""
    pid = holder.get("pid")
    if holder.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    if pid == os.getpid():
        # This very process: dead only if none of its builds holds this lock now (a
        # container restarted with the same pid leaves a lock no live build holds).
        return holder.get("token") not in _HELD
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


# -- publishing and recovery ----------------------------------------------------------------


def publish(local: Path, target: Remote, force: bool) -> None:
    """Upload the finished artifact in ``local`` and swap it in (see the module docstring)."""
    fs = target.fs
    token = f"{os.getpid()}-{secrets.token_hex(4)}"
    stage = target.join(f"{TMP_MARK}{token}")
    files = _publish_order(walk(local))
    try:
        for rel in files:
            dest = f"{stage}/{rel}"
            fs.makedirs(dest.rsplit("/", 1)[0], exist_ok=True)
            fs.put_file(str(local / rel), dest)
        # Again: a file put into --out while the build ran must not be removed with the
        # old artifact.
        check_replaceable(target, force=True)
        remove = sorted(set(present(target)) - set(files))
        commit = {"files": files, "remove": remove}
        with interrupts.deferred():  # after the commit point, finish before any signal
            fs.pipe_file(target.join(f"{NEW_MARK}{token}.json"), json.dumps(commit).encode())
            _finish(target, token, commit)
    finally:
        with contextlib.suppress(Exception):
            if fs.exists(stage) and not fs.exists(target.join(f"{NEW_MARK}{token}.json")):
                fs.rm(stage, recursive=True)


def _publish_order(rels: Iterator[str]) -> list[str]:
    """Data files first, then the card, the manifest last (it vouches for the others)."""
    last = {CARD: 1, MANIFEST: 2}
    return sorted(rels, key=lambda rel: (last.get(rel, 0), rel))


def _finish(target: Remote, token: str, commit: dict[str, Any]) -> None:
    """Move a committed upload into place and remove the old artifact's other files.
    Each step can run again (a crash in the middle is finished by the next build)."""
    fs = target.fs
    stage = target.join(f"{TMP_MARK}{token}")
    files = [str(rel) for rel in commit["files"]]
    data = [rel for rel in files if rel not in (CARD, MANIFEST)]
    for rel in data:
        _move(fs, f"{stage}/{rel}", target.join(rel))
    for rel in commit["remove"]:  # before the card: stale shards would match its patterns
        with contextlib.suppress(FileNotFoundError):
            fs.rm_file(target.join(str(rel)))
    for rel in files[len(data) :]:
        _move(fs, f"{stage}/{rel}", target.join(rel))
    with contextlib.suppress(FileNotFoundError):
        fs.rm(stage, recursive=True)
    fs.rm_file(target.join(f"{NEW_MARK}{token}.json"))  # last: while it exists, roll forward


def _move(fs: Any, src: str, dest: str) -> None:
    """Move one uploaded file into place; a file already moved (by a crashed build) is
    left alone."""
    if not fs.exists(src):
        return
    fs.makedirs(dest.rsplit("/", 1)[0], exist_ok=True)
    fs.mv(src, dest)


def recover(target: Remote) -> None:
    """Finish committed uploads of killed builds and remove uncommitted ones. Call it
    only while holding the lock: every leftover then belongs to a dead build."""
    fs = target.fs
    fs.invalidate_cache()
    if not fs.exists(target.path):
        return
    names = sorted(str(p).rstrip("/").rsplit("/", 1)[-1] for p in fs.ls(target.path, detail=False))
    for name in names:
        if name.startswith(NEW_MARK) and name.endswith(".json"):
            token = name[len(NEW_MARK) : -len(".json")]
            try:
                commit = json.loads(fs.cat_file(target.join(name)))
                files, remove = commit["files"], commit["remove"]
            except (ValueError, KeyError, TypeError):
                # Torn while being written: the commit point was not reached.
                fs.rm_file(target.join(name))
                continue
            _finish(target, token, {"files": files, "remove": remove})
    fs.invalidate_cache()
    for name in names:
        if name.startswith(TMP_MARK) and fs.exists(target.join(name)):
            fs.rm(target.join(name), recursive=True)
