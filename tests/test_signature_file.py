"""The near-duplicate index with its signatures on disk gives what it gives in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corpuskit.config import NearDupConfig
from corpuskit.dedup import NearDupIndex, signature_file
from corpuskit.dedup import index as index_module
from corpuskit.dedup.minhash import EMPTY_SLOT
from corpuskit.dedup.signature_file import GATHER_ROWS, MappedRows, SignatureFile

CONFIG = NearDupConfig()


def _signatures(n: int, copies: int, seed: int, empty: int = 0) -> np.ndarray:
    """``n`` random signatures; the first ``copies`` rows are near-copies of later ones
    (a few slots edited), and ``empty`` rows are empty signatures."""
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**32 - 1, size=(n, CONFIG.num_perm), dtype=np.uint32)
    for i in range(min(copies, n // 2)):
        sigs[i] = sigs[n - 1 - i]
        edited = rng.choice(CONFIG.num_perm, size=6, replace=False)
        sigs[i, edited] = rng.integers(0, 2**32 - 1, size=6, dtype=np.uint32)
    sigs[n - empty :] = EMPTY_SLOT
    return sigs


def _both(tmp_path: Path, sigs: np.ndarray, keys: list[int]) -> tuple[NearDupIndex, NearDupIndex]:
    memory, disk = NearDupIndex(CONFIG), NearDupIndex(CONFIG, tmp_path)
    for key, row in zip(keys, sigs, strict=True):
        memory.add(key, row.tobytes())
        disk.add(key, row.tobytes())
    return memory, disk


@settings(max_examples=20, deadline=None)
@given(
    n=st.integers(0, 400),
    copies=st.integers(0, 60),
    empty=st.integers(0, 3),
    seed=st.integers(0, 1000),
    scan=st.sampled_from([7, 64, 16_384]),
)
def test_clusters_and_audit_are_the_same_on_disk_as_in_memory(
    tmp_path_factory: pytest.TempPathFactory, n: int, copies: int, empty: int, seed: int, scan: int
) -> None:
    sigs = _signatures(n, copies, seed, min(empty, n))
    real_scan, real_release = index_module._SCAN_ROWS, signature_file.RELEASE_ROWS
    index_module._SCAN_ROWS, signature_file.RELEASE_ROWS = scan, scan
    try:
        memory, disk = _both(tmp_path_factory.mktemp("sigs"), sigs, list(range(n)))
        assert disk.clusters() == memory.clusters()
        assert disk.clusters(0.3) == memory.clusters(0.3)
        split_of = {k: ("eval" if k % 5 == 0 else "train") for k in range(n)}
        assert disk.cross_split_audit(split_of) == memory.cross_split_audit(split_of)
        if n >= 2:
            a, b = np.arange(n - 1), np.arange(1, n)
            assert np.array_equal(disk.similarities(a, b), memory.similarities(a, b))
    finally:
        index_module._SCAN_ROWS, signature_file.RELEASE_ROWS = real_scan, real_release


def test_signatures_on_disk_take_no_memory_in_the_index(tmp_path: Path) -> None:
    memory, disk = _both(tmp_path, _signatures(2000, 50, 1), list(range(2000)))
    memory.clusters()
    disk.clusters()
    assert memory.memory_bytes() - disk.memory_bytes() >= 2000 * CONFIG.signature_bytes
    assert (tmp_path / "signatures.bin").stat().st_size == 2000 * CONFIG.signature_bytes


def test_keys_out_of_order_are_read_into_memory_and_still_agree(tmp_path: Path) -> None:
    keys = [5, 3, 9, 1, 7, 2, 8, 0, 6, 4] * 1
    sigs = _signatures(10, 3, 2)
    memory, disk = _both(tmp_path, sigs, keys)
    assert disk.clusters() == memory.clusters()
    assert disk.similarity(5, 3) == memory.similarity(5, 3)


def test_adding_after_clusters_merges_with_the_signatures_on_disk(tmp_path: Path) -> None:
    sigs = _signatures(300, 30, 3)
    memory, disk = _both(tmp_path, sigs[:200], list(range(200)))
    assert disk.clusters() == memory.clusters()
    for key in range(200, 300):
        memory.add(key, sigs[key].tobytes())
        disk.add(key, sigs[key].tobytes())
    assert disk.clusters() == memory.clusters()


def test_mapped_rows_read_like_an_array_and_release_what_they_read(tmp_path: Path) -> None:
    sigs = _signatures(100, 0, 4)
    file = SignatureFile(tmp_path / "s.bin", CONFIG.signature_bytes)
    for row in sigs:
        file.append(row.tobytes())
    rows = file.mapped(CONFIG.num_perm)
    assert isinstance(rows, MappedRows) and len(rows) == 100 and rows.nbytes == 0
    assert np.array_equal(rows[[3, 1]], sigs[[3, 1]])
    assert np.array_equal(rows[10:20, 4:8], sigs[10:20, 4:8])
    assert np.array_equal(rows[7], sigs[7])
    rows.release()  # pages handed back; the data is still there
    assert np.array_equal(rows[:], sigs)


def test_a_large_scattered_gather_returns_the_rows_in_the_order_asked(tmp_path: Path) -> None:
    sigs = _signatures(3 * GATHER_ROWS, 0, 5)
    file = SignatureFile(tmp_path / "s.bin", CONFIG.signature_bytes)
    file.append(sigs.tobytes(), rows=len(sigs))
    rows = file.mapped(CONFIG.num_perm)
    wanted = np.random.default_rng(0).integers(0, len(sigs), size=5 * GATHER_ROWS + 7)
    assert np.array_equal(rows[wanted], sigs[wanted])  # gathered in runs, released between


def test_an_empty_signature_file_maps_to_no_rows(tmp_path: Path) -> None:
    rows = SignatureFile(tmp_path / "s.bin", CONFIG.signature_bytes).mapped(CONFIG.num_perm)
    assert len(rows) == 0 and rows[:].shape == (0, CONFIG.num_perm)
    assert NearDupIndex(CONFIG, tmp_path).clusters() == []
