"""The installed versions of distributions, for the manifest and the cache key (a leaf)."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata


def installed(dists: Iterable[str], missing: str) -> dict[str, str]:
    """{distribution: its installed version, or ``missing`` when it is not installed}, in
    the order given."""
    out: dict[str, str] = {}
    for dist in dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = missing
    return out
