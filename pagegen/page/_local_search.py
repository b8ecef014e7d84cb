"""Stage-wise with a local search after it (``stage_wise_ls``): moves of rows and titles, each page refilled under the policy.

The greedy pass commits to one row at a time, and each row to its first titles; a row placed early may cost
the rows below more than it brings, or take a title a row below needed more. The search starts from the
stage-wise page and tries, at the top ``depth`` row indices:

- **swap**: two rows of the page exchange their places;
- **replace**: a row gives its place to a candidate not on the page;
- **insert**: a candidate not on the page enters at a row index, the rows below move down one (the last
  one leaves a full page);
- **delete**: a row leaves, the rows below move up one and the last row index is chosen stage-wise.

The candidates tried are the ``candidates`` best ones by their value as the top row. Each move gives a
sequence of rows; the page is *refilled* by the greedy loop forced to take those rows in that order (each
row shows the titles the constraints still leave it, as in any greedy page), and the rows below the sequence
are chosen stage-wise. A move is refilled twice: with every title free, and with the titles of the page
*kept* by their rows (a row of the sequence does not take a title another row of the sequence shows on the
page: a row that moves up keeps its titles instead of taking those of the rows it passes).

Where it costs at most half the budget (pages of a few rows: not the default page), the search first *rolls
out* a beam: at each row index in turn, each of the ``beam`` best sequences of rows so far is extended by each
of those candidates not in it and refilled with every title free, and the ``beam`` best go on; the best page
refilled is where the climb starts, and every page refilled joins those the search descends on and restarts
from.

The search climbs: it takes the first move that beats the best page so far and tries the moves of the page
it gives. When none of a page's moves does, it *descends on the titles* of the ``repair`` best pages refilled
and not yet descended on (a row move followed by title repairs): a title is left out of its row for a row
below that holds it, or a title a row was kept from is given back to it, or both at once; each change that
improves the page is kept and the descent goes on from it until no change improves it. When that finds
nothing, the search tries the moves it left untried on the pages the climb passed through, last passed
first, and then *restarts* from the best page refilled that it has not yet tried the moves of (an iterated
local search: its moves count when they beat the best page). A move whose row cannot stand at its place
under the constraints is dropped, and one whose upper bound cannot beat the best page is not refilled.

Every choice above is made in a fixed order, so the result is deterministic, and the work is bounded: the
search stops when nothing is left to try or after ``max_pages`` pages of ``depth + 1`` rows refilled (a page
of fewer rows counts for its share: the greedy loop's work is one step a row index). Titles are left out
through a rule of the search added to the policy's constraints, so every page it refills obeys every rule of
the policy.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._candidates import CandidateRow
from policies._shape import resize

from ._fill import FillState, greedy_fill
from ._objective import Placed, Problem, SelectContext, Selection, objective, prepare
from ._select import stage_key

__all__ = ["LocalSearch", "LocalSearchConfig", "improve", "refill", "stage_wise_ls"]


class LocalSearchConfig(BaseModel):
    """The local search's reach and its bound on work."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    depth: int = Field(6, ge=1, le=100, description="Row indices the moves touch, from the top (where the attention is).")
    candidates: int = Field(8, ge=0, le=10_000, description="Candidates not on the page tried by replace and insert: the best by their value as the top row.")
    repair: int = Field(20, ge=0, le=10_000, description="Pages descended on at a time (titles left out or given back) when no move improves the page: the best refilled.")
    beam: int = Field(2, ge=0, le=1_000, description="Sequences kept at each row index by the roll-out that opens the search where it costs at most half the budget (0: none).")
    max_pages: int = Field(80, ge=0, le=1_000_000, description="Most pages of depth + 1 rows refilled in all, one of fewer rows for its share (the bound on the search's work; 0: plain stage-wise).")


class LocalSearch:
    """A Selector: stage-wise, then the local search of the module docstring."""

    def __init__(self, config: LocalSearchConfig | None = None) -> None:
        self.config = config or LocalSearchConfig()

    def __call__(self, rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
        problem = prepare(rows, policy, ctx)
        return improve(problem, greedy_fill(problem, stage_key), self.config)


def stage_wise_ls(rows: Sequence[CandidateRow], policy, ctx: SelectContext) -> Selection:
    """Stage-wise, then a bounded local search over moves of rows (swap, replace, insert, delete) and of titles."""
    return LocalSearch()(rows, policy, ctx)


def refill(problem: Problem, sequence: Sequence[int]) -> Selection | None:
    """The page whose first rows are ``sequence``, in order, each refilled under the policy's constraints, and
    whose other rows are chosen stage-wise; None when a row of ``sequence`` cannot stand at its place."""
    n = len(sequence)

    def key(_pr: Problem, p: int, state: FillState) -> np.ndarray:
        if p >= n:
            return state.gains
        forced = np.zeros(problem.n_rows)
        forced[sequence[p]] = 1.0  # taken when feasible; any other feasible candidate means it is not
        return forced

    selection = greedy_fill(problem, key)
    if [placed.row for placed in selection.rows[:n]] != list(sequence):
        return None
    return selection


@dataclass(frozen=True, eq=False)
class _Skip:
    """A rule of the search alone: candidate rows leave out the titles ``keep`` marks False (bool (R, Lmax))."""

    keep: np.ndarray
    name: str = "skip"

    def entries(self, loop) -> np.ndarray:
        return self.keep

    def rows(self, loop) -> None:
        return None


def _moves(page: list[int], pool: list[int], depth: int, n_rows: int) -> Iterator[list[int]]:
    """The sequences one move away from ``page`` (swap, replace, insert), in a fixed order."""
    top = min(depth, len(page))
    for a in range(top):
        for b in range(a + 1, top):
            moved = list(page)
            moved[a], moved[b] = moved[b], moved[a]
            yield moved
    for p in range(top):
        for r in pool:
            yield page[:p] + [r] + page[p + 1 :]
    for p in range(min(depth, len(page) + 1)):
        for r in pool:
            yield (page[:p] + [r] + page[p:])[:n_rows]
    for p in range(top):
        yield page[:p] + page[p + 1 :]


def _owners(problem: Problem, page: Selection) -> np.ndarray:
    """intp (R, Lmax): for each entry of the candidate rows, the candidate that shows its title on ``page``
    (the highest one), -1 when none does."""
    owner = np.full(problem.catalog.n + 1, -1, dtype=np.intp)  # the last: the pads'
    for placed in reversed(page.rows):
        owner[placed.items] = placed.row
    return owner[problem.M]


def _kept(owners: np.ndarray, sequence: list[int]) -> np.ndarray:
    """bool (R, Lmax): the entries of the rows of ``sequence`` whose titles another row of ``sequence`` shows."""
    on = np.zeros(owners.shape[0] + 1, dtype=bool)  # the last: no owner (-1)
    on[sequence] = True
    return on[:-1, None] & on[owners] & (owners != np.arange(owners.shape[0])[:, None])


def _toggles(problem: Problem, selection: Selection, left_out: np.ndarray, depth: int) -> Iterator[np.ndarray]:
    """``left_out`` with one or two entries changed, for each row in the top ``depth`` rows of ``selection``: a
    title it shows left out for a row below that holds it; a title it was kept from given back; both at once
    (the row exchanges a title with the rows below)."""
    rows = [placed.row for placed in selection.rows]
    for p, placed in enumerate(selection.rows[:depth]):
        M, below = problem.M[placed.row], problem.M[rows[p + 1 :]]
        leave = np.flatnonzero(np.isin(M, placed.items) & np.isin(M, below)).tolist()
        back = np.flatnonzero(left_out[placed.row]).tolist()
        for out, back_in in [(j, None) for j in leave] + [(None, k) for k in back] + [(j, k) for j in leave for k in back]:
            toggled = left_out.copy()
            if out is not None:
                toggled[placed.row, out] = True
            if back_in is not None:
                toggled[placed.row, back_in] = False
            yield toggled


def _top(problem: Problem, n: int) -> Problem:
    """``problem`` on a page of its first ``n`` rows (the policy cut with ``policies.resize``): where moves are scored."""
    if n >= problem.policy.n_rows:
        return problem
    return _derived(problem, policy=resize(problem.policy, n, problem.policy.row_length), D=problem.D[:n])


def _without(problem: Problem, left_out: np.ndarray) -> Problem:
    """``problem`` whose candidate rows leave out the entries ``left_out`` marks (a rule added to its policy)."""
    if not left_out.any():
        return problem
    return _derived(problem, policy=problem.policy.model_copy(update={"rules": (*problem.policy.rules, _Skip(~left_out))}))


#: What a Problem computes on first read that neither its policy nor the attention of its last rows changes.
_KEPT = ("_pairs", "alone", "by_title", "relative", "unit")


def _derived(problem: Problem, **changes) -> Problem:
    """``dataclasses.replace(problem, **changes)``, with the values ``_KEPT`` it has computed carried over."""
    derived = replace(problem, **changes)
    derived.__dict__.update({name: problem.__dict__[name] for name in _KEPT if name in problem.__dict__})
    return derived


#: A page the search refilled: (objective, sequence forced, entries left out, the page).
_Entry = tuple[float, list[int], np.ndarray, Selection]


def _better(value: float, bar: float) -> bool:
    return value > bar + 1e-12 * max(1.0, abs(bar))


def improve(problem: Problem, start: Selection, config: LocalSearchConfig) -> Selection:
    """The local search of the module docstring from the page ``start``.

    Moves are scored on the top ``depth + 1`` rows of the page (a move changes nothing above its row index,
    and the rows far below count little); the page found is refilled whole at the end and taken only when its
    objective beats the start's."""
    search = _Search(_top(problem, config.depth + 1), config.max_pages * (config.depth + 1))
    n = search.top.policy.n_rows
    page = [placed.row for placed in start.rows][:n]
    scored = refill(search.top, page) if search.top is not problem else start
    if scored is None:
        return start
    best = (scored.objective, page, np.zeros(problem.M.shape, dtype=bool), scored)
    by_alone = np.argsort(-problem.alone, kind="stable").tolist()

    def scan(entry: _Entry) -> tuple[_Entry, Iterator[list[int]], np.ndarray]:
        """``entry`` with its moves, to try, and the candidate showing each entry's title on its page (``_owners``)."""
        page = [placed.row for placed in entry[3].rows][:n]
        pool = [r for r in by_alone if r not in set(page)][: config.candidates]
        return entry, _moves(page, pool, config.depth, n), _owners(problem, entry[3])

    bases: list[_Entry] = []  # pages refilled, not yet descended on
    starts: list[_Entry] = []  # pages refilled by a move or the roll-out, not yet searched from
    seen = {_page_key(scored)}  # pages searched from, or in ``starts``
    descended: set[tuple] = set()
    for refilled in _roll_out(search, by_alone, n, config, best[0]):
        if _page_key(refilled[3]) not in seen:
            seen.add(_page_key(refilled[3]))
            bases.append(refilled)
            starts.append(refilled)
        if _better(refilled[0], best[0]):
            best = refilled
    scans = [scan(best)]  # pages whose moves are not all tried: the last one's next
    while search.budget > 0:
        if not scans:
            if not starts:
                break
            starts.sort(key=lambda t: -t[0])
            scans.append(scan(starts.pop(0)))  # a kick: the best page refilled not yet searched from
        entry, moves, owners = scans[-1]
        tried = [entry]
        found = search.rows(moves, owners, best[0], tried)
        if found is not None:
            seen.add(_page_key(found[3]))  # searched from next
        for refilled in tried[1:]:
            key = _page_key(refilled[3])
            if key not in seen:
                seen.add(key)
                bases.append(refilled)
                starts.append(refilled)
        if found is None:
            scans.pop()  # every move tried; the moves left on the pages the climb passed through come next
            if _page_key(entry[3]) not in descended and not any(e is entry for e in bases):
                bases.append(entry)
            bases.sort(key=lambda t: -t[0])
            chosen = [e for e in bases[: config.repair] if _page_key(e[3]) not in descended]
            bases[:] = bases[config.repair :]
            descended.update(_page_key(e[3]) for e in chosen)
            found = search.descend(problem, chosen, best[0], config.depth)
            if found is not None:
                seen.add(_page_key(found[3]))
        if found is not None:
            best = found
            scans.append(scan(found))
    if best[1] == [placed.row for placed in start.rows][:n] and not best[2].any():
        return start
    whole = best[3] if search.top is problem else refill(_without(problem, best[2]), best[1])
    return _traced(problem, whole) if whole is not None and _better(whole.objective, start.objective) else start


def _roll_out(search: _Search, by_alone: list[int], n: int, config: LocalSearchConfig, bar: float) -> list[_Entry]:
    """The pages of the roll-out beam, best first (none where it would cost more than half the budget): at each
    of the ``n`` row indices, each of the ``beam`` best sequences so far is extended by each of the ``candidates``
    best rows alone not in it and refilled, the rows below chosen stage-wise; the ``beam`` best go on. A
    sequence whose bound cannot beat ``bar`` is not refilled (nor any page that begins with it)."""
    k, width = config.candidates, config.beam
    if not width or (k + width * k * (n - 1)) * search.top.policy.n_rows > search.budget // 2:
        return []
    free = np.zeros(search.top.M.shape, dtype=bool)
    beam: list[list[int]] = [[]]
    rolled: list[_Entry] = []
    for _ in range(n):
        extended = []
        for prefix in beam:
            for r in [r for r in by_alone if r not in prefix][:k]:
                sequence = [*prefix, r]
                if _better(search.bound(sequence, free), bar) and (page := search._refill(sequence, free)) is not None:
                    extended.append((page.objective, sequence, free, page))
        extended.sort(key=lambda t: -t[0])
        rolled.extend(extended)
        beam = [entry[1] for entry in extended[:width]]
    return sorted(rolled, key=lambda t: -t[0])


def _page_key(selection: Selection) -> tuple:
    """What tells two pages apart: their rows and titles."""
    return tuple((placed.row, placed.items.tobytes()) for placed in selection.rows)


class _Search:
    """Refills on the top of the page (``top``) while ``budget`` lasts: each costs the rows of ``top`` (counted down).

    A move whose bound cannot beat the bar is not refilled: each row's cells are worth at most its best titles
    not left out in the best cells of its row index (no title used above, no other rule), and the redundancy
    penalty depends on the rows alone (the objective of the rows without titles)."""

    def __init__(self, top: Problem, budget: int) -> None:
        self.top, self.budget = top, budget
        width = min(top.policy.row_length, top.Q.shape[1], top.D.shape[1])
        self.attention = -np.sort(-top.D, axis=1)[:, :width]  # each row index's best cells, best first
        best = _cells(top.Q, top.weight, self.attention)  # (n_rows, R)
        self.rest = np.concatenate([np.cumsum(best.max(axis=1, initial=0.0)[::-1])[::-1], [0.0]])

    def bound(self, sequence: list[int], left_out: np.ndarray) -> float:
        """An upper bound of the objective of any page of ``top`` whose first rows are ``sequence`` and whose
        rows leave out the entries ``left_out``."""
        n, top = len(sequence), self.top
        cells = _cells(np.where(left_out[sequence], 0.0, top.Q[sequence]), top.weight[sequence], self.attention[:n])
        empty = [Placed(row=r, items=np.zeros(0, dtype=np.int32)) for r in sequence]
        return float(np.trace(cells)) + objective(top, empty) + self.rest[n]

    def _refill(self, sequence: list[int], left_out: np.ndarray) -> Selection | None:
        self.budget -= self.top.policy.n_rows  # the greedy loop's work: one step a row index
        return refill(_without(self.top, left_out), sequence)

    def rows(self, moves: Iterator[list[int]], owners: np.ndarray, bar: float, tried: list) -> _Entry | None:
        """The first of ``moves`` whose refill beats ``bar``: each refilled with every title free, then with the
        page's titles kept by their rows (``owners``) when that leaves out a title the free refill shows. Each
        refill is appended to ``tried``."""
        for moved in moves:
            kept = _kept(owners, moved)
            free = np.zeros(kept.shape, dtype=bool)
            if not _better(self.bound(moved, free), bar):
                continue
            for left_out in (free, kept):
                if self.budget <= 0:
                    return None
                selection = self._refill(moved, left_out)
                if selection is not None:
                    tried.append((selection.objective, moved, left_out, selection))
                    if _better(selection.objective, bar):
                        return selection.objective, moved, left_out, selection
                if left_out is free and selection is not None and not _shows(selection, kept, self.top.M):
                    break  # the titles kept are not among those shown: the same page
        return None

    def descend(self, problem: Problem, bases: list[_Entry], bar: float, depth: int) -> _Entry | None:
        """The end of the first descent on the titles that beats ``bar``, from each of ``bases`` in turn: the
        first toggle (``_toggles``) that improves the page becomes the page, until none does."""
        for value, moved, left_out, selection in bases:
            found = None
            improved = True
            while improved and self.budget > 0:
                improved = False
                for toggled in _toggles(problem, selection, left_out, depth):
                    if self.budget <= 0:
                        break
                    if not _better(self.bound(moved, toggled), max(bar, value)):
                        continue
                    refilled = self._refill(moved, toggled)
                    if refilled is None or not _better(refilled.objective, value):
                        continue
                    value, left_out, selection, improved = refilled.objective, toggled, refilled, True
                    if _better(value, bar):
                        found = value, moved, left_out, selection
                    break
            if found is not None:
                return found
        return None


def _cells(Q: np.ndarray, weight: np.ndarray, attention: np.ndarray) -> np.ndarray:
    """float64 (len(attention), len(Q)): the most each row of values ``Q`` (weighted) is worth at each row index
    whose best cells, best first, are ``attention``: its best values in those cells, in order (the best pairing)."""
    best = -np.sort(-Q, axis=1)[:, : attention.shape[1]]
    return (attention[:, : best.shape[1]] @ best.T) * weight


def _shows(selection: Selection, entries: np.ndarray, M: np.ndarray) -> bool:
    """Whether a row of ``selection`` shows the title of one of the ``entries`` (bool (R, Lmax)) of its candidate."""
    return any(np.isin(M[placed.row, entries[placed.row]], placed.items).any() for placed in selection.rows if entries[placed.row].any())


def _traced(problem: Problem, selection: Selection) -> Selection:
    """``selection`` with each step's gain the row's marginal objective (the forced key's is not), no runner-up."""
    values = [objective(problem, selection.rows[:k]) for k in range(len(selection.rows) + 1)]
    steps = tuple({**step, "gain": values[p + 1] - values[p], "runner_up": None, "runner_up_gain": None} for p, step in enumerate(selection.steps))
    return Selection(rows=selection.rows, objective=selection.objective, steps=steps)
