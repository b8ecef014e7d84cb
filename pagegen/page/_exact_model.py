"""The CP-SAT model of the exact selector (``build``), tightened for speed without changing its optimum.

The page grid is the same as ever: ``u[p, r]`` (candidate r at row index p) and ``x[p, r, j, c]`` (entry j of
candidate r in column c of row index p), which the policy's constraints see through ``ExactModel``. What
changed is how a row's titles are chosen:

- **patterns**: a candidate row with few order-preserving subsets of its titles (at most ``max_patterns``)
  gets one boolean per subset and row index, whose value is computed here (the row's weight times the
  attention of each cell times each title's value). The row's ``x`` are sums of its patterns. Rows with
  more subsets keep the column formulation (each entry's column is the count of entries shown before it).
- **dominance**: when every constraint is a built-in one (none asks for more titles than the row's minimum), a
  pattern is dropped when removing one of its titles leaves a pattern worth as much: the page can use the
  smaller one and lose nothing (titles of value 0 are the common case; it also removes equal-value optima).
- **bounds**: given the value of a feasible page, a pattern (or a row at a row index) whose value plus the
  best other rows cannot reach it is fixed to 0 (``prune``).
- **redundancy**: the penalty of rows r above s is linearized with the reformulation-linearization
  inequalities (the row above s is one of the rows at p), not only ``z >= u + u - 1``, so the LP bound sees it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from math import comb

import numpy as np
from ortools.sat.python import cp_model

from policies._builtin import EligibleTitles, GenreSpanCap, KindCap, RowCount, RowLength, UniqueKeys
from policies._constraint import ExactModel
from policies._dedup import Dedup
from policies._pins import Pins

from ._objective import NEAR, Problem

__all__ = ["Grid", "add_redundancy", "build", "prune", "redundancy_costs"]

#: Constraints that never require a title to be shown beyond ``min_titles`` (what dominance needs).
_BUILT_IN = (Dedup, EligibleTitles, GenreSpanCap, KindCap, Pins, RowCount, RowLength, UniqueKeys)


@dataclass(eq=False)
class Grid:
    """The built model: ``view`` (what the constraints see), the objective's cell terms, the patterns and bounds.

    patterns  (p, r) -> list of (bool var, entries shown left to right, value)
    best      float64 (n_rows, R): an upper bound of each candidate's cell value at each row index (0: not in the model)
    """

    view: ExactModel
    terms: list[tuple[cp_model.IntVar, float]]
    patterns: dict[tuple[int, int], list[tuple[cp_model.IntVar, tuple[int, ...], float]]]
    best: np.ndarray
    cells: dict[tuple[int, int], list[tuple[int, int, cp_model.IntVar]]] = field(default_factory=dict)


def _subsets(problem: Problem, r: int, low: int, width: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Every order-preserving subset of candidate r's entries with ``low`` to ``width`` titles (int (n, k) per
    size k), and its cell value at every row index (float64 (n_rows, n) per size)."""
    length = int(problem.length[r])
    combos, values = [], []
    for k in range(low, min(width, length) + 1):
        C = np.asarray(list(combinations(range(length), k)), dtype=np.intp).reshape(-1, k)
        combos.append(C)
        values.append(problem.weight[r] * (problem.D[:, :k] @ problem.Q[r, C].T))
    return combos, values


def _undominated(combos: list[np.ndarray], values: list[np.ndarray]) -> list[np.ndarray]:
    """bool (n_rows, n) per size: the subsets no subset with one title less matches in value at that row index."""
    keep = [np.ones(v.shape, dtype=bool) for v in values]
    for k in range(1, len(combos)):
        C, lower = combos[k], combos[k - 1]
        index = {tuple(row): i for i, row in enumerate(lower.tolist())}
        for drop in range(C.shape[1]):
            sub = np.fromiter((index[tuple(s)] for s in np.delete(C, drop, axis=1).tolist()), dtype=np.intp, count=len(C))
            smaller = values[k - 1][:, sub]
            keep[k] &= smaller < values[k] - 1e-12 * np.maximum(np.abs(values[k]), 1.0)
    return keep


def _n_subsets(length: int, low: int, width: int) -> int:
    return sum(comb(length, k) for k in range(low, min(width, length) + 1))


def build(problem: Problem, usable: list[int], *, strict: bool, max_patterns: int) -> Grid:
    """The page grid as a CP-SAT model with every policy constraint added (``Constraint.add_to``); the
    objective's cell terms are returned, not set (see the module docstring)."""
    policy = problem.policy
    n_pos, width = policy.n_rows, policy.row_length
    m = cp_model.CpModel()
    u = {(p, r): m.new_bool_var(f"u{p}_{r}") for p in range(n_pos) for r in usable}
    filled = [sum(u[p, r] for r in usable) for p in range(n_pos)]
    for p in range(n_pos):  # at most one row at a row index, the rows at the top
        m.add(filled[p] <= 1)
        if p + 1 < n_pos:
            m.add(filled[p] >= filled[p + 1])
    dominance = all(isinstance(c, _BUILT_IN) for c in policy.constraints())
    grid = Grid(ExactModel(m, problem, n_pos, usable, u, {}, filled, strict), [], {}, np.zeros((n_pos, problem.n_rows)))
    for r in usable:
        low = max(policy.min_titles_of(problem.kinds[problem.kind[r]]), 1)  # the row's kind's minimum
        if _n_subsets(int(problem.length[r]), low, width) <= max_patterns:
            _add_patterns(grid, r, low, width, dominance)
        else:
            _add_columns(grid, r, width)
    for constraint in policy.constraints():
        constraint.add_to(grid.view)
    return grid


def _add_patterns(grid: Grid, r: int, low: int, width: int, dominance: bool) -> None:
    """Candidate r as one boolean per (row index, subset of its titles) kept; its ``x`` and ``u`` their sums."""
    view, m = grid.view, grid.view.model
    problem = view.candidates
    combos, values = _subsets(problem, r, low, width)
    keep = _undominated(combos, values) if dominance else [np.ones(v.shape, dtype=bool) for v in values]
    for p in range(view.n_rows):
        chosen, sums = [], {}
        for C, V, K in zip(combos, values, keep, strict=True):
            for i in np.flatnonzero(K[p]).tolist():
                var = m.new_bool_var(f"s{p}_{r}_{len(chosen)}")
                entries, value = tuple(C[i].tolist()), float(V[p, i])
                chosen.append((var, entries, value))
                if value > 0:
                    grid.terms.append((var, value))
                for c, j in enumerate(entries):
                    sums.setdefault((j, c), []).append(var)
        grid.patterns[p, r] = chosen
        grid.best[p, r] = max((v for _, _, v in chosen), default=0.0)
        m.add(sum(var for var, _, _ in chosen) == view.u[p, r])
        for (j, c), vs in sums.items():
            if len(vs) == 1:
                view.x[p, r, j, c] = vs[0]
            else:
                xv = view.x[p, r, j, c] = m.new_bool_var(f"x{p}_{r}_{j}_{c}")
                m.add(sum(vs) == xv)
            grid.cells.setdefault((p, r), []).append((j, c, view.x[p, r, j, c]))


def _add_columns(grid: Grid, r: int, width: int) -> None:
    """Candidate r in the column formulation: entry j shown (y) in one column, the count of entries shown before it."""
    view, m = grid.view, grid.view.model
    problem = view.candidates
    top = np.sort(problem.Q[r, : problem.length[r]])[::-1][:width]
    for p in range(view.n_rows):
        grid.best[p, r] = problem.weight[r] * float(problem.D[p, : len(top)] @ top)  # the values sorted: a bound
        ys = []
        for j in range(int(problem.length[r])):
            yv = m.new_bool_var(f"y{p}_{r}_{j}")
            m.add_implication(yv, view.u[p, r])
            xs = []
            for c in range(min(width, j + 1)):
                xv = view.x[p, r, j, c] = m.new_bool_var(f"x{p}_{r}_{j}_{c}")
                xs.append(xv)
                grid.cells.setdefault((p, r), []).append((j, c, xv))
                val = problem.D[p, c] * problem.weight[r] * problem.Q[r, j]
                if val > 0:
                    grid.terms.append((xv, val))
            m.add(sum(xs) == yv)
            m.add(sum(c * xv for c, xv in enumerate(xs)) == sum(ys)).only_enforce_if(yv)
            ys.append(yv)


def prune(grid: Grid, floor: float) -> int:
    """Fix to 0 every pattern (and row at a row index) whose value plus the best other rows stays below ``floor``,
    the value of a feasible page (penalties only lower a page's value, so this bound holds); returns how many."""
    best, m = grid.best, grid.view.model
    usable = grid.view.usable
    if not usable:
        return 0
    sub = best[:, usable]
    order = np.argsort(-sub, axis=1, kind="stable")
    rows = np.arange(len(sub))
    first = sub[rows, order[:, 0]]
    second = sub[rows, order[:, 1]] if sub.shape[1] > 1 else np.zeros(len(sub))
    # the best other candidate at each row index (the second best for the best one), summed over the other indices
    other = np.where(order[:, :1] == np.arange(sub.shape[1]), second[:, None], first[:, None])
    others = other.sum(axis=0) - other
    slack = floor - 1e-9 * max(abs(floor), 1.0)
    n = 0
    for p in range(grid.view.n_rows):
        for k, r in enumerate(usable):
            rest = float(others[p, k])
            if best[p, r] + rest < slack:
                m.add(grid.view.u[p, r] == 0)
                n += 1
                continue
            for var, _, value in grid.patterns.get((p, r), ()):
                if value + rest < slack:
                    m.add(var == 0)
                    n += 1
    return n


def redundancy_costs(grid: Grid, diversity: float) -> dict[tuple[int, int, int], np.ndarray]:
    """(p, q, s) -> float64 (R,): the penalty of candidate r at row index p above candidate s at q, for p < q
    (only where some penalty is positive)."""
    view = grid.view
    problem, usable = view.candidates, view.usable
    out: dict[tuple[int, int, int], np.ndarray] = {}
    if diversity <= 0 or len(usable) < 2:
        return out
    for s in usable:
        red = problem.redundancy(s).copy()
        red[s] = 0.0  # a row is not redundant with itself (it stands once: its key is unique)
        if not red[usable].any():
            continue
        for q in range(1, view.n_rows):
            for p in range(q):
                out[p, q, s] = diversity * problem.unit * problem.D[q, 0] * NEAR ** (q - p - 1) * red
    return out


def add_redundancy(grid: Grid, costs: dict[tuple[int, int, int], np.ndarray], scale: float) -> list[cp_model.IntVar]:
    """The penalties in objective units (``scale`` per unit of value, rounded as the cell values are): one
    integer t[p, q, s] >= sum_r cost_r u[p, r] - max_r cost_r (1 - u[q, s]) per pair of row indices and candidate
    (one row stands at p: t is the cost of that row when s stands at q, and 0 may do otherwise)."""
    view, m = grid.view, grid.view.model
    out = []
    for (p, q, s), cost in costs.items():
        coef = {r: int(round(cost[r] * scale)) for r in view.usable}
        coef = {r: c for r, c in coef.items() if c > 0}
        if not coef:
            continue
        big = max(coef.values())
        t = m.new_int_var(0, big, f"t{p}_{q}_{s}")
        m.add(t >= sum(c * view.u[p, r] for r, c in coef.items()) - big + big * view.u[q, s])
        out.append(t)
    return out
