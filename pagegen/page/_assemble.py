"""A selection -> its Page: external ids, display titles, ranker scores, reasons and the trace."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from itertools import accumulate

import numpy as np
import orjson

from pagegen.core._candidates import CandidateRow
from pagegen.core._catalog import Catalog
from pagegen.core._page import (
    _DIRECT_OPTIONS,
    JSON_OPTIONS,
    PAGE_FORMAT_VERSION,
    Page,
    PageRow,
    Slot,
    Trace,
    TraceCandidate,
    TraceFailure,
    TraceStep,
    jsonable,
    trusted_models,
)

from ._objective import Placed, Selection

__all__ = ["assemble", "assemble_json"]

_STR_OR_NONE = {str, type(None)}
# per catalog: its ids and display titles as object arrays of Python strings, made once, so that a
# page gathers references instead of decoding 1,000 numpy strings
_STRINGS: weakref.WeakKeyDictionary[Catalog, tuple[np.ndarray, np.ndarray]] = weakref.WeakKeyDictionary()


def assemble(
    rows: Sequence[CandidateRow], selection: Selection, catalog: Catalog, *, user: str | None, policy: str, selector: str,
    device: str, now: int, seed: int, failures: Sequence[tuple[str, str]] | None = None, trace: bool = False,
) -> Page:  # fmt: skip
    """The Page of a selection: external ids, display titles, ranker scores and reasons.

    The page is what ``Page.model_validate`` gives for the same nested dicts. When every value
    already has its field's exact type (catalog strings, rounded floats, the rows' own strings),
    the models are made from those dicts without validating them again; otherwise the dicts go
    through validation, which converts or rejects them as it always did.
    """
    head, page_rows, slots, bounds, plain, record = _parts(rows, selection, catalog, user, policy, selector, device, now, seed, failures, trace)
    if not plain:  # something to convert or reject: pydantic does it, with its usual errors
        return Page.model_validate({**head, "rows": page_rows, "trace": record})
    # trusted: the dicts become the models' field dicts (declaration order, defaults filled in)
    made = trusted_models(Slot, slots, {"id", "title", "score", "reason"})
    for j, fields in enumerate(page_rows):
        fields["slots"] = made[bounds[j] : bounds[j + 1]]
    made_rows = trusted_models(PageRow, page_rows, {"kind", "key", "title", "evidence", "slots"})
    fields = {"version": PAGE_FORMAT_VERSION, **head, "rows": made_rows, "trace": record}
    return trusted_models(Page, [fields], {"user", "policy", "selector", "device", "now", "seed", "rows", "trace"})[0]


def assemble_json(
    rows: Sequence[CandidateRow], selection: Selection, catalog: Catalog, *, user: str | None, policy: str, selector: str,
    device: str, now: int, seed: int,
) -> bytes:  # fmt: skip
    """``assemble(...).to_json()`` (the same bytes) without making the Page: for batch jobs, which
    only write the JSON. When a value would need pydantic's conversion, the Page is made after all."""
    head, page_rows, _, _, plain, _ = _parts(rows, selection, catalog, user, policy, selector, device, now, seed, None, False, raw=True)
    if plain:  # the evidences as the rows hold them: the same bytes as their JSON round trip, unless orjson
        try:  # meets a value whose round trip could dump otherwise (a dataclass, a datetime, a subclass)
            return orjson.dumps({"version": PAGE_FORMAT_VERSION, **head, "rows": page_rows, "trace": None}, option=_DIRECT_OPTIONS)
        except orjson.JSONEncodeError:
            pass
    head, page_rows, _, _, plain, _ = _parts(rows, selection, catalog, user, policy, selector, device, now, seed, None, False)
    if not plain:
        return Page.model_validate({**head, "rows": page_rows, "trace": None}).to_json()
    # the dicts are the models' field dicts (see ``assemble``), which is what Page.to_json dumps
    return orjson.dumps({"version": PAGE_FORMAT_VERSION, **head, "rows": page_rows, "trace": None}, option=JSON_OPTIONS)


def _parts(
    rows: Sequence[CandidateRow], selection: Selection, catalog: Catalog, user: str | None, policy: str, selector: str,
    device: str, now: int, seed: int, failures: Sequence[tuple[str, str]] | None, trace: bool, raw: bool = False,
) -> tuple[dict, list[dict], list[dict], list[int], bool, Trace | None]:  # fmt: skip
    """The page's head fields, its rows as field dicts (slots as dicts), all the slots, where each row's
    slots start and end, whether every value already has its field's exact type, and the trace (or None).
    ``raw``: the rows' evidences as they are and the slots' keys in sorted order (for a dump), else the
    evidences as plain JSON types and the slots' keys in field order (for the models)."""
    placed = selection.rows
    used = [rows[p.row] for p in placed]
    shown = [p.items for p in placed]
    everything = np.concatenate(shown) if placed else np.zeros(0, np.int32)
    strings = _STRINGS.get(catalog)
    if strings is None:
        strings = _STRINGS[catalog] = (np.array(catalog.ids.tolist(), dtype=object), np.array(catalog.titles.tolist(), dtype=object))
    ids, titles = strings[0][everything].tolist(), strings[1][everything].tolist()
    counts = list(map(len, shown))
    bounds = list(accumulate(counts, initial=0))
    index, starts = _known_positions(used, placed, everything, counts) if placed else (None, None)
    if index is None:
        index, starts = _positions(used, placed, everything, catalog.n)
    scores = np.concatenate([r.scores for r in used])[index].astype(np.float64).round(6).tolist() if placed else []
    reasons: list = [None] * len(ids)
    plain = True
    for j, row in enumerate(used):
        if row.reasons is not None:
            given, start, stop = row.reasons, bounds[j], bounds[j + 1]
            reasons[start:stop] = [given[k] for k in (index[start:stop] - starts[j]).tolist()]
            plain = plain and set(map(type, reasons[start:stop])) <= _STR_OR_NONE
    if raw:  # dumped with sorted keys: made in that order, the sort finds them in place
        slots = [{"id": i, "reason": r, "score": sc, "title": t} for i, t, sc, r in zip(ids, titles, scores, reasons, strict=True)]
    else:  # the Slot models' field dicts: declaration order
        slots = [{"id": i, "title": t, "score": sc, "reason": r} for i, t, sc, r in zip(ids, titles, scores, reasons, strict=True)]
    evidences = [row.evidence for row in used]
    if not raw:
        evidences = jsonable(evidences)  # one orjson round trip for the whole page
    page_rows = [
        {"kind": row.kind, "key": row.key, "title": row.title, "evidence": evidence, "slots": slots[bounds[j] : bounds[j + 1]]}
        for j, (row, evidence) in enumerate(zip(used, evidences, strict=True))
    ]
    plain = plain and set(map(type, evidences)) <= {dict} and all(type(r.kind) is str and type(r.key) is str and type(r.title) is str for r in used)
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
    head = {"user": user, "policy": policy, "selector": selector, "device": device, "now": int(now), "seed": int(seed)}
    plain = plain and (user is None or type(user) is str) and type(policy) is str and type(selector) is str and type(device) is str
    return head, page_rows, slots, bounds, plain, record


def _known_positions(used: list[CandidateRow], placed: Sequence[Placed], everything: np.ndarray, counts: list[int]) -> tuple[np.ndarray | None, list[int]]:
    """``_positions`` from the columns the selector gave (``Placed.columns``, intp), checked: each within its
    row, holding the placed title; None when a placed row has none, or they are not the titles' columns."""
    columns = [p.columns for p in placed]
    if any(c is None or c.dtype != np.intp for c in columns):
        return None, []
    local = np.concatenate(columns)
    if len(local) != len(everything):
        return None, []
    items = [r.items for r in used]
    lengths = list(map(len, items))
    starts = list(accumulate(lengths[:-1], initial=0))
    spans = np.array([starts, lengths], dtype=np.intp).repeat(counts, axis=1)  # each placed title's row start and length
    # as unsigned numbers a negative column is past any row's end
    if not (local.view(np.uintp) < spans[1].view(np.uintp)).all():
        return None, []
    local += spans[0]
    if not (np.concatenate(items)[local] == everything).all():
        return None, []
    return local, starts


def _positions(used: list[CandidateRow], placed: Sequence[Placed], everything: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """For each placed title, its index in the concatenation of the page's candidate rows; and where
    each candidate row starts in it. One sort over all rows: the key (row rank, title) in the high
    bits of an int64, the title's index in the concatenation in the low bits."""
    lengths = [len(r.items) for r in used]
    starts = np.cumsum([0, *lengths[:-1]])
    total = sum(lengths)
    low = max(total.bit_length(), 1)
    if not used:
        return np.zeros(0, np.int64), starts
    if (len(used) * n) >> (62 - low):  # beyond any real page: 100 rows of a 10**8-title catalog still fit
        raise ValueError(f"page too large to assemble: {len(used)} rows x {n} titles x {total} candidate entries")
    rank = np.arange(0, len(used) * n, n, dtype=np.int64)
    keyed = np.concatenate([r.items for r in used], dtype=np.int64)
    keyed += np.repeat(rank, lengths)
    keyed <<= low
    keyed |= np.arange(total, dtype=np.int64)
    keyed.sort()
    want = np.repeat(rank, [len(p.items) for p in placed])
    want += everything
    want <<= low
    found = keyed[np.searchsorted(keyed, want)]
    found &= (1 << low) - 1
    return found, starts
