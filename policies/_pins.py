"""The pins as a constraint: a row kind held at a row index (``at``) or within the first rows (``within``).

In the greedy loop each active pin designates one candidate row (the best-scored row of its kind with
enough titles) and a row index where it must stand if it can (``at``, or the last free index within
``within``); until it is placed, the titles of the pending pinned rows are kept out of the other
candidates. A pin whose row cannot stand at its forced index is inactive for the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pagegen.core._resume import resumable

from ._builtin import EligibleTitles, MinTitles, padded
from ._constraint import ExactModel, Loop, RowMask
from ._violation import Violation, member_eligible

if TYPE_CHECKING:
    from pagegen.core._catalog import Catalog
    from pagegen.core._page import Page
    from pagegen.core._userstate import UserState


__all__ = ["Pins"]


@dataclass(frozen=True, eq=False)
class _Plan:
    """The pins of one request: the designated row of each pin (-1: inactive), its forced row index."""

    row: list[int]
    forced: dict[int, int]  # row index -> pin
    forced_at: dict[int, int]  # pin -> row index
    open: np.ndarray  # bool (R,): candidates that are neither designated nor of a pinned kind


@dataclass(frozen=True, eq=False)
class Pins:
    """Pinned kinds stand at their rows (an ``at`` pin may be the last row of a shorter page); an
    'in_progress' pin is present when the member can resume as many eligible titles as the kind's
    minimum (``resumable``, what Continue Watching shows); a pinned kind appears once."""

    pins: tuple[Any, ...]
    n_rows: int
    min_titles: MinTitles
    eligible: EligibleTitles
    name: str = "pins"

    def plan(self, loop: Loop) -> _Plan:
        held = loop.memo.get(self)
        if held is None:
            held = loop.memo[self] = {"plan": self._plan(loop.candidates), "withheld": {}}
        return held["plan"]

    def _plan(self, c: Any) -> _Plan:
        row = [-1] * len(self.pins)
        long_enough = c.length >= self.min_titles.of_rows(c)
        pinned_kind = np.zeros(len(c.rows), dtype=bool)
        for i, pin in enumerate(self.pins):
            if pin.kind not in c.kinds:
                continue
            of_kind = c.kind == c.kinds.index(pin.kind)
            pinned_kind |= of_kind
            cand = (of_kind & long_enough).nonzero()[0]
            if len(cand):
                row[i] = int(cand[c.row_score[cand].argmax()])
        forced: dict[int, int] = {}
        for i, pin in enumerate(self.pins):
            if row[i] >= 0 and pin.at is not None:
                forced[pin.at] = i
        for i in sorted((i for i, p in enumerate(self.pins) if row[i] >= 0 and p.within is not None), key=lambda i: self.pins[i].within):
            free = [p for p in range(min(self.pins[i].within, self.n_rows)) if p not in forced]
            if free:
                forced[free[-1]] = i
        return _Plan(row=row, forced=forced, forced_at={i: p for p, i in forced.items()}, open=~pinned_kind)

    def pending(self, loop: Loop) -> list[int]:
        """The active pins whose row is not placed yet and whose forced row index has not passed."""
        plan, held = self.plan(loop), loop.memo[self]
        if held.get("pending_at") != (loop.p, len(loop.placed)):  # once per row index
            held["pending"] = [i for i, d in enumerate(plan.row) if d >= 0 and d not in loop.placed and plan.forced_at.get(i, loop.p) >= loop.p]
            held["pending_at"] = (loop.p, len(loop.placed))
        return held["pending"]

    def entries(self, loop: Loop) -> np.ndarray | None:
        if not self.pins:
            return None
        pending = tuple(self.pending(loop))
        withheld = loop.memo[self]["withheld"]
        if pending not in withheld:
            kept = self._withheld(loop, pending)
            withheld[pending] = None if kept is None else ~kept
        return withheld[pending]

    def _withheld(self, loop: Loop, pending: tuple[int, ...]) -> np.ndarray | None:
        """bool (R, Lmax): the entries a candidate must leave to the pending pinned rows, None when none.

        A designated row keeps its own titles and may use those kept for other pins, except that the row of
        an 'available' pin leaves the titles of the pending 'in_progress' pinned rows: check() requires
        those rows, while an 'available' pin that cannot stand is inactive for the page.
        """
        c, row = loop.candidates, self.plan(loop).row
        if not any(c.length[row[i]] for i in pending):  # the pending pinned rows hold no title: nothing kept
            return None
        pad = padded(loop)

        def titles_of(pins) -> np.ndarray:
            flag = np.zeros(c.catalog.n + 1, dtype=bool)
            for i in pins:
                flag[c.M[row[i], : c.length[row[i]]]] = True
            return flag

        out = titles_of(pending).take(pad)
        out[[d for d in row if d >= 0]] = False  # a designated row keeps its own titles
        required = {i for i in pending if self.pins[i].when == "in_progress"}
        if required:
            required_rows = {row[i] for i in required}
            for i in pending:
                if self.pins[i].when == "available" and row[i] not in required_rows:
                    out[row[i]] = titles_of(required)[pad[row[i]]]
        return out

    def rows(self, loop: Loop) -> RowMask | None:
        if not self.pins:
            return None
        plan, p = self.plan(loop), loop.p
        pending = self.pending(loop)
        if not pending:
            return plan.open
        allowed, first, last = plan.open.copy(), None, None
        for i in pending:
            pin, d = self.pins[i], plan.row[i]
            if p in pin.positions(self.n_rows):
                allowed[d] = True
            elif pin.at is not None and p < pin.at:  # only as the last row of a shorter page
                allowed[d] = True
                last = np.zeros(len(allowed), dtype=bool) if last is None else last
                last[d] = True
            if plan.forced.get(p) == i:
                first = np.zeros(len(allowed), dtype=bool)
                first[d] = True
        return RowMask(allowed, first, last)

    def add_to(self, model: ExactModel) -> None:
        c, n_pos, m = model.candidates, model.n_rows, model.model
        for pin in self.pins:
            if pin.kind not in c.kinds:
                continue
            of_kind = model.rows_of(c.kind == c.kinds.index(pin.kind))
            allowed = set(pin.positions(n_pos))
            for r in of_kind:
                for p in range(n_pos):
                    if p in allowed:
                        continue
                    if pin.at is not None and p < pin.at and p + 1 < n_pos:
                        m.add(model.u[p, r] + model.filled[p + 1] <= 1)
                    else:
                        m.add(model.u[p, r] == 0)
            can_stand = [r for r in of_kind if c.length[r] >= self.min_titles.of(pin.kind)]  # as the rows a pin designates
            if can_stand and (model.strict or pin.when == "in_progress"):
                m.add(sum(model.u[p, r] for p in range(n_pos) for r in can_stand) >= 1)

    def violations(self, page: Page, policy: Any, user: UserState, catalog: Catalog) -> list[Violation]:
        out = []
        last = len(page.rows) - 1
        for pin in self.pins:
            allowed = pin.positions(self.n_rows)
            at = [r for r, row in enumerate(page.rows) if row.kind == pin.kind]
            for r in at:
                late_ok = pin.at is not None and r == last and r < pin.at
                if r not in allowed and not late_ok:
                    out.append(Violation(self.name, r, None, None, f"pinned kind {pin.kind!r} at row {r}, expected {_where(pin)}"))
            if not at and pin.when == "in_progress":
                n = self.resumable(pin, user, catalog)
                if n >= self.min_titles.of(pin.kind):
                    out.append(Violation(self.name, None, None, None, f"no {pin.kind!r} row although the member can resume {n} eligible titles"))
        return out

    def resumable(self, pin: Any, user: UserState, catalog: Catalog) -> int:
        """The eligible titles (the member's and the policy's) ``user`` can resume under ``pin``'s definition."""
        ok = member_eligible(catalog, user) & self.eligible.allowed(catalog)
        return resumable(user, catalog, ok, max_age_days=pin.max_age_days, min_fraction=pin.min_fraction).count()


def _where(pin: Any) -> str:
    return f"row {pin.at}" if pin.at is not None else f"within the first {pin.within} rows"
