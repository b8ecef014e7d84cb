"""The reusable ranker contract: run it on any ranker, built-in or your own.

    check_ranker(my_ranker, catalog, model, users)   # raises AssertionError naming what broke

It checks, for every member given: the rows are CandidateRows with a kind and a key, their
titles exist, are eligible and unique, their scores finite and sorted best first, the evidence
JSON-friendly; the same seed gives the same rows whatever the request order; a cold-start member
and an empty catalog are handled (no exception; possibly no rows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import orjson
import scipy.sparse as sp

from pagegen.core._candidates import CandidateRow, RankContext, Ranker, row_problems
from pagegen.core._catalog import Catalog
from pagegen.core._userstate import UserState
from rows._context import make_context

__all__ = ["FixedModel", "check_ranker", "check_rows", "rows_equal"]


class FixedModel:
    """A model test double with known outputs: the part of the Model interface rankers use.

    scores       (n,) array for every member, or a function UserState -> (n,) array
    popularity   (n,) all-time counts, or a function (now, window, region) -> (n,) array
    trending     (n,) array, or a function now -> (n,) array
    similarity   dense or sparse (n, n) item-item similarity (zero when omitted)
    """

    def __init__(
        self,
        n_items: int,
        *,
        scores: np.ndarray | Callable[[UserState], np.ndarray] | None = None,
        popularity: np.ndarray | Callable[[int, int | None, str | None], np.ndarray] | None = None,
        trending: np.ndarray | Callable[[int], np.ndarray] | None = None,
        similarity: np.ndarray | sp.sparray | None = None,
    ) -> None:
        self.n_items = int(n_items)
        zeros = np.zeros(self.n_items, np.float32)
        self._scores = zeros if scores is None else scores
        self._popularity = zeros if popularity is None else popularity
        self._trending = zeros if trending is None else trending
        self._similarity = sp.csr_array((self.n_items, self.n_items), dtype=np.float32) if similarity is None else sp.csr_array(similarity, dtype=np.float32)

    @staticmethod
    def _vector(value: Any, *args: Any) -> np.ndarray:
        return np.asarray(value(*args) if callable(value) else value, dtype=np.float32).copy()

    def score(self, user: UserState) -> np.ndarray:
        return self._vector(self._scores, user)

    def personal(self, user: UserState) -> np.ndarray:
        return self.score(user)

    def predict_rating(self, user: UserState, items: np.ndarray) -> np.ndarray:
        return self.score(user)[np.asarray(items, np.int64)]

    def popularity(self, now: int, *, window: int | None = None, region: str | None = None) -> np.ndarray:
        if callable(self._popularity):
            return self._vector(self._popularity, now, window, region)
        return self._vector(self._popularity)

    def trending(self, now: int) -> np.ndarray:
        return self._vector(self._trending, now)

    def similarity(self, items: np.ndarray) -> np.ndarray:
        return self._similarity[np.asarray(items, np.int64)].toarray().reshape(len(items), self.n_items)

    def neighbors(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        row = self.similarity(np.array([item]))[0]
        row[item] = -np.inf
        order = np.lexsort((np.arange(self.n_items), -row))[: max(0, min(k, self.n_items - 1))]
        return order.astype(np.int32), row[order]


def check_rows(ctx: RankContext, rows: Sequence[CandidateRow], *, name: str = "ranker") -> None:
    """Assert that one request's rows keep the contract (see the module docstring)."""
    problems = [p for r in rows for p in row_problems(ctx, r)]
    keys = [r.key for r in rows if isinstance(r, CandidateRow)]
    if len(set(keys)) != len(keys):
        problems.append(f"a row key repeats: {sorted(k for k in set(keys) if keys.count(k) > 1)}")
    for r in rows:
        if not isinstance(r, CandidateRow):
            continue
        if not isinstance(r.title, str) or not r.title:
            problems.append(f"row {r.key!r}: empty display title")
        try:
            orjson.dumps(r.evidence)
        except TypeError as err:
            problems.append(f"row {r.key!r}: evidence is not JSON-friendly ({err})")
        if r.reasons is not None and not all(isinstance(x, str) for x in r.reasons):
            problems.append(f"row {r.key!r}: a reason is not a string")
    if problems:
        raise AssertionError(f"{name} (member {ctx.user.user!r}): " + "; ".join(problems))


def rows_equal(a: Sequence[CandidateRow], b: Sequence[CandidateRow]) -> bool:
    """Two ranker outputs are the same rows: kinds, keys, titles, items, scores, evidence, reasons."""
    if len(a) != len(b):
        return False
    for x, y in zip(a, b, strict=True):
        same = (x.kind, x.key, x.title, x.score, x.reasons) == (y.kind, y.key, y.title, y.score, y.reasons)
        if not (same and np.array_equal(x.items, y.items) and np.array_equal(x.scores, y.scores)):
            return False
        if orjson.dumps(x.evidence, option=orjson.OPT_SORT_KEYS) != orjson.dumps(y.evidence, option=orjson.OPT_SORT_KEYS):
            return False
    return True


def check_ranker(ranker: Ranker, catalog: Catalog, model: Any, users: Iterable[UserState], *, n: int = 10, seed: int = 0, name: str | None = None) -> None:
    """Run the whole contract on ``ranker``; raises AssertionError naming the broken property.

    ``users`` should include members with histories; a cold-start member and an empty
    catalog are added by the check itself.
    """

    label = name or getattr(ranker, "__name__", None) or type(ranker).__name__
    users = list(users)

    def run(user: UserState, cat: Catalog = catalog, mdl: Any = model) -> tuple[RankContext, list[CandidateRow]]:
        ctx = make_context(cat, mdl, user, n=n, seed=seed)
        try:
            return ctx, list(ranker(ctx))
        except Exception as err:
            raise AssertionError(f"{label} raised {type(err).__name__}: {err} (member {user.user!r}, catalog n={cat.n})") from err

    first = []
    for user in users:
        ctx, rows = run(user)
        check_rows(ctx, rows, name=label)
        first.append(rows)
    for user, rows in zip(reversed(users), reversed(first), strict=True):
        if not rows_equal(run(user)[1], rows):
            raise AssertionError(f"{label}: not deterministic for seed {seed} (member {user.user!r} got other rows on a second run, in another request order)")
    now = users[0].now if users else 1
    ctx, rows = run(UserState.cold(now, user="cold-start"))
    check_rows(ctx, rows, name=f"{label} (cold start)")
    empty = Catalog.build([], [])
    ctx, rows = run(UserState.cold(now, user="empty-catalog"), empty, FixedModel(0))
    check_rows(ctx, rows, name=f"{label} (empty catalog)")
    if any(len(r) for r in rows):
        raise AssertionError(f"{label} (empty catalog): returned titles from an empty catalog")
