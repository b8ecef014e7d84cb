"""Candidate rows (what rankers produce) and the context a ranker is called with."""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ._arrays import frozen
from ._errors import DataError

if TYPE_CHECKING:
    from ._catalog import Catalog
    from ._userstate import UserState

__all__ = ["CandidateRow", "ROW_KINDS", "RankContext", "Ranker", "SharedContext", "eligible_items", "item_vector", "row_genres", "row_problems", "rows_problems"]

#: The built-in row kinds. A custom ranker may use its own kind string too.
ROW_KINDS: tuple[str, ...] = (
    "continue_watching",
    "top_picks",
    "top10",
    "trending",
    "because_you_watched",
    "genre",
    "micro_genre",
    "new_releases",
    "popular",
)


def _repeats(items: np.ndarray) -> bool:
    """Whether a title appears twice."""
    return len(set(items.tolist())) != items.size


@dataclass(frozen=True, eq=False)
class CandidateRow:
    """One candidate row: a titled, ranked list of titles with the evidence for showing it.

    kind      row family (one of ROW_KINDS, or a custom kind)
    key       stable identity of the row across requests, e.g. ``byw:1234``, ``genre:Comedy``
    title     display title, e.g. "Because you watched Alien"
    items     int32 catalog indices, best first, no repeats
    scores    float32, one per item, finite
    evidence  why the row is on the page: JSON-friendly values (ids, names, numbers)
    score     the row's own relevance to the member (used to order rows), finite
    reasons   optional per-item reason strings (same length as items)
    propensity  the probability, given the member's state and the rows its ranker offered before
              this one, that the ranker offers this row: 1 for a deterministic ranker; a ranker
              that draws its rows at random sets the probability of each draw, so that the product
              over a request's candidate rows is the probability of the whole draw
    """

    kind: str
    key: str
    title: str
    items: np.ndarray
    scores: np.ndarray
    evidence: Mapping[str, Any] = field(default_factory=dict)
    score: float = 0.0
    reasons: tuple[str, ...] | None = None
    propensity: float = 1.0

    def __post_init__(self) -> None:
        """Checks the row and stores items and scores as read-only int32 / float32 arrays of their own."""
        key = self.key
        items = np.asarray(self.items, dtype=np.int32).ravel()  # a new array object (a view or a copy)
        scores = np.asarray(self.scores, dtype=np.float32).ravel()
        if items.shape != scores.shape:
            raise DataError(f"row {key!r}: {len(items)} items but {len(scores)} scores", field="scores")
        finite = np.isfinite(scores)
        if not finite.all():
            pos = int(np.flatnonzero(~finite)[0])
            raise DataError(f"row {key!r}: non-finite score at position {pos}", field="scores", value=float(scores[pos]))
        if not math.isfinite(self.score):
            raise DataError(f"row {key!r}: non-finite row score", field="score", value=self.score)
        if _repeats(items):
            raise DataError(f"row {key!r}: a title appears twice", field="items")
        if not 0.0 < self.propensity <= 1.0:
            raise DataError(f"row {key!r}: propensity must be within (0, 1]", field="propensity", value=self.propensity)
        if self.reasons is not None:
            if len(self.reasons) != len(items):
                raise DataError(f"row {key!r}: {len(self.reasons)} reasons for {len(items)} items", field="reasons")
            object.__setattr__(self, "reasons", tuple(self.reasons))
        items.setflags(write=False)  # (the caller's array stays as it was)
        scores.setflags(write=False)
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "evidence", dict(self.evidence))
        object.__setattr__(self, "score", float(self.score))
        object.__setattr__(self, "propensity", float(self.propensity))

    def __len__(self) -> int:
        return len(self.items)


def _memo(cache: dict, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``cache[key]``, set to ``compute()`` on the first call for ``key``."""
    try:
        return cache[key]
    except KeyError:
        value = cache[key] = compute()
        return value


@dataclass(frozen=True, eq=False)
class SharedContext:
    """What the requests at one ``now`` with one eligibility base share (nothing about a member).

    catalog, model   the service's catalog and fitted model
    now              the requests' time
    base             read-only bool mask over the catalog, the eligibility before the member's
                     own history (displayable, maturity, region, added by ``now``, policy rules):
                     the ``eligible`` mask of every request sharing this context lies within it

    ``cached(key, compute)`` memoizes a value that depends on these only (pools of candidate
    titles within ``base``, popularity orderings, slice counts), computed by the first request.
    """

    catalog: Catalog
    model: Any
    now: int
    base: np.ndarray
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def cached(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` once for ``key`` in this shared context; later calls return the same value."""
        return _memo(self._cache, key, compute)


@dataclass(frozen=True, eq=False)
class RankContext:
    """What a ranker sees for one request.

    catalog, model   the service's catalog and fitted model
    user             the member as of ``user.now``
    eligible         bool mask over the catalog: titles this member may be shown at all
                     (displayable kind, maturity, region, not finished)
    n                how many titles a row should hold at most
    rng              the request's random generator, derived from (seed, member, visit); a ranker
                     should draw from ``rng_for(its name)`` so that its draws do not depend on
                     the other rankers

    Values that several rankers share are computed once per request, on first use
    (``scores``, ``affinity``, ``popularity``, ``trending``, ``seen``, ``unseen``), and
    ``cached(key, compute)`` memoizes any other per-request value.

    shared           optional SharedContext of the same catalog, model and ``now`` whose
                     ``base`` contains ``eligible``: values that do not depend on the member
                     come from it (computed once for many requests)
    """

    catalog: Catalog
    model: Any
    user: UserState
    eligible: np.ndarray
    n: int
    rng: np.random.Generator
    shared: SharedContext | None = None
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        sh = self.shared
        if sh is not None and (sh.catalog is not self.catalog or sh.model is not self.model or sh.now != self.user.now):
            raise DataError("the shared context is of another catalog, model or now", field="shared", value=sh.now)

    @property
    def now(self) -> int:
        return self.user.now

    def cached(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per request for ``key``; later calls return the same value."""
        return _memo(self._cache, key, compute)

    def rng_for(self, key: str) -> np.random.Generator:
        """A fresh generator for one ranker, derived from ``rng``'s seed and ``key``: its draws do
        not depend on which rankers ran before it, nor on how often it is called."""
        seed_seq = getattr(self.rng.bit_generator, "seed_seq", None)
        if not isinstance(seed_seq, np.random.SeedSequence):
            return self.rng
        spawn_key = (*seed_seq.spawn_key, zlib.crc32(key.encode()))
        return np.random.default_rng(np.random.SeedSequence(seed_seq.entropy, spawn_key=spawn_key))

    @cached_property
    def scores(self) -> np.ndarray:
        """float32 (n_items,): the personalized video ranker, ``model.score(user)``."""
        return frozen(item_vector(self.model.score(self.user), self.catalog.n, "model.score"))

    @cached_property
    def affinity(self) -> np.ndarray:
        """float32 (n_items,) in (0, 1]: ``scores`` squashed by a logistic of their z-score over
        the eligible titles; a scale-free "how much this member likes v" for mixing with other signals."""
        s = self.scores
        if s.size == 0:
            return frozen(np.zeros(0, np.float32))
        titles = eligible_items(self)
        ref = (s.take(titles) if titles.size else s).astype(np.float64)
        mean, sd = float(ref.mean()), float(ref.std())
        # the per-title part in float32: exp over the catalog is the cost here, float64 buys nothing
        z = s - np.float32(mean)
        z *= np.float32(1.0 / (sd if sd > 0 else 1.0))
        np.clip(z, -30.0, 30.0, out=z)
        np.negative(z, out=z)
        np.exp(z, out=z)
        z += 1.0
        return frozen(np.reciprocal(z, out=z))

    def common(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        """``compute()`` for a value that depends on the catalog, the model and ``now`` only: once
        per shared context when there is one, else once per request."""
        return self.cached(key, compute) if self.shared is None else self.shared.cached(key, compute)

    @cached_property
    def popularity(self) -> np.ndarray:
        """float32 (n_items,): all-time play counts before ``now`` (``model.popularity(now)``)."""
        return self.common("popularity", lambda: frozen(item_vector(self.model.popularity(self.now), self.catalog.n, "model.popularity")))

    @cached_property
    def trending(self) -> np.ndarray:
        """float32 (n_items,) >= 0: ``model.trending(now)``."""
        return self.common("trending", lambda: frozen(item_vector(self.model.trending(self.now), self.catalog.n, "model.trending")))

    def _seen_items(self) -> np.ndarray:
        """The titles of ``seen``: played, rated, and the series of episodes played (with repeats)."""
        user = self.user
        series = self.catalog.series[user.items] if len(user.items) else np.zeros(0, np.int32)
        return np.concatenate([user.items, user.rated, series[series >= 0]])

    @cached_property
    def seen(self) -> np.ndarray:
        """bool (n_items,): titles the member played or rated, and the series of episodes played."""
        mask = np.zeros(self.catalog.n, dtype=bool)
        mask[self._seen_items()] = True
        mask.setflags(write=False)
        return mask

    @cached_property
    def unseen(self) -> np.ndarray:
        """bool (n_items,): eligible titles the member has not played or rated (discovery rows)."""
        mask = self.eligible.copy()
        mask[self._seen_items()] = False
        mask.setflags(write=False)
        return mask


def eligible_items(ctx: Any) -> np.ndarray:
    """int64 indices of ``ctx.eligible`` (a RankContext's), read-only, once per request: the titles
    whose scores ``affinity`` and the member's ranking (``pagegen.core._values``) read."""
    return ctx.cached("eligible_items", lambda: frozen(np.asarray(ctx.eligible).nonzero()[0]))


def item_vector(values: Any, n: int, what: str) -> np.ndarray:
    """A model answer as a float32 (n,) vector; DataError naming ``what`` on another shape."""
    arr = np.asarray(values, dtype=np.float32).ravel()
    if arr.shape != (n,):
        raise DataError(f"{what} returned shape {arr.shape}, expected ({n},)", field=what)
    return arr


def row_problems(ctx: RankContext, row: object) -> list[str]:
    """What is wrong with one ranker output row for this request (empty list: nothing).

    Checks that it is a CandidateRow with a kind and key, items in range, eligible and
    unique, scores finite and sorted best first (non-increasing), a finite row score.
    """
    if not isinstance(row, CandidateRow):
        return [f"not a CandidateRow: {type(row).__name__}"]
    where = f"row {row.key!r}"
    out: list[str] = []
    if not isinstance(row.kind, str) or not row.kind:
        out.append(f"{where}: empty or non-string kind {row.kind!r}")
    if not isinstance(row.key, str) or not row.key:
        out.append(f"row with kind {row.kind!r}: empty or non-string key {row.key!r}")
    items = np.asarray(row.items)
    scores = np.asarray(row.scores, dtype=np.float64)
    if items.shape != scores.shape:
        return out + [f"{where}: {items.size} items but {scores.size} scores"]
    if items.size == 0:
        out.append(f"{where}: no titles (return no row instead)")
        return out
    n = ctx.catalog.n
    if items.min() < 0 or items.max() >= n:
        bad = (items < 0) | (items >= n)
        return out + [f"{where}: unknown title index {int(items[bad][0])} (catalog has {n})"]
    if not np.isfinite(scores).all():
        out.append(f"{where}: non-finite score at position {int(np.flatnonzero(~np.isfinite(scores))[0])}")
    if _repeats(items):
        out.append(f"{where}: a title appears twice")
    eligible = ctx.eligible[items]
    if not eligible.all():
        inel = ~eligible
        out.append(f"{where}: ineligible title {ctx.catalog.ids[int(items[inel][0])]!s} at position {int(np.flatnonzero(inel)[0])}")
    rise = scores[1:] > scores[:-1]
    if rise.any():
        out.append(f"{where}: not sorted by score (position {int(np.flatnonzero(rise)[0]) + 1} beats the one above)")
    if not np.isfinite(row.score):
        out.append(f"{where}: non-finite row score {row.score}")
    return out


def rows_problems(ctx: RankContext, rows: Sequence[object]) -> list[str]:
    """``row_problems`` of several rows (one ranker's output), in order."""
    return [p for r in rows for p in row_problems(ctx, r)]


class Ranker(Protocol):
    """A row ranker: one call, a context in, candidate rows out. A plain function qualifies."""

    def __call__(self, ctx: RankContext, /) -> Sequence[CandidateRow]: ...


RankerFn = Callable[[RankContext], Sequence[CandidateRow]]


def row_genres(evidence: object) -> tuple[str, ...]:
    """The genres a row declares in its evidence: ``genres`` (list of names) or ``genre`` (one name)."""
    if not isinstance(evidence, dict):
        return ()
    names = evidence.get("genres", evidence.get("genre", ()))
    if isinstance(names, str):
        return (names,)
    return tuple(map(str, names)) if isinstance(names, list | tuple) else ()
