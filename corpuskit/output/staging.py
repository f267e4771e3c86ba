"""The output folder, handled as carefully as a database handles its files.

What ``staging(out, ...)`` guarantees, in order:

1. **One build at a time** per output folder: a lock (``output/lock.py``) is taken before any
   other step and released on every exit path; a second build fails at once naming the
   first one's pid, or waits for it with ``wait=True``.
2. **Recovery**: what a killed build of the same folder left behind is removed, and a
   previous artifact caught mid-swap is put back (or the new one completed, once it was
   committed).
3. **Nothing corpuskit did not make is deleted**: the folder must be missing, empty, or
   (with ``force``) an artifact whose manifest lists every file in it.
4. **Atomic replacement**: the new artifact is built in a temporary folder and swapped in
   only when complete. Where the folder can be renamed (the usual case) the swap is two
   renames beside it, and a reader sees the old or the new artifact, never a mix. A
   symbolic link given as ``out`` is followed: the swap happens where it points, and the
   link stays. A folder that cannot be renamed (a mount point such as a container volume
   or a tmpfs, or a folder in a parent we may not write) is staged *inside* itself
   (``OUT/.corpuskit-tmp-PID``), and its entries are swapped by renames at the end: the
   old artifact stays whole and loadable until the new one is complete, and for the
   milliseconds of the swap a reader may see a partial folder. A crash at any point is
   rolled back (before the commit point) or forward (after it) by the next build.

Working names are ``.NAME.corpuskit-{tmp,old}-PID`` beside the folder and
``.corpuskit-{tmp,old,new}-PID`` inside it, so the next build can tell a live build's
(its process runs) from a dead one's.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

from corpuskit import interrupts
from corpuskit.errors import OutputError
from corpuskit.layout import LOCK_NAME, MANIFEST, NEW_MARK, OLD_MARK, TMP_MARK, WORK_PREFIX
from corpuskit.output import lock
from corpuskit.sources.discover import render_name
from corpuskit.storage import Remote, locate

#: rename(2) errors that mean "this folder cannot be renamed", not "something is wrong".
_CANNOT_RENAME = {errno.EBUSY, errno.EXDEV, errno.EPERM, errno.EACCES, errno.EROFS}


@dataclass(frozen=True)
class Target:
    """Where an artifact goes.

    ``given`` is ``--out`` as written; ``path`` is where the artifact really lives
    (symbolic links followed, absolute); ``in_place`` is True when ``path`` cannot be
    renamed, so the build is staged inside it.
    """

    given: Path
    path: Path
    in_place: bool

    @property
    def lock_file(self) -> Path:
        if self.in_place:
            return self.path / LOCK_NAME
        return self.path.parent / f".{self.path.name}{LOCK_NAME}"


def resolve(out: str | os.PathLike[str]) -> Target:
    """Follow symbolic links in ``out`` and decide how it can be swapped.

    Raises ``OutputError`` when ``out`` exists and is not a folder.
    """
    given = Path(out)
    path = Path(os.path.realpath(given))
    if path.exists() and not path.is_dir():
        raise OutputError(f"--out {given} exists and is not a folder: choose another path")
    in_place = path.is_dir() and (
        is_mount_point(path) or not os.access(path.parent, os.W_OK | os.X_OK)
    )
    return Target(given, path, in_place)


def is_mount_point(path: Path) -> bool:
    """Whether ``path`` is a mount point, bind mounts included.

    ``os.path.ismount`` compares device numbers, so it misses a bind mount of a folder
    of the same file system (a container volume, often); Linux lists every mount point
    in /proc/self/mountinfo (field 5, with spaces and the like octal-escaped).
    """
    if os.path.ismount(path):
        return True
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
            for line in fh:
                fields = line.split(" ")
                if len(fields) > 4 and _unescape_mount(fields[4]) == str(path):
                    return True
    except OSError:
        pass
    return False


def _unescape_mount(field: str) -> str:
    if "\\" not in field:
        return field
    raw = field.encode("utf-8", "surrogateescape")
    return raw.decode("unicode_escape").encode("latin-1").decode("utf-8", "surrogateescape")


def check_sources(target: Target, sources: Iterable[str | os.PathLike[str]]) -> None:
    """Refuse an output folder that is, is inside, or contains a SOURCE.

    Building into a source would read the artifact's own shards back as articles on the
    next build, and replacing it would delete the inputs. Paths are compared with
    symbolic links followed; a source on another filesystem (a URL) cannot overlap.
    Raises ``OutputError``.
    """
    for source in sources:
        where = locate(source, "SOURCE")
        if isinstance(where, Remote):
            continue
        refuse_overlap(str(target.given), target.path, Path(os.path.realpath(where)), source)


def refuse_overlap(
    given: str, out: PurePath, src: PurePath, source: str | os.PathLike[str]
) -> None:
    """Raise ``OutputError`` when ``out`` is, is inside, or contains ``src``."""
    if out == src or src in out.parents:
        relation = "is" if out == src else "is inside"
    elif out in src.parents:
        relation = "contains"
    else:
        return
    raise OutputError(
        f"--out {given} {relation} the source {os.fspath(source)}: the build would read "
        "its own output back (or replace its inputs); choose an --out outside every SOURCE"
    )


def work_names(root: Path) -> list[str]:
    """corpuskit's own working entries directly inside ``root`` (lock, staging folders)."""
    try:
        return sorted(p.name for p in root.iterdir() if p.name.startswith(WORK_PREFIX))
    except OSError:
        return []


def walk(root: Path) -> Iterator[str]:
    """Every non-folder entry below ``root`` as a POSIX relative path, corpuskit's own
    working entries left out; symbolic links are reported, never followed."""
    for folder, dirs, files in os.walk(root):
        base = Path(folder)
        if base == root:
            dirs[:] = [d for d in dirs if not d.startswith(WORK_PREFIX)]
            files = [f for f in files if not f.startswith(WORK_PREFIX)]
        for name in sorted(files):
            yield (base / name).relative_to(root).as_posix()
        for name in sorted(dirs):
            if (base / name).is_symlink():
                yield (base / name).relative_to(root).as_posix()


def foreign_files(path: Path) -> list[str] | None:
    """Files in ``path`` that its manifest does not list, or None if ``path`` holds no
    corpuskit manifest (so it is not an artifact at all)."""
    try:
        text = (path / MANIFEST).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return unlisted(text, list(walk(path)))


def unlisted(manifest_text: str, present: Iterable[str]) -> list[str] | None:
    """Of ``present`` (relative paths), those the manifest does not list; None when the
    text is not a corpuskit manifest."""
    try:
        manifest = json.loads(manifest_text)
    except ValueError:
        return None
    if not (
        isinstance(manifest, dict)
        and isinstance(manifest.get("files"), dict)
        and isinstance(manifest.get("versions"), dict)
        and "corpuskit" in manifest["versions"]
    ):
        return None
    listed = set(manifest["files"])
    return [rel for rel in present if rel != MANIFEST and rel not in listed]


def check_replaceable(target: Target, force: bool) -> None:
    """Refuse to replace a folder holding anything corpuskit did not write.

    A missing or empty folder is fine. A non-empty one needs ``force`` and must be an
    artifact whose manifest lists every file in it. Raises ``OutputError``.
    """
    if not target.path.is_dir():
        return
    present = list(walk(target.path))
    foreign = foreign_files(target.path) if present else None
    judge_replaceable(str(target.given), present, foreign, force)


def judge_replaceable(
    given: str, present: Sequence[str], foreign: Sequence[str] | None, force: bool
) -> None:
    """The rule of :func:`check_replaceable`, wherever the folder is: ``present`` are its
    files, ``foreign`` those its manifest does not list (None: no manifest)."""
    if not present:
        return
    shown = ", ".join(render_name(n) for n in (foreign or present)[:3])
    more = len(foreign or present) - 3
    shown += f" and {more} more" if more > 0 else ""
    if foreign is None:
        raise OutputError(
            f"--out {given} is not a corpuskit artifact (no {MANIFEST}; it holds {shown}): "
            "corpuskit only replaces a folder it built, or an empty one; choose another --out"
        )
    if foreign:
        raise OutputError(
            f"--out {given} holds files corpuskit did not write ({shown}): move them out "
            "of the folder, or choose another --out"
        )
    if not force:
        raise OutputError(
            f"--out {given} already holds an artifact: pass --force to replace it, or "
            "choose another folder"
        )


# -- recovery ------------------------------------------------------------------------------


def remove_stale(out: Path) -> list[Path]:
    """Clean up after killed builds of ``out`` (absolute, links resolved). Call it only
    while holding the folder's lock (``lock.hold``): it takes every leftover for a dead
    build's.

    Beside the folder: an "old" folder is the previous artifact moved aside for the final
    swap. If its build was killed between the two renames, ``out`` is missing and that
    folder is the only copy of the previous artifact, so it is put back as ``out``
    instead of being removed. Inside the folder: an in-place swap is rolled back or
    forward (see the module docstring). Names are matched by prefix, not glob: ``out``
    may contain ``[`` or ``*``. Returns the folders removed.
    """
    removed: list[Path] = []
    if out.parent.is_dir():
        for mark in (OLD_MARK, TMP_MARK):
            for path, _pid in _dead(out.parent, f".{out.name}{mark}"):
                if mark == OLD_MARK and not os.path.lexists(out):
                    with contextlib.suppress(OSError):  # if it cannot go back, keep it
                        path.rename(out)
                    continue
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    if out.is_dir() and not out.is_symlink():
        removed += _recover_in_place(out)
    return removed


def _dead(folder: Path, prefix: str) -> list[tuple[Path, int]]:
    """Entries of ``folder`` named ``prefix`` + a pid: a dead build's.

    The caller holds the output folder's lock, so no live build owns such an entry,
    whatever its pid says: in a container a build often runs with the same pid every
    time (1), and a pid may have been reused by an unrelated process.
    """
    found = []
    for path in sorted(p for p in folder.iterdir() if p.name.startswith(prefix)):
        try:
            pid = int(path.name[len(prefix) :])
        except ValueError:
            continue
        found.append((path, pid))
    return found


def _recover_in_place(out: Path) -> list[Path]:
    removed: list[Path] = []
    for new, pid in _dead(out, NEW_MARK):  # committed: finish the swap
        _move_entries(new, out)
        old = out / f"{OLD_MARK}{pid}"
        if old.exists():
            _remove_tree(old)
            removed.append(old)
        new.rmdir()  # last: while it exists, the swap counts as committed
    for old, _pid in _dead(out, OLD_MARK):  # not committed: put the old entries back
        _move_entries(old, out)
        old.rmdir()
    for tmp, _pid in _dead(out, TMP_MARK):
        shutil.rmtree(tmp, ignore_errors=True)
        removed.append(tmp)
    return removed


def _move_entries(src: Path, dst: Path) -> None:
    """Rename every entry of ``src`` into ``dst`` (same file system). A whole-artifact swap
    guarantees no name is in both; a file swap (:func:`_replace_in_place`) replaces files
    of the same name, which ``rename(2)`` does in one step."""
    for entry in sorted(src.iterdir()):
        entry.rename(dst / entry.name)


# -- staging and the swap ------------------------------------------------------------------


@contextlib.contextmanager
def staging(
    out: str | os.PathLike[str],
    force: bool,
    sources: Sequence[str | os.PathLike[str]] = (),
    wait: bool = False,
) -> Iterator[Path]:
    """Yield a fresh temporary folder; on normal exit it replaces ``out``, else it vanishes.

    Raises ``OutputError`` (before any work) when ``out`` is or overlaps a SOURCE, another
    build holds it (unless ``wait``), or it holds anything corpuskit did not write. An
    ``out`` given as a URL of a remote filesystem is staged in a local temporary folder
    and published by :func:`corpuskit.output.remote.staging`.
    """
    where = locate(out, "--out")
    if isinstance(where, Remote):
        from corpuskit.output import remote

        with remote.staging(where, force, sources, wait) as local:
            yield local
        return
    target = resolve(where)
    check_sources(target, sources)
    try:
        target.path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create {target.path.parent}: {exc.strerror}") from exc
    with lock.hold(target.lock_file, str(target.given), wait):
        remove_stale(target.path)  # first: it may restore an artifact the check must see
        check_replaceable(target, force)
        if target.in_place:
            tmp = target.path / f"{TMP_MARK}{os.getpid()}"
        else:
            tmp = target.path.parent / f".{target.path.name}{TMP_MARK}{os.getpid()}"
        _fresh(tmp)
        try:
            yield tmp
            # Again: a file put into --out while the build ran must not go with the swap.
            check_replaceable(target, force=True)
            if target.in_place:
                _swap_in_place(tmp, target.path)
            else:
                _swap(tmp, target.path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def updating(out: Path, wait: bool = False) -> Iterator[Path]:
    """Yield a fresh temporary folder inside the artifact ``out``; on normal exit each
    file put into it replaces the file of that name in ``out`` (:func:`_replace_in_place`:
    no file is ever missing, and a crash is rolled back or forward by the next build or
    update). Holds the folder's lock throughout.

    Raises ``OutputError`` when another build holds ``out`` (unless ``wait``) or the
    folder cannot be written.
    """
    target = resolve(out)
    with lock.hold(target.lock_file, str(target.given), wait):
        remove_stale(target.path)
        tmp = target.path / f"{TMP_MARK}{os.getpid()}"
        _fresh(tmp)
        try:
            yield tmp
            if any(tmp.iterdir()):
                _replace_in_place(tmp, target.path)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _fresh(tmp: Path) -> None:
    """Make ``tmp`` an empty folder (a dead build's leftover of that name goes first).
    Raises ``OutputError`` when its parent cannot be written."""
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
    except OSError as exc:
        raise OutputError(f"cannot write in {tmp.parent}: {exc.strerror}") from exc


def _replace_in_place(tmp: Path, out: Path) -> None:
    """Replace some top-level files of ``out`` by ``tmp``'s (``tmp`` is inside ``out``).

    The old files are hard-linked (copied where links are not possible) into
    ``.corpuskit-old-PID``, ``tmp`` is renamed ``.corpuskit-new-PID`` (the commit point),
    then each new file replaces its old one with one ``rename(2)``, the manifest last, so
    a reader never finds a file missing. :func:`remove_stale` finishes a crashed swap like
    any other in-place swap: before the commit point the old files go back (they are the
    same files), after it the new ones go in.
    """
    pid = os.getpid()
    old = out / f"{OLD_MARK}{pid}"
    new = out / f"{NEW_MARK}{pid}"
    names = sorted(p.name for p in tmp.iterdir())
    names.sort(key=lambda name: name == MANIFEST)  # the manifest last
    with interrupts.deferred():
        old.mkdir()
        try:
            for name in names:
                if (out / name).is_file():
                    try:
                        os.link(out / name, old / name)
                    except OSError:
                        shutil.copy2(out / name, old / name)
            tmp.rename(new)  # the commit point
        except BaseException:
            shutil.rmtree(old, ignore_errors=True)  # links and copies: ``out`` is untouched
            raise
        for name in names:
            os.replace(new / name, out / name)
        _remove_tree(old)
        new.rmdir()


def _swap(tmp: Path, out: Path) -> None:
    """Two renames. Signals wait for both; an error between them puts the previous
    artifact back, so ``out`` is never left missing. A folder that turns out not to be
    renameable is swapped in place instead. A signal that arrived during the renames is
    raised after them: the new artifact is then in place and the old one is left beside
    it for the next build to remove."""
    old = out.parent / f".{out.name}{OLD_MARK}{os.getpid()}"
    try:
        # A signal waits until both renames are done: raised between them, or by
        # Path.rename after its rename happened, it would leave the wrong folder in place.
        with interrupts.deferred():
            if out.exists():
                out.rename(old)
            tmp.rename(out)
    except OSError as exc:
        if old.exists() and not os.path.lexists(out):
            old.rename(out)
        if exc.errno not in _CANNOT_RENAME or not out.is_dir():
            raise OutputError(f"cannot replace {out}: {exc.strerror}") from exc
        # Not foreseen by resolve() (a bind mount /proc does not show, an immutable
        # folder): copy the finished artifact inside and swap there.
        inside = out / f"{TMP_MARK}{os.getpid()}"
        try:
            shutil.copytree(tmp, inside)
            _swap_in_place(inside, out)
        except OSError as exc2:
            shutil.rmtree(inside, ignore_errors=True)
            raise OutputError(f"cannot replace {out}: {exc2.strerror or exc2}") from exc2
        return
    except BaseException:
        if old.exists() and not os.path.lexists(out):
            old.rename(out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _swap_in_place(tmp: Path, out: Path) -> None:
    """Swap ``out``'s entries for ``tmp``'s (``tmp`` is inside ``out``).

    Move the old entries aside into ``.corpuskit-old-PID``; rename ``tmp`` to
    ``.corpuskit-new-PID`` (the commit point); move its entries in; remove the old ones.
    An exception before the commit point puts the old entries back; after it, the swap
    is finished (by the next build if this process dies).
    """
    pid = os.getpid()
    old = out / f"{OLD_MARK}{pid}"
    new = out / f"{NEW_MARK}{pid}"
    # Signals wait for the end of the swap: a KeyboardInterrupt raised by Path.rename
    # after the rename itself happened would otherwise undo half a committed swap.
    with interrupts.deferred():
        old.mkdir()
        try:
            for entry in sorted(out.iterdir()):
                if not entry.name.startswith(WORK_PREFIX):
                    entry.rename(old / entry.name)
            tmp.rename(new)  # the commit point
        except BaseException:
            _move_entries(old, out)
            old.rmdir()
            raise
        _move_entries(new, out)
        _remove_tree(old)
        new.rmdir()  # last: while it exists, a crash is rolled forward


def _remove_tree(path: Path) -> None:
    """Remove ``path`` and everything in it; raise OutputError if that fails (a folder
    left half-removed must not pass for a complete one)."""
    try:
        shutil.rmtree(path)
    except OSError as exc:
        raise OutputError(f"cannot remove {path}: {exc.strerror or exc}") from exc
