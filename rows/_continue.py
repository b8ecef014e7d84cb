"""Continue Watching: started-not-finished titles, and the next episode of series in progress."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._resume import MAX_AGE_DAYS, resumable
from pagegen.core._time import DAY
from pagegen.core._userstate import FINISHED_AT

from ._context import decay, has_titles

__all__ = ["ContinueWatching", "ContinueWatchingConfig"]


class ContinueWatchingConfig(BaseModel):
    """Continue Watching: ranked by the chance to resume = recency x progress.

    A started title scores decay(age) * (0.5 + 0.5 * fraction); the next episode of a series
    whose latest episode was finished scores decay(age) * next_episode. What the row can show is
    ``pagegen.core._resume.resumable`` (the definition an 'in_progress' pin requires the row by):
    keep ``max_age_days`` and ``min_fraction`` equal to the pin's.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field("Continue Watching", min_length=1, max_length=80, description="Display title of the row.")
    half_life_days: float = Field(14.0, gt=0.0, le=3650.0, description="The chance to resume halves every this many days since the last play.")
    max_age_days: float = Field(MAX_AGE_DAYS, gt=0.0, le=36500.0, description="Titles last played longer ago than this are not offered.")
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
        play, tile, episode, is_resume = resumable(user, cat, ctx.eligible, max_age_days=cfg.max_age_days, min_fraction=cfg.min_fraction)
        if tile.size == 0:
            return []
        # the chance to resume: a started title (or episode) by its progress, a next episode by its factor
        frac = user.fraction[play]
        score = decay(user.now - user.last[play], cfg.half_life_days * DAY) * np.where(is_resume, 0.5 + 0.5 * frac, cfg.next_episode)
        # one tile per title: the best reason wins (a series played both directly and by episode)
        order = np.lexsort((tile, -score))
        _, first = np.unique(tile[order], return_index=True)
        order = order[np.sort(first)][: ctx.n]
        tile, score, episode, is_resume = tile[order], score[order], episode[order], is_resume[order]
        fraction = np.where(is_resume, frac[order], 0.0)
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
