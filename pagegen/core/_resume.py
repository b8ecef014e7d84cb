"""What a member can resume: the one definition of "in progress" that Continue Watching shows and
an ``in_progress`` pin requires (``resumable``)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._catalog import ITEM_KINDS, Catalog, available, catalog_cached
from ._time import DAY
from ._userstate import FINISHED_AT, UserState

__all__ = ["MAX_AGE_DAYS", "Resumable", "episode_to_play", "next_episodes", "resumable"]

#: Titles last played longer ago than this many days are no longer in progress (the default).
MAX_AGE_DAYS = 365.0

_EPISODE = ITEM_KINDS.index("episode")


class Resumable(NamedTuple):
    """The plays a member can resume, one entry per (tile, play); a tile may appear twice (a series
    played directly and through an episode).

    play     int: position of the play in ``user.items`` (its age and fraction are there)
    tile     int32: the title shown, a movie or a series (the series of an episode)
    episode  int32: the episode to play for a series tile, -1 for a title played directly
    started  bool: the play itself is resumed (False: the next episode after a finished one)
    """

    play: np.ndarray
    tile: np.ndarray
    episode: np.ndarray
    started: np.ndarray

    def count(self) -> int:
        """Distinct tiles: the titles a Continue Watching row can show."""
        return int(np.unique(self.tile).size)


def next_episodes(catalog: Catalog) -> np.ndarray:
    """int32 (n,): for an episode, the following episode of its series in (season, episode) order;
    -1 for the last episode and for non-episodes. Cached per catalog, read-only."""
    return catalog_cached(catalog, "next_episodes", lambda: _next_episodes(catalog))


def _next_episodes(catalog: Catalog) -> np.ndarray:
    out = np.full(catalog.n, -1, np.int32)
    eps = np.flatnonzero((catalog.kind == _EPISODE) & (catalog.series >= 0))
    if eps.size > 1:
        order = eps[np.lexsort((eps, catalog.episode[eps], catalog.season[eps], catalog.series[eps]))]
        same = catalog.series[order[1:]] == catalog.series[order[:-1]]
        out[order[:-1][same]] = order[1:][same]
    out.setflags(write=False)
    return out


def resumable(user: UserState, catalog: Catalog, eligible: np.ndarray, *, max_age_days: float = MAX_AGE_DAYS, min_fraction: float = 0.0) -> Resumable:
    """The plays ``user`` can resume as of ``user.now``, on tiles ``eligible`` allows (bool (n,)).

    A play counts when it is at most ``max_age_days`` old. A title played directly (a movie, a series
    tile) is resumable when started (fraction above ``min_fraction``) and not finished. For each series,
    the latest episode played is resumed when unfinished; when finished, the next unfinished episode is
    offered, once it joined the service (``added <= now``) and is available in the member's region.
    """
    age = user.now - user.last
    recent = np.flatnonzero((age <= max_age_days * DAY) & (user.items < catalog.n))
    items, frac = user.items[recent], user.fraction[recent]
    started = (frac > min_fraction) & (frac < FINISHED_AT)
    is_ep = (catalog.kind[items] == _EPISODE) & (catalog.series[items] >= 0)
    direct = (started & ~is_ep).nonzero()[0]
    plays, tiles, episodes = [direct], [items[direct]], [np.full(direct.size, -1, np.int32)]
    ep_pos = is_ep.nonzero()[0]
    if ep_pos.size:  # history is most recent first: the first episode of a series is its latest
        series, first = np.unique(catalog.series[items[ep_pos]], return_index=True)
        latest = ep_pos[first]
        target = episode_to_play(items[latest], frac[latest], user.finished(), next_episodes(catalog))
        ok = target >= 0
        ok[ok] = (catalog.added[target[ok]] <= user.now) & available(catalog, user.profile.region, target[ok])
        plays.append(latest[ok])
        tiles.append(series[ok])
        episodes.append(target[ok])
    play = np.concatenate(plays)
    tile = np.concatenate(tiles).astype(np.int32)
    keep = np.asarray(eligible, dtype=bool)[tile]
    play = play[keep]
    return Resumable(recent[play], tile[keep], np.concatenate(episodes).astype(np.int32)[keep], started[play])


def episode_to_play(latest: np.ndarray, fraction: np.ndarray, finished: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """int32: for each series, the episode a member plays next. ``latest``: the latest episode of the
    series the member played, ``fraction`` its watched fraction; ``finished``: every title the member
    finished; ``nxt``: ``next_episodes``. An unfinished latest episode is itself the target; after a
    finished one, the first following episode the member has not finished, or -1 when none is left.
    (Whether that episode is on the service yet is the caller's to check.)"""
    target = np.asarray(latest).astype(np.int32)
    done = np.asarray(fraction) >= FINISHED_AT
    target[done] = nxt[target[done]]
    todo = done & (target >= 0)
    todo[todo] = np.isin(target[todo], finished)
    while todo.any():  # one step per consecutive finished episode, vectorized across series
        target[todo] = nxt[target[todo]]
        todo &= target >= 0
        todo[todo] = np.isin(target[todo], finished)
    return target
