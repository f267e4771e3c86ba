"""MinHash signatures on disk: the global stage's largest per-article item (512 bytes at the
default 128 permutations) costs disk, not RAM.

The near-duplicate index needs every kept article's signature (``num_perm * 4`` bytes: 512
at the default 128 permutations), but it reads them in two patterns only: scans over all
rows, one LSH band at a time, and gathers of the rows of candidate pairs. Both work as
well on a file: signatures are appended to one as the map stage delivers them, and read
back through a read-only memory map. The pages a read touches are handed back to the
operating system (``madvise(MADV_DONTNEED)``) every ``RELEASE_ROWS`` rows, so they never
add up in the build's resident memory; the data stays in the page cache, and a page read
again is mapped again from there.
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from corpuskit.tokens import U32

#: Rows read between two releases of the mapped pages: ~8 MB for scans of 512-byte rows.
RELEASE_ROWS = 16_384
#: Scattered rows gathered between two releases. Linux maps up to 64 KB around each page
#: a read faults in (fault-around), so a gather of 16k scattered rows mapped the whole
#: signature file (~80 MB more resident at 200k articles, measured); 512 rows map at most
#: 32 MB, and a large gather goes in row order, so neighbouring rows share those pages.
GATHER_ROWS = 512


class SignatureFile:
    """An append-only file of fixed-width signatures (``width`` bytes each)."""

    def __init__(self, path: Path, width: int) -> None:
        self.path = path
        self.width = width
        self.rows = 0
        self._fh = path.open("wb")

    def append(self, signatures: bytes, rows: int = 1) -> None:
        """Append ``rows`` signatures given back to back."""
        self._fh.write(signatures)
        self.rows += rows

    def close(self) -> None:
        self._fh.close()

    def mapped(self, num_perm: int) -> MappedRows:
        """The rows written so far, read-only (no more may be appended after this)."""
        if self.width != num_perm * 4:
            raise ValueError(f"{self.width}-byte signatures cannot be read as {num_perm} slots")
        self._fh.close()
        return MappedRows(self.path, self.rows, num_perm)


class MappedRows:
    """A read-only ``(rows, num_perm)`` uint32 matrix on a memory-mapped file.

    Indexing works as on a numpy array (a row, rows by index array, slices) but always
    returns a copy, and counts what was read: after ``RELEASE_ROWS`` rows the mapped
    pages are released.
    """

    def __init__(self, path: Path, rows: int, num_perm: int) -> None:
        self.shape = (rows, num_perm)
        self._mmap: mmap.mmap | None = None
        if rows == 0:
            self._array: U32 = np.zeros((0, num_perm), dtype=np.uint32)
        else:
            with path.open("rb") as fh:
                self._mmap = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
            self._array = np.frombuffer(self._mmap, dtype="<u4").reshape(rows, num_perm)
        self._read = 0
        self._gathered = 0

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def nbytes(self) -> int:
        """Resident bytes held: none (the pages are the page cache's, and released)."""
        return 0

    def __getitem__(self, key: Any) -> U32:
        if isinstance(key, np.ndarray) and key.ndim == 1 and key.dtype.kind in "iu":
            return self._gather(key)
        out: U32 = self._array[key]
        if np.may_share_memory(out, self._array):  # a view (a row, a slice): detach it
            out = out.copy()
        self._read += out.shape[0] if out.ndim == 2 else 1
        if self._read >= RELEASE_ROWS:
            self.release()
        return out

    def _gather(self, rows: npt.NDArray[np.integer[Any]]) -> U32:
        """Rows by index, ``GATHER_ROWS`` at a time in row order, releasing the pages
        after each run of them."""
        out: U32 = np.empty((len(rows), self.shape[1]), dtype=np.uint32)
        order = np.argsort(rows, kind="stable") if len(rows) > GATHER_ROWS else None
        for s in range(0, len(rows), GATHER_ROWS):
            at = order[s : s + GATHER_ROWS] if order is not None else slice(s, s + GATHER_ROWS)
            out[at] = self._array[rows[at]]
            self._gathered += min(GATHER_ROWS, len(rows) - s)
            if self._gathered >= GATHER_ROWS:
                self.release()
        return out

    def release(self) -> None:
        """Hand the mapped pages read so far back to the operating system."""
        self._read = 0
        self._gathered = 0
        if self._mmap is not None and hasattr(self._mmap, "madvise"):
            self._mmap.madvise(mmap.MADV_DONTNEED)
