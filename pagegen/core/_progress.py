"""A minimal progress bar on stderr: drawn only on a terminal, silent otherwise (no dependency)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Steps of a long job, drawn as ``label [#####.....] 3/7 step (1.2 s)`` on one line.

    ``enabled=None`` draws only when the stream is a terminal.
    """

    def __init__(self, label: str, total: int, *, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty and isatty())
        self.enabled = enabled
        self.label = label
        self.total = max(int(total), 1)
        self.done = 0
        self.start = time.perf_counter()

    def step(self, name: str) -> None:
        """Mark one step as started and redraw."""
        self.done = min(self.done + 1, self.total)
        if not self.enabled:
            return
        width = 20
        filled = width * (self.done - 1) // self.total
        bar = "#" * filled + "." * (width - filled)
        elapsed = time.perf_counter() - self.start
        self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total} {name:<24} ({elapsed:.1f} s)")
        self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            self.stream.write(f"\r{self.label} [{'#' * 20}] {self.total}/{self.total} {'done':<24} ({elapsed:.1f} s)\n")
            self.stream.flush()
