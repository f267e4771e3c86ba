"""Never lose data, never leave a broken artifact.

Builds are interrupted (SIGINT, SIGTERM, SIGKILL) in a real subprocess, records and
workers are made to crash, and a folder of hostile input is built whole. After each, the
previous artifact must be byte-identical (or the new one complete and loadable), no
temporary folder may stay behind except after SIGKILL (the next build removes it), and
every input record must be accounted for.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from corpuskit import BuildConfig, build, mapstage
from corpuskit.clean import cleaner as clean_module
from corpuskit.cli import main
from corpuskit.config import NearDupConfig, SourceConfig
from corpuskit.errors import CorpuskitError
from corpuskit.mapstage import BatchResult, MapState
from corpuskit.output import lock as outlock
from corpuskit.output import staging as artifact
from corpuskit.output.verify import verify
from corpuskit.record import RawRecord
from corpuskit.tokens import TokenBatch

from . import phases
from .conftest import REPO, english_article, fake_artifact, files_of

#: Articles in the corpus the interrupt tests build: with --batch-size 50, enough batches
#: that a pool of two workers is started (the build is stopped at a phase, not by timing).
KILL_CORPUS_ARTICLES = 400

#: A marker the crash hooks below look for.
POISON = "POISON-PILL-7f3a"

_REAL_PROCESS_BATCH = mapstage.process_batch


# -- helpers ----------------------------------------------------------------------------


def _leftovers(out: Path) -> list[str]:
    """Temporary folders of ``out`` (in progress, or abandoned by a killed build)."""
    return sorted(
        p.name
        for p in out.parent.iterdir()
        if p.name.startswith((f".{out.name}{artifact.TMP_MARK}", f".{out.name}{artifact.OLD_MARK}"))
    )


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", PYTHONUNBUFFERED="1")
    env.pop("CORPUSKIT_DEBUG", None)  # the one-line error, not the traceback, is under test
    return env


@contextlib.contextmanager
def _deadline(seconds: int) -> Iterator[None]:
    """Fail (instead of hanging the suite) when the block runs longer than ``seconds``.

    pytest-timeout is not a dependency; SIGALRM does the same job on POSIX.
    """

    def fire(_signum: int, _frame: Any) -> None:
        raise TimeoutError(f"still running after {seconds} s: the build hangs")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _load_all_checks(path: Path, cache: Path, config: str | None = None) -> Any:
    import datasets

    return datasets.load_dataset(
        str(path), config, cache_dir=str(cache), verification_mode="all_checks"
    )


def _rejects(out: Path) -> list[dict[str, Any]]:
    return [
        r for p in sorted((out / "rejects").glob("*.parquet")) for r in pq.read_table(p).to_pylist()
    ]


def _kept(out: Path) -> list[dict[str, Any]]:
    return [
        r for p in sorted((out / "data").glob("*.parquet")) for r in pq.read_table(p).to_pylist()
    ]


def _assert_accounted(out: Path) -> dict[str, Any]:
    counts = json.loads((out / "corpuskit.json").read_text(encoding="utf-8"))["counts"]
    assert counts["read"] == counts["kept"] + counts["duplicates"] + sum(
        counts["rejected"].values()
    )
    result = verify(out)
    assert result.ok, result.problems
    return counts


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kill_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One JSONL file of KILL_CORPUS_ARTICLES distinct articles."""
    path = tmp_path_factory.mktemp("kill") / "big.jsonl"
    with path.open("w", encoding="utf-8") as fh:
        for i in range(KILL_CORPUS_ARTICLES):
            fh.write(json.dumps({"text": english_article(i)}) + "\n")
    return path


@pytest.fixture
def previous(write_corpus: Any, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """An existing artifact (and its bytes) that an interrupted rebuild must not touch."""
    src = write_corpus({f"p{i}.txt": english_article(10_000 + i) for i in range(4)}, "prev-src")
    out = tmp_path / "dist" / "news"
    build([src], out, BuildConfig(name="news", min_chars=50))
    return out, files_of(out)


# -- interrupts in a real subprocess, at a known phase ------------------------------------


def _start(source: Path, out: Path, phase: str, folder: Path, *extra: str) -> subprocess.Popen[str]:
    """Start `corpuskit build` so that it stops at ``phase`` (see tests/phases.py).

    A session of its own: the test can signal the build's whole process group the way a
    terminal's Ctrl-C does, without signalling pytest. -X faulthandler: if it ever hangs,
    _finish's SIGABRT dumps every thread's stack.
    """
    command = [sys.executable, "-X", "faulthandler", "-c", phases.DRIVER, phase, str(folder)]
    return subprocess.Popen(
        [*command, "build", str(source), "--out", str(out), "--force", "-q", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=REPO,
        start_new_session=True,
    )


def _wait_for(proc: subprocess.Popen[str], folder: Path, phase: str) -> None:
    """Block until a process of the build reached ``phase`` (it then waits for "go")."""
    deadline = time.monotonic() + 120
    while not any(folder.glob(f"{phase}-*")):
        if proc.poll() is not None:
            pytest.fail(f"build ended before reaching {phase}: {proc.communicate()}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the build did not reach {phase} within 120 s")
        time.sleep(0.01)


def _finish(proc: subprocess.Popen[str]) -> tuple[int, str, str]:
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGABRT)  # faulthandler: where is it stuck?
        time.sleep(2)
        os.killpg(proc.pid, signal.SIGKILL)
        stdout, stderr = proc.communicate()
        pytest.fail(f"the interrupted build did not exit within 60 s; stderr:\n{stderr}")
    return proc.returncode, stdout, stderr


#: (phase, signal, --jobs, whole process group). Ctrl-C in a terminal signals every
#: process of the group, pool workers included; a service manager stopping the build
#: sends SIGTERM to all, and the workers die of it.
INTERRUPTS = [
    ("batch", signal.SIGINT, 1, False),
    ("batch", signal.SIGTERM, 1, False),
    ("forkserver", signal.SIGINT, 2, True),
    ("worker-start", signal.SIGINT, 2, True),
    ("batch", signal.SIGINT, 2, True),
    ("pool-shutdown", signal.SIGINT, 2, True),
    ("forkserver", signal.SIGTERM, 2, True),
    ("worker-start", signal.SIGTERM, 2, True),
    ("batch", signal.SIGTERM, 2, True),
    ("pool-shutdown", signal.SIGTERM, 2, True),
]


@pytest.mark.parametrize(
    ("phase", "sig", "jobs", "whole_group"),
    [pytest.param(*case, id=f"{case[0]}-{case[1].name}-jobs{case[2]}") for case in INTERRUPTS],
)
def test_interrupt_exits_130_and_leaves_the_previous_artifact_untouched(
    kill_corpus: Path,
    previous: tuple[Path, dict[str, bytes]],
    tmp_path: Path,
    phase: str,
    sig: signal.Signals,
    jobs: int,
    whole_group: bool,
) -> None:
    out, before = previous
    folder = tmp_path / "phase"
    folder.mkdir()
    proc = _start(kill_corpus, out, phase, folder, "--jobs", str(jobs), "--batch-size", "50")
    _wait_for(proc, folder, phase)
    if whole_group:
        os.killpg(proc.pid, sig)
    else:
        proc.send_signal(sig)
    (folder / "go").touch()
    code, stdout, stderr = _finish(proc)
    assert code == 130, (stdout, stderr)
    assert stdout == ""
    assert stderr.count("\n") == 1 and stderr.startswith("Error: build interrupted"), stderr
    assert files_of(out) == before
    assert _leftovers(out) == []


def test_ctrl_c_while_waiting_for_another_builds_lock_exits_130(
    kill_corpus: Path, previous: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    out, before = previous
    folder = tmp_path / "phase"
    folder.mkdir()
    with outlock.hold(artifact.resolve(out).lock_file, str(out), wait=False):
        proc = _start(kill_corpus, out, "lock-wait", folder, "--wait")
        _wait_for(proc, folder, "lock-wait")
        os.killpg(proc.pid, signal.SIGINT)
        code, stdout, stderr = _finish(proc)
    assert (code, stdout) == (130, "") and stderr.startswith("Error: build interrupted")
    assert files_of(out) == before


def test_sigkill_leaves_the_old_artifact_and_the_next_build_cleans_up(
    kill_corpus: Path, previous: tuple[Path, dict[str, bytes]], write_corpus: Any, tmp_path: Path
) -> None:
    out, before = previous
    folder = tmp_path / "phase"
    folder.mkdir()
    proc = _start(kill_corpus, out, "batch", folder, "--jobs", "1")
    _wait_for(proc, folder, "batch")
    proc.kill()
    code, _, _ = _finish(proc)
    assert code == -signal.SIGKILL
    assert files_of(out) == before
    # SIGKILL cannot be cleaned up after...
    assert _leftovers(out) == [f".{out.name}{artifact.TMP_MARK}{proc.pid}"]

    src = write_corpus({f"n{i}.txt": english_article(20_000 + i) for i in range(3)}, "next")
    report = build([src], out, BuildConfig(name="news", min_chars=50), force=True)
    assert _leftovers(out) == []  # ...but the next build removes what the dead one left
    assert report.kept == 3
    _assert_accounted(out)


# -- the final swap ---------------------------------------------------------------------


def test_an_interrupt_between_the_two_renames_puts_the_previous_artifact_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = fake_artifact(tmp_path / "out", {"old.txt": "old"})
    before = files_of(out)
    real_rename = Path.rename

    def rename(self: Path, target: Any) -> Any:
        if Path(target) == out.absolute() and artifact.TMP_MARK in self.name:
            raise KeyboardInterrupt  # SIGINT after the old artifact was moved aside
        return real_rename(self, target)

    monkeypatch.setattr(Path, "rename", rename)
    with pytest.raises(KeyboardInterrupt), artifact.staging(out, force=True) as tmp:
        (tmp / "new.txt").write_text("new")
    assert files_of(out) == before
    assert _leftovers(out) == []


def test_a_build_killed_mid_swap_gets_its_previous_artifact_back(tmp_path: Path) -> None:
    # SIGKILL between the renames: --out is gone, the previous artifact sits in the "old"
    # folder of a dead process, the finished new one in its temporary folder.
    out = tmp_path / "out"
    dead = 999_999_999
    old = fake_artifact(tmp_path / f".out{artifact.OLD_MARK}{dead}", {"old.txt": "old"})
    before = files_of(old)
    (tmp_path / f".out{artifact.TMP_MARK}{dead}").mkdir()
    with pytest.raises(CorpuskitError, match="--force"), artifact.staging(out, force=False):
        pass  # the restored artifact is protected like any other
    assert files_of(out) == before
    assert _leftovers(out) == []


def test_stale_folders_are_matched_by_name_not_by_glob(tmp_path: Path) -> None:
    out = tmp_path / "news[1]"
    dead = 999_999_999
    mine = tmp_path / f".news[1]{artifact.TMP_MARK}{dead}"
    other = tmp_path / f".news1{artifact.TMP_MARK}{dead}"  # what the glob "[1]" matched
    mine.mkdir()
    other.mkdir()
    assert artifact.remove_stale(out) == [mine]
    assert other.exists()


# -- crashes inside the map stage -------------------------------------------------------


def _clean_raises_on_poison(state: MapState, batch: Sequence[tuple[int, Any]]) -> BatchResult:
    """process_batch whose cleaner raises for the poisoned record (module level, so a pool
    worker can unpickle it by name; it patches the worker's own state)."""
    if not getattr(state, "_poisoned", False):
        real = state.cleaner.clean

        def clean(text: str, *args: Any, **kwargs: Any) -> Any:
            if POISON in text:
                raise ValueError("cleaner exploded")
            return real(text, *args, **kwargs)

        state.cleaner.clean = clean  # type: ignore[method-assign]
        state._poisoned = True  # type: ignore[attr-defined]
    return _REAL_PROCESS_BATCH(state, batch)


def _die_on_poison(state: MapState, batch: Sequence[tuple[int, Any]]) -> BatchResult:
    """process_batch whose process vanishes on the poisoned record, as under the OOM killer."""
    if any(isinstance(item, RawRecord) and POISON in item.text for _, item in batch):
        os._exit(13)
    return _REAL_PROCESS_BATCH(state, batch)


class _KillsWhenPickled:
    """Pickling this kills the process: a worker dying half-way through writing its result
    (the OOM killer strikes when memory peaks, which is then)."""

    def __reduce__(self) -> Any:
        os.kill(os.getpid(), signal.SIGKILL)
        raise AssertionError("unreachable")


def _die_while_writing_result(state: MapState, batch: Sequence[tuple[int, Any]]) -> BatchResult:
    result = _REAL_PROCESS_BATCH(state, batch)
    if any(isinstance(item, RawRecord) and POISON in item.text for _, item in batch):
        # Keys and rejects travel back to the build process (kept rows are spilled where
        # the batch ran, keys become columns first): 2 MB of rejects, then the bomb.
        result.rejects.append(("x" * 2_000_000, _KillsWhenPickled()))  # type: ignore[arg-type]
    return result


def _poisoned_corpus(write_corpus: Any) -> Path:
    files = {f"a{i}.txt": english_article(30_000 + i) for i in range(8)}
    files["poison.txt"] = english_article(30_100) + f"\n\n{POISON}"
    return write_corpus(files, "poisoned")


def _assert_only_the_poison_is_an_internal_error(out: Path, report: Any, detail: str) -> None:
    """The poisoned record is the one internal_error (with its raw text); the 8 others kept."""
    assert report.rejected == {"internal_error": 1}
    assert report.kept == 8 and report.balanced()
    (reject,) = _rejects(out)
    assert reject["file"] == "poisoned/poison.txt"
    assert reject["detail"].startswith(f"{detail} at test_robustness.py:")
    assert POISON in reject["text"]  # the raw text is kept for debugging
    _assert_accounted(out)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_record_that_makes_a_stage_raise_becomes_internal_error(
    write_corpus: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    src = _poisoned_corpus(write_corpus)
    monkeypatch.setattr(mapstage, "process_batch", _clean_raises_on_poison)
    out = tmp_path / "out"
    with _deadline(120):
        report = build([src], out, BuildConfig(name="x", min_chars=50, jobs=jobs, batch_size=3))
    _assert_only_the_poison_is_an_internal_error(out, report, "ValueError: cleaner exploded")


@pytest.mark.parametrize("near_dups", [True, False])
def test_a_text_that_makes_tokenising_raise_becomes_internal_error(
    write_corpus: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, near_dups: bool
) -> None:
    src = _poisoned_corpus(write_corpus)
    real = TokenBatch.from_texts.__func__  # type: ignore[attr-defined]

    def from_texts(cls: type[TokenBatch], texts: Sequence[str]) -> TokenBatch:
        if any(POISON in t for t in texts):
            raise ValueError("tokeniser exploded")
        return real(cls, texts)

    monkeypatch.setattr(TokenBatch, "from_texts", classmethod(from_texts))
    out = tmp_path / "out"
    near_dup = NearDupConfig(enabled=near_dups)
    report = build([src], out, BuildConfig(name="x", min_chars=50, batch_size=4, near_dup=near_dup))
    _assert_only_the_poison_is_an_internal_error(out, report, "ValueError: tokeniser exploded")


def test_a_text_that_makes_the_ngram_ratios_raise_becomes_internal_error(
    write_corpus: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _poisoned_corpus(write_corpus)
    real = clean_module.ngram_verdicts

    def ngram_verdicts(texts: Sequence[str], *args: Any) -> list[str | None]:
        if any(POISON in t for t in texts):
            raise ZeroDivisionError("ratio exploded")
        return real(texts, *args)

    monkeypatch.setattr(clean_module, "ngram_verdicts", ngram_verdicts)
    out = tmp_path / "out"
    report = build([src], out, BuildConfig(name="x", min_chars=50, batch_size=4))
    _assert_only_the_poison_is_an_internal_error(out, report, "ZeroDivisionError: ratio exploded")


def test_a_text_whose_minhash_step_raises_becomes_internal_error(
    write_corpus: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corpuskit.mapstage import steps

    src = _poisoned_corpus(write_corpus)
    real = steps.MinHash.compute

    def compute(self: Any, state: Any, batch: Any) -> Any:
        if any(POISON in t for t in batch.texts()):
            raise ValueError("minhash exploded")
        return real(self, state, batch)

    monkeypatch.setattr(steps.MinHash, "compute", compute)
    out = tmp_path / "out"
    report = build([src], out, BuildConfig(name="x", min_chars=50, batch_size=4))
    _assert_only_the_poison_is_an_internal_error(out, report, "ValueError: minhash exploded")


def test_a_failing_language_batch_falls_back_to_one_text_at_a_time(
    write_corpus: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = _poisoned_corpus(write_corpus)
    real = mapstage.MapState.__init__

    def init(self: MapState, config: BuildConfig) -> None:
        real(self, config)
        detect = self.detector.detect_batch

        def detect_batch(texts: Sequence[str]) -> Any:
            if any(POISON in t for t in texts):
                raise RuntimeError("detector exploded")
            return detect(texts)

        self.detector.detect_batch = detect_batch  # type: ignore[method-assign]

    monkeypatch.setattr(mapstage.MapState, "__init__", init)
    out = tmp_path / "out"
    report = build([src], out, BuildConfig(name="x", min_chars=50))
    assert report.kept == 9 and report.balanced()
    languages = {r["source_id"]: (r["language"], r["language_score"]) for r in _kept(out)}
    assert languages.pop("poison") == ("und", 0.0)  # kept, language undetermined
    assert all(code == "en" and score > 0.9 for code, score in languages.values())


@pytest.mark.parametrize(
    "hook",
    [
        pytest.param(_die_on_poison, id="dies-while-processing"),
        pytest.param(_die_while_writing_result, id="dies-while-writing-its-result"),
    ],
)
def test_a_dead_worker_fails_the_build_with_a_clear_error_not_a_hang(
    write_corpus: Any,
    previous: tuple[Path, dict[str, bytes]],
    monkeypatch: pytest.MonkeyPatch,
    hook: Callable[[MapState, Sequence[tuple[int, Any]]], BatchResult],
) -> None:
    out, before = previous
    src = _poisoned_corpus(write_corpus)
    monkeypatch.setattr(mapstage, "process_batch", hook)
    config = BuildConfig(name="news", min_chars=50, jobs=2, batch_size=2)
    with _deadline(120), pytest.raises(CorpuskitError, match="a worker process died") as info:
        build([src], out, config, force=True)
    assert "--jobs 1" in str(info.value)
    assert files_of(out) == before
    assert _leftovers(out) == []
    if hook is not _die_on_poison:
        return

    with _deadline(120):
        result = CliRunner().invoke(
            main,
            [
                "build",
                str(src),
                "--out",
                str(out),
                "--force",
                "--jobs",
                "2",
                "--min-chars",
                "50",
                "--batch-size",
                "2",
            ],
        )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1
    assert result.output.startswith("Error: a worker process died")
    assert files_of(out) == before


# -- hostile input, built whole -----------------------------------------------------------


def _write_hostile(root: Path, long_line_bytes: int) -> None:
    """Every kind of bad input at once, beside a few good articles."""
    root.mkdir(parents=True)
    for i in range(4):
        (root / f"good-{i}.txt").write_text(english_article(40_000 + i), encoding="utf-8")
    ok = [json.dumps({"text": english_article(40_100 + i)}) for i in range(3)]
    with (root / "huge.jsonl").open("w", encoding="utf-8") as fh:
        fh.write(ok[0] + "\n" + '{"text": "')
        chunk = "The council met again. " * 40_000
        for _ in range(long_line_bytes // len(chunk) + 1):
            fh.write(chunk)
        fh.write('"}\n' + ok[1] + "\n")
    deep = '{"text": "x", "meta": ' + "[" * 100_000 + "]" * 100_000 + "}"
    (root / "deep.jsonl").write_text(ok[2] + "\n" + deep + "\n", encoding="utf-8")
    (root / "binary.txt").write_bytes(bytes(range(256)) * 40)
    (root / "image.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    os.symlink(".", root / "loop")  # a folder loop: the walk must not go round forever
    os.symlink("ping.txt", root / "pong.txt")  # a file loop: ELOOP when opened
    os.symlink("pong.txt", root / "ping.txt")
    os.symlink("nowhere.txt", root / "broken.txt")
    os.mkfifo(root / "pipe.txt")  # must be refused, never opened (it would block)
    name = os.fsencode(root) + b"/caf\xe9-\xff.txt"  # not valid UTF-8
    fd = os.open(name, os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, english_article(40_200).encode("utf-8"))
    os.close(fd)
    (root / "zero.txt").write_bytes(b"")
    (root / "zero.jsonl").write_bytes(b"")
    lines = b"".join(
        json.dumps({"text": english_article(40_300 + i)}).encode() + b"\n" for i in range(20)
    )
    data = gzip.compress(lines)
    (root / "cut.jsonl.gz").write_bytes(data[: len(data) // 2])
    nul_text = english_article(40_400).replace(" ", " \x00", 1).encode()
    (root / "nul.csv").write_bytes(b'text,title\n"' + nul_text + b'",with a NUL byte\n')
    (root / "nuls.csv").write_bytes(b"text\n" + b"\x00" * 4000)
    (root / "slides.pdf").write_bytes(b"%PDF-1.4\n")


def test_hostile_folder_builds_and_every_fault_is_accounted_for(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _write_hostile(src, long_line_bytes=3_000_000)
    out = tmp_path / "out"
    config = BuildConfig(
        name="hostile", min_chars=50, source=SourceConfig(max_record_bytes=1_000_000)
    )
    with _deadline(120):
        report = build([src], out, config)

    rejects = {(r["file"], r["line"]): (r["reason"], r["detail"]) for r in _rejects(out)}
    reasons = {key: reason for key, (reason, _) in rejects.items()}
    assert reasons == {
        ("src/binary.txt", None): "not_text",
        ("src/broken.txt", None): "unreadable",
        ("src/cut.jsonl.gz", None): "unreadable",
        ("src/deep.jsonl", 2): "bad_json",
        ("src/huge.jsonl", 2): "too_long",
        ("src/image.txt", None): "not_text",
        ("src/nuls.csv", None): "not_text",
        ("src/ping.txt", None): "unreadable",
        ("src/pipe.txt", None): "unreadable",
        ("src/pong.txt", None): "unreadable",
        ("src/zero.txt", None): "empty",
    }
    assert "broken symbolic link" in rejects[("src/broken.txt", None)][1]
    assert "truncated gzip" in rejects[("src/cut.jsonl.gz", None)][1]
    assert "nested too deeply" in rejects[("src/deep.jsonl", 2)][1]
    assert "named pipe" in rejects[("src/pipe.txt", None)][1]
    assert "PNG" in rejects[("src/image.txt", None)][1]
    assert report.files_skipped == {"symlink loop or repeated folder": 1, ".pdf": 1}

    kept = _kept(out)
    by_source = {r["source_id"] for r in kept}
    assert {"good-0", "huge", "deep", "nul", "caf\\xe9-\\xff"} <= by_source
    assert sum(r["source_id"] == "huge" for r in kept) == 2  # both lines around the long one
    assert 0 < sum(r["source_id"] == "cut" for r in kept) < 20  # lines before the cut
    assert all("\x00" not in r["text"] for r in kept)  # cleaning drops the stray NUL

    counts = _assert_accounted(out)
    assert counts["rejected"] == {
        "bad_json": 1,
        "empty": 1,
        "not_text": 3,
        "too_long": 1,
        "unreadable": 5,
    }
    ds = _load_all_checks(out, tmp_path / "hf-cache")
    assert sum(split.num_rows for split in ds.values()) == counts["kept"]
    assert _load_all_checks(out, tmp_path / "hf-cache", "rejects")["rejects"].num_rows == 11


@pytest.mark.parametrize(
    "fault",
    ["broken symlink", "symlink loop", "truncated gzip", "binary jsonl", "fifo"],
)
def test_on_bad_file_error_stops_with_one_line_and_no_artifact(
    tmp_path: Path, previous: tuple[Path, dict[str, bytes]], fault: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.txt").write_text(english_article(50_000), encoding="utf-8")
    if fault == "broken symlink":
        os.symlink("nowhere.txt", src / "z.txt")
    elif fault == "symlink loop":
        os.symlink("z.txt", src / "z.txt")
    elif fault == "truncated gzip":
        (src / "z.jsonl.gz").write_bytes(gzip.compress(b'{"text": "hello"}\n' * 500)[:40])
    elif fault == "binary jsonl":
        (src / "z.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    else:
        os.mkfifo(src / "z.txt")
    out, before = previous
    result = CliRunner().invoke(
        main, ["build", str(src), "--out", str(out), "--force", "--on-bad-file", "error"]
    )
    assert result.exit_code == 1
    assert result.output.count("\n") == 1, result.output
    assert result.output.startswith("Error: src/z.") and "--on-bad-file skip" in result.output
    assert files_of(out) == before
    assert _leftovers(out) == []
    fresh = tmp_path / "fresh"
    result = CliRunner().invoke(
        main, ["build", str(src), "--out", str(fresh), "--on-bad-file", "error"]
    )
    assert result.exit_code == 1 and not fresh.exists() and _leftovers(fresh) == []


_MEMORY_DRIVER = textwrap.dedent(
    """
    import resource, sys
    from corpuskit import BuildConfig, build

    small, big, out = sys.argv[1:4]
    config = BuildConfig(name="mem", min_chars=50)
    build([small], out + "/warm", config)  # imports, models, first allocations
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = build([big], out + "/big", config)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(before, after, report.rejected.get("too_long", 0), report.kept)
    """
)


def test_a_real_50_mb_line_is_streamed_not_held(tmp_path: Path, write_corpus: Any) -> None:
    """A 50 MB JSONL line (over the 10 MB default cap) costs about one cap of memory.

    Peak RSS is read inside the build's own process (ru_maxrss is a high-water mark, so a
    warm-up build first makes the before/after difference the long line's cost).
    """
    small = write_corpus({f"w{i}.txt": english_article(60_000 + i) for i in range(3)}, "warm")
    big = tmp_path / "big"
    big.mkdir()
    for i in range(3):
        (big / f"b{i}.txt").write_text(english_article(60_100 + i), encoding="utf-8")
    with (big / "huge.jsonl").open("w", encoding="utf-8") as fh:
        fh.write('{"text": "')
        block = "x" * (1 << 20)
        for _ in range(50):
            fh.write(block)
        fh.write('"}\n')
    assert (big / "huge.jsonl").stat().st_size > 50 * (1 << 20)
    run = subprocess.run(
        [sys.executable, "-c", _MEMORY_DRIVER, str(small), str(big), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        env=_env(),
        cwd=REPO,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    before_kb, after_kb, too_long, kept = map(int, run.stdout.split())
    assert (too_long, kept) == (1, 3)
    extra_mb = (after_kb - before_kb) / 1024
    # Holding the line once as bytes would add 50 MB (and decoding it 50 more); streaming
    # it costs at most the 10 MB cap plus a little.
    assert extra_mb < 25, f"peak memory grew by {extra_mb:.0f} MB for a 50 MB line"
