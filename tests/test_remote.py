"""Sources and --out as URLs: fsspec's in-memory filesystem and file:// stand in for
shared storage (s3://, gs://, hf://), with no cloud account."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import fsspec
import pytest
from click.testing import CliRunner

from corpuskit import BuildConfig, build
from corpuskit.cli import main
from corpuskit.errors import CorpuskitError, OutputError, SourceError
from corpuskit.layout import LOCK_NAME, MANIFEST, NEW_MARK, TMP_MARK
from corpuskit.output import remote
from corpuskit.output.lock import OutputLocked
from corpuskit.output.verify import verify
from corpuskit.record import RawRecord, Reject
from corpuskit.sources import SourceStats, iter_records
from corpuskit.sources.discover import walk_folder, walk_remote
from corpuskit.storage import Remote, locate

from .conftest import english_article, fake_artifact, files_of, french_article

CONFIG = BuildConfig(name="news", min_chars=50, source_id="parent")


@pytest.fixture
def mem() -> Iterator[str]:
    """A fresh folder URL on fsspec's in-memory filesystem (one per test: it is global)."""
    root = f"/t-{uuid.uuid4().hex[:12]}"
    yield f"memory://{root}"
    if _fs().exists(root):
        _fs().rm(root, recursive=True)


def _fs() -> Any:
    return fsspec.filesystem("memory")


def _path(url: str) -> str:
    return url[len("memory://") :]


def remote_files(url: str) -> dict[str, bytes]:
    """Every file below ``url`` and its bytes, as :func:`files_of` gives a local folder."""
    fs, root = _fs(), _path(url)
    return {p[len(root) + 1 :]: fs.cat_file(p) for p in sorted(fs.find(root))}


@pytest.fixture
def articles(write_corpus: Any) -> Path:
    files: dict[str, str | bytes] = {
        f"site-a/a{i}.txt": english_article(91_000 + i) for i in range(4)
    }
    files["site-b/fr.txt"] = french_article(5)
    files["site-b/copy.txt"] = english_article(91_000)  # an exact duplicate
    files["site-b/short.txt"] = "Too short."  # a reject
    files["site-b/notes.md"] = "skipped and counted"
    files[".hidden/x.txt"] = english_article(1)
    return write_corpus(files, "articles")


def upload(folder: Path, url: str) -> str:
    _fs().put(str(folder), _path(url), recursive=True)
    return url


# -- sources ---------------------------------------------------------------------------------


def test_a_memory_url_source_builds_the_same_artifact_as_the_local_folder(
    tmp_path: Path, articles: Path, mem: str
) -> None:
    build([articles], tmp_path / "local", CONFIG)
    build([upload(articles, f"{mem}/articles")], tmp_path / "remote", CONFIG)
    assert files_of(tmp_path / "remote") == files_of(tmp_path / "local")


def test_file_urls_for_source_and_out_build_the_same_artifact_as_paths(
    tmp_path: Path, articles: Path
) -> None:
    build([articles], tmp_path / "by-path", CONFIG)
    build([f"file://{articles}"], f"file://{tmp_path / 'by-url'}", CONFIG)
    assert files_of(tmp_path / "by-url") == files_of(tmp_path / "by-path")


def test_a_remote_walk_yields_the_local_walks_files_names_and_skips(
    articles: Path, mem: str
) -> None:
    local_stats, remote_stats = SourceStats(), SourceStats()
    local = [(i.display, i.fmt) for i in walk_folder(str(articles), local_stats)]
    where = locate(upload(articles, f"{mem}/articles"), "SOURCE")
    assert isinstance(where, Remote)
    remote_walk = [(i.display, i.fmt) for i in walk_remote(where, remote_stats)]
    assert remote_walk == local
    assert remote_stats.files_skipped == local_stats.files_skipped == {"hidden": 1, ".md": 1}


def test_a_remote_file_source_is_read_like_a_local_file(tmp_path: Path, mem: str) -> None:
    lines = [json.dumps({"text": english_article(i), "source": "feed"}) for i in range(3)]
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _fs().pipe_file(f"{_path(mem)}/feed.jsonl", feed.read_bytes())
    local = [r for r in iter_records([feed]) if isinstance(r, RawRecord)]
    remote_records = [r for r in iter_records([f"{mem}/feed.jsonl"]) if isinstance(r, RawRecord)]
    assert [r.text for r in remote_records] == [r.text for r in local] and len(local) == 3


def test_a_remote_file_that_cannot_be_opened_is_a_reject_with_a_reason(
    articles: Path, mem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = upload(articles, f"{mem}/articles")
    fs_type = type(_fs())
    real_open = fs_type._open

    def refuse(self: Any, path: str, *args: Any, **kwargs: Any) -> Any:
        if path.endswith("a1.txt"):
            raise PermissionError(13, "Permission denied")
        return real_open(self, path, *args, **kwargs)

    monkeypatch.setattr(fs_type, "_open", refuse)
    rejects = [r for r in iter_records([url]) if isinstance(r, Reject)]
    assert [(str(r.provenance), r.reason.value, r.detail) for r in rejects] == [
        (
            "articles/site-a/a1.txt",
            "unreadable",
            "articles/site-a/a1.txt: cannot open: permission denied",
        )
    ]


def test_a_missing_remote_source_is_refused_before_any_work(mem: str) -> None:
    with pytest.raises(SourceError, match=r"input path 'memory://.*/nothing' does not exist"):
        iter_records([f"{mem}/nothing"])


def test_a_remote_source_of_an_unsupported_type_is_refused(mem: str) -> None:
    _fs().pipe_file(f"{_path(mem)}/notes.md", b"# notes")
    with pytest.raises(SourceError, match="has an unsupported type"):
        iter_records([f"{mem}/notes.md"])


def test_an_unknown_protocol_is_one_line_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["build", "nope://bucket/x", "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "SOURCE nope://bucket/x: Protocol not known: nope" in result.output
    assert "Traceback" not in result.output


def test_a_filesystem_whose_package_is_missing_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import fsspec.core

    def missing(url: str, **kwargs: Any) -> Any:
        raise ImportError("Install s3fs to access S3")

    monkeypatch.setattr(fsspec.core, "url_to_fs", missing)
    with pytest.raises(CorpuskitError, match=r"--out s3://b/news: .*Install s3fs.*pip"):
        locate("s3://b/news", "--out")


# -- --out ----------------------------------------------------------------------------------


def test_an_artifact_published_to_a_url_is_byte_identical_to_a_local_build(
    tmp_path: Path, articles: Path, mem: str
) -> None:
    build([articles], tmp_path / "local", CONFIG)
    build([articles], f"{mem}/news", CONFIG)
    assert remote_files(f"{mem}/news") == files_of(tmp_path / "local")
    # nothing of corpuskit's own work is left beside or inside it
    assert sorted(_fs().ls(_path(mem), detail=False)) == [f"{_path(mem)}/news"]


def test_a_published_artifact_verifies_once_downloaded(
    tmp_path: Path, articles: Path, mem: str
) -> None:
    build([articles], f"{mem}/news", CONFIG)
    _fs().get(f"{_path(mem)}/news", str(tmp_path / "copy"), recursive=True)
    result = verify(tmp_path / "copy")
    assert result.ok, result.problems


def test_a_remote_artifact_is_replaced_only_with_force(articles: Path, mem: str) -> None:
    build([articles], f"{mem}/news", CONFIG)
    before = remote_files(f"{mem}/news")
    with pytest.raises(OutputError, match="already holds an artifact: pass --force"):
        build([articles], f"{mem}/news", CONFIG)
    assert remote_files(f"{mem}/news") == before
    build([articles], f"{mem}/news", CONFIG, force=True)
    assert remote_files(f"{mem}/news") == before


def test_replacing_removes_the_old_artifacts_files_that_the_new_one_lacks(
    tmp_path: Path, articles: Path, mem: str
) -> None:
    old = fake_artifact(tmp_path / "old", {"data/train-00000-of-00009.parquet": "old"})
    upload(old, f"{mem}/news")
    build([articles], f"{mem}/news", CONFIG, force=True)
    build([articles], tmp_path / "local", CONFIG)
    assert remote_files(f"{mem}/news") == files_of(tmp_path / "local")


def test_a_remote_folder_with_a_file_corpuskit_did_not_write_is_never_replaced(
    tmp_path: Path, articles: Path, mem: str
) -> None:
    old = fake_artifact(tmp_path / "old", {"a.txt": "mine"})
    (old / "notes.txt").write_text("the user's")
    upload(old, f"{mem}/news")
    before = remote_files(f"{mem}/news")
    with pytest.raises(OutputError, match=r"holds files corpuskit did not write \(notes.txt\)"):
        build([articles], f"{mem}/news", CONFIG, force=True)
    assert remote_files(f"{mem}/news") == before


def test_a_remote_folder_that_is_not_an_artifact_is_never_replaced(
    articles: Path, mem: str
) -> None:
    _fs().pipe_file(f"{_path(mem)}/news/thesis.tex", b"years of work")
    with pytest.raises(OutputError, match="is not a corpuskit artifact"):
        build([articles], f"{mem}/news", CONFIG, force=True)
    assert remote_files(f"{mem}/news") == {"thesis.tex": b"years of work"}


def test_out_inside_a_remote_source_is_refused_before_any_work(articles: Path, mem: str) -> None:
    url = upload(articles, f"{mem}/articles")
    with pytest.raises(OutputError, match="is inside the source"):
        build([url], f"{url}/out", CONFIG)
    assert not _fs().exists(f"{_path(url)}/out")


def test_a_failed_upload_leaves_the_previous_artifact_untouched(
    tmp_path: Path, articles: Path, mem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = fake_artifact(tmp_path / "old", {"data/train-00000-of-00001.parquet": "old"})
    upload(old, f"{mem}/news")
    before = remote_files(f"{mem}/news")
    fs_type = type(_fs())
    real_put = fs_type.put_file
    calls = []

    def flaky(self: Any, lpath: str, rpath: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(rpath)
        if len(calls) == 3:
            raise ConnectionResetError(104, "Connection reset by peer")
        return real_put(self, lpath, rpath, *args, **kwargs)

    monkeypatch.setattr(fs_type, "put_file", flaky)
    with pytest.raises(OutputError, match=r"cannot write --out memory://.*: connection reset"):
        build([articles], f"{mem}/news", CONFIG, force=True)
    assert remote_files(f"{mem}/news") == before  # no upload, no lock left behind


def test_a_build_killed_after_the_commit_point_is_finished_by_the_next_one(
    tmp_path: Path, articles: Path, mem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = fake_artifact(tmp_path / "old", {"data/train-00000-of-00009.parquet": "old"})
    upload(old, f"{mem}/news")
    real_finish = remote._finish

    def killed(target: Remote, token: str, commit: dict[str, Any]) -> None:
        _fs().mv(f"{target.path}/{TMP_MARK}{token}/{commit['files'][0]}", target.join("x"))
        raise SystemExit("killed after the commit point")

    monkeypatch.setattr(remote, "_finish", killed)
    with pytest.raises(SystemExit):
        build([articles], f"{mem}/news", CONFIG, force=True)
    left = _fs().ls(f"{_path(mem)}/news", detail=False)
    assert any(NEW_MARK in p for p in left) and any(TMP_MARK in p for p in left)
    _fs().mv(f"{_path(mem)}/news/x", f"{_path(mem)}/news/moved-already")  # half of one move
    monkeypatch.setattr(remote, "_finish", real_finish)

    target = locate(f"{mem}/news", "--out")
    assert isinstance(target, Remote)
    with remote.hold(target, wait=False):
        remote.recover(target)
    build([articles], tmp_path / "local", CONFIG)
    expected = files_of(tmp_path / "local")
    got = remote_files(f"{mem}/news")
    got.pop("moved-already")  # the file the simulated kill moved by hand
    assert set(got) == set(expected) - {sorted(expected, key=_order)[0]}
    assert all(got[rel] == expected[rel] for rel in got)


def _order(rel: str) -> tuple[int, str]:
    return ({"README.md": 1, MANIFEST: 2}.get(rel, 0), rel)


def test_an_upload_left_by_a_build_killed_before_the_commit_point_is_removed(
    articles: Path, mem: str
) -> None:
    build([articles], f"{mem}/news", CONFIG)
    before = remote_files(f"{mem}/news")
    _fs().pipe_file(f"{_path(mem)}/news/{TMP_MARK}99-ab/data/train-00000-of-00001.parquet", b"x")
    build([articles], f"{mem}/news", CONFIG, force=True)
    assert remote_files(f"{mem}/news") == before


# -- the lock --------------------------------------------------------------------------------


def _lock(url: str, host: str, pid: int) -> None:
    holder = {"host": host, "pid": pid, "since": "2026-11-30T00:00:00Z", "token": "t"}
    _fs().pipe_file(f"{_path(url)}/{LOCK_NAME}", json.dumps(holder).encode())


def test_a_second_build_fails_at_once_naming_the_lock_holder(articles: Path, mem: str) -> None:
    _lock(f"{mem}/news", socket.gethostname(), 1)  # pid 1 runs on every host
    with pytest.raises(OutputLocked) as caught:
        build([articles], f"{mem}/news", CONFIG)
    message = str(caught.value)
    assert f"another build (pid 1 on {socket.gethostname()}, since 2026-11-30T00:00:00Z)" in message
    assert f"delete memory://{_path(mem)}/news/{LOCK_NAME}" in message
    assert list(remote_files(f"{mem}/news")) == [LOCK_NAME]  # nothing else was written


def test_a_lock_left_by_a_dead_process_of_this_host_is_taken_over(
    tmp_path: Path, articles: Path, mem: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    _lock(f"{mem}/news", socket.gethostname(), int(done.stdout))
    build([articles], f"{mem}/news", CONFIG)
    build([articles], tmp_path / "local", CONFIG)
    assert remote_files(f"{mem}/news") == files_of(tmp_path / "local")
    assert not _fs().exists(f"{_path(mem)}/news/{LOCK_NAME}")


def test_a_lock_held_from_another_host_is_never_broken(articles: Path, mem: str) -> None:
    _lock(f"{mem}/news", "another-host.example", 4242)
    with pytest.raises(OutputLocked, match=r"pid 4242 on another-host\.example"):
        build([articles], f"{mem}/news", CONFIG)


# -- --previous and the CLI -------------------------------------------------------------------


def test_previous_may_be_a_url(tmp_path: Path, articles: Path, mem: str) -> None:
    build([articles], tmp_path / "v1", CONFIG)
    upload(tmp_path / "v1", f"{mem}/v1")
    from corpuskit.output.manifest import read_pins

    assert read_pins(f"{mem}/v1") == read_pins(tmp_path / "v1") != {}
    build([articles], tmp_path / "v2-local", replace(CONFIG, previous=str(tmp_path / "v1")))
    build([articles], tmp_path / "v2-url", replace(CONFIG, previous=f"{mem}/v1"))
    assert files_of(tmp_path / "v2-url") == files_of(tmp_path / "v2-local")


def test_the_cli_builds_from_and_to_urls_and_names_the_dataset_after_out(
    tmp_path: Path, articles: Path, mem: str
) -> None:
    src = upload(articles, f"{mem}/articles")
    result = CliRunner().invoke(
        main, ["build", src, "--out", f"{mem}/web-news/", "--min-chars", "50", "-q"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(_fs().cat_file(f"{_path(mem)}/web-news/{MANIFEST}"))
    assert manifest["config"]["name"] == "web-news"


def test_a_previous_url_without_an_artifact_is_refused(articles: Path, mem: str) -> None:
    _fs().pipe_file(f"{_path(mem)}/v1/notes.txt", b"not an artifact")
    with pytest.raises(
        CorpuskitError, match=r"--previous memory://.*/v1: not a corpuskit artifact"
    ):
        build([articles], f"{mem}/out", replace(CONFIG, previous=f"{mem}/v1"))


def test_an_out_url_with_pattern_characters_is_refused_before_any_work(
    articles: Path, mem: str
) -> None:
    with pytest.raises(OutputError, match=r"a URL with '\[', '\]', '\*' or '\?' cannot"):
        build([articles], f"{mem}/news[1]", CONFIG)
    assert not _fs().exists(_path(mem))


def test_a_second_build_in_the_same_process_does_not_take_over_a_live_lock(mem: str) -> None:
    target = locate(f"{mem}/news", "--out")
    assert isinstance(target, Remote)
    with remote.hold(target, wait=False):
        with pytest.raises(OutputLocked, match=f"pid {os.getpid()} on"), remote.hold(target, False):
            pass
        assert _fs().exists(f"{_path(mem)}/news/{LOCK_NAME}")  # still the first one's


def test_a_lock_that_cannot_be_read_counts_as_held_and_is_left_alone(
    articles: Path, mem: str
) -> None:
    _fs().pipe_file(f"{_path(mem)}/news/{LOCK_NAME}", b"{torn")
    with pytest.raises(OutputLocked, match="pid \\? on an unknown host"):
        build([articles], f"{mem}/news", CONFIG)
    assert _fs().cat_file(f"{_path(mem)}/news/{LOCK_NAME}") == b"{torn"
