"""The Model's similarity answers: ``similarity``, ``similarity_at`` and ``neighbors``, and the
mean similarity of a few titles that the personal features read (``_mean_similarity_tiles``).

Similarity is ``(1 - c) * collaborative + c * content``: the collaborative rows come from the
EASE weights (or the sparse top-k neighbours on large catalogs), each scaled to a peak of 1.
``SimilarityMixin`` holds the methods; ``Model`` (in ``_model``) inherits them and owns what
they read: the arrays (``_a``, ``_meta``, ``_tiles``, ``_topk``, ``_content``,
``_content_dense``) and the per-model caches (``_flags``, ``_flag``, ``_derive``). Values that
depend on the arrays only (the top-k peaks and scaled entries) are computed once per model.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pagegen.core._arrays import argtopk
from pagegen.core._errors import DataError

from ._features import dense_rows

__all__ = ["SimilarityMixin"]


class SimilarityMixin:
    """The similarity methods of ``Model`` (see the module's docstring); no state of its own."""

    __slots__ = ()

    def _collab(self, items: np.ndarray, *, tiles: bool) -> np.ndarray:
        """Collaborative similarity rows of ``items`` over the catalog (``tiles``: over the tiles
        only), each scaled to a maximum of 1."""
        out = self._collab_rows(items, tiles=tiles)
        peak = out.max(axis=1, keepdims=True) if out.shape[1] else np.zeros((len(items), 1), np.float32)
        np.divide(out, peak, out=out, where=peak > 0)
        return out

    def _collab_rows(self, items: np.ndarray, *, tiles: bool) -> np.ndarray:
        """``_collab`` before the scaling: the raw rows (EASE weights clipped at 0)."""
        t = self._tiles
        out = np.zeros((len(items), t.n if tiles else self.n_items), np.float32)
        if t.topk is not None:
            out[:] = dense_rows(t.topk if tiles else self._topk, items)
        elif t.ease_at is not None:
            pos = self._a["ease_pos"][items]
            hit = np.flatnonzero(pos >= 0)
            if len(hit):
                cols = t.ease_at if tiles else self._a["ease_items"]
                out[hit[:, None], cols[None, :]] = np.maximum(self._a["ease_weights"][pos[hit]], 0.0)
        return out

    def similarity(self, items: np.ndarray) -> np.ndarray:
        """Similarity rows of the given titles over the catalog: float32 ``(len(items), n_items)`` in [0, 1].

        ``(1 - c) * collaborative + c * content`` with ``c = config.content_weight``; a title
        with no plays (and an episode, whose plays count for its series) is similar by content
        only. A title's similarity to itself is 0.
        """
        items = np.atleast_1d(np.asarray(items, np.int64))
        if len(items) and _outside(items, self.n_items):
            raise DataError(f"title index out of range [0, {self.n_items})", field="items", value=int(items[(items < 0) | (items >= self.n_items)][0]))
        c = np.float32(self._meta["config"]["content_weight"])
        query = self._content_rows(items)
        sims = _content_product(query, self._content_dense) if self._content_dense is not None else np.ascontiguousarray((self._content @ query.T).T, dtype=np.float32)
        sims *= c
        sims += (1 - c) * self._collab(items, tiles=False)
        sims[np.arange(len(items)), items] = 0.0
        return sims

    def similarity_at(self, items: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """``similarity(items)[:, targets]`` (the same values), float32 ``(len(items), len(targets))``.

        When every target is a tile (a movie or a series: what pages show), only the tiles'
        columns are computed, each normalized by its row's peak over the whole catalog as in
        ``similarity``; otherwise the full rows are computed and the targets taken from them.
        """
        items = np.atleast_1d(np.asarray(items, np.int64))
        targets = np.asarray(targets, np.int64)
        t = self._tiles
        n = self.n_items
        if len(targets) and _outside(targets, n):
            raise DataError(f"title index out of range [0, {n})", field="targets", value=int(targets[(targets < 0) | (targets >= n)][0]))
        peak = self._collab_peak(items)
        if t.content_dense is None or peak is None or (t.expand is not None and not self._is_tile()[targets].all()):
            return np.take(self.similarity(items), targets, axis=1)
        if len(items) and _outside(items, n):
            raise DataError(f"title index out of range [0, {n})", field="items", value=int(items[(items < 0) | (items >= n)][0]))
        c = np.float32(self._meta["config"]["content_weight"])
        sims = _content_product(self._content_rows(items), t.content_dense)  # the tiles' columns of the catalog's product
        sims *= c
        if t.topk is not None:  # the few stored neighbours only: the other cells add (1 - c) * 0
            at, lens = _entries(t.topk.indptr, items)
            rows = np.arange(len(items)).repeat(lens)
            sims[rows, t.topk.indices[at]] += self._topk_scaled(False, c)[at]
        else:
            collab = self._collab_rows(items, tiles=True)
            np.divide(collab, peak, out=collab, where=peak > 0)
            sims += (1 - c) * collab
        pos = t.pos(items)
        self_col = t.tiles[pos] == items  # a title's similarity to itself is 0
        sims[self_col.nonzero()[0], pos[self_col]] = 0.0
        return sims.take(t.pos(targets), axis=1)

    def _collab_sum_tiles(self, items: np.ndarray) -> np.ndarray:
        """``_collab(items, tiles=True).sum(axis=0)``: with top-k neighbours, from the stored
        entries only (each scaled by its row's peak over the tiles, added row after row as the
        column sums of the dense rows add them; the empty cells add 0)."""
        t = self._tiles
        if t.topk is None or not self._topk_canonical():
            return self._collab(items, tiles=True).sum(axis=0)
        at, _ = _entries(t.topk.indptr, items)
        out = np.zeros(t.n, np.float32)
        np.add.at(out, t.topk.indices[at], self._topk_scaled(True, None)[at])  # in row order
        return out

    def _content_rows(self, items: np.ndarray) -> np.ndarray:
        """float32 ``(len(items), d)``: ``dense_rows(content, items)``; a gather from the content
        vectors kept dense per model (the same values) when they are short and each title names
        a feature once."""
        if self._content_dense is None or not self._flag("content_canonical", lambda: _canonical(self._content)):
            return dense_rows(self._content, items)
        return self._derive("content_rows", lambda: _read_only(np.ascontiguousarray(self._content_dense.T)))[items]

    def _is_tile(self) -> np.ndarray:
        """bool ``(n_items,)``: the titles that are their own tile (``fold[i] == i``)."""
        return self._derive("is_tile", lambda: _read_only(self._a["fold"] == np.arange(self.n_items)))

    def _topk_peaks(self, tiles: bool) -> np.ndarray:
        """float32 ``(n_items,)``: the peak of each title's collaborative row from its stored top-k
        entries, over the tiles (``tiles``) or the whole catalog, as ``_collab_sum_tiles`` and
        ``_collab_peak`` scale the rows (each row's own maximum, and 0 at most when the row has
        empty cells); computed for every title at once, once per model."""

        def compute() -> np.ndarray:
            topk, width = (self._tiles.topk, self._tiles.n) if tiles else (self._topk, self.n_items)
            lens = np.diff(topk.indptr)
            peak = np.zeros(len(lens), np.float32)
            has = lens > 0
            if has.any():  # each non-empty row's entries run from its start to the next non-empty row's
                peak[has] = np.maximum.reduceat(np.asarray(topk.data[: topk.indptr[-1]], np.float32), topk.indptr[:-1][has])
            return _read_only(np.where(lens < width, np.maximum(peak, 0.0), peak).astype(np.float32))

        return self._derive("peak_tiles" if tiles else "peak", compute)

    def _topk_scaled(self, tiles: bool, c: np.float32 | None) -> np.ndarray:
        """float32, one per stored entry of the tiles' top-k lists (``Tiles.topk``): the entry
        divided by its row's peak (``_topk_peaks(tiles)``; kept as it is where the peak is 0),
        times ``1 - c`` when ``c`` is given; the same operations a request would do on its own
        entries, done for every entry once per model."""

        def compute() -> np.ndarray:
            topk = self._tiles.topk
            vals = topk.data.astype(np.float32)
            scale = np.repeat(self._topk_peaks(tiles), np.diff(topk.indptr))
            np.divide(vals, scale, out=vals, where=scale > 0)
            return _read_only(vals if c is None else (1 - c) * vals)

        return self._derive(("topk_scaled", tiles, None if c is None else float(c)), compute)

    def _topk_canonical(self) -> bool:
        """Whether the top-k neighbour lists name each neighbour once (checked on first use)."""
        if "topk_canonical" not in self._flags:
            self._flags["topk_canonical"] = self._topk is not None and _canonical(self._topk)
        return self._flags["topk_canonical"]

    def _collab_peak(self, items: np.ndarray) -> np.ndarray | None:
        """float32 ``(len(items), 1)``: the peak of each collaborative row over the whole catalog
        (as ``_collab(items, tiles=False)`` normalizes), from the stored entries; None when the
        neighbour lists are not in canonical form (repeated entries)."""
        t = self._tiles
        if t.topk is not None:
            if not self._topk_canonical():
                return None
            return self._topk_peaks(False)[items][:, None]  # a row with empty cells has the dense row's zeros too
        if t.ease_at is not None:
            pos = self._a["ease_pos"][items]
            peak = np.zeros(len(items), np.float32)
            hit = np.flatnonzero(pos >= 0)
            if len(hit) and self._a["ease_weights"].shape[1]:
                peak[hit] = np.maximum(self._a["ease_weights"][pos[hit]], 0.0).max(axis=1)
            return peak[:, None]
        return np.zeros((len(items), 1), np.float32)

    def _mean_similarity_tiles(self, items: np.ndarray) -> np.ndarray:
        """``similarity(items)[:, tiles].mean(axis=0)`` without forming the rows' content part."""
        c = float(self._meta["config"]["content_weight"])
        t = self._tiles
        query = self._content_rows(items)
        content = query.sum(axis=0) @ t.content_dense if t.content_dense is not None else t.content @ query.sum(axis=0)
        # the self-similarity of each title is 0: take its own content term back out
        np.subtract.at(content, t.pos(items), np.einsum("ij,ij->i", query, query))
        out = (1.0 - c) * self._collab_sum_tiles(items) + c * content
        return (out / len(items)).astype(np.float32, copy=False)

    def neighbors(self, item: int, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` titles most similar to ``item`` (never itself): int32 titles, float32 similarity, descending."""
        row = self.similarity(np.array([item]))[0]
        k = max(0, min(int(k), self.n_items - 1))
        top = argtopk(row, k)
        top = top[top != item]
        return top.astype(np.int32), row[top].astype(np.float32)


def _content_product(query: np.ndarray, dense: np.ndarray) -> np.ndarray:
    """``query @ dense``: float32 ``(m, T)`` from the content vectors ``query`` ``(m, d)`` and the
    dense transpose ``(d, T)`` of the titles' content, over the features some row of ``query``
    holds (a title names a few of the d features): a feature no row holds only adds ``0 * x`` to
    each sum. The same sums up to float32 rounding (the BLAS may group the terms otherwise; 0/1
    features sum exactly). Three anchors of the medium world hold 6 of its 39 features. Both
    ``similarity`` and ``similarity_at`` use it, so they keep giving the same values."""
    used = query.any(axis=0).nonzero()[0]
    if used.size == query.shape[1]:
        return query @ dense
    return query[:, used] @ dense[used]


def _outside(x: np.ndarray, n: int) -> bool:
    """Whether some value of the integer array ``x`` (not empty) is outside [0, n)."""
    return bool(x.min() < 0 or x.max() >= n)


def _canonical(mat: sp.csr_array) -> bool:
    """Whether no row of ``mat`` names a column twice (then a row's stored entries are its cells)."""
    copy = mat.copy()
    copy.sum_duplicates()
    return copy.nnz == mat.nnz


def _entries(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the stored entries of ``rows`` of a CSR matrix (row after row), and each row's count."""
    start, stop = indptr[rows], indptr[rows + 1]
    lens = stop - start
    return np.arange(int(lens.sum())) + (start - lens.cumsum() + lens).repeat(lens), lens


def _read_only(arr: np.ndarray) -> np.ndarray:
    arr.setflags(write=False)
    return arr
