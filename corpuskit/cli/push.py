"""`corpuskit push`: upload an artifact to the Hugging Face Hub (corpuskit.output.publish)."""

from __future__ import annotations

from pathlib import Path

import click

EPILOG = """\b
Examples:
  hf auth login                                # once: store a token with write access
  corpuskit push dist/news my-org/news --dry-run
  corpuskit push dist/news my-org/news --private
  HF_TOKEN=hf_... corpuskit push dist/news my-org/news --revision v2 -m "Release 2"
  python -c "import datasets; print(datasets.load_dataset('my-org/news'))"
"""


def _size(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n:,} B"


@click.command(epilog=EPILOG)
@click.argument(
    "folder", metavar="DIR", type=click.Path(path_type=Path, exists=True, file_okay=False)
)
@click.argument("repo_id")
@click.option(
    "--private",
    is_flag=True,
    help="Create the repository private. An existing public one is refused, never changed.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Verify the artifact and list what would be uploaded; no network, no token needed.",
)
@click.option("--revision", help="Branch to commit to (it must exist). Default: main.")
@click.option("--message", "-m", help="Commit message. Default: names the dataset and version.")
@click.option(
    "--token",
    help="Hub token with write access. Default: HF_TOKEN, else the one `hf auth login` stored.",
)
def push(
    folder: Path,
    repo_id: str,
    private: bool,
    dry_run: bool,
    revision: str | None,
    message: str | None,
    token: str | None,
) -> None:
    """Upload the artifact in DIR to the Hub dataset repository REPO_ID, in one commit.

    The artifact is verified first (as `corpuskit verify` does); only the files its
    manifest lists are uploaded, all in a single commit, so the Hub never shows half a
    release. The repository is created if missing. Shards of an older release under
    data/, rejects/ and duplicates/ are deleted in the same commit; no other file of the
    repository is touched.
    """
    from corpuskit.output.publish import check_card_repo_id, check_repo_id, plan_upload
    from corpuskit.output.publish import push as push_artifact

    if dry_run:
        check_repo_id(repo_id)
        files = plan_upload(folder)
        check_card_repo_id(folder, repo_id)
        visibility = "private" if private else "the namespace's default visibility"
        click.echo(
            f"Would upload {len(files)} files ({_size(sum(f.size for f in files))}) from "
            f"{folder} to the dataset {repo_id} ({visibility}) in one commit:"
        )
        width = max(len(f.path) for f in files)
        digits = max(len(f"{f.size:,}") for f in files)
        for f in files:
            click.echo(f"  {f.path:<{width}}  {f.size:>{digits},} bytes")
        click.echo(
            "Files under data/, rejects/ and duplicates/ in the repository that this "
            "artifact does not have would be deleted in the same commit; which ones cannot "
            "be known without asking the Hub."
        )
        click.echo("Dry run: nothing was uploaded, the Hub was not contacted.")
        return
    result = push_artifact(
        folder, repo_id, private=private, token=token, revision=revision, commit_message=message
    )
    deleted = f", deleted {len(result.deleted)} stale files" if result.deleted else ""
    click.echo(
        f"Pushed {len(result.uploaded)} files ({_size(result.total_bytes)}) to {result.repo_id} "
        f"in one commit{deleted}: {result.commit_url}"
    )
    for stale in result.deleted:
        click.echo(f"  deleted {stale}")
