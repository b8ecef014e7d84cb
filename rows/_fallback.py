"""New Releases (recently added or released, lightly personalized) and Popular (the fallback)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._arrays import argtopk, frozen
from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._catalog import Catalog
from pagegen.core._time import DAY

from ._context import (
    decay,
    has_titles,
    popularity,
    ranked_pool,
)

__all__ = ["NewReleases", "NewReleasesConfig", "Popular", "PopularConfig"]


class NewReleasesConfig(BaseModel):
    """New Releases: score = freshness * (1 + gamma * affinity) over titles new within the window."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field("New Releases", min_length=1, max_length=80, description="Display title of the row.")
    window_days: float = Field(90.0, gt=0.0, le=3650.0, description="A title is new for this many days after it was added (or released, when later).")
    half_life_days: float = Field(30.0, gt=0.0, le=3650.0, description="Freshness halves every this many days.")
    gamma: float = Field(0.5, ge=0.0, le=10.0, description="Personalization dose (0: pure freshness).")
    weight: float = Field(0.4, ge=0.0, le=1.0, description="Row score.")
    exclude_seen: bool = Field(True, description="Leave out titles the member already played or rated.")


class NewReleases:
    """Titles that recently joined the service or were released, freshest first, nudged by taste."""

    def __init__(self, config: NewReleasesConfig | None = None) -> None:
        self.config = config or NewReleasesConfig()

    def __call__(self, ctx: RankContext) -> list[CandidateRow]:
        cfg = self.config
        if not has_titles(ctx, cfg.exclude_seen):
            return []
        base = ctx.unseen if cfg.exclude_seen else ctx.eligible
        window = cfg.window_days * DAY
        cand, fresh, age, fading = _new_titles(ctx, base, window, cfg.half_life_days * DAY)
        if cand.size == 0:
            return []
        score = (fading * (1.0 + cfg.gamma * ctx.affinity[cand])).astype(np.float32)
        pos = argtopk(score, ctx.n)  # ties to the lower title index (cand is ascending)
        items, scores, age, fresh = cand[pos].astype(np.int32), score[pos], age[pos], fresh[pos]
        reasons = tuple(map(_new_since, (age // DAY).tolist()))
        evidence = {"source": "new releases", "window_days": cfg.window_days, "newest": int(fresh.max())}
        return [CandidateRow("new_releases", "new_releases", cfg.title, items, scores, evidence, cfg.weight, reasons)]


def _new_since(days: int) -> str:
    """The reason of a title new for ``days`` whole days."""
    return "New today" if days == 0 else f"New {days} day{'s' if days > 1 else ''} ago"


def _new_titles(ctx: RankContext, base: np.ndarray, window: float, half_life: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The titles of ``base`` new within ``window`` seconds before ``ctx.now``: (titles, their
    latest date, its age, decay(age, half_life)), ascending. The catalog's new titles are found
    once per ``now`` (``ctx.common``); a request keeps those in ``base``."""
    cand, fresh, age, fading = ctx.common(("new_titles", window, half_life), lambda: _new_in_catalog(ctx.catalog, ctx.now, window, half_life))
    keep = base[cand]
    return cand[keep], fresh[keep], age[keep], fading[keep]


def _new_in_catalog(cat: Catalog, now: int, window: float, half_life: float) -> tuple[np.ndarray, ...]:
    """``_new_titles`` over every displayable title of the catalog, read-only."""
    # displayable titles whose latest date (added or released) is within the window
    cand = np.flatnonzero(cat.displayable() & (np.maximum(cat.added, cat.released) >= now - window))
    released = cat.released[cand]
    fresh = np.maximum(cat.added[cand], np.where((released > 0) & (released <= now), released, 0))
    age = now - fresh
    keep = (fresh > 0) & (age < window)
    cand, fresh, age = cand[keep], fresh[keep], age[keep]
    return frozen(cand), frozen(fresh), frozen(age), frozen(decay(age, half_life))


class PopularConfig(BaseModel):
    """Popular: the most played titles, the same for everyone (the cold-start fallback)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field("Popular on pagegen", min_length=1, max_length=80, description="Display title of the row.")
    window_days: float | None = Field(30.0, gt=0.0, le=3650.0, description="Count plays in this many days before now (None: all time); falls back to all time when too few titles were played.")
    weight: float = Field(0.3, ge=0.0, le=1.0, description="Row score (low: a fallback).")
    cold_weight: float = Field(0.9, ge=0.0, le=1.0, description="Row score for a member without history (nothing played or rated): what leads their page.")
    exclude_seen: bool = Field(True, description="Leave out titles the member already played or rated.")


class Popular:
    """Non-personalized popularity, so that a member with no history still gets a full page."""

    def __init__(self, config: PopularConfig | None = None) -> None:
        self.config = config or PopularConfig()

    def __call__(self, ctx: RankContext) -> list[CandidateRow]:
        cfg = self.config
        if not has_titles(ctx, cfg.exclude_seen):
            return []
        base = ctx.unseen if cfg.exclude_seen else ctx.eligible
        window = None if cfg.window_days is None else int(cfg.window_days * DAY)
        counts = None
        if window is not None:
            recent = popularity(ctx, window, None)
            ranked = ranked_pool(ctx, ("popularity", window, None), recent, base)  # played titles, most played first
            if ranked.size >= ctx.n:
                counts = recent
            else:
                window = None
        if counts is None:  # all-time counts only when the window has too few titles (a model call saved)
            counts = ctx.popularity
            ranked = ranked_pool(ctx, ("popularity", None, None), counts, base)
        if ranked.size == 0:
            return []
        items = ranked[: ctx.n].astype(np.int32)
        scores = counts[items]
        evidence = {"source": "popularity", "window": window}
        return [CandidateRow("popular", "popular", cfg.title, items, scores, evidence, cfg.cold_weight if ctx.user.is_cold else cfg.weight)]
