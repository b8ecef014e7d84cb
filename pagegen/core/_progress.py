"""Progress on stderr, the one display every long job uses: drawn only on a terminal, silent in
pipes and logs (no dependency).

``Progress`` redraws one line as steps complete, with the rate and the time left when asked;
``note`` prints a one-off line (loading, fitting, serving) under the same rule.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "note"]


def _on_terminal(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def note(message: str, *, stream: TextIO | None = None) -> None:
    """A one-line note on stderr, only on a terminal."""
    stream = stream if stream is not None else sys.stderr
    if _on_terminal(stream):
        print(message, file=stream, flush=True)


class Progress:
    """Steps of a long job, drawn as ``label [#####.....] 3/7 step (1.2 s)`` on one line.

    ``enabled=None`` draws only when the stream is a terminal. ``done``: steps already done when
    the job starts (a resumed batch); the time left is estimated from this run's steps only.
    """

    def __init__(self, label: str, total: int, *, enabled: bool | None = None, stream: TextIO | None = None, done: int = 0) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = _on_terminal(self.stream) if enabled is None else enabled
        self.label = label
        self.total = max(int(total), 1)
        self.done = self.skipped = min(int(done), self.total)
        self.start = time.perf_counter()

    def step(self, name: str = "", *, eta: bool = False) -> None:
        """Mark one step as done and redraw; ``eta``: add the time left at this run's pace."""
        self.done = min(self.done + 1, self.total)
        if not self.enabled:
            return
        width = 20
        filled = width * self.done // self.total
        bar = "#" * filled + "." * (width - filled)
        elapsed = time.perf_counter() - self.start
        left = ""
        if eta and self.done > self.skipped:
            seconds = elapsed / (self.done - self.skipped) * (self.total - self.done)
            left = f", about {int(seconds // 60)} min {int(seconds % 60):02d} s left"
        self.stream.write(f"\r{self.label} [{bar}] {self.done:,}/{self.total:,} {name:<24} ({elapsed:.1f} s{left}) ")
        self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        if self.enabled:
            elapsed = time.perf_counter() - self.start
            self.stream.write(f"\r{self.label} [{'#' * 20}] {self.done:,}/{self.total:,} {'done':<24} ({elapsed:.1f} s)\n")
            self.stream.flush()
