"""Micro-genres: the finer slices of a catalog beyond the genre rows' ("Dark Horror", "1990s Gritty
Crime", "Comedy TV Shows"): genre x tag, genre x decade x tag and genre x format.

Three layers of personalization, as for genre rows: which micro-genres (the member's affinity to
each, the same smoothed share of liked and recent history as ``GenreRows``), which titles within (the
slice's eligible titles the member has not seen, by ``ctx.scores``), and their order. The rows are
spread over the member's genres (at most ``max_per_genre`` of one genre) and no micro-genre nearly
repeats a genre or a larger micro-genre (``max_overlap``): many rows of the same titles are not
breadth. Deterministic: exploration is left to the genre rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._arrays import argtopk
from pagegen.core._candidates import CandidateRow, RankContext
from pagegen.core._catalog import ITEM_KINDS, Catalog

from ._context import catalog_cached, has_titles
from ._genre import slice_affinity, slice_available
from ._slices import SliceIndex, slice_index, tag_title

__all__ = ["MicroGenres", "MicroGenresConfig", "build_micro_slices", "micro_title"]

#: Display names of the formats a micro-genre can narrow a genre to (ITEM_KINDS name -> label).
FORMATS: dict[str, str] = {"movie": "Movies", "series": "TV Shows"}

_SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"})


class MicroGenresConfig(BaseModel):
    """Micro-genre rows: slice affinity a_s = (m_s + prior * b_s) / (T + prior) as for genre rows
    (m_s: the member's liked-and-recent history mass in slice s, T: the total, b_s: the slice's share
    of the catalog); the offered slices with the highest affinity become rows, at most
    ``max_per_genre`` of one genre; row score = weight * a_s / the best a_s."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_rows: int = Field(88, ge=1, le=1_000, description="At most this many micro-genre rows.")
    max_per_genre: int = Field(8, ge=1, le=1_000, description="At most this many rows narrowing one genre (spreads the rows over the member's genres).")
    min_titles: int = Field(20, ge=1, le=10_000, description="A micro-genre exists when the catalog has at least this many displayable titles in it.")
    min_eligible: int = Field(10, ge=1, le=1_000, description="A micro-genre is offered when at least this many of its titles are eligible and unseen.")
    max_overlap: float = Field(0.5, ge=0.0, le=1.0, description="A micro-genre whose titles have a Jaccard similarity above this with a genre's, or with a larger micro-genre's, is left out.")
    tags: bool = Field(True, description="Offer genre x tag slices ('Dark Horror').")
    decades: bool = Field(True, description="Offer genre x decade x tag slices ('1990s Gritty Crime'), narrowing the genre x tag ones.")
    formats: bool = Field(True, description="Offer genre x format slices ('Comedy TV Shows') when the catalog has both movies and series.")
    max_tags: int = Field(200, ge=0, le=10_000, description="Use the most common tags, at most this many (0: none).")
    prior: float = Field(5.0, ge=0.0, le=1_000.0, description="Smoothing towards the catalog share, in units of history mass (one liked, fresh title = 1).")
    rating_max: float = Field(5.0, gt=0.0, le=100.0, description="The top of the rating scale (liking = rating / rating_max).")
    half_life_days: float = Field(180.0, gt=0.0, le=36500.0, description="A history title's weight halves every this many days of the member's own activity.")
    undated_recency: float = Field(0.5, ge=0.0, le=1.0, description="Recency weight of a title that was rated but never played.")
    weight: float = Field(0.6, ge=0.0, le=1.0, description="Row score of the member's favourite micro-genre; others in proportion to their affinity.")


class MicroGenres:
    """Personalized micro-genre rows (see MicroGenresConfig)."""

    def __init__(self, config: MicroGenresConfig | None = None) -> None:
        self.config = config or MicroGenresConfig()

    @property
    def index_key(self) -> tuple:
        cfg = self.config
        return ("micro", cfg.min_titles, cfg.max_overlap, cfg.tags, cfg.decades, cfg.formats, cfg.max_tags)

    def index(self, catalog: Catalog) -> tuple[SliceIndex, np.ndarray]:
        """The catalog's micro-genres under this config and each one's genre (int64 code into
        ``catalog.genre_names``), built once per catalog."""
        cfg = self.config
        return catalog_cached(catalog, self.index_key, lambda: build_micro_slices(catalog, min_titles=cfg.min_titles, max_overlap=cfg.max_overlap, tags=cfg.tags, decades=cfg.decades, formats=cfg.formats, max_tags=cfg.max_tags))

    def __call__(self, ctx: RankContext) -> list[CandidateRow]:
        cfg = self.config
        idx, genre_of = self.index(ctx.catalog)
        if idx.n_slices == 0 or not has_titles(ctx, True):
            return []
        mask = ctx.unseen
        offered = slice_available(ctx, idx, self.index_key, mask) >= cfg.min_eligible
        cand = offered.nonzero()[0]
        if cand.size == 0:
            return []
        aff = self.affinity(ctx, idx)
        chosen = _spread(cand[argtopk(aff[cand], cand.size)], genre_of, cfg.max_rows, cfg.max_per_genre)  # ties to the lower slice
        best = float(aff[chosen[0]])
        rel = aff[chosen] / best if best > 0 else np.ones(len(chosen))
        indptr, indices, scores, n = idx.members.indptr, idx.members.indices, ctx.scores, ctx.n
        # per chosen slice, as Python values: its titles' bounds, and the evidence's rounded numbers
        per_slice = zip(chosen, indptr[chosen].tolist(), indptr[np.add(chosen, 1)].tolist(), np.round(aff[chosen], 6).tolist(), np.round(rel, 4).tolist(), np.round(idx.share[chosen], 6).tolist(), (cfg.weight * rel).tolist(), strict=True)
        rows = []
        for s, start, stop, a_s, r_s, share_s, score in per_slice:
            members = indices[start:stop]  # ascending
            members = members[mask[members]]
            in_slice = scores[members]
            pos = argtopk(in_slice, n)  # ties to the lower title
            evidence = {"slice": idx.kinds[s], **idx.specs[s], "affinity": a_s, "relative_affinity": r_s, "catalog_share": share_s}
            rows.append(CandidateRow("micro_genre", idx.keys[s], idx.titles[s], members[pos], in_slice[pos], evidence, score))
        return rows

    def affinity(self, ctx: RankContext, idx: SliceIndex) -> np.ndarray:
        """float64 (n_slices,) in [0, 1]: the member's smoothed share of taste in each micro-genre."""
        return slice_affinity(ctx, idx, self.config)


def _spread(ordered: np.ndarray, genre_of: np.ndarray, max_rows: int, max_per_genre: int) -> list[int]:
    """The first ``max_rows`` slices of ``ordered`` taking at most ``max_per_genre`` of one genre."""
    taken: dict[int, int] = {}
    chosen: list[int] = []
    for s, g in zip(ordered.tolist(), genre_of[ordered].tolist(), strict=True):
        if taken.get(g, 0) < max_per_genre:
            taken[g] = taken.get(g, 0) + 1
            chosen.append(s)
            if len(chosen) == max_rows:
                break
    return chosen


def micro_title(genre: str, *, tag: str | None = None, decade: int | None = None, fmt: str | None = None) -> str:
    """A micro-genre's display title: 'Dark Horror', 'Feel-Good Comedy', 'Family with Musical
    Numbers', 'Crime: Based on a True Story', '1990s Gritty Crime', 'Comedy TV Shows'. A tag reads
    as an adjective before the genre, unless it is a phrase (holds a small word such as 'on' or 'a'),
    which follows the genre after a colon, or ends in a plural ('musical numbers'), which follows 'with'."""
    title = genre
    if tag is not None:
        words = tag.split()
        name = "-".join(part[:1].upper() + part[1:] for part in tag_title(tag).split("-"))
        if any(w.lower() in _SMALL_WORDS for w in words):
            title = f"{genre}: {name}"
        elif words and words[-1].endswith("s") and not words[-1].endswith("ss"):
            title = f"{genre} with {name}"
        else:
            title = f"{name} {genre}"
    if fmt is not None:
        title = f"{title} {fmt}"
    return f"{decade}s {title}" if decade is not None else title


def build_micro_slices(catalog: Catalog, *, min_titles: int, max_overlap: float, tags: bool, decades: bool, formats: bool, max_tags: int) -> tuple[SliceIndex, np.ndarray]:
    """Index the micro-genres with at least ``min_titles`` displayable titles, and each one's genre
    code. Genre x format first, then genre x tag and genre x decade x tag; larger slices are kept
    first, and a slice whose Jaccard similarity with a genre or a kept slice exceeds ``max_overlap``
    is left out."""
    disp = catalog.displayable()
    genres = catalog.genres & disp[:, None]
    names = catalog.genre_names
    found: list[tuple[np.ndarray, str, str, str, dict[str, Any], int]] = []  # (titles, kind, key, title, spec, genre)
    if formats:
        shown = [k for k in FORMATS if (catalog.kind[disp] == ITEM_KINDS.index(k)).any()]
        for j, g in enumerate(names):
            for k in shown if len(shown) > 1 else ():
                label = FORMATS[k]
                found.append((np.flatnonzero(genres[:, j] & (catalog.kind == ITEM_KINDS.index(k))), "genre-format", f"micro:{g}:{k}", micro_title(g, fmt=label), {"genres": [g], "format": label}, j))
    if tags and max_tags and catalog.tag_names and genres.size:
        tagged = sp.csc_array(catalog.tags)
        tagged.eliminate_zeros()
        indptr, indices = tagged.indptr, tagged.indices
        have = np.array([int(disp[indices[indptr[t] : indptr[t + 1]]].sum()) for t in range(len(catalog.tag_names))], np.int64)
        ok = np.flatnonzero(have >= min_titles)
        decade = (catalog.year.astype(np.int64) // 10) * 10
        for t in np.sort(ok[argtopk(have[ok], max_tags)]).tolist():  # the most common tags, ties to the lower tag
            name = catalog.tag_names[t]
            with_tag = np.unique(indices[indptr[t] : indptr[t + 1]])
            with_tag = with_tag[disp[with_tag]]
            for j in np.flatnonzero(genres[with_tag].sum(axis=0) >= min_titles).tolist():
                g = names[j]
                members = with_tag[genres[with_tag, j]]
                found.append((members, "genre-tag", f"micro:{g}:{name}", micro_title(g, tag=name), {"genres": [g], "tag": name}, j))
                if not decades:
                    continue
                dated = members[catalog.year[members] > 0]
                values, counts = np.unique(decade[dated], return_counts=True)
                for d in values[counts >= min_titles].tolist():
                    found.append((dated[decade[dated] == d], "genre-decade-tag", f"micro:{g}:{d}:{name}", micro_title(g, tag=name, decade=d), {"genres": [g], "decade": d, "tag": name}, j))
    found = [f for f in found if f[0].size >= min_titles]
    kept = _distinct(catalog, genres, [f[0] for f in found], max_overlap)
    found = [found[i] for i in kept]
    idx = slice_index(catalog, [np.sort(f[0]).astype(np.int32) for f in found], [f[1] for f in found], [f[2] for f in found], [f[3] for f in found], [f[4] for f in found])
    return idx, np.array([f[5] for f in found], np.int64)


def _distinct(catalog: Catalog, genres: np.ndarray, cols: list[np.ndarray], max_overlap: float) -> list[int]:
    """Positions of ``cols`` kept, ascending: larger slices first (ties to the earlier), each kept
    when its Jaccard similarity with every genre and every slice kept before is at most ``max_overlap``."""
    if not cols:
        return []
    lengths = np.array([c.size for c in cols], np.int64)
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    m = sp.csr_array((np.ones(int(indptr[-1]), np.float32), np.concatenate(cols), indptr), shape=(len(cols), catalog.n))
    g = sp.csr_array(genres.T.astype(np.float32))
    g_size = np.asarray(g.sum(axis=1)).ravel()
    inter_g = (g @ m.T).toarray()
    near_genre = (inter_g / np.maximum(g_size[:, None] + lengths[None, :] - inter_g, 1)).max(axis=0, initial=0.0) > max_overlap
    inter = (m @ m.T).toarray()
    jaccard = inter / np.maximum(lengths[:, None] + lengths[None, :] - inter, 1)
    keep = np.zeros(len(cols), bool)
    for s in np.argsort(-lengths, kind="stable").tolist():
        if not near_genre[s] and not (jaccard[s, keep] > max_overlap).any():
            keep[s] = True
    return np.flatnonzero(keep).tolist()
