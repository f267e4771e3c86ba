"""Executors run the map stage over batches; stages never know which one runs them.

Both executors take a picklable *factory* that builds the per-worker state once (a cleaner
with compiled rules, a language detector) and a pure function ``fn(state, batch)``; both
yield results in submission order, so the build is the same with ``--jobs 1`` and
``--jobs 8``. Work in flight is bounded, so memory stays flat whatever the corpus size.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from corpuskit.executors.base import Executor
from corpuskit.executors.inline import InlineExecutor
from corpuskit.executors.pool import PoolExecutor
from corpuskit.executors.ray import RayExecutor

__all__ = ["Executor", "InlineExecutor", "PoolExecutor", "RayExecutor", "make_executor"]


def make_executor(
    jobs: int,
    preload: Sequence[str] = (),
    setup: Callable[[], None] | None = None,
    kind: str = "local",
    describe: Callable[[Any], str] | None = None,
) -> Executor:
    """``kind`` "local": the pool for ``jobs`` > 1, else the inline executor; "ray": Ray
    tasks (see ``RayExecutor``). ``preload``: modules a pool imports once, before it
    starts workers; ``setup``: run first in every worker process the pool or Ray starts,
    never in the caller's; ``describe(batch)`` names a batch in Ray's error messages."""
    if kind == "ray":
        return RayExecutor(jobs, setup, describe)
    return InlineExecutor() if jobs <= 1 else PoolExecutor(jobs, preload, setup)
