"""Building a request's RankContext, and the small vectorized helpers the rankers share."""

from __future__ import annotations

import hashlib
import math
import threading
import zlib
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

import numpy as np

from pagegen.core._arrays import argtopk, frozen
from pagegen.core._candidates import RankContext, SharedContext, item_vector
from pagegen.core._catalog import ITEM_KINDS, Catalog, available, catalog_cached
from pagegen.core._errors import DataError
from pagegen.core._resume import next_episodes
from pagegen.core._userstate import FINISHED_AT, Profile, UserState

__all__ = [
    "available",
    "catalog_cached",
    "decay",
    "has_titles",
    "history_liking",
    "liking",
    "make_context",
    "next_episode",
    "popularity",
    "ranked_pool",
    "series_episodes",
    "shared_context",
    "static_eligible",
    "top_k",
    "unseen_items",
    "visit_entropy",
]

EPISODE = ITEM_KINDS.index("episode")


def make_context(catalog: Catalog, model: Any, user: UserState, *, n: int, seed: int, shared: SharedContext | None = None, visit: int | str | None = None) -> RankContext:
    """The context of one request: eligibility mask and a per-visit random generator.

    A title is eligible when it is displayable (movie or series, not an episode), its
    maturity is within the profile's, it is available in the profile's region, it joined the
    service before ``now`` (``added <= now``), and the member has not finished it.
    A region the catalog does not name sees only the titles without region restrictions.
    The generator is seeded from (``seed``, member id, ``visit``), so a page does not depend on
    the order in which requests arrive, and its exploration differs from one visit to the next:
    ``visit`` is the request's id (a string, or a whole number such as a session counter),
    default the request's ``now`` (see ``visit_entropy``).

    ``shared``: the SharedContext to draw the member-independent part from (default:
    ``shared_context`` for the profile); its ``base`` is the eligibility before the member's
    finished titles are taken out (a caller may narrow it further, as the Engine does with a policy).
    """
    if n < 1:
        raise DataError("a row must hold at least one title", field="n", value=n)
    if shared is None:
        shared = shared_context(catalog, model, user.now, user.profile)
    eligible = shared.base.copy()
    finished = user.finished()
    if finished.size:
        if int(finished.max()) >= catalog.n:
            raise DataError("the member's history names a title outside the catalog", field="items", value=int(finished.max()))
        eligible[finished] = False
    eligible.setflags(write=False)
    member = user.user if user.user is not None else f"#{user.user_index}"
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(member.encode()), *visit_entropy(user.now if visit is None else visit)])
    return RankContext(catalog=catalog, model=model, user=user, eligible=eligible, n=int(n), rng=rng, shared=shared)


def visit_entropy(visit: int | str) -> tuple[int, int, int]:
    """Three 32-bit words that identify a visit in a request's seed: a whole number >= 0 (a
    session counter, or the request's ``now``) or a non-empty request id of at most 256 characters."""
    if isinstance(visit, str) and 0 < len(visit) <= 256:
        digest = hashlib.blake2b(visit.encode(), digest_size=8).digest()
        return 1, int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:], "little")
    if isinstance(visit, int | np.integer) and not isinstance(visit, bool) and 0 <= visit < 2**64:
        return 0, int(visit) & 0xFFFFFFFF, int(visit) >> 32
    raise DataError("a visit is a whole number >= 0 (below 2**64) or a request id of 1 to 256 characters", field="visit", value=visit)


#: Shared contexts kept (the most recently used): a batch at one ``now`` needs one per
#: (maturity, region) in use, a live service one per (profile kind, second) in flight.
SHARED_CONTEXTS = 64
#: Of at most this many (catalog, model) pairs: a shared context holds its model, and a model
#: that was replaced should not stay in memory through the cache.
SHARED_MODELS = 2
_SHARED: OrderedDict[Hashable, SharedContext] = OrderedDict()
_SHARED_LOCK = threading.Lock()


def shared_context(catalog: Catalog, model: Any, now: int, profile: Profile, *, rules: np.ndarray | None = None, rules_key: Hashable = None) -> SharedContext:
    """The SharedContext of the requests at ``now`` by members with ``profile``'s maturity and
    region: base = ``static_eligible`` & added by ``now`` (& ``rules``, a further mask over the
    catalog identified by ``rules_key``, such as a policy's). The last SHARED_CONTEXTS used are kept;
    each holds its catalog and model, so their ids in the key cannot be reused while it lives."""
    now = int(now)
    key = (id(catalog), id(model), now, profile.maturity, profile.region, rules_key if rules is not None else None)
    with _SHARED_LOCK:
        hit = _SHARED.get(key)
        if hit is not None:
            _SHARED.move_to_end(key)
            return hit
    base = static_eligible(catalog, profile) & (catalog.added <= now)
    if rules is not None:
        base &= rules
    hit = SharedContext(catalog=catalog, model=model, now=now, base=frozen(base))
    with _SHARED_LOCK:
        hit = _SHARED.setdefault(key, hit)
        _SHARED.move_to_end(key)
        while len(_SHARED) > SHARED_CONTEXTS:
            _SHARED.popitem(last=False)
        pairs = list(dict.fromkeys(k[:2] for k in reversed(_SHARED)))  # most recently used first
        for k in [k for k in _SHARED if k[:2] in pairs[SHARED_MODELS:]]:
            del _SHARED[k]
    return hit


def ranked_pool(ctx: RankContext, key: Hashable, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """int64 titles of ``mask & (values > 0)`` ordered by ``values`` descending, ties to the lower
    title (the order of ``top_k``); ``mask`` within ``ctx.eligible`` and ``values`` (identified by
    ``key``) independent of the member: the ordering of the shared base is made once."""
    def order(within: np.ndarray) -> np.ndarray:
        cand = np.flatnonzero(within & (values > 0))
        return cand[argtopk(np.asarray(values[cand], np.float32), cand.size)]

    if ctx.shared is None:
        return order(mask)
    found = ctx.shared.cached(("ranked_pool", key), lambda: frozen(order(ctx.shared.base)))
    return found[mask[found]]


def static_eligible(catalog: Catalog, profile: Profile) -> np.ndarray:
    """The part of eligibility that depends on the profile only (displayable, maturity, region)."""
    return catalog.displayable() & (catalog.maturity <= profile.maturity) & available(catalog, profile.region)


def top_k(values: np.ndarray, mask: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best titles among ``mask``: (int32 items, float32 values), best first, ties to the
    lower title (``argtopk``)."""
    cand = np.flatnonzero(mask)
    v = np.asarray(values[cand], dtype=np.float32)
    pos = argtopk(v, k)
    return cand[pos].astype(np.int32), v[pos]


def has_titles(ctx: RankContext, unseen: bool) -> bool:
    """``ctx.unseen.any()`` (``unseen``) or ``ctx.eligible.any()``, once per request (most rankers ask)."""
    return ctx.cached(("has_titles", bool(unseen)), lambda: bool((ctx.unseen if unseen else ctx.eligible).any()))


def unseen_items(ctx: RankContext) -> np.ndarray:
    """int64 indices of ``ctx.unseen`` (eligible titles the member has not seen), once per request."""
    return ctx.cached("unseen_items", lambda: ctx.unseen.nonzero()[0])


def popularity(ctx: RankContext, window: int | None, region: str | None) -> np.ndarray:
    """float32 (n_items,), read-only: ``model.popularity(now, window=, region=)``, once per shared
    context (or request) for each (window, region); all time and everywhere is ``ctx.popularity``."""
    if window is None and region is None:
        return ctx.popularity
    return ctx.common(("popularity", window, region), lambda: frozen(item_vector(ctx.model.popularity(ctx.now, window=window, region=region), ctx.catalog.n, "model.popularity")))


def decay(age: np.ndarray, half_life: float) -> np.ndarray:
    """exp(-ln 2 * age / half_life): 1 now, 1/2 one half-life ago (ages in seconds, clipped at 0)."""
    return np.exp(-math.log(2.0) * np.maximum(np.asarray(age, np.float64), 0.0) / half_life)


_NEVER = np.iinfo(np.int64).min


def history_liking(user: UserState, catalog: Catalog, *, rating_max: float, undated_recency: float, half_life: float, series_level: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How much the member liked each title of their history, and how recently.

    Returns (items int32, liking float64 in [0, 1], recency float64 in [0, 1]), one entry per
    distinct title. Liking is the rating / ``rating_max`` when rated, otherwise the watched
    fraction (a finished play counts as 1). Recency decays with the last play's age on the
    member's own clock (``UserState.active_age``: a break does not age a history), halving
    every ``half_life`` seconds of it; a title that was only rated (no play time) gets
    ``undated_recency``. With ``series_level``, episodes count as their series (best liking,
    most recent play).
    """
    items, like, age, undated = _history(user, catalog, rating_max, series_level)
    return items, like, _recency(age, undated, undated_recency, half_life)


def liking(ctx: RankContext, *, rating_max: float, undated_recency: float, half_life: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``history_liking`` at series level for the request's member; the part that does not
    depend on the half-life is computed once per request (rankers share it)."""
    items, like, age, undated = ctx.cached(("history", float(rating_max)), lambda: _history(ctx.user, ctx.catalog, rating_max, True))
    return items, like, _recency(age, undated, undated_recency, half_life)


def _recency(age: np.ndarray, undated: np.ndarray, undated_recency: float, half_life: float) -> np.ndarray:
    """decay(age) of the played titles (``age`` >= 0), 0 for the never played (``age`` < 0), at least
    ``undated_recency`` for the ``undated``."""
    played = age >= 0
    rec = np.zeros(age.size)
    rec[played] = decay(age[played], half_life)
    return np.where(undated, np.maximum(rec, float(undated_recency)), rec)


def _history(user: UserState, catalog: Catalog, rating_max: float, series_level: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(items int32, liking float64, active age of the last play int64 (-1: never played),
    rated-but-unplayed bool), read-only."""
    p_items, rated = user.items, user.rated
    items, last = p_items.astype(np.int32), user.last
    like = np.where(user.fraction >= FINISHED_AT, 1.0, user.fraction.astype(np.float64))
    if rated.size:  # a rating sets the liking; titles rated but never played come after the plays
        rated_like = np.clip(user.ratings / rating_max, 0.0, 1.0).astype(np.float64)
        played = np.zeros(rated.size, bool)
        if p_items.size:
            pos = np.minimum(rated.searchsorted(p_items), rated.size - 1)  # rated is sorted
            hit = rated[pos] == p_items
            like[hit] = rated_like[pos[hit]]
            played[pos[hit]] = True
        items = np.concatenate([items, rated[~played]]).astype(np.int32)
        like = np.concatenate([like, rated_like[~played]])
        last = np.concatenate([last, np.full(rated.size - int(played.sum()), _NEVER, np.int64)])
    undated = np.arange(items.size) >= p_items.size
    if series_level and items.size:
        episode = series_episodes(catalog)[items]
        if episode.any():
            items = np.where(episode, catalog.series[items], items).astype(np.int32)
            uniq, inv = np.unique(items, return_inverse=True)
            if uniq.size != items.size:
                like_u = np.zeros(uniq.size)
                last_u = np.full(uniq.size, _NEVER, np.int64)
                undated_u = np.zeros(uniq.size, bool)
                np.maximum.at(like_u, inv, like)
                np.maximum.at(last_u, inv, last)
                np.logical_or.at(undated_u, inv, undated)
                items, like, last, undated = uniq.astype(np.int32), like_u, last_u, undated_u
    age = np.full(last.size, -1, np.int64)
    played = last != _NEVER
    age[played] = user.active_age(last[played])
    return frozen(items), frozen(like), frozen(age), frozen(undated)


def series_episodes(catalog: Catalog) -> np.ndarray:
    """bool (n,): the episodes of a series."""
    return (catalog.kind == EPISODE) & (catalog.series >= 0)


def next_episode(catalog: Catalog) -> np.ndarray:
    """int32 (n,): for an episode, the following episode of its series in (season, episode)
    order; -1 for the last episode and for non-episodes. Cached per catalog (``pagegen.core._resume``)."""
    return next_episodes(catalog)
