"""The explicit registry of built-in rankers, and running rankers with fault isolation."""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import orjson

from pagegen.core._candidates import CandidateRow, RankContext, Ranker, rows_problems

from ._because import BecauseYouWatched
from ._continue import ContinueWatching
from ._fallback import NewReleases, Popular
from ._genre import GenreRows
from ._micro import MicroGenres
from ._top_picks import Top10, TopPicks
from ._trending import Trending

__all__ = ["RANKERS", "RankerFailure", "candidate_rows", "default_rankers"]

#: The built-in rankers with their default configs, by name.
RANKERS: dict[str, Ranker] = {
    "continue_watching": ContinueWatching(),
    "top_picks": TopPicks(),
    "top10": Top10(),
    "trending": Trending(),
    "because_you_watched": BecauseYouWatched(),
    "genre": GenreRows(),
    "micro_genre": MicroGenres(),
    "new_releases": NewReleases(),
    "popular": Popular(),
}


def default_rankers() -> dict[str, Ranker]:
    """A fresh dict of the built-in rankers (safe to edit: add, remove or replace entries)."""
    return dict(RANKERS)


@dataclass(frozen=True)
class RankerFailure:
    """A ranker dropped from one request: its name and what went wrong (``Type: message``)."""

    name: str
    error: str


def candidate_rows(
    ctx: RankContext, rankers: Mapping[str, Ranker] | Iterable[Ranker] | None = None, *, budget: float | None = None
) -> tuple[list[CandidateRow], list[RankerFailure]]:
    """Run the rankers for one request; a faulty ranker is dropped, not fatal.

    A ranker is dropped for this request, and recorded in the failures, when it raises, or
    returns anything but CandidateRows, or a row with an unknown or ineligible title, a repeated
    title, a non-finite or unsorted score, or a key an earlier row already used. Empty rows are
    left out silently. ``rankers`` defaults to RANKERS; a plain iterable is named by each
    callable's ``__name__`` (or class name).

    ``budget`` (seconds): each ranker runs in a thread of its own, one after another, and one
    that has not answered within ``budget`` seconds is dropped (its thread is left to finish in
    the background; what it returns is ignored), so a page waits at most ``budget`` per ranker.
    """
    if rankers is None:
        rankers = RANKERS
    named = list(rankers.items()) if isinstance(rankers, Mapping) else [(_name(r), r) for r in rankers]
    rows: list[CandidateRow] = []
    failures: list[RankerFailure] = []
    keys: set[str] = set()
    answers = [_answer(ranker, ctx) for _, ranker in named] if budget is None else _within(named, ctx, budget)
    for (name, _), out in zip(named, answers, strict=True):
        if out is _LATE:
            failures.append(RankerFailure(name, f"TimeoutError: no answer within the time budget of {1000 * budget:g} ms"))  # type: ignore[operator]
            continue
        if isinstance(out, Exception):
            failures.append(RankerFailure(name, f"{type(out).__name__}: {out}"))
            continue
        problems = rows_problems(ctx, out) or [p for r in out for p in _shape_problems(r)]
        own = [r.key for r in out if isinstance(r, CandidateRow)]
        clash = sorted(keys.intersection(own)) + sorted({k for k in own if own.count(k) > 1})
        if clash:
            problems.append(f"row key {clash[0]!r} used twice")
        if problems:
            failures.append(RankerFailure(name, "; ".join(problems)))
            continue
        keys.update(own)
        rows.extend(out)
    return rows, failures


_LATE = object()  # the answer of a ranker still running when its budget ran out


def _answer(ranker: Ranker, ctx: RankContext) -> list | Exception:
    """The ranker's non-empty rows, or the exception it raised."""
    try:
        return [r for r in ranker(ctx) if not (isinstance(r, CandidateRow) and len(r) == 0)]
    except Exception as err:
        return err


def _within(named: list[tuple[str, Ranker]], ctx: RankContext, budget: float) -> list:
    """Each ranker's answer, one after another, each from its own thread given ``budget`` seconds;
    ``_LATE`` for a ranker still running then (its thread is left to finish, its answer ignored)."""
    answers: list = []
    for name, ranker in named:
        box: list = []
        thread = threading.Thread(target=lambda r=ranker, b=box: b.append(_answer(r, ctx)), name=f"pagegen-ranker-{name}", daemon=True)
        thread.start()
        thread.join(budget)
        answers.append(box[0] if box else _LATE)
    return answers


def _shape_problems(row: CandidateRow) -> list[str]:
    """What the page could not carry: text fields that are not strings, evidence that is not JSON
    (a set, an object, a non-string key) or holds a non-finite number (JSON would turn it into null)."""
    out = [f"row {row.key!r}: field {name!r} = {getattr(row, name)!r}: expected a string" for name in ("kind", "key", "title") if not isinstance(getattr(row, name), str)]
    try:
        dumped = orjson.dumps(row.evidence, option=orjson.OPT_SERIALIZE_NUMPY)
    except orjson.JSONEncodeError as err:
        return [*out, f"row {row.key!r}: evidence is not JSON ({err})"]
    if b"null" in dumped:  # a None, or a NaN or infinity that the dump turned into null: find which
        bad = _non_finite(row.evidence, "evidence")
        if bad:
            out.append(f"row {row.key!r}: {bad} is not a finite number")
    return out


def _non_finite(value: object, where: str) -> str | None:
    """Where ``value`` (JSON-able) holds a NaN or an infinity, or None."""
    if isinstance(value, float | np.floating):
        return None if math.isfinite(value) else f"{where} = {value}"
    if isinstance(value, dict):
        return next((bad for key, item in value.items() if (bad := _non_finite(item, f"{where}.{key}"))), None)
    if isinstance(value, list | tuple | np.ndarray):
        return next((bad for i, item in enumerate(value) if (bad := _non_finite(item, f"{where}[{i}]"))), None)
    return None


def _name(ranker: object) -> str:
    return getattr(ranker, "__name__", None) or type(ranker).__name__
