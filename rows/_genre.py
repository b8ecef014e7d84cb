"""Genre rows, and finer slices: genre x decade, genre pairs, tags.

Three layers of personalization: which slices (the member's affinity, with exploration
through ``ctx.rng_for("genre")``), which titles within (eligible titles of the slice by ``ctx.scores``),
and their order. The slices of a catalog are indexed once (a sparse slices x titles matrix),
so the affinity to every slice is one sparse product per request.

Exploration is a logged policy: the slices are drawn one at a time by the Plackett-Luce chooser
of ``pagegen.core._plackett_luce`` (the learned module's logging policy), from the request's
generator, which derives from (seed, member, visit): repeated visits draw anew, the same visit
draws the same. Each row carries the probability of its draw given the draws before it
(``CandidateRow.propensity``) and its draw step (``evidence["draw"]``); ``draw_probability``
gives the probability of any sequence of slices under this config (a target policy's, for
off-policy evaluation).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._arrays import argtopk, frozen
from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._catalog import Catalog
from pagegen.core._plackett_luce import LoggingConfig, plackett_luce, step_probabilities
from pagegen.core._time import DAY

from ._context import catalog_cached, has_titles, liking
from ._slices import SliceIndex, build_slices

__all__ = ["GenreRows", "GenreRowsConfig"]


class GenreRowsConfig(BaseModel):
    """Genre rows: slice affinity a_s = (m_s + prior * b_s) / (T + prior), where m_s is the
    member's liked-and-recent history mass in slice s (recent on the member's own clock), T the
    total mass and b_s the slice's share of the catalog. Slices are drawn one by one among the
    offered ones, with probability (1 - explore_epsilon) softmax(v_s / (explore * sd v)) +
    explore_epsilon / #offered, where v_s = log(a_s / max a), times fine_weight for finer slices
    (explore 0: the top slices)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_rows: int = Field(8, ge=1, le=50, description="At most this many genre rows (all slice kinds together).")
    max_fine_rows: int = Field(3, ge=0, le=50, description="Of which at most this many finer slices (genre x decade, genre pair, tag).")
    min_titles: int = Field(10, ge=1, le=10_000, description="A slice exists when the catalog has at least this many displayable titles in it.")
    min_eligible: int = Field(5, ge=1, le=1_000, description="A slice is offered when at least this many of its titles are eligible and unseen.")
    decades: bool = Field(True, description="Offer genre x decade slices ('1980s Sci-Fi').")
    pairs: bool = Field(True, description="Offer genre pair slices ('Romantic Comedies').")
    max_tags: int = Field(200, ge=0, le=10_000, description="Offer tag slices for the most common tags, at most this many (0: none).")
    prior: float = Field(5.0, ge=0.0, le=1_000.0, description="Smoothing towards the catalog share, in units of history mass (one liked, fresh title = 1).")
    explore: float = Field(0.3, ge=0.0, le=5.0, description="Temperature of the slice draw, in standard deviations of the offered slices' log relative value (0: always the top slices).")
    explore_epsilon: float = Field(0.05, ge=0.0, le=1.0, description="Share of uniform choice among the offered slices at each draw (keeps every propensity above 0).")
    rating_max: float = Field(5.0, gt=0.0, le=100.0, description="The top of the rating scale (liking = rating / rating_max).")
    half_life_days: float = Field(180.0, gt=0.0, le=36500.0, description="A history title's weight halves every this many days of the member's own activity (UserState.active_age: a break does not age it).")
    undated_recency: float = Field(0.5, ge=0.0, le=1.0, description="Recency weight of a title that was rated but never played.")
    weight: float = Field(0.7, ge=0.0, le=1.0, description="Row score of the member's favourite genre; others in proportion to their affinity.")
    fine_weight: float = Field(0.9, ge=0.0, le=1.0, description="Extra factor on the row score of finer slices.")
    exclude_seen: bool = Field(True, description="Leave out titles the member already played or rated.")


class GenreRows:
    """Personalized genre and sub-genre rows (see GenreRowsConfig)."""

    def __init__(self, config: GenreRowsConfig | None = None) -> None:
        self.config = config or GenreRowsConfig()

    def index(self, catalog: Catalog) -> SliceIndex:
        """The catalog's slices under this config (built once per catalog)."""
        cfg = self.config
        return catalog_cached(catalog, self.index_key, lambda: build_slices(catalog, min_titles=cfg.min_titles, decades=cfg.decades, pairs=cfg.pairs, max_tags=cfg.max_tags))

    @property
    def index_key(self) -> tuple:
        """The catalog cache key of the slice index under this config."""
        cfg = self.config
        return ("slices", cfg.min_titles, cfg.decades, cfg.pairs, cfg.max_tags)

    def __call__(self, ctx: RankContext) -> list[CandidateRow]:
        cfg = self.config
        prep = self._values(ctx)
        if prep is None:
            return []
        idx, mask, aff, rel, value, logrel, cand = prep
        fine = idx.fine.tolist()
        if cfg.explore > 0:
            chosen_list, props = self._draw(logrel, cand, idx.fine, ctx.rng_for("genre"))
        else:
            chosen_list = _choose(logrel, cand, fine, cfg.max_rows, cfg.max_fine_rows)
            props = [1.0] * len(chosen_list)
        chosen = np.array(chosen_list, np.intp)
        greedy = set(_choose(logrel, cand, fine, cfg.max_rows, cfg.max_fine_rows))
        rows = []
        indptr, indices = idx.members.indptr, idx.members.indices
        n, weight, scores = ctx.n, cfg.weight, ctx.scores
        # per chosen slice, as Python floats (the same values float() gives)
        per_slice = zip(chosen.tolist(), indptr[chosen].tolist(), indptr[chosen + 1].tolist(), aff[chosen].tolist(), rel[chosen].tolist(), idx.share[chosen].tolist(), value[chosen].tolist(), props, strict=True)
        for s, start, stop, a_s, r_s, share_s, v_s, p_s in per_slice:
            members = indices[start:stop]  # ascending
            in_slice = scores[members]
            in_slice[~mask[members]] = -np.inf
            pos = argtopk(in_slice, n)  # ties to the lower title
            pos = pos[in_slice[pos] > -np.inf]  # fewer than n titles of the slice in the mask: they end the row
            items, in_slice = members[pos], in_slice[pos]
            evidence = {"slice": idx.kinds[s], **idx.specs[s], "affinity": round(a_s, 6), "relative_affinity": round(r_s, 4), "catalog_share": round(share_s, 6), "explored": s not in greedy}
            if cfg.explore > 0:
                evidence["draw"] = len(rows)  # the draw step: Page.draw lists the drawn rows
            rows.append(CandidateRow("genre", idx.keys[s], idx.titles[s], items, in_slice, evidence, min(weight * v_s, 1.0), propensity=p_s))
        return rows

    def _values(self, ctx: RankContext) -> tuple | None:
        """(index, title mask, affinity, relative affinity, value, log value, offered slices of finite
        value ascending), or None when no slice can be offered."""
        cfg = self.config
        idx = self.index(ctx.catalog)
        mask = ctx.unseen if cfg.exclude_seen else ctx.eligible
        if idx.n_slices == 0 or not has_titles(ctx, cfg.exclude_seen):
            return None
        aff = self.affinity(ctx, idx)
        genre_best = float(aff[~idx.fine].max()) if (~idx.fine).any() else float(aff.max())
        rel = aff / genre_best if genre_best > 0 else np.zeros_like(aff)
        offered = self.available(ctx, idx, mask) >= cfg.min_eligible
        if not offered.any():
            return None
        value = rel * np.where(idx.fine, cfg.fine_weight, 1.0)
        with np.errstate(divide="ignore"):
            logrel = np.log(value)
        cand = (offered & np.isfinite(logrel)).nonzero()[0]
        return idx, mask, aff, rel, value, logrel, cand

    def _walk(self, logrel: np.ndarray, cand: np.ndarray, fine: np.ndarray, pick) -> tuple[list[int], list[float]]:
        """The slice draw: ``pick(step, scores, ok) -> (position in cand, probability)`` at each
        step over the slices of ``cand`` still placeable (not drawn, within the fine cap)."""
        cfg = self.config
        fine = fine[cand]
        ok = ~fine if cfg.max_fine_rows == 0 else np.ones(len(cand), bool)
        scores = logrel[cand]
        chosen: list[int] = []
        props: list[float] = []
        n_fine = 0
        for step in range(cfg.max_rows):
            if not ok.any():
                break
            j, p = pick(step, scores, ok)
            if j < 0:
                break
            chosen.append(j)
            props.append(p)
            ok[j] = False
            if fine[j]:
                n_fine += 1
                if n_fine >= cfg.max_fine_rows:
                    ok &= ~fine
        return cand[chosen].tolist(), props

    def _draw(self, logrel: np.ndarray, cand: np.ndarray, fine: np.ndarray, rng: np.random.Generator) -> tuple[list[int], list[float]]:
        """Draw the slices with the Plackett-Luce chooser: (slices in draw order, their step probabilities)."""
        return self._walk(logrel, cand, fine, plackett_luce(_identity, rng, self._randomization))

    @cached_property
    def _randomization(self) -> LoggingConfig:
        return LoggingConfig(temperature=self.config.explore, epsilon=self.config.explore_epsilon)

    def draw_probability(self, ctx: RankContext, keys: Sequence[str]) -> float:
        """The probability that this config draws exactly the slices ``keys``, in this order, for
        the request (1 for the greedy slices without exploration, 0 for a draw it cannot make)."""
        cfg = self.config
        prep = self._values(ctx)
        if prep is None:
            return float(not keys)
        idx, *_, logrel, cand = prep
        where = {idx.keys[s]: j for j, s in enumerate(cand.tolist())}  # key -> position in cand
        wanted = [where.get(k, -1) for k in keys]
        if cfg.explore <= 0:
            return float(-1 not in wanted and cand[wanted].tolist() == _choose(logrel, cand, idx.fine.tolist(), cfg.max_rows, cfg.max_fine_rows))

        cut: list[int] = []

        def follow(step: int, scores: np.ndarray, ok: np.ndarray) -> tuple[int, float]:
            s = wanted[step] if step < len(wanted) else -1
            if s < 0 and ok.sum() == 1:
                return int(ok.argmax()), 1.0  # a forced last draw
            if s < 0 or not ok[s]:
                cut.append(step)  # the draw goes on where ``keys`` end, or cannot draw this slice here
                return -1, 0.0
            return s, float(step_probabilities(scores, ok, cfg.explore, cfg.explore_epsilon)[s])

        chosen, props = self._walk(logrel, cand, idx.fine, follow)
        return float(np.prod(props)) if chosen[: len(wanted)] == cand[wanted].tolist() and not cut else 0.0

    def available(self, ctx: RankContext, idx: SliceIndex, mask: np.ndarray) -> np.ndarray:
        """float64 (n_slices,): how many titles of each slice are in ``mask`` (see ``slice_available``)."""
        return slice_available(ctx, idx, self.index_key, mask)

    def affinity(self, ctx: RankContext, idx: SliceIndex) -> np.ndarray:
        """float64 (n_slices,) in [0, 1]: the member's smoothed share of taste in each slice."""
        return slice_affinity(ctx, idx, self.config)


def _identity(values: np.ndarray) -> np.ndarray:
    """The slices' scores are their log values themselves."""
    return values


class TasteConfig(Protocol):
    """What ``slice_affinity`` reads of a ranker's config (GenreRowsConfig, MicroGenresConfig)."""

    rating_max: float
    undated_recency: float
    half_life_days: float
    prior: float


def slice_affinity(ctx: RankContext, idx: SliceIndex, cfg: TasteConfig) -> np.ndarray:
    """float64 (n_slices,) in [0, 1]: the member's smoothed share of taste in each slice of ``idx``:
    the liked, recent mass of the history in it plus ``cfg.prior`` times the slice's catalog share,
    over the history's mass plus the prior."""
    items, like, rec = liking(ctx, rating_max=cfg.rating_max, undated_recency=cfg.undated_recency, half_life=cfg.half_life_days * DAY)
    w = like * rec
    m = _slice_mass(idx, items, w)
    total = float(w[idx.covered[items]].sum())
    if total + cfg.prior <= 0:
        return idx.share.copy()
    return (m + cfg.prior * idx.share) / (total + cfg.prior)


def slice_available(ctx: RankContext, idx: SliceIndex, index_key: tuple, mask: np.ndarray) -> np.ndarray:
    """float64 (n_slices,): how many titles of each slice of ``idx`` (cached under ``index_key``) are
    in ``mask`` (within ``ctx.eligible``).

    Counted as the eligibility base's titles of each slice (the shared context's, once per ``now``
    and profile) less the titles of the base that ``mask`` leaves out (the member's history)."""
    base = ctx.eligible if ctx.shared is None else ctx.shared.base
    counts = ctx.common(("slice_counts", index_key), lambda: frozen(idx.members @ base.astype(np.float64)))
    return counts - _slice_mass(idx, np.flatnonzero(base & ~mask))


def _slice_mass(idx: SliceIndex, items: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """(n_slices,): the summed ``weights`` of ``items`` in each slice (float64), or without weights
    how many of them each slice holds (int64), gathered from the title-major index (cheap for a few titles)."""
    start, stop = idx.by_item.indptr[items], idx.by_item.indptr[items + 1]
    counts = stop - start
    pos = (stop - counts.cumsum()).repeat(counts) + np.arange(int(counts.sum()))
    if weights is None:
        return np.bincount(idx.by_item.indices[pos], minlength=idx.n_slices)
    return np.bincount(idx.by_item.indices[pos], weights=np.asarray(weights, np.float64).repeat(counts), minlength=idx.n_slices)


def _choose(value: np.ndarray, cand: np.ndarray, fine: list[bool], max_rows: int, max_fine: int) -> list[int]:
    """Slices by decreasing value among ``cand`` (the offered slices of finite value, ascending),
    at most max_fine fine ones (``fine``: per slice), max_rows in all."""
    chosen: list[int] = []
    n_fine = 0
    for s in cand[argtopk(value[cand], cand.size)].tolist():  # ties in cand's (ascending) order
        if fine[s]:
            if n_fine == max_fine:
                continue
            n_fine += 1
        chosen.append(s)
        if len(chosen) == max_rows:
            break
    return chosen
