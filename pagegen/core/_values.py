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

from typing import Any

import numpy as np

from ._arrays import argtopk
from ._candidates import eligible_items

__all__ = ["DEPTH", "RANK_SCALE", "title_values"]

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
        cand = eligible_items(rank)
        value = np.zeros(len(rank.scores))
        value[cand] = _FLOOR  # past the first DEPTH * RANK_SCALE titles
        k = min(len(cand), int(DEPTH * RANK_SCALE))
        best = cand[argtopk(np.asarray(rank.scores)[cand], k)]  # ties to the lower title
        value[best] = np.exp(-np.arange(k) / RANK_SCALE)
        return value

    return rank.cached(("pagegen.title_values", RANK_SCALE), compute)


def _entry_values(rank: Any, M: np.ndarray, valid: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """float64 (R, Lmax): v of each entry of ``M`` (``title_values(rank)[M]``), 0 where not ``valid``
    (``M >= 0``: the pads). ``eligible``, the selection's mask, is not read: a title outside the
    member's eligibility is worth 0 anyway."""
    return np.where(valid, title_values(rank)[M], 0.0)
