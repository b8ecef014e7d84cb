"""A browsing simulator: how a member reads a 2-D page, after carousel click models.

The member examines rows top-down and, within a row, titles left to right. After each
title the member may stop swiping (with a probability that grows with the column and jumps
when a swipe leaves the visible window); after each row the member may leave the page (with
a probability that grows with depth and jumps when scrolling past the first screen). An
examined title is played with ``play_scale`` times the ground-truth ``P(play | shown)``; the first
play ends the visit (cascade), so a page view yields at most one play.

Everything is vectorized over the grid: the cascade outcome is the first cell, in reading
order, where an examination coin and a play coin both come up, and the expected number of
plays has a closed form (:func:`expected_plays`) that is the ground truth for off-policy
evaluation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._errors import DataError

__all__ = ["BrowseConfig", "BrowseOutcome", "attention", "browse", "browse_rng", "expected_plays", "play_grid"]


class BrowseConfig(BaseModel):
    """How a simulated member browses. Defaults put most attention on the top-left screen."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    row_stop: float = Field(0.12, ge=0.0, le=1.0, description="Probability of leaving the page after finishing the first row.")
    row_stop_growth: float = Field(0.04, ge=0.0, le=1.0, description="Added to the leave probability for each further row down.")
    visible_rows: int = Field(3, ge=1, le=100, description="Rows on the first screen; leaving it costs `scroll_stop` more.")
    scroll_stop: float = Field(0.15, ge=0.0, le=1.0, description="Extra leave probability when scrolling past the first screen.")
    col_stop: float = Field(0.08, ge=0.0, le=1.0, description="Probability of stopping a row after its first title.")
    col_stop_growth: float = Field(0.03, ge=0.0, le=1.0, description="Added to the stop probability for each further title right.")
    visible_columns: int = Field(5, ge=1, le=100, description="Titles visible in a row without swiping; swiping past them costs `swipe_stop` more.")
    swipe_stop: float = Field(0.25, ge=0.0, le=1.0, description="Extra stop probability when swiping past the visible titles.")
    play_scale: float = Field(0.25, ge=0.0, le=1.0, description="P(play | examined) = play_scale x the truth's P(play | shown): a preference is over a whole exposure, one visit plays less.")


@dataclass(frozen=True)
class BrowseOutcome:
    """What one simulated visit did: the played cell (row, column, catalog index) or -1s."""

    row: int
    col: int
    item: int

    @property
    def played(self) -> bool:
        return self.item >= 0


def _hazards(config: BrowseConfig, n_rows: int, n_cols: int) -> tuple[np.ndarray, np.ndarray]:
    """Leave-the-page hazard after row r (n_rows,), stop-the-row hazard after column c (n_cols,)."""
    r = np.arange(n_rows, dtype=np.float64)
    row_h = config.row_stop + config.row_stop_growth * r + config.scroll_stop * (r + 1 >= config.visible_rows)
    c = np.arange(n_cols, dtype=np.float64)
    col_h = config.col_stop + config.col_stop_growth * c + config.swipe_stop * (c + 1 >= config.visible_columns)
    return np.clip(row_h, 0.0, 1.0), np.clip(col_h, 0.0, 1.0)


def attention(config: BrowseConfig, n_rows: int, n_cols: int) -> np.ndarray:
    """Probability that each cell is examined by a member who plays nothing (float64 (n_rows, n_cols))."""
    row_h, col_h = _hazards(config, n_rows, n_cols)
    reach_row = np.concatenate([[1.0], np.cumprod(1.0 - row_h)[:-1]])
    reach_col = np.concatenate([[1.0], np.cumprod(1.0 - col_h)[:-1]])
    return reach_row[:, None] * reach_col[None, :]


def _check_grid(grid: np.ndarray, prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    grid = np.asarray(grid)
    prob = np.asarray(prob, dtype=np.float64)
    if grid.ndim < 2 or grid.shape != prob.shape:
        raise DataError(f"grid {grid.shape} and play probabilities {prob.shape} must have the same (..., rows, cols) shape", field="prob")
    if not np.all(np.isfinite(prob)) or np.any((prob < 0) | (prob > 1)):
        raise DataError("play probabilities must be finite and within [0, 1]", field="prob")
    return grid, np.where(grid >= 0, prob, 0.0)


def play_grid(grid: np.ndarray, preference: Callable[[np.ndarray], np.ndarray], config: BrowseConfig | None = None) -> np.ndarray:
    """P(play | examined) of every cell of ``grid``: ``config.play_scale`` x the ground truth (0 for empty cells, -1).

    ``preference(items) -> probabilities`` is one member's ground truth, e.g.
    ``lambda items: world.truth.preference(u, items)``.
    """
    grid = np.asarray(grid)
    prob = np.zeros(grid.shape, dtype=np.float64)
    filled = grid >= 0
    if np.any(filled):
        prob[filled] = np.asarray(preference(grid[filled].astype(np.int32)), dtype=np.float64)
    return prob * (config or BrowseConfig()).play_scale


def expected_plays(grid: np.ndarray, prob: np.ndarray, config: BrowseConfig | None = None, *, per_row: bool = False, enter: np.ndarray | None = None) -> np.ndarray:
    """Exact expected plays of a page view under the browsing model (the ground truth).

    ``grid`` int (..., rows, cols) catalog indices (-1 empty), ``prob`` the matching
    P(play | examined). Returns float64 (...) or, with ``per_row``, (..., rows): the
    probability that the play lands in each row (they sum to the page's expected plays).
    ``enter`` (..., rows): the probability that a reached row is entered at all (default 1;
    a row not entered is skipped, as a member who reads its title and passes on).
    """
    config = config or BrowseConfig()
    grid, prob = _check_grid(grid, prob)
    n_rows, n_cols = grid.shape[-2:]
    row_h, col_h = _hazards(config, n_rows, n_cols)
    # within a row: reach column c without a play = prod_{c' < c} (1 - p_c') (1 - stop_c')
    go_on = (1.0 - prob) * (1.0 - col_h)
    reach_col = np.concatenate([np.ones(prob.shape[:-1] + (1,)), np.cumprod(go_on, axis=-1)[..., :-1]], axis=-1)
    row_play = np.sum(reach_col * prob, axis=-1)  # P(play in row r | row r reached)
    if enter is not None:
        row_play = row_play * enter
    next_row = (1.0 - row_play) * (1.0 - row_h)
    reach_row = np.concatenate([np.ones(row_play.shape[:-1] + (1,)), np.cumprod(next_row, axis=-1)[..., :-1]], axis=-1)
    out = reach_row * row_play
    return out if per_row else out.sum(axis=-1)


def browse_rng(seed: int, member: int, view: int) -> np.random.Generator:
    """The generator of one page view, derived from (seed, member index, view number).

    It does not depend on the page, so two selectors shown to the same member in the
    same view share their random numbers (common random numbers: paired comparisons).
    """
    return np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(member) & 0xFFFFFFFF, int(view) & 0xFFFFFFFF, 0x9A6E]))


def browse(grid: np.ndarray, prob: np.ndarray, rng: np.random.Generator, config: BrowseConfig | None = None) -> BrowseOutcome:
    """One simulated visit to a page (2-D ``grid``, matching ``prob``), sampled with ``rng``.

    All coins are drawn at once, in a fixed layout that depends only on the grid's shape;
    the outcome is the first examined cell, in reading order, whose play coin succeeds.
    """
    config = config or BrowseConfig()
    grid, prob = _check_grid(grid, prob)
    if grid.ndim != 2:
        raise DataError(f"browse takes one page (rows, cols), got shape {grid.shape}", field="grid")
    n_rows, n_cols = grid.shape
    if grid.size == 0:
        return BrowseOutcome(-1, -1, -1)
    row_h, col_h = _hazards(config, n_rows, n_cols)
    u = rng.random((3, n_rows, n_cols))
    # columns examined in each row: all stop coins before column c failed
    col_go = u[0] >= col_h[None, :]
    seen_col = np.concatenate([np.ones((n_rows, 1), bool), np.cumprod(col_go, axis=1)[:, :-1].astype(bool)], axis=1)
    row_go = u[1, :, 0] >= row_h
    seen_row = np.concatenate([[True], np.cumprod(row_go)[:-1].astype(bool)])
    hit = seen_row[:, None] & seen_col & (u[2] < prob)
    flat = np.flatnonzero(hit.ravel())
    if len(flat) == 0:
        return BrowseOutcome(-1, -1, -1)
    r, c = divmod(int(flat[0]), n_cols)
    return BrowseOutcome(r, c, int(grid[r, c]))
