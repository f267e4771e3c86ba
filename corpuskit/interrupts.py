"""SIGINT and SIGTERM: where a build may be stopped, and where it must finish a step first.

A signal's Python handler runs in the main thread between two bytecodes, wherever that
thread is. Most places are safe to stop (the temporary folder is removed on the way out),
but a few are not: half-way through starting a pool worker (the worker then reads a pipe
its parent closed, or a semaphore already unlinked, and prints a traceback), or while the
pool joins its workers (an interrupted join leaves them running with no parent). Those
steps run inside :func:`deferred`: a signal that arrives there is remembered and delivered
to the previous handler the moment the step is over, so it is delayed, never lost.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from corpuskit.errors import BuildInterrupted

#: The signals a build treats as "stop now": Ctrl-C, and a service manager's stop.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def raise_build_interrupted(signum: int, _frame: Any) -> None:
    """A handler for SIGTERM: stop the build like Ctrl-C does (exit 130, cleaned up)."""
    raise BuildInterrupted(f"interrupted by {signal.Signals(signum).name}")


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM raises :class:`BuildInterrupted` inside the block (Python's default would
    end the process without removing the temporary folder)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, raise_build_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Run the block to its end even if SIGINT or SIGTERM arrives; deliver them after.

    Outside the main thread this does nothing (signal handlers belong to that thread).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []

    def remember(signum: int, _frame: Any) -> None:
        caught.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if caught:
            # The first one counts; raise_signal hands it to the restored handler, which
            # raises (KeyboardInterrupt, BuildInterrupted) or does the default action.
            signal.raise_signal(caught[0])


@contextlib.contextmanager
def blocked_for_children() -> Iterator[None]:
    """Block SIGINT in this thread for the block: a process started inside it (such as
    multiprocessing's fork server) begins life with SIGINT blocked, and the processes it
    forks inherit that. Ctrl-C reaches a terminal's whole process group; this keeps it
    from killing them half-way through their start-up (the standard library's resource
    tracker starts itself the same way). A SIGINT for this process that arrives meanwhile
    is delivered when the block ends.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def ignore_interrupts() -> None:
    """In a worker process: ignore Ctrl-C for good. Interrupts are the build process's to
    handle (it stops the pool and removes the temporary folder); an idle worker hit by
    SIGINT would only print a KeyboardInterrupt traceback under the CLI's one-line message.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
