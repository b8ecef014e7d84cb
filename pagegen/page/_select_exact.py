"""The exact selector: OR-Tools CP-SAT maximizes the page objective under the policy's hard constraints.

Practical for small pages (a few rows and short candidate rows); in tests it is the oracle that no
greedy selector can beat. The model is a superset of what the greedy selectors build: each
candidate row may show any order-preserving subset of its eligible titles (a refilled row is
one), so the optimum is never below theirs. Coefficients are the objective's terms scaled to
integers (``1e6`` for the largest), and the solver runs single-threaded with a deterministic
time budget, so the same inputs give the same page.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ortools.sat.python import cp_model
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._candidates import CandidateRow
from pagegen.core._errors import PagegenError

from ._exact_model import Grid, add_redundancy, build, prune, redundancy_costs
from ._fill import greedy_fill
from ._objective import Placed, Problem, SelectContext, Selection, objective, prepare
from ._select import stage_key

__all__ = ["ExactConfig", "ExactSelector", "exact"]

_SCALE = 1_000_000


class ExactConfig(BaseModel):
    """Limits of the exact selector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_limit: float = Field(10.0, gt=0.0, le=3600.0, description="Solver budget in CP-SAT deterministic seconds (about wall seconds); the wall clock stops it at 4x.")
    max_cells: int = Field(200_000, ge=1, le=10_000_000, description="Largest model accepted: (row index, candidate, title, column) variables.")
    max_patterns: int = Field(
        5_000, ge=0, le=1_000_000, description="A candidate row with at most this many subsets of its titles gets one variable per subset (its values computed once); beyond, one per title and column."
    )
    hint: bool = Field(True, description="Start from the stage-wise page's rows with their best titles (a hint, and the floor that prunes).")
    prune: bool = Field(True, description="Fix to 0 the rows and title subsets whose best value cannot reach the hint's page.")


class ExactSelector:
    """A Selector solving the page exactly (see the module docstring)."""

    def __init__(self, config: ExactConfig | None = None) -> None:
        self.config = config or ExactConfig()

    def __call__(self, rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
        problem = prepare(rows, policy, ctx)
        try:
            return _solve(problem, self.config)
        except _Infeasible:
            # Pins that cannot all hold (e.g. dedup leaves a pinned row too few titles): as the greedy
            # selectors do, an 'available' pin then gives way; 'in_progress' pins, which check() requires, still hold.
            return _solve(problem, self.config, strict_pins=False)


def exact(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
    """The exact selector with the default ExactConfig."""
    return ExactSelector()(rows, policy, ctx)


class _Infeasible(PagegenError):
    pass


def _solve(problem: Problem, config: ExactConfig, *, strict_pins: bool = True) -> Selection:
    """The page grid as a CP-SAT model (``_exact_model.build``: which candidate row at each row index, which of
    its titles in each column, in order), every constraint of the policy added to it (``Constraint.add_to``),
    the objective maximized from the greedy page's best title choice (a hint and a floor for the bounds)."""
    policy = problem.policy
    n_pos, width = policy.n_rows, policy.row_length
    # the model holds the rows with their kind's minimum of titles or more (no other could stand: a smaller model, the same pages)
    least = [policy.min_titles_of(k) for k in problem.kinds]
    usable = [r for r in range(problem.n_rows) if problem.length[r] >= least[problem.kind[r]]]
    cells = sum(n_pos * int(problem.length[r]) * min(width, int(problem.length[r])) for r in usable)
    if cells > config.max_cells:
        raise PagegenError(f"exact selector: the page needs {cells} cell variables (> max_cells = {config.max_cells}); use it on small pages")
    grid = build(problem, usable, strict=strict_pins, max_patterns=config.max_patterns)
    m = grid.view.model
    incumbent = _incumbent(problem, grid, config) if config.hint else None
    if incumbent is not None and config.prune:
        prune(grid, objective(problem, incumbent))
    costs = redundancy_costs(grid, policy.diversity)
    top = max([v for _, v in grid.terms] + [float(c.max()) for c in costs.values()], default=1.0)
    scale = _SCALE / top if top > 0 else 1.0
    m.maximize(sum(int(round(v * scale)) * var for var, v in grid.terms) - sum(add_redundancy(grid, costs, scale)))
    if incumbent is not None:
        _hint(grid, incumbent)
    solver = _solver(config.time_limit)
    status = solver.solve(m)
    name = solver.status_name(status)
    if status == cp_model.INFEASIBLE and strict_pins and policy.pins:
        raise _Infeasible(f"exact selector: no page found (solver status {name})")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise PagegenError(f"exact selector: no page found (solver status {name})")
    placed = _placed(grid, solver)
    bound, value = solver.best_objective_bound, solver.objective_value
    gap = max(0.0, (bound - value) / max(abs(bound), 1e-9)) if status == cp_model.FEASIBLE else 0.0
    steps = tuple({"row": p, "key": problem.rows[pl.row].key, "gain": 0.0, "feasible": len(usable), "runner_up": None, "runner_up_gain": None} for p, pl in enumerate(placed))
    return Selection(rows=tuple(placed), objective=objective(problem, placed), steps=steps, status=name, gap=gap)


def _solver(time_limit: float) -> cp_model.CpSolver:
    """One worker, a fixed seed and a deterministic time budget: the same inputs give the same page."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = time_limit
    solver.parameters.max_time_in_seconds = 4 * time_limit
    # the LP with every constraint from the start (the bound is what proves these models optimal), no probing
    solver.parameters.linearization_level = 2
    solver.parameters.add_lp_constraints_lazily = False
    solver.parameters.cp_model_probing_level = 0
    return solver


def _placed(grid: Grid, solver: cp_model.CpSolver) -> list[Placed]:
    """The rows of the solver's page, top to bottom, each with its titles in column order."""
    view = grid.view
    placed = []
    for p in range(view.n_rows):
        for r in view.usable:
            if solver.value(view.u[p, r]):
                cols = {c: j for j, c, xv in grid.cells.get((p, r), ()) if solver.value(xv)}
                placed.append(Placed(row=r, items=view.candidates.M[r, [cols[c] for c in sorted(cols)]].astype(np.int32)))
    return placed


def _incumbent(problem: Problem, grid: Grid, config: ExactConfig) -> list[Placed] | None:
    """The stage-wise page's rows at their row indices with the best titles the model allows them (solved with
    those rows assumed, the cell values as objective); None when the model does not allow these rows."""
    view, m = grid.view, grid.view.model
    rows = [pl.row for pl in greedy_fill(problem, stage_key).rows]
    if any(r not in view.usable for r in rows):
        return None
    top = max((v for _, v in grid.terms), default=1.0)
    m.maximize(sum(int(round(v * _SCALE / top)) * var for var, v in grid.terms))
    m.add_assumptions([view.u[p, r] for p, r in enumerate(rows)])
    m.add_assumptions([view.u[p, r].Not() for p in range(len(rows), view.n_rows) for r in view.usable])
    solver = _solver(min(1.0, config.time_limit))
    status = solver.solve(m)
    m.clear_assumptions()
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return _placed(grid, solver)


def _hint(grid: Grid, page: list[Placed]) -> None:
    """The incumbent page as the solver's starting point (its patterns and rows; the others 0)."""
    view, m = grid.view, grid.view.model
    at = {(p, pl.row): tuple(pl.items.tolist()) for p, pl in enumerate(page)}
    M = view.candidates.M
    for (p, r), u in view.u.items():
        m.add_hint(u, (p, r) in at)
    for (p, r), patterns in grid.patterns.items():
        for var, entries, _ in patterns:
            m.add_hint(var, at.get((p, r)) == tuple(M[r, list(entries)].tolist()))
