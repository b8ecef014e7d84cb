"""The pins in the greedy loop: the row each pin designates, the row indices it forces, the titles kept for it.

A pin (``policy.pins``) asks for a row of its kind at a row index (``at``) or within the first rows
(``within``); the loop (``pagegen.page._select.greedy_fill``) places the designated row there and keeps the
titles of the pending pinned rows out of the other candidates until they are placed.
"""

from __future__ import annotations

import numpy as np

from ._objective import Problem

__all__ = ["pin_plan", "withheld_entries"]


def pin_plan(problem: Problem) -> tuple[np.ndarray, dict[int, int], list]:
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


def withheld_entries(problem: Problem, pin_row: np.ndarray, pending: set[int], pins: list, pad: np.ndarray) -> np.ndarray | None:
    """bool (R, Lmax): the entries a candidate must leave to the pending pinned rows, None when none.

    The titles of the pending pinned rows are kept for them. A designated row keeps its own titles and
    may use those kept for other pins, except that the row of an 'available' pin leaves the titles of
    the pending 'in_progress' pinned rows: check() requires those rows, while an 'available' pin that
    cannot stand is inactive for the page. ``pad``: ``M`` with the pads set to n.
    """
    if not pending:
        return None
    n = problem.catalog.n
    row_of = pin_row.tolist()
    length = problem.length

    def titles_of(indices) -> np.ndarray:
        flag = np.zeros(n + 1, dtype=bool)
        for i in indices:
            flag[problem.M[row_of[i], : length[row_of[i]]]] = True
        return flag

    if not any(length[row_of[i]] for i in pending):  # the pending pinned rows hold no title: nothing kept
        return None
    kept = titles_of(pending)
    out = kept.take(pad)
    out[[d for d in row_of if d >= 0]] = False  # a designated row keeps its own titles
    required = {i for i in pending if pins[i].when == "in_progress"}
    if required:
        required_rows = {row_of[i] for i in required}
        for i in pending:
            d = row_of[i]
            if pins[i].when == "available" and d not in required_rows:
                out[d] = titles_of(required)[pad[d]]
    return out
