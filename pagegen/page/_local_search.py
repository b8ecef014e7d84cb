"""Stage-wise with a local search after it (``stage_wise_ls``): moves of rows, each page refilled under the policy.

The greedy pass commits to one row at a time; a row it placed early may cost the rows below more than it
brings. The search starts from the stage-wise page and tries, at the top ``depth`` row indices:

- **swap**: two rows of the page exchange their places;
- **replace**: a row gives its place to a candidate not on the page;
- **insert**: a candidate not on the page enters at a row index, the rows below move down one (the last
  one leaves a full page).

The candidates tried are the ``candidates`` best ones by their value as the top row. Each move gives a
sequence of rows; the page is *refilled* by the greedy loop forced to take those rows in that order (each
row shows the titles the constraints still leave it, as in any greedy page), and the rows below the sequence
are chosen stage-wise. A move whose row cannot stand at its place under the constraints is dropped. Each pass
takes the best improving move (the first in the order above on ties); the search stops when no move
improves the page or after ``max_pages`` refilled pages, so its work is bounded and its result deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._candidates import CandidateRow
from policies._shape import resize

from ._fill import FillState, greedy_fill
from ._objective import Problem, SelectContext, Selection, objective, prepare
from ._select import stage_key

__all__ = ["LocalSearch", "LocalSearchConfig", "improve", "refill", "stage_wise_ls"]


class LocalSearchConfig(BaseModel):
    """The local search's reach and its bound on work."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    depth: int = Field(6, ge=1, le=100, description="Row indices the moves touch, from the top (where the attention is).")
    candidates: int = Field(8, ge=0, le=10_000, description="Candidates not on the page tried by replace and insert: the best by their value as the top row.")
    max_pages: int = Field(80, ge=0, le=1_000_000, description="Most pages refilled and scored in all (the bound on the search's work; 0: plain stage-wise).")


class LocalSearch:
    """A Selector: stage-wise, then the local search of the module docstring."""

    def __init__(self, config: LocalSearchConfig | None = None) -> None:
        self.config = config or LocalSearchConfig()

    def __call__(self, rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
        problem = prepare(rows, policy, ctx)
        return improve(problem, greedy_fill(problem, stage_key), self.config)


def stage_wise_ls(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
    """Stage-wise, then a bounded local search over swaps, replacements and insertions of rows."""
    return LocalSearch()(rows, policy, ctx)


def refill(problem: Problem, sequence: Sequence[int]) -> Selection | None:
    """The page whose first rows are ``sequence``, in order, each refilled under the policy's constraints, and
    whose other rows are chosen stage-wise; None when a row of ``sequence`` cannot stand at its place."""
    n = len(sequence)

    def key(_pr: Problem, p: int, state: FillState) -> np.ndarray:
        if p >= n:
            return state.gains
        forced = np.zeros(problem.n_rows)
        forced[sequence[p]] = 1.0  # taken when feasible; any other feasible candidate means it is not
        return forced

    selection = greedy_fill(problem, key)
    if [placed.row for placed in selection.rows[:n]] != list(sequence):
        return None
    return selection


@dataclass(frozen=True, eq=False)
class _Skip:
    """A rule of the search alone: candidate rows leave out the titles ``keep`` marks False (bool (R, Lmax))."""

    keep: np.ndarray
    name: str = "skip"

    def entries(self, loop) -> np.ndarray:
        return self.keep

    def rows(self, loop) -> None:
        return None


def _moves(page: list[int], pool: list[int], depth: int, n_rows: int) -> Iterator[list[int]]:
    """The sequences one move away from ``page`` (swap, replace, insert), in a fixed order."""
    top = min(depth, len(page))
    for a in range(top):
        for b in range(a + 1, top):
            moved = list(page)
            moved[a], moved[b] = moved[b], moved[a]
            yield moved
    for p in range(top):
        for r in pool:
            yield page[:p] + [r] + page[p + 1 :]
    for p in range(min(depth, len(page) + 1)):
        for r in pool:
            yield (page[:p] + [r] + page[p:])[:n_rows]


def _skips(problem: Problem, page: Selection, depth: int) -> Iterator[tuple[int, int]]:
    """(candidate, entry) of each title shown in the top ``depth`` rows of ``page``: the titles a row may leave out."""
    for placed in page.rows[:depth]:
        for item in placed.items.tolist():
            yield placed.row, int(np.flatnonzero(problem.M[placed.row] == item)[0])


def _top(problem: Problem, n: int) -> Problem:
    """``problem`` on a page of its first ``n`` rows (the policy cut with ``policies.resize``): where moves are scored."""
    if n >= problem.policy.n_rows:
        return problem
    return replace(problem, policy=resize(problem.policy, n, problem.policy.row_length), D=problem.D[:n])


def _without(problem: Problem, skip: frozenset[tuple[int, int]]) -> Problem:
    """``problem`` whose candidate rows leave out the entries ``skip`` (a rule added to its policy)."""
    if not skip:
        return problem
    keep = np.ones(problem.M.shape, dtype=bool)
    keep[tuple(np.asarray(sorted(skip)).T)] = False
    return replace(problem, policy=problem.policy.model_copy(update={"rules": (*problem.policy.rules, _Skip(keep))}))


def improve(problem: Problem, start: Selection, config: LocalSearchConfig) -> Selection:
    """The local search of the module docstring from the page ``start``.

    Moves are scored on the top ``depth + 1`` rows of the page (a move changes nothing above its row index,
    and the rows far below count little); the best one is then refilled on the whole page and taken only when
    the whole page's objective improves."""
    best, budget, skip = start, config.max_pages, frozenset()
    top = _top(problem, config.depth + 1)
    n = top.policy.n_rows
    by_alone = np.argsort(-problem.alone, kind="stable").tolist()
    while budget > 0:
        page = [placed.row for placed in best.rows]
        pool = [r for r in by_alone if r not in set(page)][: config.candidates]
        scored = refill(_without(top, skip), page[:n]) if top is not problem else best
        bar = scored.objective if scored is not None else -np.inf
        rows = [(moved, skip) for moved in _moves(page[:n], pool, config.depth, n)]
        titles = [(page[:n], skip | {s}) for s in _skips(problem, best, config.depth)]
        found = None
        for moves in (rows, titles):  # titles left out only when no move of rows improves the page
            for moved, left_out in moves[:budget]:
                budget -= 1
                selection = refill(_without(top, left_out), moved)
                if selection is not None and selection.objective > bar + 1e-12 * max(1.0, abs(bar)):
                    found, bar = (moved, left_out), selection.objective
            if found is not None:
                break
        if found is None:
            break
        whole = refill(_without(problem, found[1]), found[0])
        if whole is None or whole.objective <= best.objective + 1e-12 * max(1.0, abs(best.objective)):
            break
        best, skip = whole, found[1]
    return best if best is start else _traced(problem, best)


def _traced(problem: Problem, selection: Selection) -> Selection:
    """``selection`` with each step's gain the row's marginal objective (the forced key's is not), no runner-up."""
    values = [objective(problem, selection.rows[:k]) for k in range(len(selection.rows) + 1)]
    steps = tuple({**step, "gain": values[p + 1] - values[p], "runner_up": None, "runner_up_gain": None} for p, step in enumerate(selection.steps))
    return Selection(rows=selection.rows, objective=selection.objective, steps=steps)
