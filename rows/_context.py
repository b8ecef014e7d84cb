"""Building a request's RankContext, and the small vectorized helpers the rankers share."""

from __future__ import annotations

import math
import weakref
import zlib
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np

from pagegen._candidates import RankContext
from pagegen._catalog import ITEM_KINDS, Catalog
from pagegen._errors import DataError
from pagegen._userstate import FINISHED_AT, UserState

__all__ = ["available", "catalog_cached", "decay", "history_liking", "make_context", "next_episode", "top_k"]

EPISODE = ITEM_KINDS.index("episode")
DAY = 86_400

_CATALOG_CACHE: weakref.WeakKeyDictionary[Catalog, dict[Hashable, Any]] = weakref.WeakKeyDictionary()


def make_context(catalog: Catalog, model: Any, user: UserState, *, n: int, seed: int) -> RankContext:
    """The context of one request: eligibility mask and a per-member random generator.

    A title is eligible when it is displayable (movie or series, not an episode), its
    maturity is within the profile's, it is available in the profile's region, it joined the
    service before ``now`` (``added <= now``), and the member has not finished it.
    A region the catalog does not name sees only the titles without region restrictions.
    The generator is seeded from (``seed``, member id), so a page does not depend on the
    order in which requests arrive.
    """
    if n < 1:
        raise DataError("a row must hold at least one title", field="n", value=n)
    profile = user.profile
    static = catalog_cached(catalog, ("eligible", profile.maturity, profile.region), lambda: _frozen(catalog.displayable() & (catalog.maturity <= profile.maturity) & available(catalog, profile.region)))
    eligible = static & (catalog.added <= user.now)
    finished = user.finished()
    if finished.size:
        if int(finished.max()) >= catalog.n:
            raise DataError("the member's history names a title outside the catalog", field="items", value=int(finished.max()))
        eligible[finished] = False
    eligible.setflags(write=False)
    member = user.user if user.user is not None else f"#{user.user_index}"
    rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(member.encode())]))
    return RankContext(catalog=catalog, model=model, user=user, eligible=eligible, n=int(n), rng=rng)


def available(catalog: Catalog, region: str | None) -> np.ndarray:
    """Titles available in ``region``: unrestricted ones, and those licensed there (read-only, cached)."""
    def compute() -> np.ndarray:
        if region is None or not catalog.region_names:
            return _frozen(np.ones(catalog.n, dtype=bool))
        if region in catalog.region_names:
            return _frozen(catalog.available_in(region))
        return _frozen(~catalog.regions.any(axis=1))

    return catalog_cached(catalog, ("available", region), compute)


def catalog_cached(catalog: Catalog, key: Hashable, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per catalog object for ``key`` (precomputed indexes; the catalog is frozen)."""
    per = _CATALOG_CACHE.setdefault(catalog, {})
    try:
        return per[key]
    except KeyError:
        value = per[key] = compute()
        return value


def _frozen(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr


def top_k(values: np.ndarray, mask: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best titles among ``mask``: (int32 items, float32 values), best first.

    Ties are broken by the lower index; argpartition keeps it O(n).
    """
    cand = np.flatnonzero(mask)
    if k <= 0 or cand.size == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.float32)
    v = np.asarray(values[cand], dtype=np.float32)
    if cand.size > k:
        # take every title tied with the k-th so that the index tie-break is exact
        kth = np.partition(v, cand.size - k)[cand.size - k]
        keep = v >= kth
        cand, v = cand[keep], v[keep]
    order = np.lexsort((cand, -v))[:k]
    return cand[order].astype(np.int32), v[order]


def decay(age: np.ndarray, half_life: float) -> np.ndarray:
    """exp(-ln 2 * age / half_life): 1 now, 1/2 one half-life ago (ages in seconds, clipped at 0)."""
    return np.exp(-math.log(2.0) * np.maximum(np.asarray(age, np.float64), 0.0) / half_life)


def history_liking(user: UserState, catalog: Catalog, *, rating_max: float, undated_recency: float, half_life: float, series_level: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How much the member liked each title of their history, and how recently.

    Returns (items int32, liking float64 in [0, 1], recency float64 in [0, 1]), one entry per
    distinct title. Liking is the rating / ``rating_max`` when rated, otherwise the watched
    fraction (a finished play counts as 1). Recency decays with the last play's age; a title
    that was only rated (no play time) gets ``undated_recency``. With ``series_level``,
    episodes count as their series (best liking, most recent play).
    """
    p_items = user.items
    p_like = np.where(user.fraction >= FINISHED_AT, 1.0, user.fraction.astype(np.float64))
    p_rec = decay(user.now - user.last, half_life)
    r_only = np.setdiff1d(user.rated, p_items, assume_unique=True)
    items = np.concatenate([p_items, r_only]).astype(np.int32)
    like = np.concatenate([p_like, np.zeros(r_only.size)])
    rec = np.concatenate([p_rec, np.full(r_only.size, float(undated_recency))])
    if user.rated.size and items.size:
        pos = np.searchsorted(user.rated, items)
        pos_c = np.minimum(pos, user.rated.size - 1)
        hit = user.rated[pos_c] == items
        like[hit] = np.clip(user.ratings[pos_c[hit]] / rating_max, 0.0, 1.0)
    if series_level and items.size:
        series = catalog.series[items]
        items = np.where((catalog.kind[items] == EPISODE) & (series >= 0), series, items).astype(np.int32)
        uniq, inv = np.unique(items, return_inverse=True)
        if uniq.size != items.size:
            like_u = np.zeros(uniq.size)
            rec_u = np.zeros(uniq.size)
            np.maximum.at(like_u, inv, like)
            np.maximum.at(rec_u, inv, rec)
            items, like, rec = uniq.astype(np.int32), like_u, rec_u
    return items, like, rec


def next_episode(catalog: Catalog) -> np.ndarray:
    """int32 (n,): for an episode, the following episode of its series in (season, episode)
    order; -1 for the last episode and for non-episodes. Cached per catalog."""

    def compute() -> np.ndarray:
        out = np.full(catalog.n, -1, np.int32)
        eps = np.flatnonzero((catalog.kind == EPISODE) & (catalog.series >= 0))
        if eps.size > 1:
            order = eps[np.lexsort((eps, catalog.episode[eps], catalog.season[eps], catalog.series[eps]))]
            same = catalog.series[order[1:]] == catalog.series[order[:-1]]
            out[order[:-1][same]] = order[1:][same]
        out.setflags(write=False)
        return out

    return catalog_cached(catalog, "next_episode", compute)
