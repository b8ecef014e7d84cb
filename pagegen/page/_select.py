"""Page selectors: template, row_ranking, stage_wise (and exact, in _select_exact), one interface.

A selector is a callable ``(rows, policy, ctx) -> Selection``. The three greedy selectors here share one
top-to-bottom loop (``pagegen.page._fill.greedy_fill``), which enforces the policy's constraints; each
gives it a key: the preference of every candidate row at a row index, given what is placed above.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Protocol

import numpy as np

from pagegen.core._candidates import CandidateRow

from ._coverage import Coverage, IntentCover
from ._fill import FillState, Key, greedy_fill
from ._objective import Problem, SelectContext, Selection, prepare

__all__ = ["FillState", "Key", "Selector", "coverage_key", "greedy_fill", "row_ranking", "stage_key", "stage_wise", "stage_wise_intent", "stage_wise_intent_selector", "template"]


class Selector(Protocol):
    """Candidate rows + policy + context -> selection. A plain function qualifies."""

    def __call__(self, rows: Sequence[CandidateRow], policy, ctx: SelectContext, /) -> Selection: ...


def stage_key(problem: Problem, p: int, state: FillState) -> np.ndarray:
    """Marginal gain of each candidate at row index p: its refilled cells minus redundancy with rows above."""
    return state.gains


def stage_wise(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
    """Choose each next row by its marginal objective gain given the rows and titles already placed."""
    return greedy_fill(prepare(rows, policy, ctx), stage_key)


def coverage_key(config: Coverage) -> Key:
    """The key of stage-wise with the intent-coverage term: each candidate's marginal gain with its cells
    counted by the member's intent mass it reaches that the rows above have not served
    (``cover_p(r) * w_r * refilled_r - penalty_r``; ``pagegen.page._objective``)."""

    def key(problem: Problem, p: int, state: FillState) -> np.ndarray:
        if "intents" not in state.cache:
            state.cache["intents"] = IntentCover.of(problem, config)
        cover = state.cache["intents"].cover(state.placed)
        return state.gains + (cover - 1.0) * problem.weight * state.refilled_value

    return key


def stage_wise_intent_selector(config: Coverage) -> Selector:
    """A stage-wise selector whose rows are valued by the intent mass not yet served (``coverage_key``)."""
    key = coverage_key(config)

    def stage_wise_intent(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
        selection = greedy_fill(prepare(rows, policy, ctx), key)
        # the keys are the marginal gains of the objective with the coverage term: their sum is its value
        return replace(selection, objective=math.fsum(step["gain"] for step in selection.steps))

    return stage_wise_intent


#: Stage-wise with the intent-coverage term, at the default ``Coverage``.
stage_wise_intent = stage_wise_intent_selector(Coverage())


def row_ranking(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
    """Score each candidate row on its own (its value as the top row), sort, deduplicate in that order."""
    problem = prepare(rows, policy, ctx)
    alone = problem.alone
    return greedy_fill(problem, lambda _pr, _p, _s: alone)


def template(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
    """A fixed order of row kinds (``policy.template``), the same for everyone; within a kind, by row score.

    At row index p the wanted kind is ``template[p]``; when no row of it fits, a row of a kind
    that appears in the template comes first, then any other.
    """
    problem = prepare(rows, policy, ctx)
    n_cand = problem.n_rows
    by_score = np.empty(n_cand, dtype=np.float64)
    by_score[np.lexsort((-np.arange(n_cand), problem.row_score))] = np.arange(n_cand)
    listed = np.isin(np.asarray(problem.kinds, dtype=object)[problem.kind], list(policy.template)) if n_cand else np.zeros(0, bool)
    # the code of each row index's wanted kind (-1: none, or no candidate row of it): integer compares in the loop
    wanted_code = [problem.kinds.index(k) if k in problem.kinds else -1 for k in policy.template]

    keys: dict[int, np.ndarray] = {}  # by wanted kind code: a template repeats kinds

    def key(_pr: Problem, p: int, _s: FillState) -> np.ndarray:
        code = wanted_code[p] if p < len(wanted_code) else -1
        if code not in keys:
            keys[code] = (2.0 * (problem.kind == code) + listed) * (n_cand + 1) + by_score
        return keys[code]

    return greedy_fill(problem, key)
