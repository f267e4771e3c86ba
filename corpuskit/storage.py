"""Where files live: local paths, and URLs of any filesystem fsspec knows.

Sources and ``--out`` may be URLs (``s3://bucket/crawl/``, ``gs://…``, ``hf://datasets/…``,
``memory://…``), so that a build on a cluster reads and writes shared storage. A
``file://`` URL is a local path written as a URL: it is turned into that path, and gets
every guarantee of a local one (renames, locks, symbolic links). Every other URL is a
:class:`Remote`: an fsspec filesystem and a path on it.

fsspec ships with ``datasets``; the filesystems of clouds come in their own packages
(``s3fs``, ``gcsfs``; ``hf://`` comes with ``huggingface_hub``). A URL whose package is
missing is refused before any work with the package to install.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from corpuskit.errors import CorpuskitError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

#: ``scheme://`` or fsspec's chained form ``cache::s3://``.
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*(?:://|::)")


def is_url(value: str | os.PathLike[str]) -> bool:
    """Whether ``value`` is written as a URL (``file://`` ones included)."""
    return isinstance(value, str) and bool(_URL.match(value))


@dataclass(frozen=True)
class Remote:
    """A place on an fsspec filesystem: ``url`` as the user wrote it, ``path`` the
    filesystem's own path for it (no protocol, no trailing slash)."""

    url: str
    fs: AbstractFileSystem
    path: str

    @property
    def name(self) -> str:
        """The last component of the path (a folder's or file's own name)."""
        return posixpath.basename(self.path.rstrip("/"))

    def join(self, *parts: str) -> str:
        """The filesystem path of ``parts`` below this place."""
        return posixpath.join(self.path, *parts)

    def display(self, path: str) -> str:
        """``path`` (a filesystem path) as a URL for messages."""
        return str(self.fs.unstrip_protocol(path))

    def __str__(self) -> str:
        return self.url


def locate(value: str | os.PathLike[str], role: str) -> str | Remote:
    """A local path (``file://`` URLs turned into paths) or a :class:`Remote` for ``value``.

    ``role`` names the argument in messages (``"SOURCE"``, ``"--out"``). Raises
    ``CorpuskitError`` for a protocol fsspec does not know, or one whose package is not
    installed.
    """
    if not is_url(value):
        return os.fspath(value)
    assert isinstance(value, str)
    try:
        from fsspec.core import url_to_fs

        fs, path = url_to_fs(value)
    except ImportError as exc:
        raise CorpuskitError(
            f"{role} {value}: this filesystem needs a package that is not installed ({exc}); "
            "install it with pip and build again"
        ) from None
    except ValueError as exc:
        raise CorpuskitError(
            f"{role} {value}: {exc}; corpuskit reads local paths and the URLs fsspec knows "
            "(file://, s3://, gs://, hf://, memory://, …)"
        ) from None
    from fsspec.implementations.local import LocalFileSystem

    if isinstance(fs, LocalFileSystem):
        return str(path)
    return Remote(value, fs, str(path).rstrip("/") or "/")


def error_text(exc: BaseException) -> str:
    """An fsspec error as a short phrase (filesystems raise OSError subclasses, and some
    their client library's own errors)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 300 else text[:300] + "…"
