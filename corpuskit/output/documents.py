"""The artifact's documents: the card (README.md), its chart and croissant.json, written
by the build and written again by ``corpuskit card DIR``.

A build writes them from its report (:func:`write_documents`). The manifest keeps what
they are made of (the settings, the report's deterministic part as ``report``, the shard
list as ``shards``), so :func:`rewrite` can write them again with new card settings
(a description, a license, a citation) without rebuilding. Rewriting gives exactly the
bytes a build with those settings gives: both go through :func:`write_documents`.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from corpuskit import schema
from corpuskit.cardconfig import CardConfig
from corpuskit.config import BuildConfig
from corpuskit.errors import ConfigError, OutputError
from corpuskit.layout import CARD, CHART, CROISSANT, MANIFEST
from corpuskit.output import card, croissant
from corpuskit.output.chart import languages_chart
from corpuskit.output.writer import Shards, sha256_file
from corpuskit.report import BuildReport

#: The files :func:`rewrite` replaces (with the manifest, which lists their checksums).
DOCUMENTS = (CARD, CHART, CROISSANT)


def write_documents(
    dest: Path,
    config: BuildConfig,
    report: BuildReport,
    shards: Shards,
    data: Path | None = None,
    sha256: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Write the chart, the card and croissant.json into ``dest``.

    ``data``: the folder holding the Parquet files (default ``dest``), whose first train
    row the card shows; ``sha256``: their checksums by relative path, if known (else
    computed). Returns the Parquet files' checksums, so the manifest need not hash them
    again."""
    data = data or dest
    parquet = [path for files in shards.all() for path in files.files]
    known = dict(sha256 or {})
    digests = {path: known.get(path) or sha256_file(data / path) for path in parquet}
    if report.languages_by_split:
        languages_chart(report.languages_by_split, dest / CHART)
    example = example_row(data, shards)
    text = card.render(config, report, shards, example)
    (dest / CARD).write_text(text, encoding="utf-8")
    (dest / CROISSANT).write_text(_croissant(config, report, shards, digests), encoding="utf-8")
    return digests


def _croissant(
    config: BuildConfig, report: BuildReport, shards: Shards, sha256: Mapping[str, str]
) -> str:
    meta = config.card
    hub = f"https://huggingface.co/datasets/{meta.repo_id}" if meta.repo_id else None
    doc = croissant.document(
        name=meta.pretty_name or config.name,
        description=(meta.description or "").strip() or card.summary(report),
        license=meta.license,
        license_url=meta.license_link,
        url=meta.homepage or hub,
        citation=meta.citation.strip() if meta.citation else None,
        version=None,
        keywords=list(dict.fromkeys(("corpuskit", "news", *meta.tags))),
        configs=[
            ("default", schema.RECORD_FIELDS, shards.splits),
            ("rejects", schema.REJECT_FIELDS, [shards.rejects]),
            ("duplicates", schema.DUPLICATE_FIELDS, [shards.duplicates]),
        ],
        sha256=sha256,
    )
    return croissant.dumps(doc)


def example_row(folder: Path, shards: Shards) -> dict[str, Any] | None:
    """The first row of the first split that has one, as plain Python values."""
    for split in shards.splits:
        if split.num_examples and split.files:
            table = pq.ParquetFile(folder / split.files[0]).read_row_group(0).slice(0, 1)
            row: dict[str, Any] = table.to_pylist()[0]
            return row
    return None


def config_of(manifest: Mapping[str, Any]) -> BuildConfig:
    """The BuildConfig a manifest's ``config`` record describes (execution settings and
    ``previous`` at their defaults: they are not recorded and change no document).

    Raises ``OutputError`` when the record does not describe a valid config."""
    try:
        config: BuildConfig = _dataclass_from(BuildConfig, manifest["config"])
        return config
    except (KeyError, TypeError, ValueError, ConfigError) as exc:
        raise OutputError(
            f"the manifest's config record cannot be read by this corpuskit ({exc}): "
            "rebuild the artifact"
        ) from exc


def _dataclass_from(cls: type[Any], data: Mapping[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if not f.init or f.name not in data:
            continue
        value, kind = data[f.name], hints[f.name]
        if isinstance(kind, type) and dataclasses.is_dataclass(kind):
            value = _dataclass_from(kind, value)
        elif isinstance(value, list):
            value = tuple(value)
        values[f.name] = value
    return cls(**values)


def rewrite(
    folder: Path, settings: Callable[[CardConfig], CardConfig], force: bool = False
) -> list[str]:
    """Write the documents of the artifact in ``folder`` again with the card settings
    ``settings`` makes of the ones it was built with; the manifest records the new
    settings and checksums. Returns the files that changed.

    Holds the folder's lock (no build of it can run meanwhile) and replaces the files in
    one swap: a killed rewrite is rolled back or forward by the next build or rewrite.
    Raises ``OutputError`` when ``folder`` is not an artifact, a data file changed since
    the build, or (unless ``force``) a document was edited by hand.
    """
    from corpuskit.output import staging

    manifest_path = folder / MANIFEST
    with staging.updating(folder) as tmp:
        manifest = read_manifest(manifest_path)
        try:
            report = BuildReport.from_card_json("", str(folder), manifest["report"])
            shards = Shards.from_json(manifest["shards"])
        except (KeyError, TypeError) as exc:
            raise OutputError(
                f"{manifest_path} has no record of what its card was made from ({exc}): it was "
                "built by an older corpuskit; rebuild it to rewrite its card"
            ) from None
        built = config_of(manifest)
        if json.loads(json.dumps(built.to_manifest(), default=str)) != manifest["config"]:
            raise OutputError(
                f"{manifest_path} holds settings this corpuskit does not know (it was built by "
                f"corpuskit {manifest.get('versions', {}).get('corpuskit', '?')}): rewriting "
                "its card would drop them; rebuild it, or use the corpuskit that built it"
            )
        _check_files(folder, manifest, force)
        config = dataclasses.replace(built, card=settings(built.card))
        report.name = config.name
        write_documents(tmp, config, report, shards, folder, manifest["files"])
        files = dict(manifest["files"])
        changed = []
        for name in DOCUMENTS:
            new = tmp / name
            if new.exists():
                files[name] = sha256_file(new)
            on_disk = sha256_file(folder / name) if (folder / name).is_file() else None
            if files.get(name) != on_disk:  # after --force, a hand edit counts as a change
                changed.append(name)
        manifest["config"] = config.to_manifest()
        manifest["files"] = files  # in the build's order (the same documents are listed)
        text = json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + "\n"
        if text != manifest_path.read_text(encoding="utf-8"):
            changed.append(MANIFEST)
        (tmp / MANIFEST).write_text(text, encoding="utf-8")
        for name in DOCUMENTS:  # unchanged documents need no swap
            if name not in changed and (tmp / name).exists():
                (tmp / name).unlink()
        if not changed:
            (tmp / MANIFEST).unlink()
    return changed


def read_manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise OutputError(
            f"{path.parent} is not a corpuskit artifact (no {MANIFEST}): build one with "
            "corpuskit build"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise OutputError(f"cannot read {path}: {exc}") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise OutputError(f"{path} is not a corpuskit manifest (it lists no files)")
    return manifest


def _check_files(folder: Path, manifest: Mapping[str, Any], force: bool) -> None:
    """Every file the manifest lists is there with its checksum: data files always, the
    documents unless ``force`` (a hand edit of the card would be lost otherwise)."""
    for name, digest in manifest["files"].items():
        path = folder / name
        if not path.is_file():
            raise OutputError(
                f"{path} is missing: the artifact is incomplete; rebuild it "
                "(corpuskit verify lists every problem)"
            )
        if sha256_file(path) == digest:
            continue
        if name in DOCUMENTS:
            if force:
                continue
            raise OutputError(
                f"{path} was changed since the build: pass --force to replace it anyway "
                "(put lasting text in corpuskit.toml's description instead)"
            )
        raise OutputError(
            f"{path} differs from the build's checksum: the card would describe other data; "
            "rebuild the artifact (corpuskit verify lists every problem)"
        )
