"""Top picks (the personalized video ranker over the whole catalog) and the numbered Top 10."""

from __future__ import annotations

import math

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._arrays import argtopk
from pagegen.core._candidates import CandidateRow, RankContext, eligible_items
from pagegen.core._time import DAY

from ._context import has_titles, popularity, ranked_pool, unseen_items

__all__ = ["Top10", "Top10Config", "TopPicks", "TopPicksConfig"]


class TopPicksConfig(BaseModel):
    """Top picks: the member's best titles by ``ctx.scores``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field("Top Picks for You", min_length=1, max_length=80, description="Display title of the row.")
    weight: float = Field(0.9, ge=0.0, le=1.0, description="Row score for a member with a long history.")
    warmth: float = Field(5.0, gt=0.0, le=1000.0, description="History length (titles) at which the row score reaches 63% of weight (a member without history gets no row).")
    exclude_seen: bool = Field(True, description="Leave out titles the member already played or rated.")


class TopPicks:
    """The personalized video ranker's top ``ctx.n`` titles for the member.

    No row for a member without history (nothing played or rated): their scores are not personal, and
    the page's popular and trending rows say so honestly.
    """

    def __init__(self, config: TopPicksConfig | None = None) -> None:
        self.config = config or TopPicksConfig()

    def __call__(self, ctx: RankContext) -> list[CandidateRow]:
        cfg = self.config
        n = ctx.n
        if ctx.user.is_cold:
            return []
        cand = unseen_items(ctx) if cfg.exclude_seen else eligible_items(ctx)
        if cand.size == 0:
            return []
        values = ctx.scores[cand]
        pos = argtopk(values, n)  # ties to the lower title (cand is ascending)
        items, scores = cand[pos].astype(np.int32), values[pos]
        history = len(ctx.user.items) + len(ctx.user.rated)
        warmth = 1.0 - math.exp(-history / cfg.warmth)
        evidence = {"source": "personalized video ranker", "history": history, "warmth": round(warmth, 4)}
        return [CandidateRow("top_picks", "top_picks", cfg.title, items, scores, evidence, cfg.weight * warmth)]


class Top10Config(BaseModel):
    """The numbered Top 10: the most played titles as of now, in the member's region.

    A title charts with at least ``min_plays`` plays in the period (its support). Titles with as many
    plays are ordered by their plays of all time, then by catalog order; their reasons say they are tied.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    length: int = Field(10, ge=1, le=50, description="How many titles the chart holds (at most ctx.n).")
    windows: tuple[int, ...] = Field((DAY, 7 * DAY, 30 * DAY), min_length=1, max_length=8, description="Counting windows in seconds, tried in order until one has `length` titles with `min_plays`; all time after the last.")
    min_plays: int = Field(5, ge=1, le=1_000_000, description="Fewest plays in the period for a title to chart (fewer titles chart when too few have them).")
    weight: float = Field(0.45, ge=0.0, le=1.0, description="Row score (the chart is not personalized).")


_PERIODS = ((DAY, "today", "Today"), (7 * DAY, "this week", "This Week"), (31 * DAY, "this month", "This Month"), (366 * DAY, "this year", "This Year"))


def _period(window: int | None) -> tuple[str, str]:
    if window is None:
        return "of all time", "of All Time"
    for limit, low, cap in _PERIODS:
        if window <= limit:
            return low, cap
    return f"in the last {window // DAY} days", f"in the Last {window // DAY} Days"


class Top10:
    """Popularity as of ``now`` (per the member's region where the catalog has regions), numbered."""

    def __init__(self, config: Top10Config | None = None) -> None:
        self.config = config or Top10Config()

    def __call__(self, ctx: RankContext) -> list[CandidateRow]:
        cfg = self.config
        if not has_titles(ctx, False):
            return []
        region = ctx.user.profile.region
        region = region if region in ctx.catalog.region_names else None  # a chart per region the catalog knows
        length = min(cfg.length, ctx.n)
        windows: tuple[int | None, ...] = (*cfg.windows, None)
        for window in windows:
            counts = popularity(ctx, window, region)
            ranked = ranked_pool(ctx, ("popularity", window, region), counts, ctx.eligible)  # played eligible titles, most played first
            ranked = ranked[: int(np.searchsorted(-counts[ranked], -cfg.min_plays, side="right"))]  # with the support
            if ranked.size >= length:
                break
        if ranked.size == 0:
            return []
        items, plays, tied = _chart(ctx, ranked, counts, region, length)
        low, cap = _period(window)
        place = f"in {region} " if region else ""
        reasons = tuple(f"#{i} {place}{low}" + (f" (tied at {n} plays)" if t else "") for i, (n, t) in enumerate(zip(plays.tolist(), tied.tolist(), strict=True), 1))
        evidence = {"source": "popularity", "region": region, "window": window, "period": low, "min_plays": cfg.min_plays, "plays": plays.tolist(), "ties": "more plays of all time, then catalog order"}
        title = f"Top {len(items)} {place}{cap}"
        return [CandidateRow("top10", f"top10:{region or 'all'}", title, items, counts[items], evidence, cfg.weight, reasons)]


def _chart(ctx: RankContext, ranked: np.ndarray, counts: np.ndarray, region: str | None, length: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The first ``length`` of ``ranked`` (most played first) with ties on plays broken by plays of all time,
    then catalog order: (titles int32, their plays int64, whether another title of ``ranked`` has as many plays)."""
    edge = ranked[: int(np.searchsorted(-counts[ranked], -counts[ranked[min(length, ranked.size) - 1]], side="right"))]  # every title tied with the last place
    plays = counts[edge]
    order = np.lexsort((edge, -popularity(ctx, None, region)[edge], -plays))[:length]
    _, at, many = np.unique(plays, return_inverse=True, return_counts=True)
    return edge[order].astype(np.int32), plays[order].astype(np.int64), (many[at] > 1)[order]
