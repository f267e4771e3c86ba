"""`corpuskit push`: an intact artifact goes to the Hub in one commit, offline-tested.

A fake ``HfApi`` records every call; huggingface_hub's errors are made the way the library
makes them (an ``httpx2.Response`` through ``hf_raise_for_status``). No socket is opened.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import huggingface_hub
import pytest
from click.testing import CliRunner
from huggingface_hub import CommitOperationAdd, CommitOperationDelete
from huggingface_hub.utils import hf_raise_for_status

from corpuskit import BuildConfig, build
from corpuskit.cli import main
from corpuskit.output import publish
from corpuskit.output.publish import (
    ArtifactNotPushable,
    InvalidRepoId,
    PushError,
    check_repo_id,
    plan_upload,
    push,
)

from .conftest import english_article

SHA = "0123456789abcdef0123456789abcdef01234567"
TOKEN = "hf_secret_test_token"
EXPECTED = [
    "README.md",
    "corpuskit.json",
    "croissant.json",
    "data/eval-00000-of-00001.parquet",
    "data/train-00000-of-00001.parquet",
    "duplicates/duplicates-00000-of-00001.parquet",
    "languages.svg",
    "rejects/rejects-00000-of-00001.parquet",
]


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a test of push opened a connection: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    records = [{"text": english_article(7_000 + i), "source": "wire"} for i in range(12)]
    records += [records[0], {"text": "too short", "source": "wire"}]  # a duplicate, a reject
    (src / "feed.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    out = tmp_path_factory.mktemp("built") / "news"
    build([src], out, BuildConfig(name="news", min_chars=50, eval_ratio=0.3))
    return out


@pytest.fixture
def artifact(built: Path, tmp_path: Path) -> Path:
    """A fresh copy of the artifact for each test (tests may damage it)."""
    return Path(shutil.copytree(built, tmp_path / "news"))


class FakeHub:
    """Stands in for ``HfApi``: a repository of ``files``, absent when ``private`` is None."""

    def __init__(
        self,
        files: tuple[str, ...] = (".gitattributes",),
        private: bool | None = None,
        fail: dict[str, BaseException] | None = None,
    ) -> None:
        self.files = list(files)
        self.private = private
        self.fail = fail or {}
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def _call(self, name: str, **kwargs: Any) -> None:
        self.calls.append((name, kwargs))
        if name in self.fail:
            raise self.fail[name]

    def create_repo(self, repo_id: str, **kwargs: Any) -> Any:
        self._call("create_repo", repo_id=repo_id, **kwargs)
        if self.private is None:
            self.private = bool(kwargs["private"])
        return SimpleNamespace(repo_id=repo_id if "/" in repo_id else f"me/{repo_id}")

    def dataset_info(self, repo_id: str, **kwargs: Any) -> Any:
        self._call("dataset_info", repo_id=repo_id, **kwargs)
        return SimpleNamespace(sha=SHA, private=self.private)

    def list_repo_files(self, repo_id: str, **kwargs: Any) -> list[str]:
        self._call("list_repo_files", repo_id=repo_id, **kwargs)
        return list(self.files)

    def create_commit(self, repo_id: str, operations: list[Any], **kwargs: Any) -> Any:
        self._call("create_commit", repo_id=repo_id, operations=list(operations), **kwargs)
        return SimpleNamespace(commit_url=f"https://huggingface.co/datasets/{repo_id}/commit/{SHA}")

    def named(self, name: str) -> list[dict[str, Any]]:
        return [kwargs for called, kwargs in self.calls if called == name]


def hub_error(status: int, url: str, **headers: str) -> Exception:
    """The exception huggingface_hub raises for this answer of the Hub."""
    response = httpx2.Response(status, headers=headers, request=httpx2.Request("POST", url))
    try:
        hf_raise_for_status(response)
    except Exception as exc:
        return exc
    raise AssertionError(f"{status} raised nothing")


CREATE_URL = "https://huggingface.co/api/repos/create"
COMMIT_URL = "https://huggingface.co/api/datasets/me/news/commit/main"
INFO_URL = "https://huggingface.co/api/datasets/me/news/revision/v2"


# -- what is uploaded -----------------------------------------------------------------------


def test_plan_lists_exactly_the_manifest_files_in_path_order(artifact: Path) -> None:
    plan = plan_upload(artifact)
    manifest = json.loads((artifact / "corpuskit.json").read_text())
    assert [f.path for f in plan] == EXPECTED == sorted(["corpuskit.json", *manifest["files"]])
    assert [f.size for f in plan] == [(artifact / f.path).stat().st_size for f in plan]


def test_plan_leaves_out_corpuskits_work_files(artifact: Path) -> None:
    (artifact / ".corpuskit-lock").write_text("123")
    assert [f.path for f in plan_upload(artifact)] == EXPECTED


def test_plan_refuses_a_changed_shard(artifact: Path) -> None:
    with (artifact / "data/train-00000-of-00001.parquet").open("ab") as fh:
        fh.write(b"x")
    with pytest.raises(ArtifactNotPushable, match=r"sha256 mismatch.*rebuild it") as got:
        plan_upload(artifact)
    assert f"`corpuskit verify {artifact}` lists every problem" in str(got.value)


def test_plan_refuses_a_missing_file(artifact: Path) -> None:
    (artifact / "rejects/rejects-00000-of-00001.parquet").unlink()
    with pytest.raises(ArtifactNotPushable, match=r"listed in corpuskit\.json but missing"):
        plan_upload(artifact)


def test_plan_refuses_a_file_the_manifest_does_not_list(artifact: Path) -> None:
    (artifact / "data" / "notes.txt").write_text("mine")
    with pytest.raises(ArtifactNotPushable) as got:
        plan_upload(artifact)
    assert "data/notes.txt: not listed in corpuskit.json" in str(got.value)
    assert "move those files out of the folder" in str(got.value)


def test_plan_refuses_a_folder_that_is_not_an_artifact(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.parquet").write_bytes(b"PAR1")
    with pytest.raises(
        ArtifactNotPushable, match=r"not a corpuskit artifact \(it has no corpuskit\.json\)"
    ):
        plan_upload(tmp_path)


@pytest.mark.parametrize("bad", ["datasets/me/news", "me/news--v2", "https://hf.co/me/x", ""])
def test_a_malformed_repo_id_is_refused_with_the_expected_form(bad: str) -> None:
    with pytest.raises(InvalidRepoId, match="is not a Hub repository id: give NAMESPACE/NAME"):
        check_repo_id(bad)


# -- the commit -----------------------------------------------------------------------------


def test_push_creates_a_private_dataset_repo_when_asked(artifact: Path) -> None:
    hub = FakeHub()
    push(artifact, "me/news", private=True, token=TOKEN, api=hub)  # type: ignore[arg-type]
    assert hub.named("create_repo") == [
        {
            "repo_id": "me/news",
            "token": TOKEN,
            "private": True,
            "repo_type": "dataset",
            "exist_ok": True,
        }
    ]


def test_push_without_private_leaves_visibility_to_the_namespace_default(artifact: Path) -> None:
    hub = FakeHub()
    push(artifact, "me/news", private=False, token=TOKEN, api=hub)  # type: ignore[arg-type]
    assert hub.named("create_repo")[0]["private"] is None


def test_push_adds_every_file_in_one_commit_against_the_listed_revision(artifact: Path) -> None:
    hub = FakeHub()
    result = push(artifact, "me/news", private=False, token=TOKEN, api=hub)  # type: ignore[arg-type]
    [commit] = hub.named("create_commit")
    adds = commit["operations"]
    assert all(isinstance(op, CommitOperationAdd) for op in adds)
    assert [op.path_in_repo for op in adds] == EXPECTED
    assert [Path(op.path_or_fileobj) for op in adds] == [artifact / p for p in EXPECTED]
    assert commit["repo_type"] == "dataset" and commit["parent_commit"] == SHA
    assert hub.named("list_repo_files")[0]["revision"] == SHA
    assert commit["commit_message"].startswith("Upload news (8 files, built by corpuskit ")
    assert result.commit_url == f"https://huggingface.co/datasets/me/news/commit/{SHA}"
    assert [f.path for f in result.uploaded] == EXPECTED and result.deleted == []


def test_push_deletes_only_stale_files_under_the_artifacts_folders(artifact: Path) -> None:
    hub = FakeHub(
        files=(
            ".gitattributes",
            "README.md",
            "corpuskit.json",
            "notes.md",
            "data",  # a file named like a folder, at the top: not the artifact's
            "database/x.parquet",
            "data/train-00000-of-00001.parquet",  # overwritten, not deleted
            "data/train-00000-of-00002.parquet",
            "data/train-00001-of-00002.parquet",
            "rejects/rejects-00000-of-00003.parquet",
            "duplicates/old/duplicates.parquet",
        ),
        private=False,
    )
    result = push(artifact, "me/news", private=False, token=TOKEN, api=hub)  # type: ignore[arg-type]
    operations = hub.named("create_commit")[0]["operations"]
    deletes = [op.path_in_repo for op in operations if isinstance(op, CommitOperationDelete)]
    assert (
        deletes
        == result.deleted
        == [
            "data/train-00000-of-00002.parquet",
            "data/train-00001-of-00002.parquet",
            "duplicates/old/duplicates.parquet",
            "rejects/rejects-00000-of-00003.parquet",
        ]
    )
    assert len(operations) == len(EXPECTED) + 4


def test_push_commits_to_the_given_branch_with_the_given_message(artifact: Path) -> None:
    hub = FakeHub()
    push(
        artifact,
        "me/news",
        private=False,
        token=TOKEN,
        revision="v2",
        commit_message="Release 2",
        api=hub,  # type: ignore[arg-type]
    )
    assert hub.named("dataset_info")[0]["revision"] == "v2"
    [commit] = hub.named("create_commit")
    assert commit["revision"] == "v2" and commit["commit_message"] == "Release 2"


def test_push_uses_the_namespace_the_hub_resolved(artifact: Path) -> None:
    hub = FakeHub()
    result = push(artifact, "news", private=False, token=TOKEN, api=hub)  # type: ignore[arg-type]
    assert hub.named("create_commit")[0]["repo_id"] == result.repo_id == "me/news"


def test_push_refuses_private_for_an_existing_public_repo_before_uploading(
    artifact: Path,
) -> None:
    hub = FakeHub(private=False)
    with pytest.raises(PushError, match="already exists and is public; --private does not"):
        push(artifact, "me/news", private=True, token=TOKEN, api=hub)  # type: ignore[arg-type]
    assert hub.named("create_commit") == []


def test_push_of_a_damaged_artifact_makes_no_call(artifact: Path) -> None:
    (artifact / "README.md").write_text("edited by hand")
    hub = FakeHub()
    with pytest.raises(ArtifactNotPushable):
        push(artifact, "me/news", private=False, token=TOKEN, api=hub)  # type: ignore[arg-type]
    assert hub.calls == []


def test_push_refuses_a_file_that_changed_after_it_was_verified(
    artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def plan_then_append(folder: Path) -> list[publish.UploadFile]:
        planned = plan_upload(folder)
        with (artifact / "data/eval-00000-of-00001.parquet").open("ab") as fh:
            fh.write(b"late")
        return planned

    monkeypatch.setattr(publish, "plan_upload", plan_then_append)
    hub = FakeHub()
    with pytest.raises(ArtifactNotPushable, match="changed after it was verified"):
        push(artifact, "me/news", private=False, token=TOKEN, api=hub)  # type: ignore[arg-type]
    assert hub.calls == []


def test_push_without_any_token_says_how_to_log_in(
    artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    hub = FakeHub()
    with pytest.raises(
        PushError, match=r"no Hugging Face token found: log in with `hf auth login`"
    ):
        push(artifact, "me/news", private=False, api=hub)  # type: ignore[arg-type]
    assert hub.calls == []


def test_push_takes_the_token_huggingface_hub_finds(
    artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: "hf_from_login")
    hub = FakeHub()
    push(artifact, "me/news", private=False, api=hub)  # type: ignore[arg-type]
    assert {kwargs["token"] for _, kwargs in hub.calls} == {"hf_from_login"}


# -- the Hub's errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (
            "create_repo",
            hub_error(
                401,
                CREATE_URL,
                **{"X-Error-Message": "Invalid credentials in Authorization header"},
            ),
            "the Hub did not accept the token (401 Unauthorized): log in with `hf auth login`, "
            "or set HF_TOKEN to a token with write access (https://huggingface.co/settings/tokens)",
        ),
        (
            "create_commit",
            hub_error(403, COMMIT_URL),
            "the token may not write to me/news (403 Forbidden): use a token with write access "
            "to its namespace; log in with `hf auth login`, or set HF_TOKEN",
        ),
        (
            "create_commit",
            hub_error(404, COMMIT_URL, **{"X-Error-Code": "RepoNotFound"}),
            "me/news was not found on the Hub (404): check the NAMESPACE/NAME",
        ),
        (
            "dataset_info",
            hub_error(404, INFO_URL, **{"X-Error-Code": "RevisionNotFound"}),
            "me/news has no branch 'v2': create it with `hf repos branch create me/news v2 "
            "--repo-type dataset`, or leave out --revision",
        ),
        (
            "create_commit",
            hub_error(412, COMMIT_URL),
            "me/news changed while this push was prepared (another commit landed, 412): "
            "nothing was uploaded; run the push again",
        ),
        (
            "create_repo",
            httpx2.ConnectError("[Errno 101] Network is unreachable"),
            "cannot reach the Hub (ConnectError: [Errno 101] Network is unreachable): check "
            "the network connection",
        ),
    ],
    ids=["401", "403", "404", "no-branch", "conflict", "network"],
)
def test_hub_errors_become_one_line_messages_saying_what_to_do(
    artifact: Path, call: str, error: Exception, message: str
) -> None:
    hub = FakeHub(fail={call: error})
    with pytest.raises(PushError) as got:
        push(artifact, "me/news", private=False, token=TOKEN, revision="v2", api=hub)  # type: ignore[arg-type]
    assert str(got.value).startswith(message)
    assert "\n" not in str(got.value) and TOKEN not in str(got.value)
    assert isinstance(got.value.__cause__, type(error))


def test_the_real_client_in_offline_mode_says_to_unset_it(
    artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(PushError, match=r"^HF_HUB_OFFLINE is set, so the Hub is not reached"):
        push(artifact, "me/news", private=False, token=TOKEN)


# -- the command ----------------------------------------------------------------------------


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["push", *args])


def test_dry_run_lists_the_files_and_the_total_and_contacts_nobody(
    artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)  # no token needed
    result = run(str(artifact), "me/news", "--dry-run", "--private")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    total = sum((artifact / p).stat().st_size for p in EXPECTED)
    assert lines[0] == (
        f"Would upload 8 files ({total / 1e3:,.1f} kB) from {artifact} to the dataset me/news "
        "(private) in one commit:"
    )
    n = len(EXPECTED)
    assert [line.split()[0] for line in lines[1 : n + 1]] == EXPECTED
    assert lines[1].split()[1:] == [f"{(artifact / 'README.md').stat().st_size:,}", "bytes"]
    assert "which ones cannot be known without asking the Hub" in lines[n + 1]
    assert lines[-1] == "Dry run: nothing was uploaded, the Hub was not contacted."


def test_dry_run_of_a_tampered_artifact_fails_with_one_line(artifact: Path) -> None:
    (artifact / "stray.txt").write_text("x")
    result = run(str(artifact), "me/news", "--dry-run")
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"Error: {artifact} is not an intact artifact, so it is not pushed (stray.txt: not "
        "listed in corpuskit.json (a stray file)): move those files out of the folder"
    )
    assert result.stderr.count("\n") == 1 and result.stdout == ""


def test_a_bad_repo_id_is_a_usage_error(artifact: Path) -> None:
    result = run(str(artifact), "datasets/me/news", "--dry-run")
    assert result.exit_code == 2
    assert result.stderr == (
        "Error: 'datasets/me/news' is not a Hub repository id: give NAMESPACE/NAME (letters, "
        "digits, '-', '_' and '.', at most 96, no '--' or '..'), e.g. my-org/news, without "
        "https://huggingface.co/ or datasets/\n"
    )


def test_a_missing_folder_is_refused_by_the_command(tmp_path: Path) -> None:
    result = run(str(tmp_path / "nope"), "me/news")
    assert result.exit_code == 2 and "does not exist" in result.stderr


def test_push_prints_the_commit_url_and_the_deletions_never_the_token(
    artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = FakeHub(files=("data/train-00000-of-00002.parquet",), private=False)
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: hub)
    result = run(str(artifact), "me/news", "--token", TOKEN, "-m", "Release 2")
    assert result.exit_code == 0, result.output
    size = sum((artifact / p).stat().st_size for p in EXPECTED) / 1e3
    assert result.stdout == (
        f"Pushed 8 files ({size:,.1f} kB) to me/news in one commit, deleted 1 stale files: "
        f"https://huggingface.co/datasets/me/news/commit/{SHA}\n"
        "  deleted data/train-00000-of-00002.parquet\n"
    )
    assert TOKEN not in result.output
    assert hub.named("create_commit")[0]["commit_message"] == "Release 2"


def test_push_failure_exits_1_with_the_message(
    artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub = FakeHub(fail={"create_repo": hub_error(403, CREATE_URL)})
    monkeypatch.setattr(huggingface_hub, "HfApi", lambda: hub)
    result = run(str(artifact), "me/news", "--token", TOKEN)
    assert result.exit_code == 1
    assert result.stderr.startswith("Error: the token may not write to me/news (403 Forbidden)")
    assert TOKEN not in result.output


def test_a_card_that_names_another_repository_is_not_pushed(
    artifact: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from corpuskit.output.documents import rewrite

    rewrite(artifact, lambda card: dataclasses.replace(card, repo_id="me/other"))
    result = run(str(artifact), "me/news", "--dry-run")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the card of {artifact} tells readers to load it from me/other, not me/news: "
        f"push to me/other, or first run corpuskit card {artifact} --repo-id me/news\n"
    )
    assert run(str(artifact), "me/other", "--dry-run").exit_code == 0
