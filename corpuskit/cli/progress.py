"""The live progress display of `corpuskit build` on a terminal (``rich``).

One line per stage: the map stage (reading, cleaning, tagging, hashing) with records
done, records/s, MB/s of input, rejects so far and, when the input's size is known, a bar
and the time left; then the global and write stages with their elapsed time. It draws on
stderr, only when stderr is a terminal, and clears itself when the build ends: a piped
build prints nothing but the summary.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

#: What each stage is called on screen.
STAGE_NAMES = {"map": "reading + map", "global": "global stage", "write": "writing"}


class LiveProgress:
    """A ``BuildProgress`` (corpuskit.pipeline) that draws on ``file`` (a terminal).

    ``total_bytes``: the input's size (``corpuskit.sources.input_bytes``); None draws no
    bar and no time left. Use as a context manager: the display is removed on exit.
    """

    def __init__(self, file: TextIO, total_bytes: int | None, force_terminal: bool = False):
        self.console = Console(file=file, force_terminal=force_terminal or None)
        self.total = total_bytes
        self.progress = Progress(
            TextColumn("{task.description:<14}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[counts]}"),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
        )
        self.task: TaskID | None = None
        self.started = time.perf_counter()
        self.stage_started = self.started

    def __enter__(self) -> LiveProgress:
        self.progress.__enter__()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.progress.__exit__(kind, value, tb)

    def stage(self, name: str) -> None:
        """A new stage: the previous line is finished, a new one starts."""
        if self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[self.task].total)
        self.stage_started = time.perf_counter()
        total = self.total if name == "map" else None
        self.task = self.progress.add_task(
            STAGE_NAMES.get(name, name), total=total, counts="" if name == "map" else "…"
        )

    def mapped(self, records: int, rejected: int, bytes_read: int) -> None:
        """After a map-stage batch: the counts, and the bytes read for the bar."""
        if self.task is None:
            return
        seconds = max(time.perf_counter() - self.stage_started, 1e-6)
        counts = (
            f"{records:,} records  {records / seconds:,.0f}/s  "
            f"{bytes_read / seconds / 1e6:,.1f} MB/s  rejected {rejected:,}"
        )
        self.progress.update(self.task, completed=bytes_read, counts=counts)
