"""The greedy loop's state: what a selector's key sees at each row index (``FillState``).

The loop (``pagegen.page._select.greedy_fill``) owns the refilled entries of every candidate row and tells
the state when a row index begins and which candidates lost a title; the state computes, on first
read at each row index, the refilled cells' value of every candidate (with a geometric attention,
only the row sums that changed are summed again), the redundancy with the rows placed above, the
titles used so far and the titles each candidate would show.
"""

from __future__ import annotations

import functools

import numpy as np

from ._objective import NEAR, Placed, Problem, _grid

__all__ = ["FillState", "kind_caps"]


class FillState:
    """Bookkeeping of the greedy loop (only the builder mutates it); what a key sees at row index p.

    refilled_value  float64 (R,): sum_c D_pc q over each candidate's refilled titles at row index p
                    (computed on first read at each row index: keys that do not read it do not pay for it)
                    (with a geometric attention, D_p0 times each candidate's row sum, summed again only
                    for the candidates that lost a title since the last read)
    redundancy      float64 (R,): sum of NEAR**distance * red(r, s) over the rows s placed above
                    (brought up to date on read)
    placed          the rows placed so far, top to bottom
    used            bool (n_items,): titles on the page so far (computed on read)
    cache           per-request values a key computes once (e.g. from ``problem.context.rank``)
    """

    def __init__(self, problem: Problem) -> None:
        self.placed: list[Placed] = []
        self.cache: dict = {}
        self._D, self._M = problem.D, problem.M
        self._width = problem.policy.row_length
        self._valid = np.zeros(problem.M.shape, dtype=bool)  # entries refilled at this row index (the loop's own buffer)
        self._q = problem.Q  # Q with the entries not refilled set to 0 (the loop's own buffer)
        self._count: np.ndarray | None = None  # the running count of the refilled entries, when the loop has it
        self._p = 0
        self._rank: np.ndarray | None = None
        self._refilled: np.ndarray | None = None
        self._buffers: tuple[np.ndarray, np.ndarray] | None = None
        self._problem = problem
        self._redundancy = np.zeros(problem.n_rows)
        self._red_rows = 0  # the rows placed that ``_redundancy`` counts
        self._used: np.ndarray | None = None
        self._used_rows = 0  # the rows placed that ``_used`` holds
        # a geometric attention D_pc = D_p0 * D_0c: the refilled value is D_p0 times a row sum that only
        # changes for the candidates that lost a title (``_touch``), so only those are summed again
        self._separable = _separable(problem)
        self._all_dirty = True  # every candidate's row sum is out of date
        self._dirty = np.zeros(problem.n_rows, dtype=bool)  # else: the candidates whose row sum is out of date
        self._some_dirty = False  # some of ``_dirty`` is set
        self._row_sum = np.zeros(problem.n_rows)
        self._g = _first_row(problem.D, self._width, problem.M.shape[1])  # D_0c by 1-based rank among the refilled titles, 0 past the row's end
        self._holding: dict[int, np.ndarray] = {}  # placed row -> candidate row of each entry of its titles, when the loop has it

    @property
    def used(self) -> np.ndarray:
        if self._used is None:
            self._used = np.zeros(self._problem.catalog.n, dtype=bool)
        while self._used_rows < len(self.placed):
            self._used[self.placed[self._used_rows].items] = True
            self._used_rows += 1
        return self._used

    @property
    def redundancy(self) -> np.ndarray:
        problem = self._problem
        while self._red_rows < len(self.placed):
            s = self.placed[self._red_rows].row
            if problem._red is not None:
                red = problem._red[:, s]
            elif s not in self._holding:
                red = problem.redundancy(None, s)
            else:
                red = problem.redundancy_all(s, self._holding[s])
            self._redundancy = NEAR * self._redundancy + red
            self._red_rows += 1
        return self._redundancy

    def _at(self, p: int, valid: np.ndarray, q: np.ndarray, count: np.ndarray | None = None) -> None:
        """Row index p begins; ``valid`` (R, Lmax), bool or 0/1 integers: the entries each candidate may still
        show, ``q``: Q there, 0 elsewhere; ``count``: the running count of ``valid`` along each row, when the
        loop has it."""
        self._valid, self._q, self._p, self._count = valid, q, p, count
        self._rank = self._refilled = None

    @property
    def rank(self) -> np.ndarray:
        """int (R, Lmax): 1-based rank of each entry among its candidate's refilled titles, 0: not refilled
        (a rank past ``row_length`` is not shown)."""
        if self._rank is None:
            if self._count is not None:
                self._rank = self._count * self._valid
            else:
                self._rank = np.cumsum(self._valid, axis=1, dtype=np.intp)
                self._rank *= self._valid
        return self._rank

    def _touch(self, rows: np.ndarray | None = None) -> None:
        """The loop changed the refilled entries of ``rows`` (a bool mask or indices; None: of every candidate)."""
        if rows is None:
            self._all_dirty = True
        else:
            self._dirty[rows] = True
            self._some_dirty = True

    def _attention(self, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``b`` by the running count of each entry, and that count (in the reused buffers)."""
        if self._buffers is None:  # reused at every row index: no fresh (R, Lmax) arrays per row index
            self._buffers = np.empty(self._M.shape, dtype=np.intp), np.empty(self._M.shape)
        count = self._count
        if count is None:
            count = np.add.accumulate(self._valid, axis=1, dtype=np.intp, out=self._buffers[0])
        return b.take(count, out=self._buffers[1]), count

    @property
    def refilled_value(self) -> np.ndarray:
        # where an entry is not refilled its q is 0, so its running count may index the attention
        # as it likes: the products, all >= 0, and their sums are those of Q with the ranks
        if self._refilled is None and self._separable:
            if self._all_dirty:
                self._row_sum = np.einsum("ij,ij->i", self._q, self._attention(self._g)[0])
                self._all_dirty = False
            elif self._some_dirty:
                dirty = self._dirty.nonzero()[0]
                if len(dirty):
                    self._row_sum[dirty] = _refilled(self._q[dirty], self._g, self._valid[dirty])
            if self._some_dirty:
                self._dirty[:] = False
                self._some_dirty = False
            self._refilled = self._D[self._p, 0] * self._row_sum
        if self._refilled is None:
            cols = min(self._width, self._M.shape[1])
            b = np.zeros(self._M.shape[1] + 1)  # this row index's attention by 1-based rank among the refilled titles, 0 past the row's end
            b[1 : cols + 1] = self._D[self._p, :cols]
            self._refilled = np.einsum("ij,ij->i", self._q, self._attention(b)[0])
        return self._refilled

    def shown(self) -> tuple[np.ndarray, np.ndarray]:
        """The titles each candidate would show at this row index, int32 (R, row_length) -1 padded,
        and their entry positions in ``problem.M`` (-1 at pads) (computed on demand)."""
        rank = self.rank
        out = np.full((self._M.shape[0], self._width), -1, dtype=np.int32)
        pos = np.full(out.shape, -1, dtype=np.intp)
        r, c = np.nonzero((rank >= 1) & (rank <= self._width))
        col = rank[r, c] - 1
        out[r, col] = self._M[r, c]
        pos[r, col] = c
        return out, pos


def _refilled(q: np.ndarray, b: np.ndarray, valid: np.ndarray, count: np.ndarray | None = None, attention: np.ndarray | None = None) -> np.ndarray:
    """sum_j q_j b[rank_j] per row (one einsum: each row's sum is the same whatever the other rows);
    ``count`` and ``attention``: optional buffers of valid's shape (intp, float64)."""
    count = np.cumsum(valid, axis=1, dtype=np.intp, out=count)
    return np.einsum("ij,ij->i", q, np.take(b, count, out=attention))


def _separable(problem: Problem) -> bool:
    """Is the attention geometric, D_pc = D_p0 * D_0c (once per policy grid)?"""
    policy, D = problem.policy, problem.D
    if D is _grid(policy.attention, policy.n_rows, policy.row_length):
        return _separable_grid(policy.attention, policy.n_rows, policy.row_length)
    return _is_outer(D)


def _is_outer(D: np.ndarray) -> bool:
    return D.size > 0 and np.array_equal(D, np.outer(D[:, 0], D[0]))


@functools.lru_cache(maxsize=64)
def _separable_grid(attention, n_rows: int, row_length: int) -> bool:
    return _is_outer(_grid(attention, n_rows, row_length))


def _first_row(D: np.ndarray, width: int, lmax: int) -> np.ndarray:
    """float64 (lmax + 1,): D_0c at 1-based rank c + 1 among the refilled titles, 0 at rank 0 and past the row's end."""
    g = np.zeros(lmax + 1)
    cols = min(width, lmax)
    g[1 : cols + 1] = D[0, :cols] if D.size else 0.0
    return g


_CAPS: dict[int, tuple[object, dict[str, int]]] = {}  # id(policy) -> (policy, kind -> policy.kind_cap(kind))


def kind_caps(policy, kinds: tuple[str, ...]) -> list[int]:
    """``policy.kind_cap`` of each of ``kinds``, kept per policy (a policy is frozen) for the next requests."""
    held = _CAPS.get(id(policy))
    if held is None or held[0] is not policy:
        if len(_CAPS) >= 64:  # a few policies in a process: forget them all rather than grow
            _CAPS.clear()
        held = _CAPS[id(policy)] = (policy, {})
    caps = held[1]
    try:
        return list(map(caps.__getitem__, kinds))
    except KeyError:
        caps.update((k, policy.kind_cap(k)) for k in kinds if k not in caps)
        return list(map(caps.__getitem__, kinds))
