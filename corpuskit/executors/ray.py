"""Ray: the map stage as Ray tasks, on the cluster ``RAY_ADDRESS`` names or on a local Ray.

The same contract as the pool (:mod:`corpuskit.executors.pool`): a picklable factory
builds each worker process's map state once, ``fn(state, batch)`` runs as one Ray task
per batch, results come back in submission order, and at most two batches per CPU of the
cluster are in flight, so the build process's memory stays flat. Because every task is
a pure function of its batch and the settings, a task whose worker process died is
simply run again (Ray retries it up to ``MAX_RETRIES`` times); a batch that keeps
failing ends the build with one line naming where the batch starts.

Where Ray comes from: ``ray.init()`` joins the cluster that ``RAY_ADDRESS`` names (e.g.
``ray://head:10001`` or ``127.0.0.1:6379``), or starts a local Ray with ``jobs`` CPUs when
none is named, and shuts that one down at the end. Workers need corpuskit installed (the
same version); they share no folder with the build process (the pipeline has them return
their spill parts as bytes, see ``corpuskit.pipeline.map_and_spill``).

Ray is an optional dependency (``pip install 'corpuskit[ray]'``); it is imported only
when this executor runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
from collections import deque
from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

from corpuskit.errors import CorpuskitError

B = TypeVar("B")
R = TypeVar("R")

#: Times Ray runs a task again after its worker process died (the OOM killer, a lost
#: node): a pure task gives the same result on any attempt.
MAX_RETRIES = 3

# In a Ray worker process: the map state, and the digest of the factory that built it
# (a long-lived cluster worker may serve builds with other settings).
_worker: dict[str, Any] = {}


def _task(
    key: str,
    factory: Callable[[], Any],
    setup: Callable[[], None] | None,
    fn: Callable[[Any, Any], Any],
    batch: Any,
) -> Any:
    """One batch, in a Ray worker process: the state is built on the first task."""
    if _worker.get("key") != key:
        if setup is not None and not _worker.get("setup"):
            setup()
            _worker["setup"] = True
        _worker["state"] = factory()
        _worker["key"] = key
    return fn(_worker["state"], batch)


def _ray() -> Any:
    try:
        import ray
    except ImportError:
        raise CorpuskitError(
            "--executor ray needs Ray: pip install 'corpuskit[ray]' (or pip install ray)"
        ) from None
    return ray


class RayExecutor:
    """Runs batches as Ray tasks; ``jobs`` CPUs for a local Ray it starts itself.

    ``describe(batch)`` names a batch in error messages (e.g. the file and line it starts
    at); ``setup`` runs once in every worker process before its state is built.
    """

    def __init__(
        self,
        jobs: int,
        setup: Callable[[], None] | None = None,
        describe: Callable[[Any], str] | None = None,
    ) -> None:
        self.jobs = jobs
        self.setup = setup
        self.describe = describe or (lambda batch: "a batch")

    def map(
        self, factory: Callable[[], Any], fn: Callable[[Any, B], R], batches: Iterable[B]
    ) -> Generator[R, None, None]:
        ray = _ray()
        started = not ray.is_initialized()
        if started:
            _init(ray, self.jobs)
        pending: deque[tuple[str, Any]] = deque()
        try:
            remote = ray.remote(max_retries=MAX_RETRIES, retry_exceptions=False)(_task)
            # Shipped once to the object store; each task gets a reference.
            key = hashlib.sha256(pickle.dumps(factory)).hexdigest()
            shared = [ray.put(value) for value in (factory, self.setup, fn)]
            in_flight = 2 * max(1, int(ray.cluster_resources().get("CPU", self.jobs)))
            for batch in batches:
                ref = remote.remote(key, *shared, batch)
                pending.append((self.describe(batch), ref))
                if len(pending) >= in_flight:
                    yield _result(ray, *pending.popleft())
            while pending:
                yield _result(ray, *pending.popleft())
        finally:
            # Ctrl-C or an error: the batches still queued or running are not wanted.
            for _, ref in pending:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


def _init(ray: Any, jobs: int) -> None:
    """Join the cluster ``RAY_ADDRESS`` names, or start a local Ray with ``jobs`` CPUs."""
    options: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        # The build prints its own summary; Ray's notices (token auth on a local Ray, the
        # address it falls back to) are not the user's business unless something fails.
        "logging_level": logging.ERROR,
        # One core per task: langdetect-rs would otherwise fan out to every core inside
        # every worker.
        "runtime_env": {"env_vars": {"RAYON_NUM_THREADS": "1"}},
    }
    address = os.environ.get("RAY_ADDRESS")
    try:
        if address:
            ray.init(address=address, **options)
        else:
            ray.init(num_cpus=jobs, **options)
    except Exception as exc:  # Ray raises ConnectionError, RuntimeError, ValueError, …
        where = f"the Ray cluster at RAY_ADDRESS={address}" if address else "a local Ray"
        raise CorpuskitError(f"could not start or reach {where}: {exc}") from exc


def _result(ray: Any, where: str, ref: Any) -> Any:
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause
        if isinstance(cause, CorpuskitError):
            raise cause from None
        raise CorpuskitError(
            f"the map stage failed on the batch starting at {where}: "
            f"{type(cause).__name__}: {cause}; no artifact was written"
        ) from exc
    except ray.exceptions.RayError as exc:
        raise CorpuskitError(
            f"Ray lost the batch starting at {where} {MAX_RETRIES + 1} times "
            f"({type(exc).__name__}); the build was stopped and no artifact was written"
        ) from exc
