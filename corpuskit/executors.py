"""Executors run the map stage over batches; stages never know which one runs them.

Both executors take a picklable *factory* that builds the per-worker state once (a cleaner
with compiled rules, a language detector) and a pure function ``fn(state, batch)``; both
yield results in submission order, so the build is the same with ``--jobs 1`` and
``--jobs 8``. Work in flight is bounded, so memory stays flat whatever the corpus size.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol, TypeVar

from corpuskit.errors import CorpuskitError

B = TypeVar("B")
R = TypeVar("R")


class Executor(Protocol):
    def map(
        self, factory: Callable[[], Any], fn: Callable[[Any, B], R], batches: Iterable[B]
    ) -> Iterator[R]: ...


class InlineExecutor:
    """Runs every batch in this process: simplest to debug, no pickling."""

    def map(
        self, factory: Callable[[], Any], fn: Callable[[Any, B], R], batches: Iterable[B]
    ) -> Iterator[R]:
        state = factory()
        for batch in batches:
            yield fn(state, batch)


_worker_state: dict[str, Any] = {}


def _init_worker(factory: Callable[[], Any]) -> None:
    # Each worker is one core; a native library fanning out to all cores inside every
    # worker would oversubscribe the machine.
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    _worker_state["state"] = factory()


def _run(fn: Callable[[Any, B], R], batch: B) -> R:
    return fn(_worker_state["state"], batch)


class PoolExecutor:
    """A local process pool; at most ``2 * jobs`` batches are in flight at once."""

    def __init__(self, jobs: int):
        self.jobs = jobs

    def map(
        self, factory: Callable[[], Any], fn: Callable[[Any, B], R], batches: Iterable[B]
    ) -> Iterator[R]:
        ctx = multiprocessing.get_context("forkserver")
        pending: deque[Future[R]] = deque()
        with ProcessPoolExecutor(
            max_workers=self.jobs, mp_context=ctx, initializer=_init_worker, initargs=(factory,)
        ) as pool:
            try:
                for batch in batches:
                    pending.append(pool.submit(_run, fn, batch))
                    if len(pending) >= 2 * self.jobs:
                        yield pending.popleft().result()
                while pending:
                    yield pending.popleft().result()
            except BrokenProcessPool as exc:
                raise CorpuskitError(
                    "a worker process died while processing a batch (killed, or out of "
                    "memory?); the build was stopped and no artifact was written. Re-run, "
                    "or use --jobs 1 to process in one process"
                ) from exc
            finally:
                for future in pending:
                    future.cancel()


def make_executor(jobs: int) -> Executor:
    return InlineExecutor() if jobs <= 1 else PoolExecutor(jobs)
