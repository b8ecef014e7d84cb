"""The greedy loop shared by the template, row_ranking, stage_wise and learned selectors (``greedy_fill``).

At each row index, top to bottom, every candidate row is *refilled* with the titles it may still show
(its eligible titles in its ranker's order, minus what the policy's constraints withhold: titles used
up within the dedup scope, titles kept for pending pinned rows), the constraints say which candidates
may stand there, and the selector's key picks the best of those. Everything is vectorized over all
candidates at once (a rows x positions matrix); the loop itself knows no rule: each comes from one
constraint of ``policy.constraints()`` (``policies.Constraint``).

Two states keep the refilled entries and the values a key reads: ``FillState``, the readable numpy
reference that recomputes them at each row index, and ``KernelState``, which keeps them incrementally in
compiled code (``pagegen.page._kernel``). Both choose the same rows, to the bit (``tests/test_kernel.py``);
the kernel is the default, ``PAGEGEN_KERNEL=0`` or ``greedy_fill(kernel=False)`` selects the reference.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable

import numpy as np

from policies._builtin import EligibleTitles
from policies._constraint import Constraint, Loop, RowMask
from policies._dedup import Dedup
from policies._pins import Pins

from ._kernel import Kernel
from ._objective import NEAR, Placed, Problem, Selection

__all__ = ["FillState", "KERNEL", "KernelState", "Key", "greedy_fill"]

#: Whether ``greedy_fill`` refills with the compiled kernel unless told (the environment's PAGEGEN_KERNEL=0: the reference).
KERNEL = os.environ.get("PAGEGEN_KERNEL", "1") != "0"
#: Constraints (these classes exactly) whose entries mask, once given, stays the same array until it changes (the kernel then skips the comparison).
_STEADY = (EligibleTitles, Pins)


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

    def __init__(self, problem: Problem, constraints: tuple[Constraint, ...] = ()) -> None:
        self.placed: list[Placed] = []
        self.cache: dict = {}
        self._problem = problem
        self._constraints = constraints
        self._p = 0
        self._valid = self._running = np.zeros((0, 0), dtype=np.intp)  # set at each row index
        self._redundancy = np.zeros(problem.n_rows)
        self._red_rows = 0  # the rows placed that ``_redundancy`` counts
        self._used: np.ndarray | None = None
        self._used_rows = 0  # the rows placed that ``_used`` holds
        self._read: dict[str, np.ndarray] = {}  # this row index's values, computed on first read
        self._by_rank: np.ndarray | None = None
        self._scale: list[float] | None = None

    def _refill(self, loop: Loop) -> np.ndarray:
        """Row index ``loop.p`` begins: the entries every constraint lets each candidate show; returns how
        many each candidate has (int (R,))."""
        valid = _refillable(self._constraints, loop, self._problem.M >= 0)
        self._at(loop.p, valid, np.cumsum(valid, axis=1, dtype=np.intp))
        return self._running[:, -1]

    def _columns(self, r: int) -> np.ndarray:
        """intp: the entries candidate r shows at this row index (its first ``row_length`` refilled ones)."""
        return self._valid[r].nonzero()[0][: self._problem.policy.row_length]

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
            self._read["refilled"] = _sum_along(self._problem.Q * self._attention().take(self.rank))
        return self._read["refilled"]

    @property
    def redundancy(self) -> np.ndarray:
        while self._red_rows < len(self.placed):
            self._redundancy = NEAR * self._redundancy + self._red_column(self.placed[self._red_rows].row)
            self._red_rows += 1
        return self._redundancy

    def _red_column(self, row: int) -> np.ndarray:
        return self._problem.redundancy(row)

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
        refilled = _sum_along(self._problem.Q[r : r + 1] * self._attention().take(rank)).item(0)
        return self._problem.weight.item(r) * refilled - self._penalty() * self.redundancy.item(r)

    @property
    def used(self) -> np.ndarray:
        if self._used is None:
            self._used = np.zeros(self._problem.catalog.n, dtype=bool)
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


class KernelState(FillState):
    """The same values as ``FillState``, its entries kept by the compiled kernel (``pagegen.page._kernel.Kernel``).

    The dedup rule's titles (without a limit outside the window) are withheld and released through the
    kernel's title index as rows are placed; every other constraint's entries mask is asked at each row index, as the reference asks it,
    and applied as the difference from the mask it gave before.
    """

    def __init__(self, problem: Problem, constraints: tuple[Constraint, ...] = ()) -> None:
        super().__init__(problem, constraints)
        self._kernel = Kernel(problem.M, problem.Q, problem.policy.row_length, problem.catalog.n)
        self._allowed: dict[int, np.ndarray] = {}  # by constraint: the entries mask it gave last
        self._masks: dict[int, object] = {}  # by constraint: the object it returned last
        # the dedup rule without a limit outside the window is kept here; with one, through its entries mask
        self._dedup = [(i, c) for i, c in enumerate(constraints) if type(c) is Dedup and (c.scope == "page" or c.below is None)]
        self._window: tuple[int | None, int] | None = None
        self._counted = 0  # the rows placed that the dedup count holds
        self._released = False
        self._shown: list[tuple[int, np.ndarray]] = []  # the rows placed: candidate, entries shown
        self._all: np.ndarray | None = None

    def _refill(self, loop: Loop) -> np.ndarray:
        self._p, self._read = loop.p, {}
        for i, constraint in enumerate(self._constraints):
            if self._dedup and i == self._dedup[0][0]:
                self._withhold_used(loop.p)
                continue
            mask, before = constraint.entries(loop), self._masks.get(i)
            if mask is None and before is None or mask is before and type(constraint) in _STEADY:
                continue
            allowed = self._everywhere() if mask is None else np.ascontiguousarray(mask, dtype=bool)
            if allowed is mask and type(constraint) not in _STEADY:
                allowed = allowed.copy()  # a rule may change its array in place
            self._kernel.apply(allowed, self._allowed.get(i, self._everywhere()))
            self._allowed[i], self._masks[i] = allowed, mask
        return self._kernel.refresh().copy()  # the reference gives a new array at each row index

    def _everywhere(self) -> np.ndarray:
        if self._all is None:
            self._all = np.ones(self._problem.M.shape, dtype=bool)
        return self._all

    def _withhold_used(self, p: int) -> None:
        """The dedup rule's face (``policies.Dedup.entries``), kept from the titles placed within its scope."""
        dedup, kernel = self._dedup[0][1], self._kernel
        if self._window is None:
            rows, columns = dedup.window(self._problem.device)
            self._window = (rows if dedup.scope == "window" else None, columns)
        rows, columns = self._window
        if rows is not None and p >= rows:  # below the window: nothing is used up
            if not self._released:
                kernel.release_all()
                self._released = True
            return
        for r, shown in self._shown[self._counted :]:
            kernel.withhold(kernel.count_shown(r, shown if rows is None else shown[:columns], dedup.max_appearances), 1)
        self._counted = len(self._shown)

    def _columns(self, r: int) -> np.ndarray:
        columns = self._kernel.columns(r, self._problem.policy.row_length)
        self._shown.append((r, columns))  # the loop places r
        return columns

    @property
    def rank(self) -> np.ndarray:
        if "rank" not in self._read:
            valid = self._kernel.blocks == 0
            self._read["rank"] = np.cumsum(valid, axis=1, dtype=np.intp) * valid
        return self._read["rank"]

    @property
    def refilled_value(self) -> np.ndarray:
        if "refilled" not in self._read:
            self._read["refilled"] = self._kernel.values(self._problem.D[self._p])
        return self._read["refilled"]

    def gain(self, r: int) -> float:
        if "gains" in self._read:
            return self._read["gains"].item(r)
        refilled = self._kernel.value(self._problem.D[self._p], r)
        return self._problem.weight.item(r) * refilled - self._penalty() * self.redundancy.item(r)

    def _red_column(self, row: int) -> np.ndarray:
        problem = self._problem
        if problem.incidence is not None:  # few entries: a column of the pairwise matrix
            return problem.redundancy(row)
        return self._kernel.redundancy(problem.profile, problem.kind, problem.length, row)


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


def _sum_along(x: np.ndarray) -> np.ndarray:
    """float64 (R,): the sum of each row of ``x``, added left to right (the order the kernel adds in, to the bit)."""
    return np.cumsum(x, axis=1)[:, -1]


def greedy_fill(problem: Problem, key: Key, *, kernel: bool | None = None) -> Selection:
    """The shared top-to-bottom loop; ``key`` ranks the feasible candidates at each row index.

    ``kernel``: refill the candidates with the compiled kernel (``KernelState``) or the plain numpy
    reference (``FillState``); both choose the same rows. None: ``KERNEL``, the process default.
    """
    constraints = problem.policy.constraints()
    loop = Loop(candidates=problem)
    state = (KernelState if (KERNEL if kernel is None else kernel) else FillState)(problem, constraints)
    M, origin = problem.M, problem.origin
    steps: list[dict] = []
    total = 0.0  # the page objective, as the sum of the marginal gains of the rows placed
    for p in range(problem.policy.n_rows):
        loop.p = p
        loop.refilled = state._refill(loop)
        feasible, ends = _feasible(constraints, loop)
        n_feasible = int(np.count_nonzero(feasible))
        if not n_feasible:
            break
        masked = np.where(feasible, key(problem, p, state), -np.inf)
        r = int(masked.argmax())
        score = masked.item(r)
        masked[r] = -np.inf
        r2 = int(masked.argmax())
        runner = masked.item(r2)
        columns = state._columns(r)  # the refilled entries shown
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
