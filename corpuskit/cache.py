"""A content-addressed store of per-article map-stage results, for incremental rebuilds.

A rebuild of a corpus that grew by a few articles should not clean, tag and hash the
others again. Each article's map-stage result is stored under a key that hashes the raw
record and everything else that can change the result (see
:func:`corpuskit.mapstage.cached.settings_digest`), so a stored result is either exactly
what the map stage would compute now, or never looked up.

The store is one SQLite database, ``DIR/map-v1.sqlite3`` (SQLite ships with Python and
does the hard parts):

- **concurrent builds**: readers and writers in several processes at once (write-ahead
  log; a writer waits up to ``BUSY_SECONDS`` for another's transaction);
- **a kill mid-write**: a batch's entries are one transaction, so a killed build leaves
  each of them whole or absent, never torn;
- **a corrupt entry**: each value is stored with its BLAKE2b digest and checked when read;
  one that does not match is a miss (recomputed and stored again);
- **whole files** (:mod:`corpuskit.filecache`): a large input file's results are also
  stored whole, as files in ``DIR/files/<folder>/`` named by a row of the ``files`` table.
  A folder is filled under a fresh name and named by its row only once complete, so a
  killed build leaves at most an unnamed folder (``prune`` removes those once an hour
  old); every file in it is checked against its sha256 before use;
- **a power cut**: writes are not synced to disk (a cache can be rebuilt, time cannot), so
  an OS crash may damage the file; that is the next case:
- **a corrupt or unusable database**: the cache is switched off for the rest of the build
  (``MapCache.problem`` says why) and the build goes on without it. No path from the
  cache can change an artifact.

Keep the folder on a local disk: SQLite's locking is not reliable on network filesystems
(https://www.sqlite.org/wal.html, "WAL does not work over a network filesystem").
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: The database's name; the number changes when the layout of its values does.
DB_NAME = "map-v1.sqlite3"
#: How long a writer waits for another process's transaction before giving up.
BUSY_SECONDS = 60.0
#: Bytes of every value's checksum.
DIGEST_BYTES = 16
#: SQLite allows 32,766 parameters a statement (since 3.32); lookups go in chunks.
CHUNK = 900

#: The folder of whole-file results, inside the cache folder.
FILES_DIR = "files"
#: A folder of ``FILES_DIR`` that no row names is left alone by prune until it is this old
#: (a build may be filling it, or about to name it).
ORPHAN_SECONDS = 3600

_SCHEMA = (
    """
CREATE TABLE IF NOT EXISTS entries (
    key BLOB PRIMARY KEY,
    value BLOB NOT NULL,
    digest BLOB NOT NULL,
    used INTEGER NOT NULL
)
""",
    """
CREATE TABLE IF NOT EXISTS files (
    key BLOB PRIMARY KEY,
    value BLOB NOT NULL,
    digest BLOB NOT NULL,
    used INTEGER NOT NULL,
    folder TEXT NOT NULL,
    size INTEGER NOT NULL
)
""",
)


def default_folder() -> Path:
    """The user's cache folder for corpuskit (``$XDG_CACHE_HOME/corpuskit`` on Linux,
    ``~/Library/Caches/corpuskit`` on macOS), from ``platformdirs``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("corpuskit", appauthor=False))


def _digest(value: bytes) -> bytes:
    return hashlib.blake2b(value, digest_size=DIGEST_BYTES).digest()


def _today() -> int:
    """Days since the epoch: when an entry was last used (a day is fine enough for prune,
    and a hit then costs a write at most once a day)."""
    return int(time.time() // 86400)


def _setup(path: Path) -> sqlite3.Connection:
    """Open (creating it if needed) the store at ``path``, in WAL mode with the schema.

    Pool workers open a new store at the same moment. Switching it to WAL takes an
    exclusive lock, and SQLite answers "database is locked" to the loser at once, without
    waiting as it does for other locks (seen in 1 of 25 two-worker builds here). So the
    setup is retried, up to BUSY_SECONDS, and WAL is only asked for when the file is not
    in it yet (it stays set in the file). Raises ``sqlite3.Error`` if it never succeeds.
    """
    deadline = time.monotonic() + BUSY_SECONDS
    pause = 0.005
    while True:
        db = sqlite3.connect(path, timeout=BUSY_SECONDS)
        try:
            if db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
                db.execute("PRAGMA journal_mode=WAL")
            # No fsync: a killed process loses nothing (its writes are in the OS's
            # buffers) and a transaction is whole or absent either way; only a power cut
            # or an OS crash can damage the file, and a damaged file turns the cache off
            # (never the artifact). Halves the cost of filling the cache (42 against 83 µs
            # per 3 KB entry here).
            db.execute("PRAGMA synchronous=OFF")
            for statement in _SCHEMA:
                db.execute(statement)
            db.commit()
            return db
        except sqlite3.OperationalError as exc:
            db.close()
            if "locked" not in str(exc) and "busy" not in str(exc):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.5)
        except BaseException:
            db.close()
            raise


class MapCache:
    """One process's connection to the store in ``folder``.

    Opening never fails: a store that cannot be opened leaves the cache off, with the
    reason in ``problem``. ``get``/``put`` then do nothing.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.problem: str | None = None
        self.corrupt = 0  # entries whose digest did not match
        self._db: sqlite3.Connection | None = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._db = _setup(self.folder / DB_NAME)
        except (OSError, sqlite3.Error) as exc:
            self._off(exc)

    def _off(self, exc: BaseException) -> None:
        self.problem = f"cache at {self.folder} not used: {exc}"
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
        self._db = None

    @property
    def enabled(self) -> bool:
        return self._db is not None

    def get(self, keys: Iterable[bytes]) -> dict[bytes, bytes]:
        """The stored value of every key found whole; keys absent or corrupt are left out."""
        if self._db is None:
            return {}
        found: dict[bytes, bytes] = {}
        wanted = list(keys)
        try:
            for start in range(0, len(wanted), CHUNK):
                chunk = wanted[start : start + CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT key, value, digest FROM entries WHERE key IN ({marks})", chunk
                ).fetchall()
                for key, value, digest in rows:
                    if _digest(value) == digest:
                        found[key] = value
                    else:
                        self.corrupt += 1
            if found:
                today = _today()
                hits = list(found)
                with self._db:
                    for start in range(0, len(hits), CHUNK):
                        chunk = hits[start : start + CHUNK]
                        marks = ",".join("?" * len(chunk))
                        self._db.execute(
                            f"UPDATE entries SET used = ? WHERE used < ? AND key IN ({marks})",
                            [today, today, *chunk],
                        )
        except sqlite3.Error as exc:
            self._off(exc)
            return {}
        return found

    def put(self, entries: Iterable[tuple[bytes, bytes]]) -> None:
        """Store ``(key, value)`` pairs, in one transaction."""
        if self._db is None:
            return
        today = _today()
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?)",
                    ((key, value, _digest(value), today) for key, value in entries),
                )
        except sqlite3.Error as exc:
            self._off(exc)

    # -- whole files (corpuskit.filecache) ---------------------------------------------

    def get_file(self, key: bytes) -> tuple[bytes, Path] | None:
        """The value stored whole for ``key`` and the folder of its files, or None (absent,
        or its digest does not match)."""
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT value, digest, folder, used FROM files WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            value, digest, folder, used = row
            if _digest(value) != digest or not _plain_name(folder):
                self.corrupt += 1
                return None
            today = _today()
            if used < today:
                with self._db:
                    self._db.execute("UPDATE files SET used = ? WHERE key = ?", (today, key))
        except sqlite3.Error as exc:
            self._off(exc)
            return None
        return value, self.folder / FILES_DIR / folder

    def stage_folder(self) -> Path | None:
        """A new empty folder to fill with a whole file's results (then :meth:`put_file`
        or delete it), or None when the cache is off or the folder cannot be made."""
        if self._db is None:
            return None
        try:
            root = self.folder / FILES_DIR
            root.mkdir(exist_ok=True)
            return Path(tempfile.mkdtemp(dir=root))
        except OSError:
            return None

    def put_file(self, key: bytes, value: bytes, staged: Path, size: int) -> None:
        """Name ``staged`` (from :meth:`stage_folder`, complete, ``size`` bytes) as the
        whole-file entry ``key``. When ``key`` already has one (another build stored the
        same file first), that one stays and ``staged`` is deleted."""
        stored = False
        if self._db is not None:
            try:
                with self._db:
                    cursor = self._db.execute(
                        "INSERT OR IGNORE INTO files VALUES (?, ?, ?, ?, ?, ?)",
                        (key, value, _digest(value), _today(), staged.name, size),
                    )
                    stored = cursor.rowcount == 1
            except sqlite3.Error as exc:
                self._off(exc)
        if not stored:
            shutil.rmtree(staged, ignore_errors=True)

    def drop_file(self, key: bytes) -> None:
        """Forget the whole-file entry ``key`` (found unusable); its folder goes with it."""
        if self._db is None:
            return
        try:
            with self._db:
                row = self._db.execute("SELECT folder FROM files WHERE key = ?", (key,)).fetchone()
                self._db.execute("DELETE FROM files WHERE key = ?", (key,))
        except sqlite3.Error as exc:
            self._off(exc)
            return
        if row is not None and _plain_name(row[0]):
            shutil.rmtree(self.folder / FILES_DIR / row[0], ignore_errors=True)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _plain_name(name: object) -> bool:
    """A folder name as stage_folder makes them (never a path that leads elsewhere)."""
    return isinstance(name, str) and bool(name) and "/" not in name and name not in (".", "..")


# -- looking after the store (`corpuskit cache info|prune`) ---------------------------------


@dataclass(frozen=True)
class CacheInfo:
    """What a cache folder holds: ``entries`` (articles), ``value_bytes`` (their results),
    ``file_bytes`` (everything on disk: the database and the whole-file folders), the days
    (since the epoch) the least and most recently used entries were last used (None when
    empty), and ``whole_files`` entries of ``whole_file_bytes``."""

    folder: Path
    entries: int
    value_bytes: int
    file_bytes: int
    oldest_use: int | None
    newest_use: int | None
    whole_files: int = 0
    whole_file_bytes: int = 0


@contextlib.contextmanager
def _open(folder: Path) -> Iterator[sqlite3.Connection | None]:
    path = folder / DB_NAME
    if not path.is_file():
        yield None
        return
    db = sqlite3.connect(path, timeout=BUSY_SECONDS)
    try:
        for statement in _SCHEMA:  # a store an older corpuskit made has no files table
            db.execute(statement)
        db.commit()
        yield db
    finally:
        db.close()


def _file_bytes(folder: Path) -> int:
    files = [p for p in folder.glob(f"{DB_NAME}*") if p.is_file()]
    files += [p for p in (folder / FILES_DIR).glob("*/*") if p.is_file()]
    total = 0
    for path in files:
        with contextlib.suppress(OSError):  # a prune or a build may remove it meanwhile
            total += path.stat().st_size
    return total


def info(folder: str | Path) -> CacheInfo:
    """What the cache in ``folder`` holds. Raises ``sqlite3.DatabaseError`` for a file
    that is not a cache database."""
    folder = Path(folder)
    with _open(folder) as db:
        if db is None:
            return CacheInfo(folder, 0, 0, 0, None, None)
        entries, size, oldest, newest = db.execute(
            "SELECT count(*), coalesce(sum(length(value)), 0), min(used), max(used) FROM entries"
        ).fetchone()
        whole, whole_bytes, whole_oldest, whole_newest = db.execute(
            "SELECT count(*), coalesce(sum(size + length(value)), 0), min(used), max(used) "
            "FROM files"
        ).fetchone()
    used = [day for day in (oldest, newest, whole_oldest, whole_newest) if day is not None]
    return CacheInfo(
        folder,
        entries,
        size,
        _file_bytes(folder),
        min(used, default=None),
        max(used, default=None),
        whole,
        whole_bytes,
    )


@dataclass(frozen=True)
class Pruned:
    entries: int
    value_bytes: int


def prune(
    folder: str | Path, older_than_days: float | None = None, max_bytes: int | None = None
) -> Pruned:
    """Remove entries not used for ``older_than_days``, then the least recently used ones
    until the results (articles' values and whole files) take at most ``max_bytes``; the
    file then gives the space back. Whole-file folders that no entry names and that are
    over ``ORPHAN_SECONDS`` old (left by a killed build) go too. Safe while builds run
    (they wait for the prune's transaction; one that loses a whole file it was about to
    use reads that file instead)."""
    folder = Path(folder)
    removed, freed = 0, 0
    gone: list[str] = []  # whole-file folders whose rows were deleted
    with _open(folder) as db:
        if db is None:
            return Pruned(0, 0)
        with db:
            if older_than_days is not None:
                cutoff = _today() - int(older_than_days)
                n, size = db.execute(
                    "SELECT count(*), coalesce(sum(length(value)), 0) FROM entries WHERE used < ?",
                    (cutoff,),
                ).fetchone()
                db.execute("DELETE FROM entries WHERE used < ?", (cutoff,))
                removed, freed = removed + n, freed + size
                for key, size, name in db.execute(
                    "SELECT key, size + length(value), folder FROM files WHERE used < ?",
                    (cutoff,),
                ).fetchall():
                    db.execute("DELETE FROM files WHERE key = ?", (key,))
                    gone.append(name)
                    removed, freed = removed + 1, freed + size
            if max_bytes is not None:
                n, size = _prune_to(db, max_bytes, gone)
                removed, freed = removed + n, freed + size
        if removed:
            db.execute("VACUUM")
        named = {name for (name,) in db.execute("SELECT folder FROM files")}
    for name in gone:
        if _plain_name(name):
            shutil.rmtree(folder / FILES_DIR / name, ignore_errors=True)
    _remove_orphans(folder / FILES_DIR, named)
    return Pruned(removed, freed)


def _prune_to(db: sqlite3.Connection, max_bytes: int, gone: list[str]) -> tuple[int, int]:
    """Delete the least recently used entries of both kinds until the rest take at most
    ``max_bytes``; adds deleted whole-file folders to ``gone``; returns (entries, bytes)."""
    total = db.execute(
        "SELECT (SELECT coalesce(sum(length(value)), 0) FROM entries)"
        " + (SELECT coalesce(sum(size + length(value)), 0) FROM files)"
    ).fetchone()[0]
    doomed: list[bytes] = []
    removed, freed = 0, 0
    rows = db.execute(
        "SELECT used, key, length(value), NULL FROM entries"
        " UNION ALL SELECT used, key, size + length(value), folder FROM files"
        " ORDER BY 1, 2"
    ).fetchall()
    for _used, key, size, name in rows:
        if total <= max_bytes:
            break
        if name is None:
            doomed.append(key)
        else:
            db.execute("DELETE FROM files WHERE key = ?", (key,))
            gone.append(name)
        total -= size
        freed += size
        removed += 1
    for start in range(0, len(doomed), CHUNK):
        chunk = doomed[start : start + CHUNK]
        db.execute(f"DELETE FROM entries WHERE key IN ({','.join('?' * len(chunk))})", chunk)
    return removed, freed


def _remove_orphans(root: Path, named: set[str]) -> None:
    """Delete the folders of ``root`` no entry names, once ``ORPHAN_SECONDS`` old."""
    if not root.is_dir():
        return
    cutoff = time.time() - ORPHAN_SECONDS
    for path in root.iterdir():
        with contextlib.suppress(OSError):
            if path.name not in named and path.is_dir() and path.stat().st_mtime < cutoff:
                shutil.rmtree(path, ignore_errors=True)
