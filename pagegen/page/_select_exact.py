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
    policy = problem.policy
    n_pos, width = policy.n_rows, policy.row_length
    window = policy.window(problem.device)
    usable = [r for r in range(problem.n_rows) if problem.length[r] >= policy.min_titles and policy.kind_cap(problem.rows[r].kind) > 0]
    cells = sum(n_pos * int(problem.length[r]) * min(width, int(problem.length[r])) for r in usable)
    if cells > config.max_cells:
        raise PagegenError(f"exact selector: the page needs {cells} cell variables (> max_cells = {config.max_cells}); use it on small pages")
    m = cp_model.CpModel()
    u = {(p, r): m.new_bool_var(f"u{p}_{r}") for p in range(n_pos) for r in usable}
    y: dict[tuple[int, int, int], cp_model.IntVar] = {}
    x: dict[tuple[int, int, int, int], cp_model.IntVar] = {}
    terms: list[tuple[cp_model.IntVar, float]] = []
    filled = [sum(u[p, r] for r in usable) for p in range(n_pos)]
    for p in range(n_pos):
        m.add(filled[p] <= 1)
        if p + 1 < n_pos:
            m.add(filled[p] >= filled[p + 1])
    for r in usable:
        m.add(sum(u[p, r] for p in range(n_pos)) <= 1)
        for p in range(n_pos):
            ys = []
            for j in range(int(problem.length[r])):
                yv = y[p, r, j] = m.new_bool_var(f"y{p}_{r}_{j}")
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
            m.add(sum(ys) >= policy.min_titles * u[p, r])
            m.add(sum(ys) <= width * u[p, r])
    # dedup within the scope
    per_title: dict[int, list] = {}
    for (p, r, j, c), xv in x.items():
        if policy.dedup == "page" or (p < window.rows and c < window.columns):
            per_title.setdefault(int(problem.M[r, j]), []).append(xv)
    for vars_ in per_title.values():
        if len(vars_) > policy.max_appearances:
            m.add(sum(vars_) <= policy.max_appearances)
    # caps per kind, genre caps over consecutive rows
    for k, kind in enumerate(problem.kinds):
        of_kind = [r for r in usable if problem.kind[r] == k]
        if of_kind and policy.kind_cap(kind) < n_pos:
            m.add(sum(u[p, r] for p in range(n_pos) for r in of_kind) <= policy.kind_cap(kind))
    if policy.genre_cap is not None:
        span = policy.genre_cap.span
        for g in range(len(problem.genre_names)):
            with_g = [r for r in usable if problem.declared[r, g]]
            if len(with_g) > policy.genre_cap.max_rows:
                for s in range(max(1, n_pos - span + 1)):
                    m.add(sum(u[p, r] for p in range(s, min(s + span, n_pos)) for r in with_g) <= policy.genre_cap.max_rows)
    # pins: the kind only at its rows (an `at` pin may be the last row of a shorter page); active pins hold
    for pin in policy.pins:
        if pin.kind not in problem.kinds:
            continue
        of_kind = [r for r in usable if problem.kind[r] == problem.kinds.index(pin.kind)]
        allowed = set(pin.positions(n_pos))
        for r in of_kind:
            for p in range(n_pos):
                if p in allowed:
                    continue
                if pin.at is not None and p < pin.at and p + 1 < n_pos:
                    m.add(u[p, r] + filled[p + 1] <= 1)
                else:
                    m.add(u[p, r] == 0)
        if of_kind and (strict_pins or pin.when == "in_progress"):
            m.add(sum(u[p, r] for p in range(n_pos) for r in of_kind) >= 1)
    # redundancy between rows: z >= u[p, r] + u[q, s] - 1 for p < q
    if policy.diversity > 0 and len(usable) > 1:
        idx = np.asarray(usable)
        unit = problem.unit
        for s in usable:
            red = problem.redundancy(idx, s)
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
