"""Deduplication as a constraint: how often a title may appear in the visible window, on the page, and
outside the window."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ._builtin import padded
from ._constraint import ExactModel, Loop
from ._violation import Violation

if TYPE_CHECKING:
    from pagegen.core._catalog import Catalog
    from pagegen.core._page import Page
    from pagegen.core._userstate import UserState


__all__ = ["Dedup"]


@dataclass(frozen=True, eq=False)
class Dedup:
    """A title appears at most ``max_appearances`` times within the scope: the page, or the device's
    visible window (``windows``: device -> (rows, columns)); with the window scope, at most ``below``
    times outside it (the cells further down or right of it; None: no limit).

    The greedy face counts the titles shown in the window's cells and outside them as rows are placed;
    a row standing in the window's rows may show only titles with room left in both (where each lands
    is known once the row is refilled), a row further down the titles with room left outside.
    """

    scope: str
    max_appearances: int
    windows: tuple[tuple[str, int, int], ...]
    below: int | None = None
    name: str = "dedup"

    def window(self, device: str) -> tuple[int, int]:
        for name, rows, columns in self.windows:
            if name == device:
                return rows, columns
        raise KeyError(device)

    def _outside(self) -> int | None:
        return self.below if self.scope == "window" else None

    def entries(self, loop: Loop) -> np.ndarray | None:
        held = loop.memo.get(self)
        if held is None:
            c = loop.candidates
            rows, columns = self.window(c.device)
            n = c.catalog.n
            free = np.ones(n + 1, dtype=bool)  # True: not used up (the pad, n: used up)
            free[n] = False
            outside = None if self._outside() is None else [np.zeros(n + 1, dtype=np.int32), free.copy()]
            held = loop.memo[self] = [0, np.zeros(n + 1, dtype=np.int32), free, rows if self.scope == "window" else None, columns, outside]
        counted_rows, count, free, rows, columns, outside = held
        for t in range(counted_rows, len(loop.placed)):  # the rows placed since (row index t): their titles count where they stand
            shown = loop.shown[t]
            inside = shown if rows is None else shown[:columns] if t < rows else shown[:0]
            count[inside] += 1  # a row holds each title once (and showed it: it was not used up)
            free[inside] = count.take(inside) < self.max_appearances
            if outside is not None:
                out = shown[columns:] if t < rows else shown
                outside[0][out] += 1
                outside[1][out] = outside[0].take(out) < self.below
        held[0] = len(loop.placed)
        if rows is not None and loop.p >= rows:  # below the window: only the outside count limits
            return None if outside is None else outside[1].take(padded(loop))
        ok = free if outside is None else free & outside[1]
        return ok.take(padded(loop))

    def rows(self, loop: Loop) -> None:
        return None

    def add_to(self, model: ExactModel) -> None:
        window = self.window(model.candidates.device)
        M = model.candidates.M
        inside: dict[int, list] = {}
        outside: dict[int, list] = {}
        for (p, r, j, c), x in model.x.items():
            if self.scope == "page" or (p < window[0] and c < window[1]):
                inside.setdefault(int(M[r, j]), []).append(x)
            elif self._outside() is not None:
                outside.setdefault(int(M[r, j]), []).append(x)
        for per_title, most in ((inside, self.max_appearances), (outside, self._outside())):
            for xs in per_title.values():
                if len(xs) > most:
                    model.model.add(sum(xs) <= most)

    def violations(self, page: Page, policy: Any, user: UserState, catalog: Catalog) -> list[Violation]:
        rows, columns = self.window(page.device)
        seen: Counter[str] = Counter()
        further: Counter[str] = Counter()
        most = self._outside()
        out = []
        for r, row in enumerate(page.rows):
            for c, slot in enumerate(row.slots):
                if self.scope == "page" or (r < rows and c < columns):
                    seen[slot.id] += 1
                    if seen[slot.id] > self.max_appearances:
                        out.append(Violation(self.name, r, c, slot.id, f"appearance {seen[slot.id]} > max_appearances ({self.max_appearances}) within the {self.scope}"))
                elif most is not None:
                    further[slot.id] += 1
                    if further[slot.id] > most:
                        out.append(Violation(self.name, r, c, slot.id, f"appearance {further[slot.id]} outside the window > max_appearances_below ({most})"))
        return out
