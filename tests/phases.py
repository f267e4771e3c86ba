"""Stop a build at a named phase, so that a test can signal it there: no timing luck.

A test runs ``python -c DRIVER PHASE DIR corpuskit-args...``. The driver patches the
function that begins PHASE; when a process (the build, or a pool worker) reaches it, it
creates ``DIR/PHASE-PID`` and waits until the test creates ``DIR/go``. The test waits for
the marker, sends its signal, creates ``go``, and checks the outcome. The patched
functions live here at module level, so pool workers (which import them by name) run
them too; PHASE and DIR travel to the workers in the environment.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

#: The phases a build can be stopped at, and the process it is stopped in.
PHASES = {
    "forkserver": "build",  # just after the fork server started (signals deferred)
    "worker-start": "worker",  # a pool worker building its state
    "batch": "worker",  # a pool worker processing a batch (the build process with --jobs 1)
    "pool-shutdown": "build",  # the pool joining its workers (signals deferred)
    "lock-wait": "build",  # --wait, blocked on another build's lock
}

DRIVER = """
import sys
from tests import phases
phases.install(sys.argv[1], sys.argv[2])
sys.argv = ["corpuskit", *sys.argv[3:]]
from corpuskit.cli import main
main()
"""

_ENV_PHASE = "CORPUSKIT_TEST_PHASE"
_ENV_DIR = "CORPUSKIT_TEST_PHASE_DIR"


def reached(phase: str) -> None:
    """Mark that this process reached ``phase`` and wait for the test's "go"."""
    if os.environ.get(_ENV_PHASE) != phase:
        return
    folder = Path(os.environ[_ENV_DIR])
    (folder / f"{phase}-{os.getpid()}").touch()
    deadline = time.monotonic() + 120
    while not (folder / "go").exists() and time.monotonic() < deadline:
        time.sleep(0.01)


def make_state(config: Any) -> Any:
    from corpuskit import mapstage

    reached("worker-start")
    return mapstage.MapState(config)


def process_batch(state: Any, batch: Any) -> Any:
    from corpuskit import mapstage

    reached("batch")
    # In a worker this module was imported afresh and nothing is patched; in the build
    # process (--jobs 1) mapstage.process_batch is this function, the real one is saved.
    real = _REAL.get("process_batch", mapstage.process_batch)
    return real(state, batch)


_REAL: dict[str, Any] = {}


def install(phase: str, folder: str) -> None:
    """Patch the build process so that it (and its workers) stop at ``phase``."""
    import concurrent.futures
    import fcntl
    from multiprocessing import forkserver

    from corpuskit import executors, mapstage
    from corpuskit.output import lock as outlock

    os.environ[_ENV_PHASE] = phase
    os.environ[_ENV_DIR] = folder
    _REAL["process_batch"] = mapstage.process_batch
    mapstage.process_batch = process_batch
    mapstage.make_state = make_state

    real_ensure = forkserver.ensure_running

    def ensure_running() -> None:
        real_ensure()
        reached("forkserver")

    forkserver.ensure_running = ensure_running

    class Pool(concurrent.futures.ProcessPoolExecutor):
        def shutdown(self, *args: Any, **kwargs: Any) -> None:
            reached("pool-shutdown")
            super().shutdown(*args, **kwargs)

    executors.pool.ProcessPoolExecutor = Pool  # type: ignore[misc]

    real_flock = fcntl.flock

    def flock(fd: int, operation: int) -> None:
        if not operation & fcntl.LOCK_NB:
            reached("lock-wait")
        real_flock(fd, operation)

    outlock.fcntl.flock = flock  # type: ignore[attr-defined]
