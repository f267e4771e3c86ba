"""The executor that runs every batch in the build process itself."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from typing import Any, TypeVar

B = TypeVar("B")
R = TypeVar("R")


class InlineExecutor:
    """Runs every batch in this process: simplest to debug, no pickling."""

    def map(
        self, factory: Callable[[], Any], fn: Callable[[Any, B], R], batches: Iterable[B]
    ) -> Generator[R, None, None]:
        # Built at the first batch: a build whose input all came from the cache whole
        # (corpuskit.filecache) has none, and needs no state.
        state: Any = None
        for batch in batches:
            if state is None:
                state = factory()
            yield fn(state, batch)
