"""The greedy loop shared by the template, row_ranking, stage_wise and learned selectors (``greedy_fill``).

At each row index, top to bottom, every candidate row is *refilled* with the titles it may still show
(its eligible titles in its ranker's order, minus what the policy's constraints withhold: titles used
up within the dedup scope, titles kept for pending pinned rows), the constraints say which candidates
may stand there, and the selector's key picks the best of those. Everything is vectorized over all
candidates at once (a rows x positions matrix); the loop itself knows no rule: each comes from one
constraint of ``policy.constraints()`` (``policies.Constraint``).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from policies._constraint import Constraint, Loop, RowMask

from ._objective import NEAR, Placed, Problem, Selection

__all__ = ["FillState", "Key", "greedy_fill"]


class FillState:
    """What a selector's key sees at row index p (only the loop mutates it; every value is computed on read).

    placed          the rows placed so far, top to bottom
    rank            int (R, Lmax): 1-based rank of each entry among its candidate's refilled titles, 0: not
                    refilled (a rank past ``row_length`` is not shown)
    refilled_value  float64 (R,): sum_c D_pc q over each candidate's refilled titles at row index p
    redundancy      float64 (R,): sum of NEAR**distance * red(r, s) over the rows s placed above
    gains           float64 (R,): each candidate's marginal gain of the page objective at row index p
    used            bool (n_items,): titles on the page so far
    cache           per-request values a key computes once (e.g. from ``problem.context.rank``)
    """

    def __init__(self, problem: Problem) -> None:
        self.placed: list[Placed] = []
        self.cache: dict = {}
        self._problem = problem
        self._p = 0
        self._valid = np.zeros(problem.M.shape, dtype=bool)
        self._redundancy = np.zeros(problem.n_rows)
        self._red_rows = 0  # the rows placed that ``_redundancy`` counts
        self._used = np.zeros(problem.catalog.n, dtype=bool)
        self._used_rows = 0  # the rows placed that ``_used`` holds
        self._read: dict[str, np.ndarray] = {}  # this row index's values, computed on first read
        self._by_rank: np.ndarray | None = None
        self._scale: list[float] | None = None
        self._running = np.zeros(problem.M.shape, dtype=np.intp)

    def _at(self, p: int, valid: np.ndarray, running: np.ndarray) -> None:
        """Row index p begins; ``valid``: bool (R, Lmax), the entries each candidate may show; ``running``:
        their running count along each row (intp)."""
        self._p, self._valid, self._running = p, valid, running
        self._read.clear()

    @property
    def rank(self) -> np.ndarray:
        if "rank" not in self._read:
            self._read["rank"] = self._running * self._valid
        return self._read["rank"]

    def _attention(self) -> np.ndarray:
        """float64 (Lmax + 1,): D_pc at 1-based rank c + 1 among the refilled titles, 0 at rank 0 and past the row's end."""
        if self._by_rank is None:  # every row index's, once per request
            D, lmax = self._problem.D, self._problem.M.shape[1]
            self._by_rank = np.zeros((D.shape[0], lmax + 1))
            cols = min(D.shape[1], lmax)
            self._by_rank[:, 1 : cols + 1] = D[:, :cols]
        return self._by_rank[self._p]

    @property
    def refilled_value(self) -> np.ndarray:
        if "refilled" not in self._read:  # Q is 0 at pads and the attention 0 at rank 0: the products of the refilled entries
            self._read["refilled"] = np.einsum("ij,ij->i", self._problem.Q, self._attention().take(self.rank))
        return self._read["refilled"]

    @property
    def redundancy(self) -> np.ndarray:
        while self._red_rows < len(self.placed):
            self._redundancy = NEAR * self._redundancy + self._problem.redundancy(self.placed[self._red_rows].row)
            self._red_rows += 1
        return self._redundancy

    def _penalty(self) -> float:
        """The redundancy penalty's factor at row index p: diversity * U * D_p0."""
        if self._scale is None:  # every row index's, once per request
            problem = self._problem
            self._scale = (problem.policy.diversity * problem.unit * problem.D[:, 0]).tolist()
        return self._scale[self._p]

    @property
    def gains(self) -> np.ndarray:
        if "gains" not in self._read:
            gains = self._problem.weight * self.refilled_value
            gains -= self._penalty() * self.redundancy
            self._read["gains"] = gains
        return self._read["gains"]

    def gain(self, r: int) -> float:
        """The marginal gain of candidate r at row index p (``gains[r]``, computed for r alone when not read)."""
        if "gains" in self._read:
            return self._read["gains"].item(r)
        rank = self._running[r : r + 1] * self._valid[r : r + 1]  # row r's ranks alone
        refilled = np.einsum("ij,ij->i", self._problem.Q[r : r + 1], self._attention().take(rank)).item(0)
        return self._problem.weight.item(r) * refilled - self._penalty() * self.redundancy.item(r)

    @property
    def used(self) -> np.ndarray:
        while self._used_rows < len(self.placed):
            self._used[self.placed[self._used_rows].items] = True
            self._used_rows += 1
        return self._used

    def shown(self) -> tuple[np.ndarray, np.ndarray]:
        """The titles each candidate would show at this row index, int32 (R, row_length) -1 padded,
        and their entry positions in ``problem.M`` (-1 at pads)."""
        rank, M, width = self.rank, self._problem.M, self._problem.policy.row_length
        out = np.full((M.shape[0], width), -1, dtype=np.int32)
        pos = np.full(out.shape, -1, dtype=np.intp)
        r, c = np.nonzero((rank >= 1) & (rank <= width))
        col = rank[r, c] - 1
        out[r, col] = M[r, c]
        pos[r, col] = c
        return out, pos


#: key(problem, p, state) -> float64 (R,): preference of each candidate at row index p (higher is better)
Key = Callable[[Problem, int, FillState], np.ndarray]


def _refillable(constraints: tuple[Constraint, ...], loop: Loop, base: np.ndarray) -> np.ndarray:
    """bool (R, Lmax): the entries every constraint lets each candidate show at ``loop.p``."""
    valid = None
    for constraint in constraints:
        mask = constraint.entries(loop)
        if mask is not None:
            valid = np.logical_and(base, mask) if valid is None else np.logical_and(valid, mask, out=valid)
    return base.copy() if valid is None else valid


def _feasible(constraints: tuple[Constraint, ...], loop: Loop) -> tuple[np.ndarray, bool]:
    """bool (R,): the candidates every constraint lets stand at ``loop.p``; and whether the one placed ends the page.

    A row some constraint marks ``first`` is taken when one is feasible; rows marked ``last`` stand only
    when nothing else can, and then end the page."""
    feasible = first = last = None
    for constraint in constraints:
        mask = constraint.rows(loop)
        if mask is None:
            continue
        if isinstance(mask, RowMask):
            first, last = _union(first, mask.first), _union(last, mask.last)
            mask = mask.allowed
        feasible = mask.copy() if feasible is None else np.logical_and(feasible, mask, out=feasible)
    if feasible is None:
        feasible = np.ones(len(loop.candidates.rows), dtype=bool)
    if first is not None and (feasible & first).any():
        feasible &= first
    if last is None or not (feasible & last).any():
        return feasible, False
    if (feasible & ~last).any():
        return feasible & ~last, False
    return feasible, True


def _union(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    return b if a is None else a if b is None else a | b


def greedy_fill(problem: Problem, key: Key) -> Selection:
    """The shared top-to-bottom loop; ``key`` ranks the feasible candidates at each row index."""
    constraints = problem.policy.constraints()
    loop = Loop(candidates=problem)
    state = FillState(problem)
    M, origin, width = problem.M, problem.origin, problem.policy.row_length
    base = M >= 0
    steps: list[dict] = []
    total = 0.0  # the page objective, as the sum of the marginal gains of the rows placed
    for p in range(problem.policy.n_rows):
        loop.p = p
        valid = _refillable(constraints, loop, base)
        running = np.cumsum(valid, axis=1, dtype=np.intp)
        loop.refilled = running[:, -1]
        feasible, ends = _feasible(constraints, loop)
        n_feasible = int(np.count_nonzero(feasible))
        if not n_feasible:
            break
        state._at(p, valid, running)
        masked = np.where(feasible, key(problem, p, state), -np.inf)
        r = int(masked.argmax())
        score = masked.item(r)
        masked[r] = -np.inf
        r2 = int(masked.argmax())
        runner = masked.item(r2)
        columns = valid[r].nonzero()[0][:width]  # the refilled entries shown
        items = M[r].take(columns)
        total += state.gain(r)
        state.placed.append(Placed(row=r, items=items, columns=columns if origin is None else origin[r].take(columns)))
        loop.placed.append(r)
        loop.shown.append(items)
        steps.append({
            "row": p, "key": problem.rows[r].key, "gain": score, "feasible": n_feasible,
            "runner_up": problem.rows[r2].key if math.isfinite(runner) else None,
            "runner_up_gain": runner if math.isfinite(runner) else None,
        })  # fmt: skip
        if ends:
            break
    return Selection(rows=tuple(state.placed), objective=total, steps=tuple(steps))
