"""Browsing with a session intent: a visit comes with one intent, and rows are read by their titles.

A member's tastes are a mixture (``Truth.taste``: a household, or one person's several moods). One
visit draws a single *intent* ``k`` from that mixture. The member goes down the page as in
:mod:`pagegen.learned._simulate` (the same leave-the-page and stop-the-row hazards) but, with row
reading on, *reads each row's title first* and enters the row with probability

    enter(r | k) = clip(enter_floor + enter_gain * match_k(r), 0, 1)

where ``match_k(r)`` is how much of intent ``k`` the row's first ``theme_titles`` titles carry (the
mean of their ``Truth.item_taste[:, k]``): what a row title such as "Dark Sci-Fi" tells the member.
A row not entered is skipped, and the member moves on. Inside an entered row the titles are scanned
left to right, and an examined title is played with ``play_scale x P(play | shown, intent k)``, the
truth's preference with the member's taste mixture replaced by the intent alone. The first play ends
the visit. Without row reading every reached row is entered (``enter = 1``), which is the plain
cascade of ``_simulate`` with the intent's preferences.

Expected plays per visit have a closed form: the cascade's per intent, weighted by the member's
taste mixture (:func:`expected_plays_with_intent`). Members with a single taste and no row reading
make a sanity setting where a well ranked single list should win or tie.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from ._simulate import BrowseConfig, expected_plays

__all__ = ["IntentConfig", "TasteTruth", "enter_probability", "expected_plays_with_intent", "intent_play_grids", "row_match"]


class IntentConfig(BaseModel):
    """How a visit's intent shapes browsing (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    read_rows: bool = Field(True, description="Rows are entered by how well their titles match the intent; False: every reached row is scanned.")
    enter_floor: float = Field(0.2, ge=0.0, le=1.0, description="Probability of entering a row whose theme does not match the intent at all.")
    enter_gain: float = Field(0.8, ge=0.0, le=1.0, description="Added to the entering probability by a row fully on the intent.")
    theme_titles: int = Field(5, ge=1, le=100, description="How many of a row's first titles make its theme (what its title says).")


class TasteTruth(Protocol):
    """The part of a synthetic world's ground truth the intent model reads (``pagegen.Truth``)."""

    taste: np.ndarray  # (n_members, K) mixture per member
    factor: np.ndarray  # (n_members, F)
    item_taste: np.ndarray  # (n_items, K)
    item_factor: np.ndarray  # (n_items, F)
    quality: np.ndarray  # (n_items,)
    intercept: float
    affinity: float


def intent_play_grids(truth: TasteTruth, member: int, grid: np.ndarray, browse: BrowseConfig) -> np.ndarray:
    """float64 (K, rows, cols): P(play | examined) of every cell under each intent (0 at empty cells)."""
    grid = np.asarray(grid)
    filled = grid >= 0
    items = np.where(filled, grid, 0)
    base = truth.intercept + truth.quality[items] + truth.item_factor[items] @ truth.factor[member]
    logit = base[None] + truth.affinity * np.moveaxis(truth.item_taste[items], -1, 0)
    prob = browse.play_scale / (1.0 + np.exp(-logit.astype(np.float64)))
    return np.where(filled[None], prob, 0.0)


def row_match(truth: TasteTruth, grid: np.ndarray, theme_titles: int) -> np.ndarray:
    """float64 (K, rows): how much of each intent a row's first ``theme_titles`` titles carry (0 for an empty row)."""
    head = np.asarray(grid)[:, :theme_titles]
    filled = head >= 0
    tastes = truth.item_taste[np.where(filled, head, 0)] * filled[..., None]
    counts = np.maximum(filled.sum(axis=1), 1)
    return (tastes.sum(axis=1) / counts[:, None]).T.astype(np.float64)


def enter_probability(match: np.ndarray, config: IntentConfig) -> np.ndarray:
    """The probability of entering each row under each intent, from ``row_match``."""
    if not config.read_rows:
        return np.ones_like(match)
    return np.clip(config.enter_floor + config.enter_gain * match, 0.0, 1.0)


def expected_plays_with_intent(truth: TasteTruth, member: int, grid: np.ndarray, browse: BrowseConfig, intent: IntentConfig) -> float:
    """Expected plays of one visit to the page ``grid`` (rows x cols, -1 empty): the cascade under each
    intent, weighted by the member's taste mixture."""
    grid = np.asarray(grid)
    if grid.size == 0:
        return 0.0
    weights = np.asarray(truth.taste[member], dtype=np.float64)
    weights = weights / weights.sum()
    prob = intent_play_grids(truth, member, grid, browse)
    enter = enter_probability(row_match(truth, grid, intent.theme_titles), intent)
    per_intent = expected_plays(np.broadcast_to(grid, prob.shape), prob, browse, enter=enter)
    return float(weights @ per_intent)
