"""Because You Watched X: neighbours of recent, well-liked titles, re-ranked for the member."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._arrays import argtopk
from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._time import DAY

from ._context import _NEVER, has_titles, liking, unseen_items

__all__ = ["BecauseYouWatched", "BecauseYouWatchedConfig"]


class BecauseYouWatchedConfig(BaseModel):
    """Because You Watched: anchors weighted by recency x liking; titles by similarity x (1 + beta * affinity)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_anchors: int = Field(10, ge=1, le=20, description="At most this many anchors, hence rows: the most recent and liked.")
    min_liking: float = Field(0.6, ge=0.0, le=1.0, description="An anchor must be liked at least this much (watched fraction, or rating / rating_max).")
    rating_max: float = Field(5.0, gt=0.0, le=100.0, description="The top of the rating scale.")
    half_life_days: float = Field(30.0, gt=0.0, le=36500.0, description="An anchor's recency halves every this many days of the member's activity since its last play (UserState.active_age).")
    undated_recency: float = Field(0.5, ge=0.0, le=1.0, description="Recency given to a title that was rated but never played (no play time).")
    beta: float = Field(0.5, ge=0.0, le=10.0, description="Personalization dose of the re-ranking (0: pure similarity).")
    min_titles: int = Field(3, ge=1, le=100, description="A row needs at least this many similar eligible titles.")
    weight: float = Field(0.85, ge=0.0, le=1.0, description="Row score = weight * the anchor's recency x liking.")


class BecauseYouWatched:
    """One row per anchor: X's most similar titles (``model.similarity``, or ``model.similarity_at``
    over the candidate titles when the model has it) the member has not seen."""

    def __init__(self, config: BecauseYouWatchedConfig | None = None) -> None:
        self.config = config or BecauseYouWatchedConfig()

    def __call__(self, ctx: RankContext) -> list[CandidateRow]:
        cfg = self.config
        if ctx.user.is_cold or not has_titles(ctx, True):
            return []
        items, like, rec = liking(ctx, rating_max=cfg.rating_max, undated_recency=cfg.undated_recency, half_life=cfg.half_life_days * DAY)
        weight = like * rec
        ok = like >= cfg.min_liking
        if not ok.any():
            return []
        items, like, rec, weight = items[ok], like[ok], rec[ok], weight[ok]
        by_title = items.argsort()  # (distinct titles) so that ties go to the lower title
        order = by_title[argtopk(weight[by_title], cfg.max_anchors)]
        anchors = items[order]
        # work on the unseen eligible titles only; boost >= 1, so a candidate (sim > 0) is a value > 0
        cand = unseen_items(ctx)
        at_cand = getattr(ctx.model, "similarity_at", None)  # a model that computes those columns only
        if at_cand is not None:
            sims = np.asarray(at_cand(anchors, cand), dtype=np.float32).reshape(len(anchors), cand.size)
        else:
            sims = np.take(np.asarray(ctx.model.similarity(anchors), dtype=np.float32).reshape(len(anchors), ctx.catalog.n), cand, axis=1)
        boost = ctx.affinity[cand]  # 1 + beta * affinity, in place
        boost *= cfg.beta
        boost += 1.0
        values = sims * boost
        np.fmax(values, 0.0, out=values)  # not similar (sim <= 0, or NaN): 0
        if ctx.unseen[anchors].any():  # an anchor is seen, hence never a candidate; guard anyway
            at = np.minimum(cand.searchsorted(anchors), cand.size - 1)  # (cand is not empty: has_titles)
            self_hit = cand[at] == anchors
            values[self_hit.nonzero()[0], at[self_hit]] = 0.0
        cat, user = ctx.catalog, ctx.user
        series = cat.series[user.items]
        history_tile = np.where(series >= 0, series, user.items)
        # per anchor, as Python values: its id and title, liking, recency and weight, and its last play (_NEVER: none)
        last = np.where(np.equal.outer(anchors, history_tile), user.last, _NEVER).max(axis=1, initial=_NEVER)
        per_anchor = zip(cat.ids[anchors].tolist(), cat.titles[anchors].tolist(), like[order].tolist(), rec[order].tolist(), weight[order].tolist(), last.tolist(), strict=True)
        rows, n = [], ctx.n
        for pos, (aid, atitle, like_a, rec_a, weight_a, last_a) in enumerate(per_anchor):
            value = values[pos]
            if np.count_nonzero(value) < cfg.min_titles:  # similar titles (sim > 0)
                continue
            top = argtopk(value, n)  # ties to the lower title (cand is ascending)
            top = top[value[top] > 0]
            evidence = {
                "anchor": aid,
                "anchor_title": atitle,
                "liking": round(like_a, 4),
                "recency": round(rec_a, 4),
                "last_played": None if last_a == _NEVER else last_a,
                "source": "item-item similarity",
            }
            rows.append(CandidateRow("because_you_watched", f"byw:{aid}", f"Because you watched {atitle}", cand[top], value[top], evidence, cfg.weight * weight_a))
        return rows
