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
from policies._constraint import ExactModel

from ._objective import NEAR, Placed, Problem, SelectContext, Selection, objective, prepare

__all__ = ["ExactConfig", "ExactSelector", "exact"]

_SCALE = 1_000_000


class ExactConfig(BaseModel):
    """Limits of the exact selector."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    time_limit: float = Field(10.0, gt=0.0, le=3600.0, description="Solver budget in CP-SAT deterministic seconds (about wall seconds); the wall clock stops it at 4x.")
    max_cells: int = Field(200_000, ge=1, le=10_000_000, description="Largest model accepted: (row index, candidate, title, column) variables.")


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
    """The page grid as a CP-SAT model (which candidate row at each row index, which of its titles in each
    column, in order), every constraint of the policy added to it (``Constraint.add_to``), the objective maximized."""
    policy = problem.policy
    n_pos, width = policy.n_rows, policy.row_length
    # the model holds the rows with their kind's minimum of titles or more (no other could stand: a smaller model, the same pages)
    least = [policy.min_titles_of(k) for k in problem.kinds]
    usable = [r for r in range(problem.n_rows) if problem.length[r] >= least[problem.kind[r]]]
    cells = sum(n_pos * int(problem.length[r]) * min(width, int(problem.length[r])) for r in usable)
    if cells > config.max_cells:
        raise PagegenError(f"exact selector: the page needs {cells} cell variables (> max_cells = {config.max_cells}); use it on small pages")
    m = cp_model.CpModel()
    u = {(p, r): m.new_bool_var(f"u{p}_{r}") for p in range(n_pos) for r in usable}
    x: dict[tuple[int, int, int, int], cp_model.IntVar] = {}
    terms: list[tuple[cp_model.IntVar, float]] = []
    filled = [sum(u[p, r] for r in usable) for p in range(n_pos)]
    for p in range(n_pos):  # at most one row at a row index, the rows at the top
        m.add(filled[p] <= 1)
        if p + 1 < n_pos:
            m.add(filled[p] >= filled[p + 1])
    for r in usable:
        for p in range(n_pos):
            ys = []  # y: entry j of row r shown at row index p, in one column; the entries shown keep their order
            for j in range(int(problem.length[r])):
                yv = m.new_bool_var(f"y{p}_{r}_{j}")
                m.add_implication(yv, u[p, r])
                xs = []
                for c in range(min(width, j + 1)):
                    xv = x[p, r, j, c] = m.new_bool_var(f"x{p}_{r}_{j}_{c}")
                    xs.append(xv)
                    val = problem.D[p, c] * problem.weight[r] * problem.Q[r, j]
                    if val > 0:
                        terms.append((xv, val))
                m.add(sum(xs) == yv)
                m.add(sum(c * xv for c, xv in enumerate(xs)) == sum(ys)).only_enforce_if(yv)
                ys.append(yv)
    model = ExactModel(model=m, candidates=problem, n_rows=n_pos, usable=usable, u=u, x=x, filled=filled, strict=strict_pins)
    for constraint in policy.constraints():
        constraint.add_to(model)
    # redundancy between rows: z >= u[p, r] + u[q, s] - 1 for p < q
    if policy.diversity > 0 and len(usable) > 1:
        idx = np.asarray(usable)
        unit = problem.unit
        for s in usable:
            red = problem.redundancy(s)[idx]
            for r, val in zip(usable, red, strict=True):
                if r == s or val <= 0:
                    continue
                for q in range(1, n_pos):
                    for p in range(q):
                        cost = policy.diversity * unit * problem.D[q, 0] * val * NEAR ** (q - p - 1)
                        z = m.new_bool_var(f"z{p}_{q}_{r}_{s}")
                        m.add(z >= u[p, r] + u[q, s] - 1)
                        terms.append((z, -cost))
    top = max((abs(v) for _, v in terms), default=1.0)
    scale = _SCALE / top if top > 0 else 1.0
    m.maximize(sum(int(round(v * scale)) * var for var, v in terms))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.random_seed = 0
    solver.parameters.max_deterministic_time = config.time_limit
    solver.parameters.max_time_in_seconds = 4 * config.time_limit
    status = solver.solve(m)
    name = solver.status_name(status)
    if status == cp_model.INFEASIBLE and strict_pins and policy.pins:
        raise _Infeasible(f"exact selector: no page found (solver status {name})")
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        raise PagegenError(f"exact selector: no page found (solver status {name})")
    placed: list[Placed] = []
    for p in range(n_pos):
        for r in usable:
            if solver.value(u[p, r]):
                cols = {c: j for (pp, rr, j, c), xv in x.items() if pp == p and rr == r and solver.value(xv)}
                placed.append(Placed(row=r, items=problem.M[r, [cols[c] for c in sorted(cols)]].astype(np.int32)))
    bound, value = solver.best_objective_bound, solver.objective_value
    gap = max(0.0, (bound - value) / max(abs(bound), 1e-9)) if status == cp_model.FEASIBLE else 0.0
    steps = tuple({"row": p, "key": problem.rows[pl.row].key, "gain": 0.0, "feasible": len(usable), "runner_up": None, "runner_up_gain": None} for p, pl in enumerate(placed))
    return Selection(rows=tuple(placed), objective=objective(problem, placed), steps=steps, status=name, gap=gap)
