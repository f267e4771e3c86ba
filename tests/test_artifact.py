"""Atomic output folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from corpuskit import artifact
from corpuskit.errors import OutputError


def test_success_replaces_the_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with artifact.staging(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_failure_leaves_the_previous_artifact_untouched(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("old")
    with pytest.raises(RuntimeError), artifact.staging(out, force=True) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("boom")
    assert (out / "old.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_non_empty_output_needs_force(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    with pytest.raises(OutputError, match="--force"), artifact.staging(out, force=False):
        pass


def test_stale_temp_folder_of_a_dead_process_is_removed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    stale = tmp_path / f".out{artifact.TMP_MARK}999999999"
    stale.mkdir()
    live = tmp_path / f".out{artifact.TMP_MARK}{os.getppid()}"
    live.mkdir()
    assert artifact.remove_stale(out) == [stale]
    assert live.exists()


def test_process_alive_tells_running_from_gone() -> None:
    import subprocess
    import sys

    from corpuskit.procs import process_alive

    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid)
