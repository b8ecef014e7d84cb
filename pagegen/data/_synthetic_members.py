"""The synthetic world's members and their behaviour, generated in flat numpy arrays.

Members mix one to three tastes (a household), some profiles are kids profiles, activity is
power-law. Titles are *shown* to members through two channels: their own tastes, and what is
popular on the day (with a burst after a title is added); a shown title is played with the
ground-truth probability ``Truth.preference``, which falls with each earlier unplayed showing
of the title (impression fatigue). A play of a movie is watched to the end or
abandoned, and an abandoned title is sometimes resumed later; starting a series binges its
episodes in order, over one or several sittings. Some plays are rated. Everything is
vectorized over all the events of a chunk of members at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from pagegen.core._catalog import MATURITY_LEVELS, Catalog
from pagegen.core._interactions import IMPRESSION, PLAY, RATING
from pagegen.core._time import DAY

from ._synthetic_catalog import FAMILY, REGIONS, TASTES, ItemLatent

if TYPE_CHECKING:
    from ._truth import Truth
    from ._world_config import WorldConfig

__all__ = ["MemberLatent", "make_events", "make_members"]

#: Share of members per region (REGIONS order) and of each taste among adult members.
_REGION_SHARE = np.array([0.10, 0.10, 0.10, 0.15, 0.10, 0.45])
_TASTE_SHARE = np.array([0.18, 0.13, 0.09, 0.08, 0.15, 0.07, 0.17, 0.13])
_CHUNK = 50_000  # members per generation chunk (fixed: the result does not depend on it)
#: A finished sitting reaches at least this fraction (>= FINISHED_AT: credits are often skipped).
FINISHED = 0.92


@dataclass(frozen=True, eq=False)
class MemberLatent:
    """Per-member generator state: profile codes, tastes, activity, when they joined."""

    maturity: np.ndarray  # int8 code into MATURITY_LEVELS
    kids: np.ndarray  # bool: a kids profile
    region: np.ndarray  # int8 code into REGIONS
    taste: np.ndarray  # float32 (n_members, n_tastes), rows sum to 1
    factor: np.ndarray  # float32 (n_members, n_factors): idiosyncratic taste
    exposures: np.ndarray  # int32 how many titles the member is shown over their lifetime
    joined: np.ndarray  # int64 time the member joined
    rate: np.ndarray  # float32 probability that the member rates a title they started


def make_members(config: WorldConfig, rng: np.random.Generator, n_factors: int) -> MemberLatent:
    n, k = config.n_members, len(TASTES)
    kids = rng.random(n) < config.kids_share
    maturity = np.where(rng.random(n) < 0.9, len(MATURITY_LEVELS) - 1, len(MATURITY_LEVELS) - 2)
    teen = rng.random(n) < 0.05
    maturity = np.where(teen, 2, maturity)
    maturity = np.where(kids, (rng.random(n) < 0.4).astype(int), maturity).astype(np.int8)
    region = rng.choice(len(REGIONS), size=n, p=_REGION_SHARE).astype(np.int8)

    # households: 1, 2 or 3 tastes, picked without replacement (Gumbel top-k), Dirichlet-like weights
    n_tastes = rng.choice(3, size=n, p=[0.45, 0.35, 0.2]) + 1
    keys = np.log(_TASTE_SHARE / _TASTE_SHARE.sum()) + rng.gumbel(size=(n, k))
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    weight = rng.gamma(2.0, size=(n, k)) * (rank < n_tastes[:, None])
    taste = 0.9 * weight / weight.sum(axis=1, keepdims=True) + 0.1 / k
    family = np.zeros(k)
    family[FAMILY] = 1.0
    taste[kids] = 0.8 * family + 0.2 * taste[kids]
    factor = rng.normal(0.0, config.factor_spread, size=(n, n_factors))

    # power-law activity: Lomax with tail index alpha, scaled to the configured mean, capped
    a = config.activity_alpha
    x_min = config.mean_exposures * (a - 1) / a
    exposures = np.minimum(x_min * (1 + rng.pareto(a, size=n)), 50 * config.mean_exposures)
    launch = config.now - config.history_days * DAY
    early = rng.random(n) < 0.4
    joined = launch + (rng.random(n) * (config.history_days - 1) * DAY).astype(np.int64)
    joined[early] = launch
    rate = rng.beta(1.0, 1.0 / max(config.rating_rate, 1e-6) - 1.0, size=n) if config.rating_rate > 0 else np.zeros(n)
    return MemberLatent(
        maturity=maturity,
        kids=kids,
        region=region,
        taste=taste.astype(np.float32),
        factor=factor.astype(np.float32),
        exposures=np.maximum(1, np.round(exposures)).astype(np.int32),
        joined=joined,
        rate=rate.astype(np.float32),
    )


class _RowSampler:
    """Draws a column from a chosen row of a non-negative weight table, vectorized.

    The rows' cumulative distributions are laid end to end (row ``r`` spans ``[r, r + 1]``), so one
    ``searchsorted`` over the sorted targets ``row + u`` serves every draw at once.
    """

    def __init__(self, weights: np.ndarray) -> None:
        total = weights.sum(axis=1, keepdims=True)
        weights = np.where(total > 0, weights, 1.0)  # a row with no weight: uniform
        cdf = np.cumsum(weights, axis=1)
        cdf /= cdf[:, -1:]
        cdf += np.arange(len(cdf))[:, None]
        self.n = weights.shape[1]
        self.flat = cdf.ravel()

    def sample(self, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
        target = rows + u
        order = np.argsort(target, kind="stable")
        pos = np.empty(len(target), dtype=np.int64)
        pos[order] = np.searchsorted(self.flat, target[order], side="right")
        return np.minimum(pos - rows.astype(np.int64) * self.n, self.n - 1).astype(np.int32)


@dataclass(frozen=True)
class _World:
    """What every chunk of members is generated from."""

    config: WorldConfig
    catalog: Catalog
    items: ItemLatent
    members: MemberLatent
    truth: Truth
    by_taste: _RowSampler  # (n_tastes, n_titles): titles of each taste, weighted by appeal
    by_day: _RowSampler  # (history_days, n_titles): the day's popular titles, with bursts


def _samplers(config: WorldConfig, catalog: Catalog, items: ItemLatent) -> tuple[_RowSampler, _RowSampler]:
    n = config.n_titles
    pop = np.exp(config.popularity_skew * items.quality[:n].astype(np.float64))
    launch = config.now - config.history_days * DAY
    day_end = launch + (np.arange(config.history_days, dtype=np.int64) + 1) * DAY
    added = catalog.added[:n]
    age = np.maximum(day_end[:, None] - DAY // 2 - added[None, :], 0) / DAY
    w = (added[None, :] < day_end[:, None]) * pop * (1 + config.burst * np.exp(-age / config.burst_days))
    return _RowSampler(items.taste[:n].T * pop), _RowSampler(w)


def make_events(
    config: WorldConfig, catalog: Catalog, items: ItemLatent, members: MemberLatent, truth: Truth, seed: np.random.SeedSequence
) -> tuple[np.ndarray, ...]:
    """All events of the world as flat arrays (user, item, timestamp, kind, value), chunk by chunk."""
    world = _World(config, catalog, items, members, truth, *_samplers(config, catalog, items))
    parts = []
    chunk_seeds = seed.spawn((config.n_members + _CHUNK - 1) // _CHUNK)
    for c, chunk_seed in enumerate(chunk_seeds):
        lo, hi = c * _CHUNK, min((c + 1) * _CHUNK, config.n_members)
        parts.append(_chunk(world, lo, hi, np.random.default_rng(chunk_seed)))
    return tuple(np.concatenate(cols) for cols in zip(*parts, strict=True))


def _chunk(world: _World, lo: int, hi: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Impressions, ratings and plays of members ``lo .. hi - 1``."""
    config, catalog, members = world.config, world.catalog, world.members
    now = config.now
    launch = now - config.history_days * DAY
    n_exp = members.exposures[lo:hi]
    user = np.repeat(np.arange(lo, hi, dtype=np.int32), n_exp)
    m = len(user)
    # sessions: each member's exposures fall into sittings spread over their membership
    n_sess = 1 + n_exp // 6
    s_user = np.repeat(np.arange(lo, hi), n_sess)
    joined = members.joined[s_user]
    s_time = joined + (rng.random(len(s_user)) * (now - DAY // 2 - joined)).astype(np.int64)
    s_first = np.repeat(np.cumsum(n_sess) - n_sess, n_exp)
    pick = s_first + (rng.random(m) * n_sess[user - lo]).astype(np.int64)
    t = np.minimum(s_time[pick] + rng.integers(0, 1800, size=m), now - 1)

    # the member's own tastes (pick one of their tastes, then a title of it), or the day's popular titles
    personal = rng.random(m) < config.personal_share
    cum = np.cumsum(members.taste[user[personal]], axis=1)
    taste = np.minimum((rng.random(len(cum))[:, None] * cum[:, -1:] >= cum).sum(axis=1), cum.shape[1] - 1)
    del cum
    day = np.clip((t[~personal] - launch) // DAY, 0, config.history_days - 1)
    item = np.empty(m, dtype=np.int32)
    item[personal] = world.by_taste.sample(taste, rng.random(len(taste)))
    item[~personal] = world.by_day.sample(day, rng.random(len(day)))
    region_ok = catalog.regions[item, members.region[user]] | ~catalog.regions[item].any(axis=1)
    ok = (catalog.added[item] <= t) & (catalog.maturity[item] <= members.maturity[user]) & region_ok
    user, item, t = user[ok], item[ok], t[ok]
    pref = world.truth.preference_pairs(user, item, _earlier_showings(user, item, t, catalog.n))
    impression = rng.random(len(user)) < config.impression_rate
    imp = (user[impression], item[impression], t[impression], np.full(int(impression.sum()), IMPRESSION, np.int8), np.zeros(int(impression.sum()), np.float32))

    # a member starts a title at most once: the first time it is shown and accepted
    play = rng.random(len(user)) < pref
    user, item, t, pref = user[play], item[play], t[play], pref[play]
    key = user.astype(np.int64) * catalog.n + item
    order = np.lexsort((t, key))
    first = np.ones(len(order), dtype=bool)
    first[1:] = key[order][1:] != key[order][:-1]
    keep = order[first]
    user, item, t, pref = user[keep], item[keep], t[keep], pref[keep]

    # ratings of movies and series, a little after the start
    rated = rng.random(len(user)) < members.rate[user]
    r_pref = np.clip(pref[rated] + rng.normal(0, 0.12, size=int(rated.sum())), 0, 1)
    r_value = np.clip(np.round(2 * (0.5 + 4.5 * r_pref)) / 2, 0.5, 5.0).astype(np.float32)
    r_t = t[rated] + (catalog.duration[item[rated]] * 60).astype(np.int64) + rng.integers(60, 3600, size=int(rated.sum()))
    ok = r_t < now
    rate = (user[rated][ok], item[rated][ok], r_t[ok], np.full(int(ok.sum()), RATING, np.int8), r_value[ok])

    plays = _plays(world, user, item, t, pref, rng)
    return tuple(np.concatenate(cols) for cols in zip(imp, rate, plays, strict=True))


def _earlier_showings(user: np.ndarray, item: np.ndarray, t: np.ndarray, n_items: int) -> np.ndarray:
    """How often each showing's title was shown to the member before (in time, then event order):
    all of them unplayed, since a member starts a title at most once and later showings are dropped."""
    key = user.astype(np.int64) * n_items + item
    order = np.lexsort((np.arange(len(key)), t, key))
    sorted_key = key[order]
    start = np.r_[True, sorted_key[1:] != sorted_key[:-1]] if len(key) else np.zeros(0, bool)
    run_start = np.maximum.accumulate(np.where(start, np.arange(len(key)), 0)) if len(key) else np.zeros(0, np.int64)
    out = np.empty(len(key), np.int64)
    out[order] = np.arange(len(key)) - run_start
    return out


def _plays(world: _World, user: np.ndarray, item: np.ndarray, t: np.ndarray, pref: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Play events of started titles: movies watched or abandoned, series binged episode by episode."""
    catalog, items, now = world.catalog, world.items, world.config.now
    n_eps = items.n_episodes[item]
    series = n_eps > 0
    # binge length: geometric, longer for titles the member likes, at most the whole series
    keep_going = 0.45 + 0.5 * pref
    length = np.where(series, np.minimum(rng.geometric(1.0 - keep_going), n_eps), 1)
    owner = np.repeat(np.arange(len(user)), length)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(length) - length, length)
    p_item = np.where(series[owner], items.first_episode[item][owner] + k, item[owner]).astype(np.int32)
    dur = catalog.duration[p_item].astype(np.int64) * 60
    overnight = rng.random(len(owner)) < 0.3
    pause = np.where(overnight, DAY // 3 + rng.exponential(1.5 * DAY, size=len(owner)).astype(np.int64), rng.integers(60, 900, size=len(owner)))
    step = np.where(k > 0, np.roll(dur + pause, 1), 0)
    csum = np.cumsum(step)
    p_t = t[owner] + csum - np.repeat(csum[np.cumsum(length) - length], length)
    # the last title of a sitting may be abandoned; every other episode is finished
    last = np.zeros(len(owner), dtype=bool)
    last[np.cumsum(length) - 1] = True
    finish = (rng.random(len(owner)) < 0.3 + 0.65 * pref[owner]) | ~last
    frac = np.where(finish, rng.uniform(FINISHED, 1.0, size=len(owner)), rng.uniform(0.02, 0.85, size=len(owner)))
    # an episode not yet on the service, or a time past now, ends the binge
    bad = (catalog.added[p_item] > p_t) | (p_t >= now)
    bad_run = np.cumsum(bad)
    bad_run = bad_run - np.repeat(bad_run[np.cumsum(length) - length] - bad[np.cumsum(length) - length], length)
    ok = bad_run == 0
    p_user, p_item, p_t, frac, pref_p, dur = user[owner][ok], p_item[ok], p_t[ok], frac[ok], pref[owner][ok], dur[ok]
    # abandoned titles are sometimes resumed later and finished
    part = frac < FINISHED
    resume = part & (rng.random(len(part)) < 0.2 + 0.6 * pref_p)
    r_t = p_t[resume] + dur[resume] + (3600 + rng.exponential(1.5 * DAY, size=int(resume.sum()))).astype(np.int64)
    r_ok = r_t < now
    user_all = np.concatenate([p_user, p_user[resume][r_ok]])
    item_all = np.concatenate([p_item, p_item[resume][r_ok]])
    t_all = np.concatenate([p_t, r_t[r_ok]])
    v_all = np.concatenate([frac, rng.uniform(FINISHED, 1.0, size=int(r_ok.sum()))]).astype(np.float32)
    return user_all, item_all, t_all, np.full(len(user_all), PLAY, np.int8), v_all

