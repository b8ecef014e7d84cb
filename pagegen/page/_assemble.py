"""A selection -> its Page: external ids, display titles, ranker scores, reasons and the trace."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from pagegen.core._candidates import CandidateRow
from pagegen.core._catalog import Catalog
from pagegen.core._explain import explain
from pagegen.core._page import Page, Trace, TraceCandidate, TraceFailure, TraceFatigue, TraceStep, jsonable

from ._fatigue import Fatigued
from ._objective import Selection

__all__ = ["assemble", "assemble_json"]


def assemble(
    rows: Sequence[CandidateRow], selection: Selection, catalog: Catalog, *, user: str | None, policy: str, selector: str,
    device: str, now: int, seed: int, failures: Sequence[tuple[str, str]] | None = None, trace: bool = False,
    fatigued: Sequence[Fatigued] = (),
    visit: int | str | None = None,
    window: tuple[int, int] | None = None,
) -> Page:  # fmt: skip
    """The Page of a selection: external ids, display titles, ranker scores (rounded to 6 decimals),
    reasons, and the rows' evidences as plain JSON values, the propensities (the page's: the
    product over all candidate ``rows``, see ``Page.propensity``); validated as ``Page.model_validate``
    validates any page (a value of the wrong type is converted or rejected there). ``fatigued``:
    the titles demoted for impression fatigue, for the trace; ``window``: the device's visible (rows, columns)."""
    used = [rows[p.row] for p in selection.rows]
    page_rows = _row_fields(used, [p.items for p in selection.rows], catalog)
    record = None
    if trace:
        record = Trace(
            candidates=[TraceCandidate(kind=r.kind, key=r.key, score=r.score, n=len(r)) for r in rows],
            steps=[TraceStep(**s) for s in selection.steps],
            failures=[TraceFailure(ranker=n, error=e) for n, e in failures or ()],
            fatigue=[TraceFatigue(id=str(catalog.ids[f.item]), impressions=f.impressions, factor=f.factor, rows=f.rows) for f in fatigued],
            objective=selection.objective,
            status=selection.status,
            gap=selection.gap,
        )
    head = {"user": user, "policy": policy, "selector": selector, "device": device, "now": int(now), "seed": int(seed), "visit": visit,
            "window": None if window is None else {"rows": window[0], "columns": window[1]},
            "propensity": math.prod(row.propensity for row in rows), "draw": [row.key for row in rows if "draw" in row.evidence]}  # fmt: skip
    return Page.model_validate({**head, "rows": page_rows, "trace": record})


def assemble_json(
    rows: Sequence[CandidateRow], selection: Selection, catalog: Catalog, *, user: str | None, policy: str, selector: str,
    device: str, now: int, seed: int, visit: int | str | None = None, window: tuple[int, int] | None = None,
) -> bytes:  # fmt: skip
    """``assemble(...).to_json()``: the page JSON a batch job writes."""
    return assemble(rows, selection, catalog, user=user, policy=policy, selector=selector, device=device, now=now, seed=seed, visit=visit, window=window).to_json()


def _row_fields(used: list[CandidateRow], shown: list[np.ndarray], catalog: Catalog) -> list[dict]:
    """The PageRows' fields: per candidate row of ``used``, its ``shown`` titles as slot dicts.

    A tile's reason is its ranker's, else its row kind's (``explain``: one template per row)."""
    at = [_columns(row.items, items) for row, items in zip(used, shown, strict=True)]
    everything = np.concatenate(shown) if shown else np.zeros(0, np.int32)
    ids, titles = catalog.ids[everything].tolist(), catalog.titles[everything].tolist()
    scores = np.concatenate([row.scores[c] for row, c in zip(used, at, strict=True)]) if shown else np.zeros(0)
    scores = scores.astype(np.float64).round(6).tolist()
    evidences = jsonable([row.evidence for row in used])  # one JSON round trip for the whole page
    reasons: list[str | None] = []
    for row, evidence, columns in zip(used, evidences, at, strict=True):
        if row.reasons is None:
            reasons += [explain(row.kind, row.title, evidence)[1]] * len(columns)
        else:
            reasons += [row.reasons[c] for c in columns]
    props = [row.propensity for row, columns in zip(used, at, strict=True) for _ in columns]
    genres = _genre_lists(catalog, everything)
    slots = [{"id": i, "title": t, "score": sc, "reason": r, "propensity": p, "genres": g}
             for i, t, sc, r, p, g in zip(ids, titles, scores, reasons, props, genres, strict=True)]  # fmt: skip
    out, start = [], 0
    for row, evidence, columns in zip(used, evidences, at, strict=True):
        out.append({"kind": row.kind, "key": row.key, "title": row.title, "evidence": evidence, "slots": slots[start : start + len(columns)], "propensity": row.propensity})
        start += len(columns)
    return out


def _genre_lists(catalog: Catalog, items: np.ndarray) -> list[list[str]]:
    """Each title's genre names, in the catalog's order (one look at the multi-hot rows of all tiles)."""
    lists: list[list[str]] = [[] for _ in range(len(items))]
    names = catalog.genre_names
    for tile, genre in zip(*(a.tolist() for a in np.nonzero(catalog.genres[items])), strict=True):
        lists[tile].append(names[genre])
    return lists


def _columns(row_items: np.ndarray, items: np.ndarray) -> list[int]:
    """Where each of ``items`` stands in ``row_items`` (a row's titles are distinct)."""
    column = {title: c for c, title in enumerate(row_items.tolist())}
    return [column[title] for title in items.tolist()]
