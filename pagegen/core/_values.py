"""The member's title values: how much showing each title to the request's member is worth.

``v(i) = exp(-rank(i) / RANK_SCALE)``, where ``rank(i)`` is the title's 0-based position among the
eligible titles ordered by the personalized video ranker (``RankContext.scores``, ties by index): 1 for
the member's best title, e^-1 fifty titles down (a play probability up to a constant; scale-free,
unlike the raw scores). The member's DEPTH * RANK_SCALE best titles are ranked exactly; every other
eligible title is worth the floor exp(-DEPTH), an ineligible one 0. Computed once per request and
kept in the RankContext; the page objective (``pagegen.page._objective``) uses them as the titles'
values ``q_r(i)`` when the request has a RankContext.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ._arrays import argtopk, frozen
from ._candidates import eligible_items

__all__ = ["DEPTH", "RANK_SCALE", "ranked_titles", "title_values"]

#: A title's value falls by e with every RANK_SCALE titles ranked above it for the member (see the module docstring).
RANK_SCALE = 50.0
#: Titles ranked past DEPTH * RANK_SCALE share the floor value exp(-DEPTH).
DEPTH = 20.0
#: v of the titles ranked past DEPTH * RANK_SCALE.
_FLOOR = float(np.exp(-DEPTH))


def title_values(rank: Any) -> np.ndarray:
    """v(i), float64 (n_items,) in [0, 1]: the value of showing each title to the request's member
    (see the module docstring), computed once per request and kept in the RankContext."""

    def compute() -> np.ndarray:
        value = np.zeros(len(rank.scores))
        value[eligible_items(rank)] = _FLOOR  # past the first DEPTH * RANK_SCALE titles
        titles, top = _top_values(rank)
        value[titles] = top
        return value

    return rank.cached(("pagegen.title_values", RANK_SCALE), compute)


def _top_values(rank: Any) -> tuple[np.ndarray, np.ndarray]:
    """The member's DEPTH * RANK_SCALE best eligible titles (fewer when fewer are eligible), ascending,
    and their values v (read-only; once per request, kept in the RankContext): every other eligible
    title is worth the floor exp(-DEPTH), an ineligible one 0."""
    titles, value, _ = _ranking(rank)
    return titles, value


def ranked_titles(rank: Any) -> tuple[np.ndarray, float]:
    """The member's DEPTH * RANK_SCALE best eligible titles (``_top_values``' titles), best first (by
    ``rank.scores``, ties to the lower title; int64, read-only), and a bound: every eligible title left
    out scores at most it (the last title's score; -inf when no title is left out).

    Once per request, kept in the RankContext: a ranker taking a row's best titles from it (the first
    ones of its own titles, when the last of them scores above the bound) shares the sort with the
    selection's title values."""

    def compute() -> tuple[np.ndarray, float]:
        titles, _, order = _ranking(rank)
        ranked = frozen(titles[order])
        complete = len(ranked) == len(eligible_items(rank))
        return ranked, -math.inf if complete or not len(ranked) else float(rank.scores[ranked[-1]])

    return rank.cached(("pagegen.ranked_titles", DEPTH * RANK_SCALE), compute)


def _ranking(rank: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``_ranked`` of the member's eligible titles at depth DEPTH * RANK_SCALE (read-only, once per request)."""

    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        cand = eligible_items(rank)
        k = min(len(cand), int(DEPTH * RANK_SCALE))
        titles, value, order = _ranked(np.asarray(rank.scores), cand, k)
        return frozen(titles), frozen(value), frozen(order)

    return rank.cached(("pagegen.ranking", DEPTH * RANK_SCALE), compute)


def _entry_values(rank: Any, M: np.ndarray, valid: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """float64 (R, Lmax): v of each entry of ``M`` (``title_values(rank)[M]``), 0 where not ``valid``
    (``M >= 0``: the pads). ``eligible``, the selection's mask, is not read: a title outside the
    member's eligibility is worth 0 anyway."""
    return np.where(valid, title_values(rank)[M], 0.0)


@functools.lru_cache(maxsize=8)
def _decay(k: int) -> np.ndarray:
    """exp(-arange(k) / RANK_SCALE), read-only: the values of the first k ranked titles."""
    return frozen(np.exp(-np.arange(k) / RANK_SCALE))


def _ranked(s: np.ndarray, cand: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k best of the titles ``cand`` (ascending) by score ``s``, in ascending order, the value
    ``exp(-i / RANK_SCALE)`` of each from its 0-based rank i among them (ties to the lower title),
    and their positions in rank order (``titles[order]``: best first)."""
    ranked = cand[argtopk(s[cand], k)]
    asc = ranked.argsort()  # distinct titles
    order = np.empty(k, np.intp)
    order[asc] = np.arange(k)  # ranked[i] = ranked[asc][order[i]]
    return ranked[asc], _decay(k)[asc], order
