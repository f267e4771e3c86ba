"""What an executor is: it runs the map stage over batches, wherever it likes."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any, Protocol, TypeVar

B = TypeVar("B")
R = TypeVar("R")


class Executor(Protocol):
    def map(
        self, factory: Callable[[], Any], fn: Callable[[Any, B], R], batches: Iterable[B]
    ) -> Generator[R, None, None]:
        """Results in submission order; ``close()`` stops the work still in flight."""
        ...
