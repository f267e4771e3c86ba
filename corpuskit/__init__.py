"""corpuskit: raw articles in, a clean, documented, loadable Hugging Face dataset out.

The library is usable on its own; the CLI is a thin layer over ``build``::

    from corpuskit import BuildConfig, build
    report = build(["articles/"], "dist/news", BuildConfig(name="news"))
    assert report.balanced()

Names are imported lazily so that ``import corpuskit`` (and every worker process) stays
cheap: ``datasets`` is only loaded by the stages that need it.
"""

from __future__ import annotations

from importlib import import_module, metadata
from pathlib import Path
from typing import Any

try:
    __version__ = metadata.version("corpuskit")
except metadata.PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"

EXAMPLE_CORPUS = str(Path(__file__).parent / "examples" / "news")

_LAZY = {
    "BuildConfig": "corpuskit.config",
    "CleanConfig": "corpuskit.config",
    "NearDupConfig": "corpuskit.config",
    "SourceConfig": "corpuskit.config",
    "BuildReport": "corpuskit.report",
    "build": "corpuskit.pipeline",
    "CorpuskitError": "corpuskit.errors",
}

__all__ = [
    "EXAMPLE_CORPUS",
    "BuildConfig",
    "BuildReport",
    "CleanConfig",
    "CorpuskitError",
    "NearDupConfig",
    "SourceConfig",
    "__version__",
    "build",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'corpuskit' has no attribute {name!r}")
