"""Running tallies of one replay: each selector's page metrics, summed and kept per member."""

from __future__ import annotations

import numpy as np

from . import _metrics as M
from ._report import SelectorResult

__all__ = ["PAIRED", "Ctx", "Tally"]

#: The metrics compared member by member against the baseline (paired statistics).
PAIRED = ("recall", "recall_page", "n2dcg", "hit_rate")


class Tally:
    """Running sums of one selector's page metrics."""

    def __init__(self, name: str, n_items: int, shape: tuple[int, int]) -> None:
        self.name = name
        self.sums: dict[str, float] = dict.fromkeys(("recall", "recall_page", "n2dcg", "hit_rate", "genre_diversity", "calibration_kl", "novelty"), 0.0)
        self.counts: dict[str, int] = dict.fromkeys(self.sums, 0)
        self.values: dict[str, list[float]] = {k: [] for k in PAIRED}  # per member, in replay order (NaN: undefined)
        self.members = 0
        self.duplicates = 0
        self.shown = np.zeros(n_items, dtype=bool)
        self.shown_screen = np.zeros(n_items, dtype=bool)
        self.curve = np.zeros(shape[0])
        self.heat = np.zeros(shape, dtype=np.int64)
        self.kinds: dict[str, int] = {}
        self.seconds = 0.0

    def _add(self, key: str, value: float) -> None:
        if key in self.values:
            self.values[key].append(float(value))
        if np.isfinite(value):
            self.sums[key] += value
            self.counts[key] += 1

    def add(self, grid: np.ndarray, kinds: list[str], rel: dict[int, float], history: np.ndarray, pop: np.ndarray, ctx: Ctx) -> None:
        m, n = ctx.window
        self.members += 1
        self.duplicates += M.duplicates(grid)
        self.shown[M.window_items(grid)] = True
        screen = M.window_items(grid, m, n)
        self.shown_screen[screen] = True
        self._add("recall", M.recall(grid, rel, m, n))
        self._add("recall_page", M.recall(grid, rel))
        self._add("n2dcg", M.n2dcg(grid, rel, ctx.shape))
        self._add("hit_rate", M.first_screen_hit(grid, rel, m, n))
        self._add("genre_diversity", M.genre_diversity(screen, ctx.genres))
        self._add("calibration_kl", M.calibration_kl(screen, history, ctx.genres, ctx.alpha))
        self._add("novelty", M.novelty(screen, pop))
        self.curve += M.recall_curve(grid, rel, n=n, rows=ctx.shape[0])
        hits = M.credited_hits(grid, rel)
        r, c = np.nonzero(hits[: ctx.shape[0], : ctx.shape[1]])
        np.add.at(self.heat, (r, c), 1)
        for kind, count in zip(kinds, hits.sum(axis=1).tolist(), strict=True):  # M.row_kind_hits, reusing hits
            if count:
                self.kinds[kind] = self.kinds.get(kind, 0) + int(count)

    def result(self, displayable: np.ndarray) -> SelectorResult:
        mean = {k: (self.sums[k] / self.counts[k] if self.counts[k] else float("nan")) for k in self.sums}
        total_hits = sum(self.kinds.values())
        return SelectorResult(
            name=self.name,
            members=self.members,
            duplicates=int(self.duplicates),
            coverage=float((self.shown & displayable).sum() / max(int(displayable.sum()), 1)),
            coverage_screen=float((self.shown_screen & displayable).sum() / max(int(displayable.sum()), 1)),
            kind_share={k: v / total_hits for k, v in sorted(self.kinds.items())} if total_hits else {},
            curve=(self.curve / max(self.members, 1)).tolist(),
            heatmap=self.heat.tolist(),
            seconds=self.seconds,
            **mean,
        )


class Ctx:
    """What every page of one replay is scored against."""

    def __init__(self, window: tuple[int, int], shape: tuple[int, int], genres: np.ndarray, alpha: float) -> None:
        self.window, self.shape, self.genres, self.alpha = window, shape, genres, alpha
