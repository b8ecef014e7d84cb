"""The catalog's genre slices (genres, genre x decade, genre pairs, tags) as one sparse matrix."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from pagegen.core._arrays import argtopk
from pagegen.core._catalog import Catalog

__all__ = ["PAIR_TITLES", "SliceIndex", "build_slices", "slice_index", "tag_title"]

#: Readable titles of common genre pairs (sorted pair -> title); other pairs read "A & B".
PAIR_TITLES: dict[tuple[str, str], str] = {
    ("Action", "Adventure"): "Action & Adventure",
    ("Action", "Comedy"): "Action Comedies",
    ("Action", "Sci-Fi"): "Sci-Fi Action",
    ("Action", "Thriller"): "Action Thrillers",
    ("Adventure", "Fantasy"): "Fantasy Adventures",
    ("Animation", "Children"): "Animated Kids' Movies",
    ("Children", "Comedy"): "Family Comedies",
    ("Comedy", "Crime"): "Crime Comedies",
    ("Comedy", "Drama"): "Dramedies",
    ("Comedy", "Horror"): "Horror Comedies",
    ("Comedy", "Romance"): "Romantic Comedies",
    ("Crime", "Drama"): "Crime Dramas",
    ("Crime", "Thriller"): "Crime Thrillers",
    ("Documentary", "Music"): "Music Documentaries",
    ("Drama", "Romance"): "Romantic Dramas",
    ("Drama", "War"): "War Dramas",
    ("Horror", "Thriller"): "Horror Thrillers",
    ("Mystery", "Thriller"): "Mystery Thrillers",
    ("Sci-Fi", "Thriller"): "Sci-Fi Thrillers",
}

_SMALL_WORDS = frozenset({"a", "an", "and", "as", "at", "by", "for", "in", "of", "on", "or", "the", "to", "with"})


@dataclass(frozen=True, eq=False)
class SliceIndex:
    """Slices of one catalog.

    members  csr float32 (n_slices, n_items): 1 where the (displayable) title is in the slice
    by_item  the same as csr (n_items, n_slices): the slices of each title
    share    float64 (n_slices,): the slice's share of the displayable catalog
    fine     bool (n_slices,): a finer slice (not a plain genre)
    covered  bool (n_items,): displayable titles (the mass that counts towards affinity)
    kinds, keys, titles, specs   per slice: kind, stable key, display title, definition
    """

    members: sp.csr_array
    by_item: sp.csr_array
    share: np.ndarray
    fine: np.ndarray
    covered: np.ndarray
    kinds: tuple[str, ...]
    keys: tuple[str, ...]
    titles: tuple[str, ...]
    specs: tuple[dict[str, Any], ...]

    @property
    def n_slices(self) -> int:
        return len(self.keys)

    def definition(self, s: int) -> dict[str, Any]:
        """JSON-friendly definition of slice ``s`` (kind and its genres / decade / tag)."""
        return {"slice": self.kinds[s], **self.specs[s]}


def tag_title(tag: str) -> str:
    """'time travel' -> 'Time Travel'; small words stay lower case except first."""
    words = tag.split()
    return " ".join(w if (i and w.lower() in _SMALL_WORDS) else w[:1].upper() + w[1:] for i, w in enumerate(words))


def build_slices(catalog: Catalog, *, min_titles: int, decades: bool, pairs: bool, max_tags: int) -> SliceIndex:
    """Index the slices with at least ``min_titles`` displayable titles (runs once per catalog).

    Genres come first, then genre x decade, genre pairs and tags; a slice whose titles are
    exactly those of an earlier slice is left out."""
    disp = catalog.displayable()
    genres = catalog.genres & disp[:, None]
    names = catalog.genre_names
    cols: list[np.ndarray] = []
    kinds: list[str] = []
    keys: list[str] = []
    titles: list[str] = []
    specs: list[dict[str, Any]] = []

    seen: set[bytes] = set()

    def add(members: np.ndarray, kind: str, key: str, title: str, spec: dict[str, Any]) -> None:
        members = np.sort(members).astype(np.int32)
        if members.tobytes() in seen:  # a finer slice with the same titles as a coarser one says nothing new
            return
        seen.add(members.tobytes())
        cols.append(members)
        kinds.append(kind)
        keys.append(key)
        titles.append(title)
        specs.append(spec)

    counts = genres.sum(axis=0)
    for j in np.flatnonzero(counts >= min_titles).tolist():
        add(np.flatnonzero(genres[:, j]), "genre", f"genre:{names[j]}", names[j], {"genres": [names[j]]})
    if decades and genres.size:
        decade = (catalog.year.astype(np.int64) // 10) * 10
        rows_, js = np.nonzero(genres & (catalog.year > 0)[:, None])
        if rows_.size:
            dec_values = np.unique(decade[rows_])
            code = js * len(dec_values) + np.searchsorted(dec_values, decade[rows_])
            hits = np.bincount(code, minlength=len(names) * len(dec_values))
            for c in np.flatnonzero(hits >= min_titles).tolist():
                j, d = divmod(c, len(dec_values))
                dv = int(dec_values[d])
                add(rows_[code == c], "genre-decade", f"genre-decade:{names[j]}:{dv}", f"{dv}s {names[j]}", {"genres": [names[j]], "decade": dv})
    if pairs and genres.size:
        g = genres.astype(np.int32)
        co = g.T @ g
        for j, k in zip(*np.nonzero(np.triu(co, 1) >= min_titles), strict=True):
            a, b = sorted((names[j], names[k]))
            add(np.flatnonzero(genres[:, j] & genres[:, k]), "genre-pair", f"genre-pair:{a}+{b}", PAIR_TITLES.get((a, b), f"{a} & {b}"), {"genres": [a, b]})
    if max_tags and catalog.tag_names:
        tags = sp.csc_array(catalog.tags)
        tags.eliminate_zeros()
        indptr, indices = tags.indptr, tags.indices
        col = np.repeat(np.arange(len(catalog.tag_names)), np.diff(indptr))
        have = np.bincount(col[disp[indices]], minlength=len(catalog.tag_names))
        ok = np.flatnonzero(have >= min_titles)
        ok = ok[argtopk(have[ok], max_tags)]  # the most common tags, ties to the lower tag
        for t in np.sort(ok).tolist():
            members = indices[indptr[t] : indptr[t + 1]]
            name = catalog.tag_names[t]
            add(np.unique(members[disp[members]]), "tag", f"tag:{name}", tag_title(name), {"tag": name})
    return slice_index(catalog, cols, kinds, keys, titles, specs)


def slice_index(catalog: Catalog, cols: list[np.ndarray], kinds: list[str], keys: list[str], titles: list[str], specs: list[dict[str, Any]]) -> SliceIndex:
    """The SliceIndex of slices given as their sorted displayable titles (``cols``) and descriptions."""
    disp = catalog.displayable()
    n_slices = len(cols)
    lengths = np.array([len(c) for c in cols], np.int64)
    indptr = np.zeros(n_slices + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.concatenate(cols) if cols else np.zeros(0, np.int32)
    members = sp.csr_array((np.ones(indices.size, np.float32), indices, indptr), shape=(n_slices, catalog.n))
    fine = np.array([k != "genre" for k in kinds], bool)
    by_item = sp.csr_array(members.T)
    by_item.sort_indices()
    return SliceIndex(members, by_item, lengths / max(int(disp.sum()), 1), fine, disp, tuple(kinds), tuple(keys), tuple(titles), tuple(specs))
