"""Page selectors: template, row_ranking, stage_wise (and exact, in _select_exact), one interface.

A selector is a callable ``(rows, policy, ctx) -> Selection``. The three greedy selectors share
one top-to-bottom loop over the page's row indices; inside it everything is vectorized over
all candidate rows at once: a rows x positions index matrix ``M``, the mask of its entries still
refilled and their count per candidate, taken again from the titles not used up at each row index
when the entries are few (the built-in rankers' few dozen rows), else kept up to date through an
inverted index (title -> entries).
At each row index every candidate is *refilled* with its eligible titles not yet used (in its
ranker's order, up to ``row_length``), the hard constraints (dedup, caps, pins, minimum titles)
give a feasibility mask, and the selector's key picks the best feasible candidate.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from ._candidates import CandidateRow
from ._objective import (
    DENSE_ENTRIES,
    NEAR,
    Placed,
    Problem,
    SelectContext,
    Selection,
    _grid,
    prepare,
)

__all__ = ["FillState", "Key", "SELECTORS", "Selector", "greedy_fill", "row_ranking", "stage_wise", "template"]

#: key(problem, p, state) -> float64 (R,) preference of each candidate at row index p (higher is better)
Key = Callable[[Problem, int, "FillState"], np.ndarray]


class Selector(Protocol):
    """Candidate rows + policy + context -> selection. A plain function qualifies."""

    def __call__(self, rows: Sequence[CandidateRow], policy, ctx: SelectContext, /) -> Selection: ...


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
        """Row index p begins; ``valid`` (R, Lmax): the entries each candidate may still show, ``q``: Q there,
        0 elsewhere; ``count``: the running count of ``valid`` along each row, when the loop has it."""
        self._valid, self._q, self._p, self._count = valid, q, p, count
        self._rank = self._refilled = None

    @property
    def rank(self) -> np.ndarray:
        """intp (R, Lmax): 1-based rank of each entry among its candidate's refilled titles, 0: not refilled
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


def _pin_plan(problem: Problem) -> tuple[np.ndarray, dict[int, int], list]:
    """Designated row per active pin (best-scored row of the kind with enough titles), forced row indices."""
    policy = problem.policy
    n_rows = policy.n_rows
    pin_row = np.full(len(policy.pins), -1, dtype=np.intp)
    long_enough = problem.length >= policy.min_titles
    for i, pin in enumerate(policy.pins):
        if pin.kind not in problem.kinds:
            continue
        cand = ((problem.kind == problem.kinds.index(pin.kind)) & long_enough).nonzero()[0]
        if len(cand):
            pin_row[i] = cand[problem.row_score[cand].argmax()]
    forced: dict[int, int] = {}
    for i, pin in enumerate(policy.pins):
        if pin_row[i] >= 0 and pin.at is not None:
            forced[pin.at] = i
    for i in sorted((i for i, p in enumerate(policy.pins) if pin_row[i] >= 0 and p.within is not None), key=lambda i: policy.pins[i].within):
        free = [p for p in range(min(policy.pins[i].within, n_rows)) if p not in forced]
        if free:
            forced[free[-1]] = i
    return pin_row, forced, list(policy.pins)


def _withheld(problem: Problem, pin_row: np.ndarray, pending: set[int], pins: list, pad: np.ndarray) -> np.ndarray | None:
    """bool (R, Lmax): the entries a candidate must leave to the pending pinned rows, None when none.

    The titles of the pending pinned rows are kept for them. A designated row keeps its own titles and
    may use those kept for other pins, except that the row of an 'available' pin leaves the titles of
    the pending 'in_progress' pinned rows: check() requires those rows, while an 'available' pin that
    cannot stand is inactive for the page. ``pad``: ``M`` with the pads set to n.
    """
    if not pending:
        return None
    n = problem.catalog.n

    def titles_of(indices) -> np.ndarray:
        flag = np.zeros(n + 1, dtype=bool)
        for i in indices:
            flag[problem.M[pin_row[i], : problem.length[pin_row[i]]]] = True
        return flag

    kept = titles_of(pending)
    if not kept.any():
        return None
    out = kept.take(pad)
    out[pin_row[pin_row >= 0]] = False
    required = {i for i in pending if pins[i].when == "in_progress"}
    required_rows = {int(pin_row[i]) for i in required}
    for i in pending:
        d = int(pin_row[i])
        if pins[i].when == "available" and d not in required_rows and required:
            out[d] = titles_of(required)[pad[d]]
    return out


def greedy_fill(problem: Problem, key: Key) -> Selection:
    """The shared top-to-bottom loop; ``key`` ranks the feasible candidates at each row index.

    The refilled entries (``valid``), their values and their count per candidate are taken again from
    the titles not used up (``free``) at each row index when the entries are few (at most DENSE_ENTRIES),
    else kept up to date with the inverted index ``problem.by_title``: placing a row touches only the
    entries of its titles.
    """
    policy = problem.policy
    n_cand, n = problem.n_rows, problem.catalog.n
    M = problem.M
    width, min_titles = policy.row_length, policy.min_titles
    window = policy.window(problem.device)
    page_scope = policy.dedup == "page"
    count = np.zeros(n + 1, dtype=np.int32) if policy.max_appearances > 1 else None  # appearances of each title
    kind_of = problem.kind.tolist()
    kind_cap = [policy.kind_cap(k) for k in problem.kinds]
    kind_count = [0] * len(problem.kinds)
    # the genre cap: the genres of the rows placed at the last span - 1 row indices, counted
    genre_cap = policy.genre_cap if problem.declared.shape[1] else None
    has_genres = problem.declared.any(axis=1).tolist()
    undeclared = np.ascontiguousarray(~problem.declared.T)  # [g]: the candidates that do not declare genre g
    placed_genres: list[list[int]] = []  # per row index placed: the genres its row declares
    in_span: dict[int, int] = {}  # genre -> rows placed within the span above the next row index
    pin_row_arr, forced, pins = _pin_plan(problem)
    pin_row = pin_row_arr.tolist()
    pinned_kinds = [problem.kinds.index(p.kind) for p in pins if p.kind in problem.kinds]
    designated = np.zeros(n_cand, dtype=bool)
    designated[pin_row_arr[pin_row_arr >= 0]] = True
    not_designated = ~designated
    is_pinned_kind = np.zeros(len(problem.kinds), dtype=bool)
    is_pinned_kind[pinned_kinds] = True
    taken = is_pinned_kind[problem.kind] & not_designated  # a pinned kind appears once: its designated row
    # the titles a candidate needs to be feasible: min_titles while it is open (not taken, its kind has room
    # left), more than it can hold once closed (min_titles <= row_length: enough titles to show)
    closed = M.shape[1] + 1
    need = np.where(~taken & (np.asarray(kind_cap, dtype=np.int64)[problem.kind] > 0), min_titles, closed)
    pending = {i for i in range(len(pins)) if pin_row[i] >= 0}
    state = FillState(problem)
    placed = state.placed  # the loop appends the rows it places; the key reads them
    steps: list[dict] = []
    total = 0.0  # the page objective, as the sum of the marginal gains of the rows placed
    stage = key is _stage_key
    deferred = not stage  # the gains of the rows placed, computed at the end in one go
    if stage:
        weight, penalty_scale = problem.weight, (problem.policy.diversity * problem.unit * problem.D[:, 0]).tolist()
    if deferred:
        at_valid = np.zeros((policy.n_rows, M.shape[1]), dtype=bool)
        at_q = np.zeros(at_valid.shape)
    free = np.ones(n + 1, dtype=bool)  # titles not used up within the dedup scope; not the pad
    free[n] = False
    pad = np.where(M >= 0, M, n)
    # a few entries (the built-in rankers' few dozen rows): the refilled entries are taken again from
    # ``free`` at each row index, fewer numpy calls than keeping them up to date through the index
    small = M.size <= DENSE_ENTRIES
    index = None if small else problem.by_title
    valid = np.empty(M.shape, dtype=bool)  # not used up, and not kept for a pending pinned row: what each candidate refills from
    flat = valid.reshape(-1)
    q = np.empty(M.shape, dtype=np.float64)  # Q where valid, 0 elsewhere
    q_flat = q.reshape(-1)
    running = np.empty(M.shape, dtype=np.intp)  # the running count of valid along each row
    n_valid = np.zeros(n_cand, dtype=np.intp)
    stale = True  # valid, q and n_valid to be recomputed from free and the pins' reservations
    counted_now = False  # running is the count of valid as it stands
    positions = [pin.positions(policy.n_rows) for pin in pins]
    reserve = True  # the pending pins changed: their titles' reservations to be taken again
    keep = None  # bool (R, Lmax): the entries not kept for a pending pinned row (None: all)
    feasible = np.empty(n_cand, dtype=bool)
    # stage_wise with few entries, a geometric attention and the pairwise redundancy matrix: the gains
    # are computed in the loop (the running counts are fresh at every row index on this path)
    inline = stage and small and state._separable and problem._red is not None
    if inline:
        pairwise, first_column, first_row = problem._red, problem.D[:, 0].tolist(), state._g
        attention, redundancy = np.empty(M.shape), np.zeros(n_cand)
    for p in range(policy.n_rows):
        in_scope = page_scope or p < window.rows
        if not in_scope and p == window.rows:  # below the window: nothing is used up any more
            free[:n] = True
            stale = True
        if reserve:  # the titles of the pending pinned rows are kept for them
            withheld = _withheld(problem, pin_row_arr, pending, pins, pad)
            keep = None if withheld is None else ~withheld
            reserve, stale = False, True
        if stale:
            free.take(pad, out=valid)  # (the methods and ufuncs skip the numpy functions' wrappers)
            if keep is not None:
                valid &= keep
            np.add.accumulate(valid, axis=1, dtype=np.intp, out=running)
            n_valid = running[:, -1] if small else running[:, -1].copy()  # the large path updates its own
            np.multiply(problem.Q, valid, out=q)
            state._touch()
            stale, counted_now = False, True
        state._at(p, valid, q, running if counted_now else None)
        np.greater_equal(n_valid, need, out=feasible)
        if in_span:
            for g, rows_with in in_span.items():
                if rows_with >= genre_cap.max_rows:
                    feasible &= undeclared[g]
        if pending:
            allowed = not_designated.copy()
            for i in pending:
                if p in positions[i]:
                    allowed[pin_row[i]] = True
            feasible &= allowed
            if p in forced and forced[p] in pending:
                d = pin_row[forced[p]]
                if feasible[d]:
                    feasible[:] = False
                    feasible[d] = True
                else:  # the pinned row cannot stand here: the pin is inactive for this page
                    pending.discard(forced[p])
                    reserve = True
                    taken[d], need[d] = True, closed
        n_feasible = int(np.count_nonzero(feasible))
        if not n_feasible:
            # the page ends here: a pending pin takes this last row if it may
            late = [pin_row[i] for i in sorted(pending) if pins[i].at is not None and p < pins[i].at or p in pins[i].positions(policy.n_rows)]
            feasible[late] = ~taken[late] & (n_valid[late] >= min_titles)
            n_feasible = int(np.count_nonzero(feasible))
            if not n_feasible:
                break
        ends_page = bool(pending) and any(pins[i].at is not None and p < pins[i].at and feasible[pin_row[i]] for i in pending) and not feasible[not_designated].any()
        if inline:  # FillState's sums for _stage_key, without its bookkeeping: every candidate each time
            if placed:  # the row placed at the last row index
                redundancy = NEAR * redundancy + pairwise[:, placed[-1].row]
            scores = weight * (first_column[p] * np.einsum("ij,ij->i", q, first_row.take(running, out=attention)))
            scores -= penalty_scale[p] * redundancy
        elif stage:  # _stage_key's gains, the same products
            scores = weight * state.refilled_value
            scores -= penalty_scale[p] * state.redundancy
        else:
            scores = key(problem, p, state)
        masked = np.where(feasible, scores, -np.inf)
        r = int(masked.argmax())
        score = float(scores[r])
        masked[r] = -np.inf
        r2 = int(masked.argmax())
        runner = float(masked[r2])
        items = M[r][valid[r]][:width]
        placed.append(Placed(row=r, items=items))
        if deferred:
            at_valid[p], at_q[p] = valid[r], q[r]
        else:
            total += score
        steps.append({
            "row": p, "key": problem.rows[r].key, "gain": score, "feasible": n_feasible,
            "runner_up": problem.rows[r2].key if math.isfinite(runner) else None,
            "runner_up_gain": runner if math.isfinite(runner) else None,
        })  # fmt: skip
        if small:
            if in_scope:
                counted = items if page_scope else items[: window.columns]
                if count is not None:
                    count[counted] += 1  # a row holds each title once
                    counted = counted[count[counted] >= policy.max_appearances]
                free[counted] = False
                stale = True
        elif in_scope:
            own = index.slots(M[r, : problem.length[r]])  # the entries of the row's titles, in every candidate
            state._holding[r] = index.row[own]
            counted = items if page_scope else items[: window.columns]
            if count is None and keep is None and n_valid[r] <= width and len(counted) == len(items):
                done, slots = None, own  # every title of the row is used up now or was before: block them all
            else:
                if count is None:
                    done = counted  # the row refilled them, so they were not used up: they are now
                else:
                    count[counted] += 1  # a row holds each title once
                    done = counted[count[counted] >= policy.max_appearances]
                slots = index.slots(done)
            if len(slots):  # titles used up: their entries leave every candidate
                free[M[r, : problem.length[r]] if done is None else done] = False
                entry = index.entry[slots]
                lost = flat[entry]
                flat[entry] = False
                q_flat[entry] = 0.0
                losing = np.bincount(index.row[slots][lost], minlength=n_cand)
                n_valid -= losing
                state._touch(losing > 0)
                counted_now = False
        taken[r], need[r] = True, closed
        k = kind_of[r]
        kind_count[k] += 1
        if kind_count[k] >= kind_cap[k]:
            need[problem.kind == k] = closed
        if genre_cap is not None:  # the genres of the rows within the span above the next row index
            placed_genres.append(problem.declared[r].nonzero()[0].tolist() if has_genres[r] else [])
            for g in placed_genres[-1]:
                in_span[g] = in_span.get(g, 0) + 1
            if p + 1 - genre_cap.span >= 0:  # the row at that index leaves the span
                for g in placed_genres[p + 1 - genre_cap.span]:
                    in_span[g] -= 1
                    if not in_span[g]:
                        del in_span[g]
        if pending:
            mine = [i for i in pending if pin_row[i] == r]
            if mine:
                pending.difference_update(mine)
                reserve = True
        if ends_page and designated[r]:  # an `at` pin placed early stands as the last row
            break
    if deferred and placed:  # the gains of the rows placed: the same sums as _stage_key's, row by row
        at = np.arange(len(placed))
        b = np.zeros((len(placed), M.shape[1] + 1))
        cols = min(width, M.shape[1])
        b[:, 1 : cols + 1] = problem.D[at, :cols]
        refilled = np.einsum("ij,ij->i", at_q[at], np.take_along_axis(b, np.cumsum(at_valid[at], axis=1, dtype=np.intp), axis=1))
        rows = np.asarray([pl.row for pl in placed], dtype=np.intp)
        for gain in _gain(problem, at, problem.weight[rows], refilled, _redundancy_above(problem, rows)).tolist():
            total += gain
    return Selection(rows=tuple(placed), objective=total, steps=tuple(steps))


def _redundancy_above(problem: Problem, rows: np.ndarray) -> np.ndarray:
    """``FillState.redundancy[rows[p]]`` at each row index p (the same floats), from the pairs of rows placed only."""
    n_placed, n = len(rows), problem.catalog.n
    if problem._red is not None:
        red = problem._red[np.ix_(rows, rows)]
    else:  # the sums of Problem.redundancy_all, on the placed rows
        red = np.empty((n_placed, n_placed))
        for t, s in enumerate(rows.tolist()):
            red[:, t] = (problem.profile @ problem.profile[s])[rows]  # the product over every candidate, as redundancy_all
        np.clip(red, 0.0, 1.0, out=red)
        kind = problem.kind[rows]
        red += kind[:, None] == kind[None, :]
        titles = problem.M[rows]
        flag = np.zeros((n_placed, n + 1), dtype=bool)
        flag[np.repeat(np.arange(n_placed), problem.length[rows]), titles[titles >= 0]] = True
        shared = flag[:, np.where(titles >= 0, titles, n)].sum(axis=2).T  # [p, t]: titles of row p in row t
        length = problem.length[rows]
        shorter = np.minimum(length[:, None], length[None, :])
        red += np.divide(shared, shorter, out=np.zeros(shorter.shape), where=shorter > 0)
        red /= 3.0
    out = np.zeros(n_placed)
    above = np.zeros(n_placed)
    for t in range(n_placed):
        out[t] = above[t]
        above = NEAR * above + red[:, t]
    return out


def _gain(problem: Problem, p: int, weight, refilled, redundancy):
    """w_r times the refilled cells minus the redundancy penalty at row index p (elementwise: arrays or one row's scalars)."""
    cells = weight * refilled
    penalty = problem.policy.diversity * problem.unit * problem.D[p, 0] * redundancy
    return cells - penalty


def _stage_key(problem: Problem, p: int, state: FillState) -> np.ndarray:
    """Marginal gain of each candidate at row index p: its refilled cells minus redundancy with rows above."""
    return _gain(problem, p, problem.weight, state.refilled_value, state.redundancy)


def stage_wise(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
    """Choose each next row by its marginal objective gain given the rows and titles already placed."""
    return greedy_fill(prepare(rows, policy, ctx), _stage_key)


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


def _exact(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
    from ._select_exact import exact

    return exact(rows, policy, ctx)


def _learned(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
    from ._learned_select import default_learned_selector

    return default_learned_selector()(rows, policy, ctx)


#: The built-in selectors, by name.
SELECTORS: dict[str, Selector] = {
    "exact": _exact,
    "learned": _learned,
    "row_ranking": row_ranking,
    "stage_wise": stage_wise,
    "template": template,
}
