"""The intent-coverage term of the page objective (``stage_wise_intent``).

A visit comes with one intent, drawn from the member's tastes, and the member enters a row by how
well its theme matches that intent. The engine's intents are the catalog's genres: a title carries ``a_g(i) = [i has genre g] / (genres of i)``; the member's intent mass
is ``pi = (sum_{i in history} a(i) + prior * mean_i a(i)) / norm`` (what the member played, known at
request time; a member without history gets the catalog's genre mix). A row's theme is the mean ``a``
of its first ``theme_titles`` eligible titles, ``m_g(r)``, and its entering probability under intent
``g`` is ``e_g(r) = clip(enter_floor + enter_gain * m_g(r), 0, 1)``. The intent mass not yet served
starts at ``S_g = 1`` and falls with every row placed, ``S_g *= 1 - satisfaction * e_g(r)``, and a row's
cells count by the unserved mass it reaches::

    cover_p(r) = sum_g pi_g * S_g(above p) * e_g(r)
    objective  = sum_p cover_p(r_p) * w_{r_p} * sum_c D_{p,c} * q_{r_p}(i_{p,c}) - (the redundancy penalty)

so a row on an intent the rows above already served is worth less than one on an intent still open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._arrays import frozen
from pagegen.core._catalog import Catalog, catalog_cached

from ._objective import NEAR, Placed, Problem

__all__ = ["Coverage", "IntentCover", "coverage_objective"]


class Coverage(BaseModel):
    """The intent-coverage term of the page objective (``stage_wise_intent``; see the module docstring).

    The defaults were chosen on one tuning world (the small synthetic world, seed 1) among 12 settings,
    by expected plays per visit and Recall@window against row_ranking (``pagegen.evaluate._intent_report``);
    reported figures come from other seeds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enter_floor: float = Field(0.0, ge=0.0, le=1.0, description="Entering probability of a row whose theme matches none of the intent.")
    enter_gain: float = Field(1.0, ge=0.0, le=1.0, description="Added to the entering probability by a row fully on the intent.")
    satisfaction: float = Field(1.0, ge=0.0, le=1.0, description="Share of an intent's unserved mass a row entered under it serves.")
    theme_titles: int = Field(5, ge=1, le=100, description="A row's first eligible titles that make its theme.")
    prior: float = Field(1.0, ge=0.0, le=1000.0, description="Titles' worth of the catalog's genre mix added to the member's history.")


def _loadings(catalog: Catalog) -> np.ndarray:
    """float64 (n_items, G): a_g(i), each title's genres sharing 1 (0 for a title without genres), once per catalog."""
    return catalog_cached(catalog, "genre_loadings", lambda: _shares(np.asarray(catalog.genres, dtype=np.float64)))


def _shares(g: np.ndarray) -> np.ndarray:
    return frozen(g / np.maximum(g.sum(axis=1, keepdims=True), 1.0))


@dataclass(eq=False)
class IntentCover:
    """The intent-coverage state of one request: the member's intent mass ``pi`` (G,), each candidate's
    entering probabilities ``enter`` (R, G) and the unserved mass ``unserved`` (G,) after ``served`` rows."""

    pi: np.ndarray
    enter: np.ndarray
    satisfaction: float
    unserved: np.ndarray
    served: int = 0

    @classmethod
    def of(cls, problem: Problem, config: Coverage) -> IntentCover:
        a = _loadings(problem.catalog)
        rank = problem.context.rank
        history = np.zeros(0, dtype=np.intp) if rank is None else np.asarray(rank.user.items, dtype=np.intp)
        mass = a[history].sum(axis=0) + config.prior * a.mean(axis=0)
        total = mass.sum()
        pi = mass / total if total > 0 else np.full(a.shape[1], 1.0 / max(a.shape[1], 1))
        head = problem.M[:, : config.theme_titles]
        filled = head >= 0
        match = (a[np.where(filled, head, 0)] * filled[..., None]).sum(axis=1) / np.maximum(filled.sum(axis=1), 1)[:, None]
        enter = np.clip(config.enter_floor + config.enter_gain * match, 0.0, 1.0)
        return cls(pi, enter, config.satisfaction, np.ones(a.shape[1]))

    def cover(self, placed: Sequence[Placed]) -> np.ndarray:
        """float64 (R,): cover_p(r) of every candidate below the rows ``placed`` (serves the new ones first)."""
        for pl in placed[self.served :]:
            self.unserved *= 1.0 - self.satisfaction * self.enter[pl.row]
        self.served = len(placed)
        return self.enter @ (self.pi * self.unserved)


def coverage_objective(problem: Problem, placed: Sequence[Placed], config: Coverage) -> float:
    """The page objective of ``placed`` with the intent-coverage term (see the module docstring)."""
    intents = IntentCover.of(problem, config)
    total = 0.0
    above: list[int] = []
    for p, pl in enumerate(placed):
        cover = float(intents.cover(placed[:p])[pl.row])
        items = np.asarray(pl.items, dtype=np.int32)
        cells = problem.weight[pl.row] * float(np.dot(problem.D[p, : len(items)], problem.values(pl.row, items)))
        near = NEAR ** np.arange(len(above) - 1, -1, -1, dtype=np.float64)
        penalty = float(near @ problem.redundancy(pl.row)[above]) if above else 0.0
        total += cover * cells - problem.policy.diversity * problem.unit * problem.D[p, 0] * penalty
        above.append(pl.row)
    return total
