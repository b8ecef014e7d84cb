"""The learned selector: the trained row scorer as the key of the page builder's greedy loop.

``learned_selector(scorer)`` runs ``pagegen.page._fill.greedy_fill`` (the loop stage_wise uses, with
the policy's dedup, caps, pins and row shape) and, at each row index, scores every feasible
candidate row by ``scorer`` on its :data:`pagegen.learned._learned.FEATURES` given the rows placed so far.
The "learned" entry of ``SELECTORS`` uses the scorer shipped in ``pagegen/learned``
(:data:`DEFAULT_SCORER`), trained deterministically on the synthetic world's simulated logs by
``python -m pagegen.evaluate._learned_report --size small --scorer pagegen/learned/learned_default.json``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from importlib import resources

import numpy as np

from pagegen.core._candidates import CandidateRow
from pagegen.core._errors import PagegenError
from pagegen.learned._learned import KINDS, LearnedScorer, Request, Scorer, StepConfig, row_features

from ._objective import prepare
from ._select import greedy_fill

__all__ = ["DEFAULT_SCORER", "default_learned_selector", "learned_key", "learned_selector"]


def learned_key(scorer: Scorer) -> Callable:
    """The key of the shared greedy loop (``pagegen.page._fill.greedy_fill``) that scores each candidate
    row by ``scorer`` on its :data:`FEATURES` at this row index; the loop enforces the policy.

    The features come from the request's RankContext (``problem.context.rank``: the member's
    affinity, history and ``now``), the rows placed so far and the titles each candidate would show.
    """

    def key(problem, p: int, state) -> np.ndarray:
        memo = state.cache
        if "request" not in memo:
            rank = problem.context.rank
            if rank is None:
                raise PagegenError("the learned selector needs the request's RankContext as ctx.rank (member affinity, history, now)")
            user, policy = rank.user, problem.policy
            memo["request"] = Request(user.user_index, user.user, user.now, 0, problem.rows, rank.affinity, len(user.items))
            memo["config"] = StepConfig(n_rows=policy.n_rows, n_cols=policy.row_length, min_titles=policy.min_titles, column_decay=policy.attention.column_decay)
            memo["kind"] = np.array([KINDS.index(k) if k in KINDS else len(KINDS) - 1 for k in problem.kinds], dtype=np.int64)[problem.kind]
            top = problem.row_score.max(initial=0.0)
            memo["weight"] = problem.row_score / top if top > 0 else np.ones(problem.n_rows)
        catalog, kind = problem.catalog, memo["kind"]
        new, pos = state.shown()
        new_q = np.where(pos >= 0, np.take_along_axis(problem.relative, np.maximum(pos, 0), axis=1), 0.0)
        head = problem.M[:, : new.shape[1]]
        head_ok = head >= 0
        overlap = (head_ok & state.used[np.maximum(head, 0)]).sum(axis=1) / np.maximum(head_ok.sum(axis=1), 1)
        placed_genres = np.zeros(len(catalog.genre_names))
        kind_counts = np.zeros(len(KINDS))
        for pl in state.placed:  # the rows above: at most n_rows
            placed_genres += catalog.genres[pl.items].sum(axis=0)
            kind_counts[kind[pl.row]] += 1
        x = row_features(catalog, memo["request"], memo["config"], p, new, new_q, overlap, kind, memo["weight"], placed_genres, kind_counts)
        return np.asarray(scorer(x), dtype=np.float64)

    return key


def learned_selector(scorer: Scorer) -> Callable:
    """A page selector ``(rows, policy, ctx) -> Selection`` that places rows greedily by ``scorer``
    inside the shared constrained loop (the policy's dedup, caps, pins and row shape hold as for
    stage_wise). It needs the request's RankContext on ``ctx.rank``, which ``Engine.build`` sets."""
    key = learned_key(scorer)

    def learned(rows: Sequence[CandidateRow], policy, ctx):
        if getattr(ctx, "rank", None) is None:
            raise PagegenError("the learned selector needs the request's RankContext as ctx.rank (member affinity, history, now)")
        return greedy_fill(prepare(rows, policy, ctx), key)

    return learned


#: The default scorer shipped with the package, trained by ``python -m pagegen.evaluate._learned_report --size small --scorer``.
DEFAULT_SCORER = "learned_default.json"


@functools.cache
def default_learned_selector() -> Callable:
    """The learned selector with the scorer shipped in ``pagegen/learned`` (loaded once per process)."""
    with resources.as_file(resources.files("pagegen.learned") / DEFAULT_SCORER) as path:
        return learned_selector(LearnedScorer.load(path))
