"""Continue Watching: started-not-finished titles, and the next episode of series in progress."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._time import DAY
from pagegen.core._userstate import FINISHED_AT

from ._context import available, decay, has_titles, next_episode, series_episodes

__all__ = ["ContinueWatching", "ContinueWatchingConfig"]


class ContinueWatchingConfig(BaseModel):
    """Continue Watching: ranked by the chance to resume = recency x progress.

    A started title scores decay(age) * (0.5 + 0.5 * fraction); the next episode of a series
    whose latest episode was finished scores decay(age) * next_episode.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field("Continue Watching", min_length=1, max_length=80, description="Display title of the row.")
    half_life_days: float = Field(14.0, gt=0.0, le=3650.0, description="The chance to resume halves every this many days since the last play.")
    max_age_days: float = Field(365.0, gt=0.0, le=36500.0, description="Titles last played longer ago than this are not offered.")
    min_fraction: float = Field(0.0, ge=0.0, lt=FINISHED_AT, description="A title counts as started above this watched fraction.")
    next_episode: float = Field(0.8, ge=0.0, le=1.0, description="Chance-to-resume factor of a next episode relative to a fresh, half-watched title.")
    weight: float = Field(1.0, ge=0.0, le=1.0, description="Row score = weight * the best chance to resume.")


class ContinueWatching:
    """Started-not-finished titles ranked by the chance the member resumes them.

    Episodes are shown as their series tile: the latest episode played, when unfinished
    (reason "Resume S1:E3"), otherwise the next unfinished episode (reason "Next: S1:E4").
    A finished title is never shown (``ctx.eligible`` excludes them).
    """

    def __init__(self, config: ContinueWatchingConfig | None = None) -> None:
        self.config = config or ContinueWatchingConfig()

    def __call__(self, ctx: RankContext) -> list[CandidateRow]:
        cfg = self.config
        user, cat = ctx.user, ctx.catalog
        if len(user.items) == 0 or not has_titles(ctx, False):
            return []
        age = user.now - user.last
        recent = age <= cfg.max_age_days * DAY
        items, frac = user.items, user.fraction
        if not recent.all():
            items, frac, age = items[recent], frac[recent], age[recent]
            if items.size == 0:
                return []
        started = (frac > cfg.min_fraction) & (frac < FINISHED_AT)
        chance = decay(age, cfg.half_life_days * DAY)
        is_ep = series_episodes(cat)[items]

        # the plays offered: titles played directly (movies, series tiles), and for each series the
        # latest episode played (history is most recent first); each with its tile and episode
        direct = (started & ~is_ep).nonzero()[0]
        plays, tiles, episodes = [direct], [items[direct]], [np.full(direct.size, -1, np.int32)]
        ep_pos = is_ep.nonzero()[0]
        if ep_pos.size:
            series, first = np.unique(cat.series[items[ep_pos]], return_index=True)
            latest = ep_pos[first]
            ep = items[latest].astype(np.int32)
            ep_done = frac[latest] >= FINISHED_AT
            target = np.where(ep_done, next_episode(cat)[ep], ep)
            target = _skip_finished(ctx, target, ep_done)
            ok = target >= 0
            ok[ok] = _episode_available(ctx, target[ok])
            plays.append(latest[ok])
            tiles.append(series[ok].astype(np.int32))
            episodes.append(target[ok])
        play = np.concatenate(plays)
        tile = np.concatenate(tiles)
        episode = np.concatenate(episodes)
        keep = ctx.eligible[tile]
        play, tile, episode = play[keep], tile[keep], episode[keep]
        if tile.size == 0:
            return []
        # the chance to resume: a started title (or episode) by its progress, a next episode by its factor
        score = chance[play] * np.where(started[play], 0.5 + 0.5 * frac[play], cfg.next_episode)
        # one tile per title: the best reason wins (a series played both directly and by episode)
        order = np.lexsort((tile, -score))
        _, first = np.unique(tile[order], return_index=True)
        order = order[np.sort(first)][: ctx.n]
        tile, score, episode, play = tile[order], score[order], episode[order], play[order]
        is_resume = started[play]
        fraction = np.where(is_resume, frac[play], 0.0)
        reasons, entries = [], []
        per_tile = zip(cat.ids[tile].tolist(), episode.tolist(), cat.ids[episode].tolist(), cat.season[episode].tolist(), cat.episode[episode].tolist(), is_resume.tolist(), fraction.tolist(), strict=True)
        for tid, e, eid, season, number, r, f in per_tile:
            if e < 0:
                reasons.append(f"Resume ({round(100 * f)}% watched)")
                entries.append({"item": tid, "fraction": round(f, 4)})
            else:
                name = f"S{season}:E{number}"
                reasons.append(f"Resume {name} ({round(100 * f)}% watched)" if r else f"Next: {name}")
                entries.append({"item": tid, "episode": eid, "episode_name": name, "next": not r, "fraction": round(f, 4)})
        evidence = {"source": "in progress", "titles": entries}
        return [CandidateRow("continue_watching", "continue_watching", cfg.title, tile, score.astype(np.float32), evidence, cfg.weight * float(score[0]), tuple(reasons))]


def _finished_mask(ctx: RankContext) -> np.ndarray:
    def compute() -> np.ndarray:
        mask = np.zeros(ctx.catalog.n, bool)
        mask[ctx.user.finished()] = True
        return mask

    return ctx.cached("finished_mask", compute)


def _skip_finished(ctx: RankContext, target: np.ndarray, follow: np.ndarray) -> np.ndarray:
    """Where ``follow``, move each target along the series until an unfinished episode (or -1)."""
    nxt = next_episode(ctx.catalog)
    finished = _finished_mask(ctx)
    target = target.copy()
    todo = follow & (target >= 0)
    todo[todo] = finished[target[todo]]
    while todo.any():  # one step per consecutive finished episode, vectorized across series
        target[todo] = nxt[target[todo]]
        todo &= target >= 0
        todo[todo] = finished[target[todo]]
    return target


def _episode_available(ctx: RankContext, episodes: np.ndarray) -> np.ndarray:
    """An episode can be offered once it joined the service and is available in the member's region."""
    cat = ctx.catalog
    return (cat.added[episodes] <= ctx.now) & available(cat, ctx.user.profile.region, episodes)
