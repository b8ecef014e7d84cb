"""Trending Now: short-term velocity with a dose of personalization."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._arrays import argtopk
from pagegen.core._candidates import CandidateRow, RankContext

from ._context import has_titles

__all__ = ["Trending", "TrendingConfig"]


class TrendingConfig(BaseModel):
    """Trending Now: score = trend * (1 + alpha * affinity), over titles with a positive trend."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field("Trending Now", min_length=1, max_length=80, description="Display title of the row.")
    alpha: float = Field(1.0, ge=0.0, le=10.0, description="Personalization dose: 0 is the raw trend; 1 lets a title the member likes count up to twice.")
    min_trend: float = Field(0.0, ge=0.0, description="Only titles whose trend exceeds this value are trending.")
    weight: float = Field(0.6, ge=0.0, le=1.0, description="Row score when the trending titles match the member's taste perfectly; half of it when they do not at all.")
    exclude_seen: bool = Field(False, description="Leave out titles the member already played or rated.")


class Trending:
    """Titles gaining plays fast right now (``ctx.trending``), nudged towards the member's taste."""

    def __init__(self, config: TrendingConfig | None = None) -> None:
        self.config = config or TrendingConfig()

    def __call__(self, ctx: RankContext) -> list[CandidateRow]:
        cfg = self.config
        if not has_titles(ctx, cfg.exclude_seen):
            return []
        base = ctx.unseen if cfg.exclude_seen else ctx.eligible
        trend = ctx.trending
        cand = np.flatnonzero(base & (trend > cfg.min_trend))
        if cand.size == 0:
            return []
        score = trend[cand] * (1.0 + cfg.alpha * ctx.affinity[cand])
        pos = argtopk(score, ctx.n)
        items, scores = cand[pos].astype(np.int32), score[pos]
        match = float(ctx.affinity[items].mean())
        evidence = {"source": "trending", "alpha": cfg.alpha, "taste_match": round(match, 4), "top_trend": float(trend[items[0]])}
        return [CandidateRow("trending", "trending", cfg.title, items, scores, evidence, cfg.weight * (0.5 + 0.5 * match))]
