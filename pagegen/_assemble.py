"""A selection -> its Page: external ids, display titles, ranker scores, reasons and the trace."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._candidates import CandidateRow
from ._catalog import Catalog
from ._objective import Selection
from ._page import Page, Trace, TraceCandidate, TraceFailure, TraceStep, jsonable

__all__ = ["assemble"]


def assemble(
    rows: Sequence[CandidateRow], selection: Selection, catalog: Catalog, *, user: str | None, policy: str, selector: str,
    device: str, now: int, seed: int, failures: Sequence[tuple[str, str]] | None = None, trace: bool = False,
) -> Page:  # fmt: skip
    """The Page of a selection: external ids, display titles, ranker scores and reasons."""
    # one gather per column over the whole page, then plain dicts that pydantic-core validates in one call
    where = np.empty(catalog.n, dtype=np.intp)  # scratch: position of each title in the candidate row
    positions, gathered = [], []
    for placed in selection.rows:
        row = rows[placed.row]
        where[row.items] = np.arange(len(row.items))
        pos = where[placed.items]
        positions.append(pos)
        gathered.append(row.scores[pos])
    everything = np.concatenate([p.items for p in selection.rows]) if selection.rows else np.zeros(0, np.int32)
    ids, titles = catalog.ids[everything].tolist(), catalog.titles[everything].tolist()
    scores = np.concatenate(gathered).astype(np.float64).round(6).tolist() if gathered else []
    reasons: list = []
    for placed, pos in zip(selection.rows, positions, strict=True):
        given = rows[placed.row].reasons
        reasons.extend([given[k] for k in pos.tolist()] if given is not None else [None] * len(pos))
    slots = [{"id": i, "title": t, "score": sc, "reason": r} for i, t, sc, r in zip(ids, titles, scores, reasons, strict=True)]
    page_rows, start = [], 0
    for placed in selection.rows:
        row = rows[placed.row]
        stop = start + len(placed.items)
        page_rows.append({"kind": row.kind, "key": row.key, "title": row.title, "evidence": jsonable(row.evidence), "slots": slots[start:stop]})
        start = stop
    record = None
    if trace:
        record = Trace(
            candidates=[TraceCandidate(kind=r.kind, key=r.key, score=r.score, n=len(r)) for r in rows],
            steps=[TraceStep(**s) for s in selection.steps],
            failures=[TraceFailure(ranker=n, error=e) for n, e in failures or ()],
            objective=selection.objective,
            status=selection.status,
            gap=selection.gap,
        )
    return Page.model_validate({"user": user, "policy": policy, "selector": selector, "device": device, "now": int(now), "seed": int(seed), "rows": page_rows, "trace": record})
