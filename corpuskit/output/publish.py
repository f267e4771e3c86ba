"""Publish a built artifact to the Hugging Face Hub as a dataset repository, as-is.

What ``push`` guarantees:

* **Only an intact artifact goes up.** The folder is verified first (``verify.py``: every
  file the manifest lists is there with its sha256, nothing else is), and exactly those
  files are uploaded: ``corpuskit.json`` and its ``files``. corpuskit's own work files
  (``.corpuskit-*``) are never part of an artifact, so never uploaded.
* **One commit.** Every file is added, and the stale files of an older release deleted, in
  a single commit: the Hub shows the previous artifact or the new one, never a mix.
* **Stale shards go, nothing else does.** Files under the artifact's own folders
  (``data/``, ``rejects/``, ``duplicates/``) that the new artifact does not have are
  deleted: the card's ``data/train-*`` patterns would load an older release's shards
  beside the new ones. Anything else in the repository (``.gitattributes``, files
  someone added at the top) is left alone.
* **No race with another push.** The commit names the revision it was planned against
  (``parent_commit``), so a commit that landed meanwhile makes it fail instead of
  leaving that commit's shards behind.

Every failure is a :class:`PushError` (a ``CorpuskitError``) whose one-line message says
what to do: log in, fix the repository id, rebuild the artifact, ...
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from corpuskit.errors import CorpuskitError
from corpuskit.layout import DATA_DIR, DUPLICATES_DIR, MANIFEST, REJECTS_DIR
from corpuskit.output.verify import VerifyResult, verify

if TYPE_CHECKING:
    from huggingface_hub import CommitOperationAdd, HfApi

#: The artifact's own folders on the Hub: a file under them that the new artifact does not
#: have belongs to an older release and is deleted by the push.
ARTIFACT_FOLDERS = (DATA_DIR, REJECTS_DIR, DUPLICATES_DIR)

LOGIN_HINT = (
    "log in with `hf auth login`, or set HF_TOKEN to a token with write access "
    "(https://huggingface.co/settings/tokens)"
)


class PushError(CorpuskitError):
    """An artifact cannot be pushed, or the Hub refused it; the message says what to do."""


class InvalidRepoId(PushError):
    """The repository id is not of the form ``name`` or ``namespace/name``."""

    exit_code = 2


class ArtifactNotPushable(PushError):
    """The folder is not an intact artifact; ``result`` holds what verification found
    (None when the folder is not an artifact at all)."""

    def __init__(self, message: str, result: VerifyResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class UploadFile(NamedTuple):
    """One file of the upload: its path inside the artifact (POSIX) and its size in bytes."""

    path: str
    size: int


@dataclass(frozen=True)
class PushResult:
    """What :func:`push` did: the commit made, the files added and the stale ones deleted."""

    repo_id: str
    commit_url: str
    uploaded: list[UploadFile] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.uploaded)


def check_repo_id(repo_id: str) -> None:
    """Raise :class:`InvalidRepoId` unless ``repo_id`` is a valid Hub repository id
    (``name`` or ``namespace/name``; letters, digits, ``-``, ``_``, ``.``)."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id  # type: ignore[attr-defined]

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise InvalidRepoId(
            f"{repo_id!r} is not a Hub repository id: give NAMESPACE/NAME (letters, digits, "
            "'-', '_' and '.', at most 96, no '--' or '..'), e.g. my-org/news, without "
            "https://huggingface.co/ or datasets/"
        ) from exc


def check_card_repo_id(folder: str | os.PathLike[str], repo_id: str) -> None:
    """Refuse to push to another repository than the one the card's loading code names
    (``--repo-id`` at build time), since the published card would then point elsewhere.

    Raises :class:`PushError`."""
    try:
        manifest = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        named = manifest["config"]["card"].get("repo_id")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return  # plan_upload reports an unreadable manifest
    if named and named != repo_id:
        raise PushError(
            f"the card of {folder} tells readers to load it from {named}, not {repo_id}: push "
            f"to {named}, or first run corpuskit card {folder} --repo-id {repo_id}"
        )


def plan_upload(folder: str | os.PathLike[str]) -> list[UploadFile]:
    """The files a push of ``folder`` uploads: ``corpuskit.json`` and every file its
    manifest lists, sorted by path, each with its size.

    The artifact is verified first. Raises :class:`ArtifactNotPushable` when ``folder`` is
    not a corpuskit artifact, when a listed file is missing or changed, or when it holds
    files the manifest does not list; the message names the files and the fix.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ArtifactNotPushable(f"{root} is not a folder: give the folder of a built artifact")
    if not (root / MANIFEST).is_file():
        raise ArtifactNotPushable(
            f"{root} is not a corpuskit artifact (it has no {MANIFEST}): push uploads only "
            "a folder that `corpuskit build` wrote; build one first"
        )
    result = verify(root)
    if not result.ok:
        raise ArtifactNotPushable(_refusal(root, result), result)
    listed = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["files"]
    paths = sorted({MANIFEST, *listed})
    return [UploadFile(rel, (root / rel).stat().st_size) for rel in paths]


def _refusal(root: Path, result: VerifyResult) -> str:
    """Why ``root`` cannot be pushed, and the fix that fits what is wrong."""
    problems = result.problems
    shown = "; ".join(str(p) for p in problems[:3])
    if len(problems) > 3:
        shown += f"; and {len(problems) - 3} more"
    if all("not listed in corpuskit.json" in p.message for p in problems):
        fix = (
            "move those files out of the folder: the Hub gets exactly what the manifest "
            "lists, and a stray file there would fail `corpuskit verify` on a download"
        )
    else:
        fix = (
            "rebuild it (`corpuskit build ... --force`) or restore the files from where "
            "it was copied"
        )
    return (
        f"{root} is not an intact artifact, so it is not pushed ({shown}): {fix}; "
        f"`corpuskit verify {root}` lists every problem"
    )


def push(
    folder: str | os.PathLike[str],
    repo_id: str,
    *,
    private: bool,
    token: str | None = None,
    revision: str | None = None,
    commit_message: str | None = None,
    api: HfApi | None = None,
) -> PushResult:
    """Upload the artifact in ``folder`` to the dataset repository ``repo_id`` in one commit.

    The repository is created if missing (private when ``private``; otherwise the
    namespace's default visibility). Files under ``data/``, ``rejects/`` and
    ``duplicates/`` in the repository that the artifact does not have are deleted in the
    same commit; nothing else in the repository is touched. ``token`` defaults to the
    one huggingface_hub finds (``HF_TOKEN``, then ``hf auth login``'s); ``revision`` is
    the branch to commit to (default: the main branch); ``api`` replaces the
    ``HfApi`` client (tests).

    Raises :class:`InvalidRepoId` for a malformed ``repo_id`` and
    :class:`ArtifactNotPushable` for a folder :func:`plan_upload` refuses, both before
    any network call; :class:`PushError` when the card names another repository, when no
    token is found, when ``private`` is
    asked of an existing public repository, or when the Hub refuses or cannot be
    reached (authentication, permissions, missing branch, a concurrent commit).
    """
    check_repo_id(repo_id)
    root = Path(folder)
    files = plan_upload(root)
    check_card_repo_id(root, repo_id)
    adds = _adds(root, files)
    token = token or _find_token()
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi()
    try:
        return _commit(api, root, files, adds, repo_id, private, token, revision, commit_message)
    except PushError:
        raise
    except Exception as exc:
        error = hub_error(exc, repo_id, revision)
        if error is None:
            raise
        raise error from exc


def _find_token() -> str:
    from huggingface_hub import get_token

    try:
        found = get_token()
    except Exception as exc:  # e.g. a failed OIDC exchange (HF_OIDC_RESOURCE set)
        raise PushError(
            f"cannot get a Hugging Face token ({_first_line(str(exc))}): {LOGIN_HINT}"
        ) from exc
    if not found:
        raise PushError(f"no Hugging Face token found: {LOGIN_HINT}, or pass --token")
    return found


def _adds(root: Path, files: list[UploadFile]) -> list[CommitOperationAdd]:
    """One add per file (read at upload time). Raises ArtifactNotPushable when a file's
    size is no longer the verified one: a cheap check, hashing again would read it all."""
    from huggingface_hub import CommitOperationAdd

    adds = []
    for f in files:
        add = CommitOperationAdd(f.path, str(root / f.path))
        if add.upload_info.size != f.size:
            raise ArtifactNotPushable(
                f"{root / f.path} changed after it was verified ({f.size:,} bytes then, "
                f"{add.upload_info.size:,} now): nothing was uploaded; let whatever writes it "
                "finish, then push again"
            )
        adds.append(add)
    return adds


def _commit(
    api: HfApi,
    root: Path,
    files: list[UploadFile],
    adds: list[CommitOperationAdd],
    repo_id: str,
    private: bool,
    token: str,
    revision: str | None,
    commit_message: str | None,
) -> PushResult:
    from huggingface_hub import CommitOperationDelete

    created = api.create_repo(
        repo_id, token=token, private=True if private else None, repo_type="dataset", exist_ok=True
    )
    full_id = created.repo_id or repo_id
    info = api.dataset_info(full_id, revision=revision, token=token)
    if private and not info.private:
        raise PushError(
            f"{full_id} already exists and is public; --private does not change an existing "
            f"repository: make it private in its settings "
            f"(https://huggingface.co/datasets/{full_id}/settings) and push again, or push "
            "without --private"
        )
    parent = info.sha
    present = api.list_repo_files(
        full_id, revision=parent or revision, repo_type="dataset", token=token
    )
    new = {f.path for f in files}
    stale = stale_files(present, new)
    operations: list[Any] = [*adds, *(CommitOperationDelete(path) for path in stale)]
    commit = api.create_commit(
        full_id,
        operations,
        commit_message=commit_message or _default_message(root, len(files)),
        token=token,
        repo_type="dataset",
        revision=revision,
        parent_commit=parent,
    )
    return PushResult(full_id, str(commit.commit_url), list(files), stale)


def stale_files(present: list[str], new: set[str]) -> list[str]:
    """Of the repository's files ``present``, those under the artifact's folders that the
    new artifact (``new``) does not have, sorted."""
    return sorted(
        path
        for path in present
        if path.split("/", 1)[0] in ARTIFACT_FOLDERS and "/" in path and path not in new
    )


def _default_message(root: Path, count: int) -> str:
    manifest = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    name = manifest.get("name") or root.name
    version = (manifest.get("versions") or {}).get("corpuskit")
    built = f"built by corpuskit {version}" if version else "built by corpuskit"
    return f"Upload {name} ({count} files, {built})"


def hub_error(exc: BaseException, repo_id: str, revision: str | None = None) -> PushError | None:
    """The one-line :class:`PushError` for an error raised by huggingface_hub (or the
    HTTP client under it), or None when ``exc`` is not one."""
    from huggingface_hub.errors import (
        HfHubHTTPError,
        LocalTokenNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, OfflineModeIsEnabled):
        return PushError("HF_HUB_OFFLINE is set, so the Hub is not reached: unset it to push")
    if isinstance(exc, LocalTokenNotFoundError):
        return PushError(f"no Hugging Face token found: {LOGIN_HINT}")
    if isinstance(exc, HfHubHTTPError):
        status = getattr(exc.response, "status_code", None)
        if isinstance(exc, RevisionNotFoundError):
            return PushError(
                f"{repo_id} has no branch {revision!r}: create it with `hf repos branch "
                f"create {repo_id} {revision} --repo-type dataset`, or leave out --revision"
            )
        if status == 401:
            return PushError(f"the Hub did not accept the token (401 Unauthorized): {LOGIN_HINT}")
        if status == 403:
            return PushError(
                f"the token may not write to {repo_id} (403 Forbidden): use a token with write "
                f"access to its namespace; {LOGIN_HINT}"
            )
        if isinstance(exc, RepositoryNotFoundError) or status == 404:
            return PushError(
                f"{repo_id} was not found on the Hub (404): check the NAMESPACE/NAME and that "
                "the token belongs to an account allowed to create repositories there"
            )
        if status in (409, 412):
            return PushError(
                f"{repo_id} changed while this push was prepared (another commit landed, "
                f"{status}): nothing was uploaded; run the push again"
            )
        if status == 429:
            return PushError("the Hub is rate-limiting this account (429): push again later")
        detail = exc.server_message or _first_line(str(exc))
        return PushError(f"the Hub refused the push ({status}): {_one_line(detail)}")
    if _is_network_error(exc):
        return PushError(
            f"cannot reach the Hub ({type(exc).__name__}: {_one_line(str(exc)) or 'no detail'}): "
            "check the network connection, a proxy, or HF_ENDPOINT, and push again"
        )
    return None


def _is_network_error(exc: BaseException) -> bool:
    """A failure to talk to the Hub at all: a connection or timeout error, or any error of
    the HTTP client huggingface_hub uses (httpx2, httpx or requests, by version)."""
    return isinstance(exc, (ConnectionError, TimeoutError)) or any(
        cls.__module__.split(".")[0] in _HTTP_CLIENTS for cls in type(exc).__mro__
    )


_HTTP_CLIENTS = frozenset({"httpx2", "httpx", "httpcore", "requests", "urllib3"})


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), text)


def _one_line(text: str) -> str:
    return " ".join(text.split())
