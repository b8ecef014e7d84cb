"""Page selectors: template, row_ranking, stage_wise (and exact, in _select_exact), one interface.

A selector is a callable ``(rows, policy, ctx) -> Selection``. The three greedy selectors share
one top-to-bottom loop over the page's row indices; inside it everything is vectorized over
all candidate rows at once: a rows x positions index matrix ``M`` and a per-title use count.
At each row index every candidate is *refilled* with its eligible titles not yet used (in its
ranker's order, up to ``row_length``), the hard constraints (dedup, caps, pins, minimum titles)
give a feasibility mask, and the selector's key picks the best feasible candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np

from ._candidates import CandidateRow
from ._objective import NEAR, Placed, Problem, SelectContext, Selection, prepare

__all__ = ["FillState", "Key", "SELECTORS", "Selector", "greedy_fill", "row_ranking", "stage_wise", "template"]

#: key(problem, p, state) -> float64 (R,) preference of each candidate at row index p (higher is better)
Key = Callable[[Problem, int, "FillState"], np.ndarray]


class Selector(Protocol):
    """Candidate rows + policy + context -> selection. A plain function qualifies."""

    def __call__(self, rows: Sequence[CandidateRow], policy, ctx: SelectContext, /) -> Selection: ...


class FillState:
    """Bookkeeping of the greedy loop (only the builder mutates it); what a key sees at row index p.

    refilled_value  float64 (R,): sum_c D_pc q over each candidate's refilled titles at row index p
    redundancy      float64 (R,): sum of NEAR**distance * red(r, s) over the rows s placed above
    placed          the rows placed so far, top to bottom
    used            bool (n_items,): titles on the page so far
    cache           per-request values a key computes once (e.g. from ``problem.context.rank``)
    """

    def __init__(self, problem: Problem) -> None:
        self.refilled_value = np.zeros(problem.n_rows)
        self.redundancy = np.zeros(problem.n_rows)
        self.placed: list[Placed] = []
        self.used = np.zeros(problem.catalog.n, dtype=bool)
        self.cache: dict = {}
        self._M = problem.M
        self._rank = np.zeros(problem.M.shape, dtype=np.int32)  # 1-based rank of each entry among the refilled titles, 0: not shown
        self._width = problem.policy.row_length

    def shown(self) -> tuple[np.ndarray, np.ndarray]:
        """The titles each candidate would show at this row index, int32 (R, row_length) -1 padded,
        and their entry positions in ``problem.M`` (-1 at pads) (computed on demand)."""
        out = np.full((self._M.shape[0], self._width), -1, dtype=np.int32)
        pos = np.full(out.shape, -1, dtype=np.intp)
        r, c = np.nonzero((self._rank >= 1) & (self._rank <= self._width))
        col = self._rank[r, c] - 1
        out[r, col] = self._M[r, c]
        pos[r, col] = c
        return out, pos


def _pin_plan(problem: Problem) -> tuple[np.ndarray, dict[int, int], list]:
    """Designated row per active pin (best-scored row of the kind with enough titles), forced row indices."""
    policy = problem.policy
    n_rows = policy.n_rows
    pin_row = np.full(len(policy.pins), -1, dtype=np.intp)
    for i, pin in enumerate(policy.pins):
        if pin.kind not in problem.kinds:
            continue
        ok = (problem.kind == problem.kinds.index(pin.kind)) & (problem.length >= policy.min_titles)
        if ok.any():
            cand = np.flatnonzero(ok)
            pin_row[i] = cand[np.argmax(problem.row_score[cand])]
    forced: dict[int, int] = {}
    for i, pin in enumerate(policy.pins):
        if pin_row[i] >= 0 and pin.at is not None:
            forced[pin.at] = i
    for i in sorted((i for i, p in enumerate(policy.pins) if pin_row[i] >= 0 and p.within is not None), key=lambda i: policy.pins[i].within):
        free = [p for p in range(min(policy.pins[i].within, n_rows)) if p not in forced]
        if free:
            forced[free[-1]] = i
    return pin_row, forced, list(policy.pins)


def greedy_fill(problem: Problem, key: Key) -> Selection:
    """The shared top-to-bottom loop; ``key`` ranks the feasible candidates at each row index."""
    policy = problem.policy
    n_cand, n = problem.n_rows, problem.catalog.n
    M = problem.M
    pad = np.where(M >= 0, M, n)
    width = policy.row_length
    window = policy.window(problem.device)
    count = np.zeros(n + 1, dtype=np.int32)
    taken = np.zeros(n_cand, dtype=bool)
    kind_cap = np.asarray([policy.kind_cap(k) for k in problem.kinds], dtype=np.int64)
    kind_count = np.zeros(len(problem.kinds), dtype=np.int64)
    placed_genres = np.zeros((policy.n_rows, len(problem.genre_names)), dtype=bool)
    pin_row, forced, pins = _pin_plan(problem)
    pinned_kinds = [problem.kinds.index(p.kind) for p in pins if p.kind in problem.kinds]
    is_pin_kind = np.isin(problem.kind, pinned_kinds)
    designated = np.zeros(n_cand, dtype=bool)
    designated[pin_row[pin_row >= 0]] = True
    taken |= is_pin_kind & ~designated  # a pinned kind appears once: its designated row
    pending = {i for i in range(len(pins)) if pin_row[i] >= 0}
    b_ext = np.zeros(M.shape[1] + 1)  # this row index's attention by 1-based rank among the refilled titles, 0 past the row's end
    cols = min(width, M.shape[1])
    state = FillState(problem)
    placed: list[Placed] = []
    steps: list[dict] = []
    total = 0.0  # the page objective, as the sum of the marginal gains of the rows placed
    blocked = np.zeros(n + 1, dtype=bool)  # titles used up within the dedup scope, and the pad
    blocked[n] = True
    pin_idx = np.flatnonzero(designated)
    positions = [pin.positions(policy.n_rows) for pin in pins]
    reserved_for: frozenset | None = None
    valid = np.empty(M.shape, dtype=bool)  # per-row-index buffers, reused
    rank = np.empty(M.shape, dtype=np.int32)
    attention = np.empty(M.shape, dtype=np.float64)
    for p in range(policy.n_rows):
        in_scope = policy.dedup == "page" or p < window.rows
        if not in_scope and p == window.rows:  # below the window: nothing is blocked any more
            blocked[:n] = False
        if reserved_for != frozenset(pending):  # the titles of the pending pinned rows are kept for them
            reserved_for = frozenset(pending)
            reserved = np.zeros(n + 1, dtype=bool)
            for i in pending:
                reserved[pad[pin_row[i]]] = True
            reserved[n] = False
        np.take(~(blocked | reserved), pad, out=valid)
        valid[pin_idx] = ~blocked[pad[pin_idx]]
        np.cumsum(valid, axis=1, dtype=np.int32, out=rank)
        shown = np.minimum(rank[:, -1], width)
        rank *= valid
        b_ext[1 : cols + 1] = problem.D[p, :cols]
        state.refilled_value = np.einsum("ij,ij->i", problem.Q, np.take(b_ext, rank, out=attention))
        state._rank = rank
        feasible = ~taken & (shown >= policy.min_titles) & (kind_count[problem.kind] < kind_cap[problem.kind])
        if policy.genre_cap is not None and placed_genres.shape[1]:
            recent = placed_genres[max(0, p - policy.genre_cap.span + 1) : p].sum(axis=0)
            full = recent >= policy.genre_cap.max_rows
            feasible &= ~(problem.declared[:, full].any(axis=1))
        if len(pin_idx):
            allowed_pin = np.zeros(n_cand, dtype=bool)
            for i in pending:
                if p in positions[i]:
                    allowed_pin[pin_row[i]] = True
            feasible &= ~designated | allowed_pin
        if p in forced and forced[p] in pending:
            only = feasible & (np.arange(n_cand) == pin_row[forced[p]])
            if only.any():
                feasible = only
            else:  # the pinned row cannot stand here: the pin is inactive for this page
                pending.discard(forced[p])
                taken[pin_row[forced[p]]] = True
                feasible[pin_row[forced[p]]] = False
        if not feasible.any():
            # the page ends here: a pending pin takes this last row if it may
            late = [pin_row[i] for i in sorted(pending) if pins[i].at is not None and p < pins[i].at or p in pins[i].positions(policy.n_rows)]
            feasible[late] = ~taken[late] & (shown[late] >= policy.min_titles)
            if not feasible.any():
                break
        ends_page = any(pins[i].at is not None and p < pins[i].at and feasible[pin_row[i]] for i in pending) and not feasible[~designated].any()
        scores = key(problem, p, state)
        if key is not _stage_key:
            gains = _stage_key(problem, p, state)
        else:
            gains = scores
        masked = np.where(feasible, scores, -np.inf)
        r = int(np.argmax(masked))
        runner = masked.copy()
        runner[r] = -np.inf
        r2 = int(np.argmax(runner))
        items = M[r][valid[r] & (rank[r] <= width)]
        placed.append(Placed(row=r, items=items))
        total += float(gains[r])
        steps.append({
            "row": p, "key": problem.rows[r].key, "gain": float(scores[r]), "feasible": int(feasible.sum()),
            "runner_up": problem.rows[r2].key if np.isfinite(runner[r2]) else None,
            "runner_up_gain": float(runner[r2]) if np.isfinite(runner[r2]) else None,
        })  # fmt: skip
        if in_scope:
            counted = items if policy.dedup == "page" else items[: window.columns]
            count[counted] += 1  # a row holds each title once
            blocked[counted] = count[counted] >= policy.max_appearances
        state.placed.append(placed[-1])
        state.used[items] = True
        taken[r] = True
        kind_count[problem.kind[r]] += 1
        placed_genres[p] = problem.declared[r]
        state.redundancy = NEAR * state.redundancy + problem.redundancy(None, r)
        for i in [i for i in pending if pin_row[i] == r]:
            pending.discard(i)
        if ends_page and designated[r]:  # an `at` pin placed early stands as the last row
            break
    return Selection(rows=tuple(placed), objective=total, steps=tuple(steps))


def _stage_key(problem: Problem, p: int, state: FillState) -> np.ndarray:
    """Marginal gain of each candidate at row index p: its refilled cells minus redundancy with rows above."""
    cells = problem.weight * state.refilled_value
    penalty = problem.policy.diversity * problem.unit * problem.D[p, 0] * state.redundancy
    return cells - penalty


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

    def key(_pr: Problem, p: int, _s: FillState) -> np.ndarray:
        wanted = problem.kind == wanted_code[p] if p < len(wanted_code) else np.zeros(n_cand, bool)
        return (2.0 * wanted + listed) * (n_cand + 1) + by_score

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
