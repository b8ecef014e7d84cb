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

import math
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from pagegen.core._candidates import CandidateRow

from ._fill import FillState, kind_caps
from ._objective import (
    DENSE_ENTRIES,
    NEAR,
    Placed,
    Problem,
    SelectContext,
    Selection,
    prepare,
)
from ._pins import pin_plan, withheld_entries

__all__ = ["FillState", "Key", "Selector", "greedy_fill", "row_ranking", "stage_wise", "template"]

#: key(problem, p, state) -> float64 (R,) preference of each candidate at row index p (higher is better)
Key = Callable[[Problem, int, "FillState"], np.ndarray]


class Selector(Protocol):
    """Candidate rows + policy + context -> selection. A plain function qualifies."""

    def __call__(self, rows: Sequence[CandidateRow], policy, ctx: SelectContext, /) -> Selection: ...


def greedy_fill(problem: Problem, key: Key) -> Selection:
    """The shared top-to-bottom loop; ``key`` ranks the feasible candidates at each row index.

    The refilled entries (``valid``), their values and their count per candidate are taken again from
    the titles not used up (``free``) at each row index when the entries are few (at most DENSE_ENTRIES),
    else kept up to date with the inverted index ``problem.by_title``: placing a row touches only the
    entries of its titles.
    """
    policy = problem.policy
    n_cand, n = problem.n_rows, problem.catalog.n
    M, origin = problem.M, problem.origin
    width, min_titles = policy.row_length, policy.min_titles
    window = policy.window(problem.device)
    page_scope = policy.dedup == "page"
    count = np.zeros(n + 1, dtype=np.int32) if policy.max_appearances > 1 else None  # appearances of each title
    kind_of = problem.kind.tolist()
    kind_cap = kind_caps(policy, problem.kinds)
    kind_count = [0] * len(problem.kinds)
    # the genre cap: the genres of the rows placed at the last span - 1 row indices, counted
    genre_cap = policy.genre_cap if problem.declared.shape[1] else None
    if genre_cap is not None:
        declares = _declared_genres(problem.declared)  # [r]: the genres candidate r declares
        undeclared = np.ascontiguousarray(~problem.declared.T)  # [g]: the candidates that do not declare genre g
    placed_genres: list[list[int]] = []  # per row index placed: the genres its row declares
    in_span: dict[int, int] = {}  # genre -> rows placed within the span above the next row index
    pin_row_arr, forced, pins = pin_plan(problem)
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
    need = np.where(~taken & (np.asarray(kind_cap, dtype=np.int64)[problem.kind] > 0), np.int32(min_titles), np.int32(closed))  # int32, as the counts
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
    # the masks and counts over the entries are int32 (0/1 masks): counted and ranked without a cast
    free = np.ones(n + 1, dtype=np.int32)  # 1: titles not used up within the dedup scope; 0: used up, and the pad
    free[n] = 0
    pad = np.where(M >= 0, M, n).astype(np.intp)  # intp: the takes by it convert nothing
    small = M.size <= DENSE_ENTRIES
    # a few entries (the built-in rankers' few dozen rows): the refilled entries are taken again from
    # ``free`` at each row index, fewer numpy calls than keeping them up to date through the index
    index = None if small else problem.by_title
    valid = np.empty(M.shape, dtype=np.int32)  # 1: not used up, and not kept for a pending pinned row: what each candidate refills from
    flat = valid.reshape(-1)
    q = np.empty(M.shape, dtype=np.float64)  # Q where valid, 0 elsewhere
    q_flat = q.reshape(-1)
    running = np.empty(M.shape, dtype=np.int32)  # the running count of valid along each row
    n_valid = running[:, -1] if small else np.zeros(n_cand, dtype=np.intp)  # few entries: a view of the running count
    stale = True  # valid, q and n_valid to be recomputed from free and the pins' reservations
    counted_now = False  # running is the count of valid as it stands
    positions = [pin.positions(policy.n_rows) for pin in pins]
    reserve = True  # the pending pins changed: their titles' reservations to be taken again
    keep = None  # int32 0/1 (R, Lmax), as valid: the entries not kept for a pending pinned row (None: all)
    feasible = np.empty(n_cand, dtype=bool)
    # stage_wise with few entries, a geometric attention and the pairwise redundancy matrix: the gains
    # are computed in the loop (the running counts are fresh at every row index on this path)
    inline = stage and small and state._separable and problem._red is not None
    if inline:
        pairwise, first_column, first_row = problem._red, problem.D[:, 0].tolist(), state._g
        attention, redundancy = np.empty(M.shape), np.zeros(n_cand)
        rank = np.empty(M.shape, dtype=np.int32)  # each refilled entry's 1-based rank in its row, 0 elsewhere
    for p in range(policy.n_rows):
        in_scope = page_scope or p < window.rows
        if not in_scope and p == window.rows:  # below the window: nothing is used up any more
            free[:n] = 1
            stale = True
        if reserve:  # the titles of the pending pinned rows are kept for them
            withheld = withheld_entries(problem, pin_row_arr, pending, pins, pad)
            keep = None if withheld is None else np.logical_not(withheld, out=np.empty(withheld.shape, dtype=np.int32))
            reserve, stale = False, True
        if stale:
            # (the methods and ufuncs skip the numpy functions' wrappers; every index is in range, and the
            # takes write straight into their out with mode='clip', where 'raise' would buffer it)
            free.take(pad, out=valid, mode="clip")
            if keep is not None:
                valid &= keep
            np.add.accumulate(valid, axis=1, out=running)
            if not small:  # the large path updates its own count
                n_valid = running[:, -1].copy()
            if inline:  # the attention is 0 at rank 0: Q (finite) by the attention at these ranks are q's products
                np.multiply(running, valid, out=rank)
            else:
                np.multiply(problem.Q, valid, out=q)
                state._touch()
            stale, counted_now = False, True
        if not inline:  # (the inline gains do not read the state)
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
            late = [pin_row[i] for i in sorted(pending) if (pins[i].at is not None and p < pins[i].at) or p in pins[i].positions(policy.n_rows)]
            if not late:  # no pending pin may take it (the usual end): nothing to test
                break
            feasible[late] = ~taken[late] & (n_valid[late] >= min_titles)
            n_feasible = int(np.count_nonzero(feasible))
            if not n_feasible:
                break
        ends_page = bool(pending) and any(pins[i].at is not None and p < pins[i].at and feasible[pin_row[i]] for i in pending) and not feasible[not_designated].any()
        if inline:  # FillState's sums for _stage_key, without its bookkeeping: every candidate each time
            if placed:  # the row placed at the last row index: NEAR * redundancy + its column, in place
                redundancy *= NEAR
                redundancy += pairwise[:, placed[-1].row]
            scores = np.einsum("ij,ij->i", problem.Q, first_row.take(rank, out=attention, mode="clip"))
            scores *= first_column[p]  # weight * (D_p0 * row sum): the same products, in place
            scores *= weight
            scores -= penalty_scale[p] * redundancy
        elif stage:  # _stage_key's gains, the same products
            scores = weight * state.refilled_value
            scores -= penalty_scale[p] * state.redundancy
        else:
            scores = key(problem, p, state)
        masked = np.where(feasible, scores, -np.inf)
        r = int(masked.argmax())
        score = masked.item(r)  # (a feasible candidate's own gain)
        masked[r] = -np.inf
        r2 = int(masked.argmax())
        runner = masked.item(r2)
        columns = valid[r].nonzero()[0][:width]  # the refilled entries shown
        items = M[r].take(columns)
        placed.append(Placed(row=r, items=items, columns=columns if origin is None else origin[r].take(columns)))
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
                free[counted] = 0
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
                free[M[r, : problem.length[r]] if done is None else done] = 0
                entry = index.entry[slots]
                lost = flat[entry] != 0
                flat[entry] = 0
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
            placed_genres.append(declares[r])
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


def _declared_genres(declared: np.ndarray) -> list[list[int]]:
    """The genres each candidate declares (``declared``: bool (R, G)), as lists of genre codes."""
    out: list[list[int]] = [[] for _ in range(len(declared))]
    rows, genres = declared.nonzero()
    for r, g in zip(rows.tolist(), genres.tolist(), strict=True):
        out[r].append(g)
    return out


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
