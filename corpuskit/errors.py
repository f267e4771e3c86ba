"""One exception family, so callers (and the CLI) can catch everything corpuskit raises
on purpose with a single ``except CorpuskitError`` and show its message as-is.

Messages follow one rule: say what was wrong, where (file, line/row), and how to fix it.
"""

from __future__ import annotations


class CorpuskitError(Exception):
    """Base class: anything corpuskit raises deliberately."""

    exit_code = 1


class ConfigError(CorpuskitError):
    """The build configuration (options, rule files) is invalid."""

    exit_code = 2


class SourceError(CorpuskitError):
    """An input cannot be read at all (and the policy says to stop rather than reject)."""


class OutputError(CorpuskitError):
    """The output folder cannot be written (exists and is not empty, permissions, ...)."""


class BuildInterrupted(KeyboardInterrupt):
    """The build was stopped by SIGINT/SIGTERM; the previous artifact is untouched.

    A KeyboardInterrupt, not a CorpuskitError: the map stage turns any ``Exception`` raised
    while processing one record into an ``internal_error`` reject, and a SIGTERM landing
    there must stop the build, not become a reject. Like Ctrl-C, it passes every
    ``except Exception``.
    """

    exit_code = 130
