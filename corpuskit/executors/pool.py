"""The local process pool: workers that each build the map state once and run batches.

Up to ``2 * jobs`` batches are in flight; results come back in submission order. Workers
ignore Ctrl-C (the build process handles it), end when the build process is gone, and
hand results back through a spool file, not the pipe (see ``_run``).
"""

from __future__ import annotations

import itertools
import multiprocessing
import os
import pickle
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import forkserver, resource_tracker
from typing import Any, TypeVar

from corpuskit import interrupts
from corpuskit.errors import CorpuskitError
from corpuskit.executors.inline import InlineExecutor
from corpuskit.procs import process_alive

B = TypeVar("B")
R = TypeVar("R")


# The map state of this worker process, built once by _init_worker: a pool worker runs
# many batches and only a module-level name outlives one task.
_worker_state: dict[str, Any] = {}


def _init_worker(
    factory: Callable[[], Any], build_pid: int, setup: Callable[[], None] | None
) -> None:
    # Ctrl-C reaches the whole process group; workers are started with SIGINT blocked
    # (see _start_forkserver) and ignore it too.
    interrupts.ignore_interrupts()
    # Each worker is one core; a native library fanning out to all cores inside every
    # worker would oversubscribe the machine.
    os.environ.setdefault("RAYON_NUM_THREADS", "1")
    threading.Thread(target=_exit_with_build, args=(build_pid,), daemon=True).start()
    if setup is not None:
        setup()
    _worker_state["state"] = factory()


def _exit_with_build(build_pid: int) -> None:
    """End this worker when the build process is gone.

    After a SIGKILL of the build, nothing tells an idle worker to stop: it waits on its
    task queue forever, keeps multiprocessing's fork server alive (the server lives while
    any worker holds its "alive" pipe) and holds the build's stdout/stderr open, so a
    caller waiting on those hangs. Polling the build's pid ends that within a second.
    """
    while process_alive(build_pid):
        time.sleep(1.0)
    os._exit(1)


def _run(fn: Callable[[Any, B], R], batch: B, spool: str) -> str:
    """Process one batch; the result goes to a file in ``spool``, only its path to the pipe.

    A result sent through the pool's pipe is megabytes long. A worker killed while
    writing it (the OOM killer strikes when memory peaks, i.e. then) leaves half a
    message in the pipe, and the pool's manager thread blocks forever reading the rest:
    the build hung instead of failing. A path is written in one atomic pipe write.
    """
    result = fn(_worker_state["state"], batch)
    fd, path = tempfile.mkstemp(dir=spool, suffix=".pickle")
    with os.fdopen(fd, "wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)
    return path


def _collect(path: str) -> Any:
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    finally:
        os.unlink(path)


class PoolExecutor:
    """A local process pool; at most ``2 * jobs`` batches are in flight at once."""

    def __init__(
        self, jobs: int, preload: Sequence[str] = (), setup: Callable[[], None] | None = None
    ):
        self.jobs = jobs
        self.setup = setup  # run in each worker process before its state is built
        # Imported once by the fork server that workers are forked from: each worker
        # starts with them loaded (no import of its own: ~1 s of CPU per worker) and
        # shares their memory pages with the other workers.
        self.preload = tuple(preload)

    def map(
        self, factory: Callable[[], Any], fn: Callable[[Any, B], R], batches: Iterable[B]
    ) -> Generator[R, None, None]:
        # A corpus that fits in one batch is not worth a pool's start-up (a second or so
        # to import and build every worker's state): run it here.
        batches = iter(batches)
        head = list(itertools.islice(batches, 2))
        if len(head) < 2:
            yield from InlineExecutor().map(factory, fn, head)
            return
        yield from self._pool_map(factory, fn, itertools.chain(head, batches))

    def _pool_map(
        self, factory: Callable[[], Any], fn: Callable[[Any, B], R], batches: Iterable[B]
    ) -> Generator[R, None, None]:
        ctx = multiprocessing.get_context("forkserver")
        _start_forkserver(self.preload)
        pending: deque[Future[str]] = deque()
        with tempfile.TemporaryDirectory(prefix="corpuskit-pool-") as spool:
            pool = ProcessPoolExecutor(
                max_workers=self.jobs,
                mp_context=ctx,
                initializer=_init_worker,
                initargs=(factory, os.getpid(), self.setup),
            )
            finished = False
            try:
                for batch in batches:
                    # submit() may start a worker: a signal half-way through would leave
                    # it reading a closed pipe (a traceback on stderr), so it waits.
                    with interrupts.deferred():
                        pending.append(pool.submit(_run, fn, batch, spool))
                    if len(pending) >= 2 * self.jobs:
                        yield _collect(pending.popleft().result())
                while pending:
                    yield _collect(pending.popleft().result())
                finished = True
            except BrokenProcessPool as exc:
                raise CorpuskitError(
                    "a worker process died while processing a batch (killed, or out of "
                    "memory?); the build was stopped and no artifact was written. Re-run, "
                    "or use --jobs 1 to process in one process"
                ) from exc
            finally:
                # Join every worker before the build goes on or exits, even when a second
                # signal arrives: a worker still starting up when its parent is gone
                # prints a traceback, one not joined outlives the build. Workers ignore
                # SIGINT, so this waits for at most the batches already running.
                # cancel_futures drops the batches not yet started from the pool's own
                # thread (on Python 3.11, future.cancel() racing a breaking pool killed
                # that thread and hung the interpreter at exit).
                with interrupts.deferred():
                    pool.shutdown(wait=True, cancel_futures=not finished)


def _start_forkserver(preload: Sequence[str]) -> None:
    """Start multiprocessing's fork server with SIGINT blocked, if it is not running yet;
    it imports ``preload`` first (a server already running keeps what it has).

    Workers are forked from the fork server and inherit its signal mask, so Ctrl-C never
    reaches them, even while they start up (before ``_init_worker`` can ignore it); the
    build process alone handles it. A signal that reaches the build process during this
    call is delivered when the call returns.
    """
    with interrupts.deferred():
        # The resource tracker first: starting it unblocks SIGINT on its way out, which
        # would undo the block below if the fork server started it.
        resource_tracker.ensure_running()
        with interrupts.blocked_for_children():
            if preload:
                forkserver.set_forkserver_preload(["__main__", *preload])
            forkserver.ensure_running()
