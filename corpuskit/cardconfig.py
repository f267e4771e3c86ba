"""What a person says about the dataset, for its card and ``croissant.json``.

Unlike the rest of :class:`corpuskit.config.BuildConfig`, none of these settings changes
a row: they are the card's metadata (pretty name, description, license, citation, ...).
They are kept apart so ``corpuskit card DIR`` can rewrite the card of a built artifact
with new ones, and so the map-stage cache ignores them. A leaf module (it imports only
:mod:`corpuskit.errors`), like :mod:`corpuskit.config`.

The YAML keys follow the Hub's dataset card specification
(https://github.com/huggingface/hub-docs/blob/main/datasetcard.md): ``license`` is an id
from https://hf.co/docs/hub/repositories-licenses, or ``other`` with ``license_name`` (an
id such as ``my-license-1.0``) and ``license_link`` (a URL, or a file in the repository).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from corpuskit.errors import ConfigError

__all__ = ["CardConfig"]

#: A license id as the Hub spells them: lowercase letters, digits, ".", "-" and "+".
LICENSE_ID_RE = re.compile(r"^[a-z0-9][a-z0-9.+-]*$")
#: A Hub repository id: ``namespace/name`` (huggingface_hub's validate_repo_id rules).
REPO_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
#: A tag on the Hub: no spaces, no commas (the Hub splits on them).
TAG_RE = re.compile(r"^[^\s,]{1,64}$")


#: Settings that are one line of text (a title, a link).
ONE_LINE = ("pretty_name", "homepage", "license_link")
#: A web address (the Hub renders a link only for these).
URL_RE = re.compile(r"^https?://\S+$")


def _opt(value: Any, help: str) -> Any:
    return field(default=value, metadata={"help": help})


@dataclass(frozen=True)
class CardConfig:
    """The card's metadata. Every field may be left at its default; the card then says
    what is missing (a description, a license name) instead of inventing it."""

    pretty_name: str | None = _opt(None, "The dataset's display name (default: its name).")
    description: str | None = _opt(
        None,
        "What the dataset is, for the card's first section (Markdown; in corpuskit.toml a "
        '"""multi-line""" string).',
    )
    license: str = _opt(
        "other",
        "License id for the card (e.g. cc-by-4.0; see hf.co/docs/hub/repositories-licenses), "
        "or 'other' with --license-name and --license-link.",
    )
    license_name: str | None = _opt(
        None, "With --license other: an id for the license, e.g. my-news-license-1.0."
    )
    license_link: str | None = _opt(
        None, "With --license other: a URL of the license text (or LICENSE, a file beside it)."
    )
    homepage: str | None = _opt(None, "A URL where the dataset (or its sources) is described.")
    citation: str | None = _opt(None, "How to cite the dataset (BibTeX), shown in the card.")
    tags: tuple[str, ...] = _opt((), "Tags for the Hub, besides 'corpuskit' and 'news'.")
    language_configs: int = _opt(
        100,
        "Declare a config per language with at least this many articles "
        '(load_dataset(path, "uk")); 0: none.',
    )
    repo_id: str | None = _opt(
        None,
        "The Hub repository it will be published as (user/name): the card then shows how "
        "to load it from there too.",
    )

    def __post_init__(self) -> None:
        if not LICENSE_ID_RE.match(self.license):
            raise ConfigError(
                f"--license {self.license!r} is not a license id: use a Hub id in lower case "
                "such as cc-by-4.0 or apache-2.0, or 'other' with --license-name"
            )
        if self.license != "other" and (self.license_name or self.license_link):
            which = "--license-name" if self.license_name else "--license-link"
            raise ConfigError(
                f"{which} is only for --license other (the license is {self.license!r}, "
                "which the Hub already names and links)"
            )
        if self.license_name is not None and not LICENSE_ID_RE.match(self.license_name):
            raise ConfigError(
                f"--license-name {self.license_name!r} must be an id in lower case with "
                "letters, digits, '.', '-' (e.g. my-news-license-1.0); put the full name in "
                "--description"
            )
        for tag in self.tags:
            if not TAG_RE.match(tag):
                raise ConfigError(
                    f"--tag {tag!r}: a tag is 1 to 64 characters without spaces or commas"
                )
        if self.repo_id is not None and not REPO_ID_RE.match(self.repo_id):
            raise ConfigError(
                f"--repo-id {self.repo_id!r} is not a Hub repository id: expected "
                "namespace/name, e.g. my-org/news-2026"
            )
        if self.language_configs < 0:
            raise ConfigError(
                f"--language-configs must be 0 (none) or more, got {self.language_configs}"
            )
        for name in ("pretty_name", "description", "homepage", "citation", "license_link"):
            value = getattr(self, name)
            if value is not None and not value.strip():
                raise ConfigError(f"--{name.replace('_', '-')} must not be empty")
            if name in ONE_LINE and value is not None and ("\n" in value or "\r" in value):
                raise ConfigError(f"--{name.replace('_', '-')} must be one line")
        if self.homepage is not None and not URL_RE.match(self.homepage):
            raise ConfigError(
                f"--homepage {self.homepage!r} is not a web address: give an http(s):// URL"
            )
        if self.license_link is not None and " " in self.license_link.strip():
            raise ConfigError(
                f"--license-link {self.license_link!r}: give a URL, or the name of a file "
                "beside the card (e.g. LICENSE)"
            )
