"""Progress lines for long management commands (the demo seeders at 100,000 customers run for minutes)."""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    """Writes ``label: 10% (1,234 of 12,345 <unit>, 12 s)`` each time another tenth of ``total`` is done."""

    def __init__(self, write: Callable[[str], object] | None, *, total: int, label: str, unit: str) -> None:
        self.write, self.total, self.label, self.unit = write, total, label, unit
        self.done = 0
        self.next_tenth = 1
        self.started = time.monotonic()

    def step(self, count: int = 1) -> None:
        self.done += count
        if self.write is None or not self.total:
            return
        tenth = min(10, self.done * 10 // self.total)
        if tenth >= self.next_tenth:
            self.next_tenth = tenth + 1
            elapsed = time.monotonic() - self.started
            self.write(
                f"  {self.label}: {tenth * 10}% ({min(self.done, self.total):,} of {self.total:,} {self.unit},"
                f" {elapsed:.0f} s)"
            )
