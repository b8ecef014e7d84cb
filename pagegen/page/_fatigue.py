"""Impression fatigue: a title shown to the member again and again without a play moves down.

A title the member was shown at least ``k`` times in the last ``window_days`` days, each time
after their last play of it, is *fatigued*; its score in every candidate row (but the exempt row
kinds) is multiplied by ``(1 - strength) ** (1 + shown - k)`` (a negative score divided by it)
and the row is re-sorted, so the title moves right in its rows, and out of the first screen
when the demotion is strong. This is the one place the demotion applies: after the rankers,
before the selector, so every ranker, a custom one too, gets it. What was demoted is returned
for the trace.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._candidates import CandidateRow
from pagegen.core._catalog import Catalog, catalog_cached
from pagegen.core._errors import DataError
from pagegen.core._time import DAY
from pagegen.core._userstate import UserState
from rows._context import series_episodes

__all__ = ["FatigueConfig", "Fatigued", "demote_fatigued"]

#: The smallest score factor: a finite score stays finite when divided by it.
_MIN_FACTOR = 1e-6


class FatigueConfig(BaseModel):
    """When a title counts as fatigued for a member, and how far it moves down."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    k: int = Field(3, ge=1, le=1_000, description="Unplayed impressions of a title within the window from which it is demoted.")
    window_days: float = Field(14.0, gt=0.0, le=3_650.0, description="Only impressions in the last window_days days before now count.")
    strength: float = Field(0.5, ge=0.0, lt=1.0, description="A fatigued title's score factor is (1 - strength) ** (1 + impressions - k); 0: no demotion.")
    exempt: tuple[str, ...] = Field(("continue_watching",), description="Row kinds left in their ranker's order (a started title is not fatigued by being offered to resume).")


@dataclasses.dataclass(frozen=True)
class Fatigued:
    """A fatigued title of one request: catalog index, unplayed impressions in the window, score
    factor, and the candidate rows it was demoted in."""

    item: int
    impressions: int
    factor: float
    rows: int


def demote_fatigued(rows: Sequence[CandidateRow], state: UserState, catalog: Catalog, config: FatigueConfig | None) -> tuple[list[CandidateRow], list[Fatigued]]:
    """The candidate rows with the member's fatigued titles demoted, and what was demoted
    (titles ascending; a fatigued title in no candidate row is listed with ``rows=0``).
    ``config`` None: the rows unchanged."""
    rows = list(rows)
    if config is None or config.strength == 0.0 or not len(state.shown):
        return rows, []
    if int(state.shown.max()) >= catalog.n:
        raise DataError(f"an impression of a title outside the catalog ({catalog.n} titles)", field="shown", value=int(state.shown.max()))
    fold = catalog_cached(catalog, "fatigue_fold", lambda: np.where(series_episodes(catalog), catalog.series, np.arange(catalog.n)))
    titles, counts = state.unplayed_impressions(state.now - int(config.window_days * DAY), fold)
    hit = counts >= config.k
    titles, counts = titles[hit], counts[hit]
    if not len(titles):
        return rows, []
    factors = np.maximum((1.0 - config.strength) ** (1 + counts - config.k), _MIN_FACTOR)
    factor = np.ones(catalog.n)
    factor[titles] = factors
    demoted = np.zeros(catalog.n, np.int64)
    out = []
    for row in rows:
        f = factor[row.items]
        if row.kind in config.exempt or not (f < 1.0).any():
            out.append(row)
            continue
        demoted[row.items[f < 1.0]] += 1
        out.append(_demote(row, f))
    records = [Fatigued(int(t), int(c), float(f), int(demoted[t])) for t, c, f in zip(titles, counts, factors, strict=True)]
    return out, records


def _demote(row: CandidateRow, factor: np.ndarray) -> CandidateRow:
    """``row`` with its scores times ``factor`` (a negative one divided by it), re-sorted best first;
    at equal scores a demoted title comes after the others, else the ranker's order holds."""
    s = row.scores.astype(np.float64)
    scores = np.where(s >= 0, s * factor, s / factor)
    order = np.lexsort((np.arange(len(s)), factor < 1.0, -scores))
    reasons = None if row.reasons is None else tuple(row.reasons[i] for i in order)
    return dataclasses.replace(row, items=row.items[order], scores=scores[order].astype(np.float32), reasons=reasons)
