"""The output folder: never destroy what corpuskit did not make, one build at a time,
atomic replacement wherever the folder lives (symbolic link, mount point)."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from corpuskit import BuildConfig, build
from corpuskit.cli import main
from corpuskit.errors import OutputError
from corpuskit.output import lock as outlock
from corpuskit.output import staging as artifact
from corpuskit.output.lock import OutputLocked
from corpuskit.output.verify import verify

from .conftest import REPO, english_article, fake_artifact, files_of


@pytest.fixture
def articles(write_corpus: Any) -> Path:
    return write_corpus({f"a{i}.txt": english_article(70_000 + i) for i in range(3)}, "articles")


CONFIG = BuildConfig(name="news", min_chars=50)


# -- replacing: only what corpuskit built -------------------------------------------------


def test_success_replaces_an_artifact(tmp_path: Path) -> None:
    out = fake_artifact(tmp_path / "out", {"old.txt": "old"})
    with artifact.staging(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in out.iterdir()) == ["new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_failure_leaves_the_previous_artifact_untouched(tmp_path: Path) -> None:
    out = fake_artifact(tmp_path / "out", {"old.txt": "old"})
    before = files_of(out)
    with pytest.raises(RuntimeError), artifact.staging(out, force=True) as tmp:
        (tmp / "half.txt").write_text("half")
        raise RuntimeError("boom")
    assert files_of(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_an_artifact_is_replaced_only_with_force(tmp_path: Path) -> None:
    out = fake_artifact(tmp_path / "out", {"x": "x"})
    with pytest.raises(OutputError, match="--force"), artifact.staging(out, force=False):
        pass


def test_an_empty_folder_is_used_without_force(tmp_path: Path, articles: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    assert build([articles], out, CONFIG).kept == 3
    assert verify(out).ok


def test_force_never_deletes_a_folder_that_is_not_an_artifact(
    tmp_path: Path, articles: Path
) -> None:
    out = tmp_path / "u"
    out.mkdir()
    (out / "notes.txt").write_text("my notes")
    result = CliRunner().invoke(main, ["build", str(articles), "--out", str(out), "--force"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert "is not a corpuskit artifact" in result.output and "notes.txt" in result.output
    assert files_of(out) == {"notes.txt": b"my notes"}


def test_force_never_deletes_a_file_the_user_added_to_an_artifact(
    tmp_path: Path, articles: Path
) -> None:
    out = tmp_path / "news"
    build([articles], out, CONFIG)
    (out / "LICENSE").write_text("mine")
    before = files_of(out)
    with pytest.raises(OutputError, match=r"holds files corpuskit did not write \(LICENSE\)"):
        build([articles], out, CONFIG, force=True)
    assert files_of(out) == before


def test_a_folder_with_an_unrelated_json_manifest_is_not_an_artifact(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "corpuskit.json").write_text('{"files": {}}')  # no corpuskit version: not ours
    with (
        pytest.raises(OutputError, match="not a corpuskit artifact"),
        artifact.staging(out, force=True),
    ):
        pass
    assert (out / "corpuskit.json").exists()


def test_out_that_is_a_file_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("a file")
    with pytest.raises(OutputError, match="not a folder"), artifact.staging(out, force=True):
        pass
    assert out.read_text() == "a file"


# -- --out and the sources -------------------------------------------------------------------


@pytest.mark.parametrize("where", ["equal", "inside", "containing"])
def test_out_overlapping_a_source_is_refused_before_any_work(
    tmp_path: Path, articles: Path, where: str
) -> None:
    out = {"equal": articles, "inside": articles / "dist", "containing": tmp_path}[where]
    before = files_of(tmp_path)
    result = CliRunner().invoke(main, ["build", str(articles), "--out", str(out), "--force"])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "outside every SOURCE" in result.output
    assert files_of(tmp_path) == before  # the inputs are intact and nothing was written
    assert not (articles / "dist").exists()


def test_out_reaching_a_source_through_a_symlink_is_refused(tmp_path: Path, articles: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(articles)
    with pytest.raises(OutputError, match="is the source"):
        build([articles], link, CONFIG, force=True)
    assert len(list(articles.iterdir())) == 3


def test_a_file_source_inside_out_is_refused(tmp_path: Path, articles: Path) -> None:
    with pytest.raises(OutputError, match="contains the source"):
        build([articles / "a0.txt"], tmp_path, CONFIG, force=True)


# -- symbolic links ----------------------------------------------------------------------------


def test_a_symlinked_out_keeps_its_link_and_its_target_gets_the_artifact(
    tmp_path: Path, articles: Path
) -> None:
    target = tmp_path / "volume" / "news"
    target.mkdir(parents=True)
    link = tmp_path / "dist-news"
    link.symlink_to(target, target_is_directory=True)
    build([articles], link, CONFIG)
    build([articles], link, CONFIG, force=True)  # a rebuild swaps beside the target
    assert link.is_symlink() and link.resolve() == target.resolve()
    assert verify(target).ok
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles", "dist-news", "volume"]
    assert sorted(p.name for p in target.parent.iterdir()) == ["news"]


# -- one build at a time -------------------------------------------------------------------------


def test_a_second_build_fails_at_once_naming_the_first(tmp_path: Path, articles: Path) -> None:
    out = tmp_path / "news"
    target = artifact.resolve(out)
    with outlock.hold(target.lock_file, str(out), wait=False):
        result = CliRunner().invoke(main, ["build", str(articles), "--out", str(out)])
    assert result.exit_code == 1
    assert result.output == (
        f"Error: another build (pid {os.getpid()}) is writing {out}: wait for it to finish, "
        "or pass --wait to start when it does\n"
    )
    assert not out.exists()


def test_wait_builds_once_the_other_build_is_done(tmp_path: Path, articles: Path) -> None:
    out = tmp_path / "news"
    lock_file = artifact.resolve(out).lock_file
    outcome: dict[str, Any] = {}

    def second() -> None:
        outcome["report"] = build([articles], out, CONFIG, wait=True)
        outcome["released_first"] = released.is_set()

    released = threading.Event()
    with outlock.hold(lock_file, str(out), wait=False):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)
        assert thread.is_alive() and not out.exists()  # it waits; it cannot have written
        released.set()
    thread.join(timeout=120)
    assert outcome["released_first"] and outcome["report"].kept == 3
    assert verify(out).ok


_HOLDER = """
import sys, time
from pathlib import Path
from corpuskit.output import lock as outlock
with outlock.hold(Path(sys.argv[1]), "out", wait=False):
    print("locked", flush=True)
    time.sleep(600)
"""


def test_the_lock_of_a_killed_build_is_free_at_once(tmp_path: Path, articles: Path) -> None:
    out = tmp_path / "news"
    lock_file = artifact.resolve(out).lock_file
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(lock_file)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        with pytest.raises(OutputLocked, match=f"pid {holder.pid}"):
            build([articles], out, CONFIG)
    finally:
        holder.kill()
        holder.wait()
    assert lock_file.read_text() == f"{holder.pid}\n"  # a dead build's pid stays behind...
    assert build([articles], out, CONFIG).kept == 3  # ...and blocks nothing


def test_the_lock_is_released_when_the_build_fails(tmp_path: Path, articles: Path) -> None:
    out = tmp_path / "news"
    with pytest.raises(OutputError), artifact.staging(out, force=False):
        raise OutputError("boom")
    build([articles], out, CONFIG)
    assert verify(out).ok


# -- folders that cannot be renamed ------------------------------------------------------------


@pytest.fixture
def unrenameable(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every output folder counts as a mount point, as a container volume does."""
    monkeypatch.setattr(artifact, "is_mount_point", lambda path: True)


def test_a_folder_that_cannot_be_renamed_is_swapped_in_place(
    tmp_path: Path, articles: Path, unrenameable: None
) -> None:
    out = tmp_path / "volume"
    out.mkdir()
    inode = out.stat().st_ino
    build([articles], out, CONFIG)
    first = files_of(out)
    build([articles], out, BuildConfig(name="news", min_chars=50, seed=1), force=True)
    assert out.stat().st_ino == inode  # never renamed
    assert verify(out).ok and files_of(out) != first
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles", "volume"]


def test_an_in_place_swap_interrupted_before_its_commit_keeps_the_old_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unrenameable: None
) -> None:
    out = fake_artifact(tmp_path / "volume", {"old.txt": "old", "data/x.parquet": "x"})
    before = files_of(out)
    real_rename = Path.rename

    def rename(self: Path, target: Any) -> Any:
        if artifact.NEW_MARK in Path(target).name:
            raise KeyboardInterrupt  # Ctrl-C just before the commit point
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(KeyboardInterrupt), artifact.staging(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert {k: v for k, v in files_of(out).items() if not k.startswith(".")} == before


@pytest.mark.parametrize("committed", [False, True])
def test_a_build_killed_mid_in_place_swap_is_recovered_by_the_next(
    tmp_path: Path, committed: bool
) -> None:
    out = tmp_path / "volume"
    dead = 999_999_999
    # The state a SIGKILL leaves: old entries moved aside, the new artifact staged (and,
    # past the commit point, renamed to its "new" name with one entry already moved in).
    old = fake_artifact(out / f"{artifact.OLD_MARK}{dead}", {"old.txt": "old"})
    new = fake_artifact(out / f"{artifact.TMP_MARK}{dead}", {"new.txt": "new", "b.txt": "b"})
    expected = files_of(new if committed else old)
    if committed:
        new = new.rename(out / f"{artifact.NEW_MARK}{dead}")
        (new / "b.txt").rename(out / "b.txt")
    artifact.remove_stale(out)
    assert files_of(out) == expected
    assert artifact.work_names(out) == []


def test_a_build_killed_while_removing_the_old_artifact_is_rolled_forward(
    tmp_path: Path,
) -> None:
    # Past the commit point the new entries are in, and the old ones half removed when
    # the build dies: the next build must finish the removal, never move old files back.
    out = tmp_path / "volume"
    dead = 999_999_999
    new = fake_artifact(tmp_path / "staged", {"README.md": "new card", "data/a": "new"})
    expected = files_of(new)
    out.mkdir()
    for entry in sorted(new.iterdir()):
        entry.rename(out / entry.name)
    (out / f"{artifact.NEW_MARK}{dead}").mkdir()
    fake_artifact(out / f"{artifact.OLD_MARK}{dead}", {"README.md": "old card", "data/a": "old"})
    artifact.remove_stale(out)
    assert files_of(out) == expected
    assert artifact.work_names(out) == []


def test_dying_while_the_old_artifact_is_removed_leaves_a_committed_swap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, unrenameable: None
) -> None:
    out = fake_artifact(tmp_path / "volume", {"README.md": "old card", "data/a": "old"})

    def die(path: Path) -> None:  # the build is killed half-way through removing
        (path / "README.md").unlink()
        raise SystemExit("killed")

    monkeypatch.setattr(artifact, "_remove_tree", die)
    with pytest.raises(SystemExit), artifact.staging(out, force=True) as tmp:
        fake_artifact(tmp, {"README.md": "new card", "data/a": "new"})
        expected = files_of(tmp)
    monkeypatch.undo()
    artifact.remove_stale(out)  # what the next build does first
    assert files_of(out) == expected


def test_a_file_put_into_out_during_the_build_stops_the_swap(
    tmp_path: Path, articles: Path
) -> None:
    out = tmp_path / "news"
    build([articles], out, CONFIG)
    with (
        pytest.raises(OutputError, match=r"did not write \(mine.txt\)"),
        artifact.staging(out, force=True) as tmp,
    ):
        (tmp / "new.txt").write_text("new")
        (out / "mine.txt").write_text("the user's")  # while the build runs
    assert (out / "mine.txt").read_text() == "the user's"
    assert verify(out).problems  # only the stray file: the old artifact is intact
    assert [p.file for p in verify(out).problems] == ["mine.txt"]


def test_a_rename_refused_at_the_swap_falls_back_to_an_in_place_swap(
    tmp_path: Path, articles: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "news"
    build([articles], out, CONFIG)
    inode = out.stat().st_ino
    real_rename = Path.rename

    def rename(self: Path, target: Any) -> Any:
        if self == out:  # a bind mount that /proc/self/mountinfo did not show
            raise OSError(errno.EBUSY, os.strerror(errno.EBUSY), str(self))
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    build([articles], out, BuildConfig(name="news", min_chars=50, seed=1), force=True)
    assert out.stat().st_ino == inode and verify(out).ok
    assert artifact.work_names(out) == []
    beside = sorted(p.name for p in tmp_path.iterdir())
    assert beside == ["articles", "news"]


@contextlib.contextmanager
def _tmpfs(path: Path) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)],
        capture_output=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("mount") is None,
    reason="mounting a tmpfs needs root",
)
def test_a_real_tmpfs_mount_point_is_built_and_rebuilt_in_place(
    tmp_path: Path, articles: Path
) -> None:
    with _tmpfs(tmp_path / "mnt") as out:
        assert artifact.resolve(out).in_place
        build([articles], out, CONFIG)
        result = CliRunner().invoke(
            main, ["build", str(articles), "--out", str(out), "--force", "--seed", "1"]
        )
        assert result.exit_code == 0, result.output
        assert verify(out).ok
        assert artifact.work_names(out) == []


def test_mount_points_are_read_from_mountinfo(tmp_path: Path) -> None:
    assert artifact.is_mount_point(Path("/"))
    assert not artifact.is_mount_point(tmp_path)
    assert artifact._unescape_mount("/mnt/a\\040b") == "/mnt/a b"


# -- recovery of a killed build's leftovers -----------------------------------------------------


def test_under_the_lock_every_leftover_is_a_dead_builds_whatever_its_pid(
    tmp_path: Path, articles: Path
) -> None:
    # In a container a build often gets the same pid every run (1): a leftover carrying
    # this process's pid, or a live process's, is still a dead build's, since the lock
    # shuts every other build of this folder out.
    out = fake_artifact(tmp_path / "news", {"old.txt": "old"})
    before = files_of(out)
    mine = tmp_path / f".news{artifact.TMP_MARK}{os.getpid()}"
    mine.mkdir()
    aside = tmp_path / f".news{artifact.OLD_MARK}{os.getppid()}"  # a live pid
    aside.mkdir()
    build([articles], out, CONFIG, force=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles", "news"]
    assert files_of(out) != before and verify(out).ok


def test_a_build_killed_before_its_in_place_commit_with_this_pid_is_rolled_back(
    tmp_path: Path, articles: Path, unrenameable: None
) -> None:
    out = tmp_path / "volume"
    out.mkdir()
    old = fake_artifact(out / f"{artifact.OLD_MARK}{os.getpid()}", {"old.txt": "old"})
    (out / f"{artifact.TMP_MARK}{os.getpid()}").mkdir()
    before = files_of(old)
    with pytest.raises(OutputError, match="--force"):  # the old artifact is back, protected
        build([articles], out, CONFIG)
    assert files_of(out) == before


def test_process_alive_tells_running_from_gone() -> None:
    from corpuskit.procs import process_alive

    assert process_alive(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not process_alive(child.pid)


def test_no_lock_file_stays_beside_the_artifact(tmp_path: Path, articles: Path) -> None:
    out = tmp_path / "news"
    build([articles], out, CONFIG)
    assert not artifact.resolve(out).lock_file.exists()


def test_a_lock_on_a_file_deleted_meanwhile_does_not_count(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A build that opened the lock file just before its holder deleted it locks a
    # deleted file; meanwhile a third build may hold a new file at the same path.
    lock_file = tmp_path / ".out.corpuskit-lock"
    real_open = outlock._open
    third: list[int] = []

    def open_then_replaced(path: Path) -> int:
        fd = real_open(path)
        if not third:  # the holder deletes the file, a third build locks a new one
            path.unlink()
            third.append(os.open(path, os.O_RDWR | os.O_CREAT))
            fcntl.flock(third[0], fcntl.LOCK_EX)
            os.pwrite(third[0], b"4242\n", 0)
        return fd

    monkeypatch.setattr(outlock, "_open", open_then_replaced)
    try:
        with (
            pytest.raises(OutputLocked, match="pid 4242"),
            outlock.hold(lock_file, "out", wait=False),
        ):
            pass
    finally:
        os.close(third[0])
