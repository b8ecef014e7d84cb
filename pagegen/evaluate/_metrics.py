"""Page-level offline metrics on 2-D grids of catalog indices.

A page is a grid: int32 ``(rows, cols)`` of catalog indices, ``-1`` for an empty cell (short
rows are padded with -1). Relevance is graded: a dense per-title array of grades (``>= 0``,
length ``n_items``) or a mapping ``{title index: grade}``; a title is relevant when its grade
is positive. Every function is vectorized over the cells of one page.

Reading order (N2DCG, credited hits): cells are read by anti-diagonal, ``r + c`` ascending,
top row first within an anti-diagonal; a title that appears more than once is credited at its
first cell in that order only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from pagegen.core._errors import DataError

__all__ = [
    "CALIBRATION_ALPHA",
    "Relevance",
    "as_relevance",
    "calibration_kl",
    "cell_grades",
    "coverage",
    "credited_hits",
    "dcg2d",
    "duplicates",
    "first_screen_hit",
    "genre_diversity",
    "n2dcg",
    "novelty",
    "reading_order",
    "recall",
    "recall_curve",
    "row_kind_hits",
    "window_items",
]

#: Default smoothing of the calibration KL: q~ = (1 - alpha) q + alpha p (Steck 2018 uses 0.01).
CALIBRATION_ALPHA = 0.01

Relevance = np.ndarray | Mapping[int, float]


def _as_grid(grid: np.ndarray) -> np.ndarray:
    arr = np.asarray(grid)
    if arr.ndim != 2:
        raise DataError(f"a page grid must be 2-D (rows, cols), got shape {arr.shape}", field="grid")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"a page grid holds integer catalog indices, got dtype {arr.dtype}", field="grid")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < -1:
        raise DataError("a page grid holds catalog indices or -1 for an empty cell", field="grid", value=int(arr.min()))
    return arr


def as_relevance(relevance: Relevance) -> tuple[np.ndarray, np.ndarray]:
    """The relevant titles (int64, sorted) and their grades (float64, > 0) of a relevance spec."""
    if isinstance(relevance, Mapping):
        items = np.fromiter((int(k) for k in relevance.keys()), dtype=np.int64, count=len(relevance))
        grades = np.fromiter((float(v) for v in relevance.values()), dtype=np.float64, count=len(relevance))
        if items.size and items.min() < 0:
            raise DataError("relevance names a negative title index", field="relevance", value=int(items.min()))
    else:
        dense = np.asarray(relevance, dtype=np.float64)
        if dense.ndim != 1:
            raise DataError(f"relevance must be a per-title 1-D array or a mapping, got shape {dense.shape}", field="relevance")
        items = np.arange(len(dense), dtype=np.int64)
        grades = dense
    bad = ~np.isfinite(grades) | (grades < 0)
    if np.any(bad):
        pos = int(np.flatnonzero(bad)[0])
        raise DataError("relevance grades must be finite and >= 0", field=f"relevance[{int(items[pos])}]", value=float(grades[pos]))
    keep = grades > 0
    items, grades = items[keep], grades[keep]
    order = np.argsort(items, kind="stable")
    items, grades = items[order], grades[order]
    if items.size > 1 and np.any(items[1:] == items[:-1]):
        raise DataError("a title is graded twice", field="relevance", value=int(items[1:][items[1:] == items[:-1]][0]))
    return items, grades


def cell_grades(grid: np.ndarray, relevance: Relevance) -> np.ndarray:
    """float64 grades of every cell (0 for an empty or irrelevant cell); duplicates keep their grade."""
    g = _as_grid(grid)
    items, grades = as_relevance(relevance)
    if not items.size or not g.size:
        return np.zeros(g.shape, dtype=np.float64)
    pos = np.searchsorted(items, g)
    pos_c = np.minimum(pos, len(items) - 1)
    hit = (g >= 0) & (items[pos_c] == g)
    return np.where(hit, grades[pos_c], 0.0)


def reading_order(shape: tuple[int, int]) -> np.ndarray:
    """Flat cell indices of a ``(rows, cols)`` grid in anti-diagonal reading order (top row first)."""
    rows, cols = shape
    r, c = np.divmod(np.arange(rows * cols), cols) if cols else (np.zeros(0, int), np.zeros(0, int))
    return np.lexsort((r, r + c)).astype(np.int64)


def _first_occurrence(g: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Bool grid: the non-empty cells holding the first copy of their title in ``order``."""
    flat = g.ravel()[order]
    first = np.zeros(flat.shape, dtype=bool)
    _, idx = np.unique(flat, return_index=True)
    first[idx] = True
    first &= flat >= 0
    out = np.zeros(g.size, dtype=bool)
    out[order] = first
    return out.reshape(g.shape)


def credited_hits(grid: np.ndarray, relevance: Relevance) -> np.ndarray:
    """Bool grid of the cells credited with a relevant title (each title once, reading order)."""
    g = _as_grid(grid)
    grades = cell_grades(g, relevance)
    return (grades > 0) & _first_occurrence(g, reading_order(g.shape))


def dcg2d(grid: np.ndarray, relevance: Relevance) -> float:
    """DCG2D = sum over credited cells (r, c from 1) of (2^rel - 1) / log2(r + c)."""
    g = _as_grid(grid)
    grades = cell_grades(g, relevance)
    credited = (grades > 0) & _first_occurrence(g, reading_order(g.shape))
    r, c = np.nonzero(credited)
    return float(np.sum((np.exp2(grades[r, c]) - 1.0) / np.log2(r + c + 2.0)))


def _ideal_dcg2d(grades: np.ndarray, shape: tuple[int, int]) -> float:
    rows, cols = shape
    k = min(len(grades), rows * cols)
    if k == 0:
        return 0.0
    r, c = np.divmod(np.arange(rows * cols), cols)
    disc = np.sort(1.0 / np.log2(r + c + 2.0))[::-1][:k]
    gains = np.sort(np.exp2(grades) - 1.0)[::-1][:k]
    return float(np.sum(gains * disc))


def n2dcg(grid: np.ndarray, relevance: Relevance, shape: tuple[int, int] | None = None) -> float:
    """DCG2D normalised by the ideal grid of ``shape`` (default: the grid's) filled in reading order.

    The ideal places the highest grades in the best cells (anti-diagonal order), so the value is
    in [0, 1]. NaN when nothing is relevant; 0 when the ideal grid has no cell (an empty page).
    """
    g = _as_grid(grid)
    _, grades = as_relevance(relevance)
    if not grades.size:
        return float("nan")
    ideal = _ideal_dcg2d(grades, shape if shape is not None else g.shape)
    if ideal <= 0.0:
        return 0.0
    return min(1.0, dcg2d(g, relevance) / ideal)


def recall(grid: np.ndarray, relevance: Relevance, m: int | None = None, n: int | None = None) -> float:
    """Recall@m-by-n: distinct relevant titles in the first ``m`` rows and ``n`` columns / relevant titles.

    ``None`` means the whole extent. NaN when nothing is relevant.
    """
    g = _as_grid(grid)
    items, _ = as_relevance(relevance)
    if not items.size:
        return float("nan")
    sub = g[: g.shape[0] if m is None else max(m, 0), : g.shape[1] if n is None else max(n, 0)]
    shown = np.unique(sub[sub >= 0])
    return float(np.count_nonzero(np.isin(shown, items, assume_unique=True)) / items.size)


def recall_curve(grid: np.ndarray, relevance: Relevance, n: int | None = None, rows: int | None = None) -> np.ndarray:
    """float64 recall@m-by-n for m = 1..rows (default: the grid's rows): the scroll-depth curve.

    Rows past the grid's end repeat its last value. NaN everywhere when nothing is relevant.
    """
    g = _as_grid(grid)
    items, _ = as_relevance(relevance)
    depth = g.shape[0] if rows is None else rows
    if not items.size:
        return np.full(depth, np.nan)
    sub = g[:, : g.shape[1] if n is None else max(n, 0)]
    r, c = np.nonzero(sub >= 0)
    vals = sub[r, c]
    rel = np.isin(vals, items)
    r, vals = r[rel], vals[rel]
    order = np.lexsort((r, vals))
    _, first = np.unique(vals[order], return_index=True)
    first_row = r[order][first]
    counts = np.bincount(first_row[first_row < depth], minlength=depth)[:depth]
    return np.cumsum(counts) / items.size


def first_screen_hit(grid: np.ndarray, relevance: Relevance, m: int, n: int) -> float:
    """1.0 when a relevant title is in the first ``m`` rows x ``n`` columns, else 0.0 (NaN: nothing relevant)."""
    r = recall(grid, relevance, m, n)
    return r if np.isnan(r) else float(r > 0)


def duplicates(grid: np.ndarray) -> int:
    """Cells holding a title already shown elsewhere on the page (must be 0)."""
    g = _as_grid(grid)
    shown = g[g >= 0]
    return int(shown.size - np.unique(shown).size)


def window_items(grid: np.ndarray, m: int | None = None, n: int | None = None) -> np.ndarray:
    """Distinct titles (int64, sorted) in the first ``m`` rows x ``n`` columns (None: all)."""
    g = _as_grid(grid)
    sub = g[: g.shape[0] if m is None else m, : g.shape[1] if n is None else n]
    return np.unique(sub[sub >= 0])


def coverage(grids: Sequence[np.ndarray], n_items: int, eligible: np.ndarray | None = None) -> float:
    """Share of the catalog (or of the ``eligible`` titles) shown on at least one of the pages."""
    shown = np.zeros(n_items, dtype=bool)
    for grid in grids:
        shown[window_items(grid)] = True
    if eligible is None:
        return float(shown.sum() / n_items) if n_items else 0.0
    eligible = np.asarray(eligible, dtype=bool)
    total = int(eligible.sum())
    return float((shown & eligible).sum() / total) if total else 0.0


def genre_diversity(items: np.ndarray, genres: np.ndarray) -> float:
    """Share of the catalog's genres present among ``items`` (genres: bool (n_items, n_genres))."""
    genres = np.asarray(genres, dtype=bool)
    if genres.shape[1] == 0:
        return 0.0
    items = np.asarray(items, dtype=np.int64)
    if not items.size:
        return 0.0
    return float(genres[items].any(axis=0).sum() / genres.shape[1])


def _genre_distribution(items: np.ndarray, genres: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
    """p(g) = sum_i w_i p(g|i) / sum_i w_i, p(g|i) uniform over title i's genres (genre-less titles skipped)."""
    gm = genres[np.asarray(items, dtype=np.int64)].astype(np.float64)
    per = gm.sum(axis=1)
    keep = per > 0
    w = np.ones(len(items)) if weights is None else np.asarray(weights, dtype=np.float64)
    w = w[keep]
    if not keep.any() or w.sum() <= 0:
        return np.zeros(genres.shape[1])
    pgi = gm[keep] / per[keep, None]
    return (w[:, None] * pgi).sum(axis=0) / w.sum()


def calibration_kl(
    shown: np.ndarray,
    history: np.ndarray,
    genres: np.ndarray,
    alpha: float = CALIBRATION_ALPHA,
    history_weights: np.ndarray | None = None,
) -> float:
    """Steck (2018) miscalibration KL(p || q~) of the shown titles' genres against the history's.

    p: genre distribution of the member's history titles (optionally weighted), q: of the shown
    titles (uniform weights), q~ = (1 - alpha) q + alpha p. NaN when the history has no genre.
    """
    if not 0.0 < alpha <= 1.0:
        raise DataError("calibration alpha must be in (0, 1]", field="alpha", value=alpha)
    genres = np.asarray(genres, dtype=bool)
    p = _genre_distribution(history, genres, history_weights)
    if p.sum() <= 0:
        return float("nan")
    q = _genre_distribution(shown, genres)
    qt = (1.0 - alpha) * q + alpha * p
    on = p > 0
    return float(np.sum(p[on] * np.log(p[on] / qt[on])))


def novelty(items: np.ndarray, popularity: np.ndarray) -> float:
    """Mean -log2 popularity share of ``items``; share = (count + 1) / (total + n_items) (Laplace-smoothed)."""
    items = np.asarray(items, dtype=np.int64)
    if not items.size:
        return float("nan")
    pop = np.asarray(popularity, dtype=np.float64)
    share = (pop[items] + 1.0) / (pop.sum() + pop.size)
    return float(np.mean(-np.log2(share)))


def row_kind_hits(grid: np.ndarray, relevance: Relevance, kinds: Sequence[str]) -> dict[str, int]:
    """Credited hits per row kind (``kinds[r]`` is the kind of grid row ``r``)."""
    hits = credited_hits(grid, relevance)
    if len(kinds) != hits.shape[0]:
        raise DataError(f"{len(kinds)} row kinds for {hits.shape[0]} grid rows", field="kinds")
    per_row = hits.sum(axis=1)
    out: dict[str, int] = {}
    for kind, count in zip(kinds, per_row.tolist(), strict=True):
        if count:
            out[kind] = out.get(kind, 0) + int(count)
    return out
