"""Matrix factorization by alternating least squares, vectorized over all users or items.

- Implicit feedback (Hu, Koren, Volinsky 2008): confidence ``1 + alpha * r`` on observed
  cells, preference 1 there and 0 elsewhere. Each half step runs a few conjugate-gradient
  iterations for all rows at once (Takacs et al. 2011); one matrix-vector product costs
  ``O(nnz * factors)`` with sparse products and no Python loop over rows.
- Explicit ratings: biased MF ``mu + b_u + b_i + p_u . q_i``; each half step is an exact
  ridge solve for every row, the normal equations of all rows formed at once from the
  per-column outer products and solved in one batched ``numpy.linalg.solve``.

Only item-side parameters are kept in a Model; a member's side is folded in at request
time from their history (``implicit_fold_in``, ``rating_fold_in``), so members unseen in
training are served the same way as the others.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.sparse as sp

__all__ = ["biased_mf", "implicit_als", "implicit_fold_in", "item_gram", "rating_fold_in", "ridge_gram"]

#: At most this many float32 values (512 MB) are gathered once per ALS half step.
_GATHER_CELLS = 1 << 27


def _cg_half_step(x: sp.csr_array, other: np.ndarray, init: np.ndarray, reg: float, alpha: float, steps: int) -> np.ndarray:
    """Rows' factors given the other side's, for all rows of ``x`` (values = raw strengths r)."""
    gram = other.T @ other + reg * np.eye(other.shape[1], dtype=other.dtype)
    rows = np.repeat(np.arange(x.shape[0], dtype=np.intp), np.diff(x.indptr))
    conf = alpha * x.data.astype(other.dtype)
    weighted = sp.csr_array((1.0 + conf, x.indices, x.indptr), shape=x.shape)
    target = weighted @ other
    # the other side's factors of every stored cell, gathered once per half step when they fit
    # in memory (np.take: much faster than fancy indexing with int32 indices); otherwise
    # gathered a slice of cells at a time (temporaries of _GATHER_CELLS / 8 values)
    cached = np.take(other, x.indices, axis=0) if x.nnz * other.shape[1] <= _GATHER_CELLS else None

    def matvec(v: np.ndarray) -> np.ndarray:
        if cached is not None:
            dots = np.einsum("ij,ij->i", cached, np.take(v, rows, axis=0))
        else:
            dots = _cell_dots(other, x.indices, v, rows)
        out = v @ gram
        out += sp.csr_array((conf * dots, x.indices, x.indptr), shape=x.shape) @ other
        return out

    # the updates below run in place, a slice of rows at a time: one (rows x factors) array
    # less per product and no full-size temporaries
    sol = init.copy()
    resid = matvec(sol)
    np.subtract(target, resid, out=resid)
    del target
    direction = resid.copy()
    rs_old = np.einsum("ij,ij->i", resid, resid)
    for _ in range(steps):
        ad = matvec(direction)
        denom = np.einsum("ij,ij->i", direction, ad)
        step = np.divide(rs_old, denom, out=np.zeros_like(rs_old), where=denom > 0)
        _add_scaled(sol, step, direction)
        _add_scaled(resid, -step, ad)
        rs_new = np.einsum("ij,ij->i", resid, resid)
        ratio = np.divide(rs_new, rs_old, out=np.zeros_like(rs_new), where=rs_old > 0)
        direction *= ratio[:, None]
        direction += resid
        rs_old = rs_new
    return sol


def _add_scaled(y: np.ndarray, scale: np.ndarray, x: np.ndarray, block: int = 1 << 16) -> None:
    """``y += scale[:, None] * x`` in place, a slice of rows at a time."""
    for start in range(0, len(y), block):
        y[start : start + block] += scale[start : start + block, None] * x[start : start + block]


def _cell_dots(other: np.ndarray, cols: np.ndarray, v: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``other[cols[c]] . v[rows[c]]`` for every stored cell ``c``, in slices of cells."""
    out = np.empty(len(cols), np.result_type(other, v))
    step = max(1, _GATHER_CELLS // 8 // max(other.shape[1], 1))
    for start in range(0, len(cols), step):
        stop = min(start + step, len(cols))
        out[start:stop] = np.einsum("ij,ij->i", np.take(other, cols[start:stop], axis=0), np.take(v, rows[start:stop], axis=0))
    return out


def implicit_als(x: sp.csr_array, factors: int, reg: float, alpha: float, iterations: int, rng: np.random.Generator, cg_steps: int = 3, *, init: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """User and item factors (float32) of a users x items strength matrix.

    ``init``: ``(users, items)`` factors to start from (a warm start, e.g. from a fit on
    nearly the same data); random small values otherwise.
    """
    xt = sp.csr_array(x.T)
    if init is None:
        users = (rng.standard_normal((x.shape[0], factors)) * 0.01).astype(np.float32)
        items = (rng.standard_normal((x.shape[1], factors)) * 0.01).astype(np.float32)
    else:
        users, items = (np.asarray(a, np.float32) for a in init)
    for _ in range(iterations):
        users = _cg_half_step(x, items, users, reg, alpha, cg_steps).astype(np.float32, copy=False)
        items = _cg_half_step(xt, users, items, reg, alpha, cg_steps).astype(np.float32, copy=False)
    return users, items


def item_gram(items: np.ndarray) -> np.ndarray:
    """``Y' Y`` in float64 (computed once per model, shared by every fold-in)."""
    y = np.ascontiguousarray(items, dtype=np.float64)
    return y.T @ y


def ridge_gram(gram: np.ndarray, reg: float) -> np.ndarray:
    """``gram + reg * I``: the part of a fold-in's normal equations shared by every member."""
    return gram + reg * np.eye(len(gram))


def implicit_fold_in(items: np.ndarray, hist: np.ndarray, strength: np.ndarray, reg: float, alpha: float, gram: np.ndarray | None = None, *, ridge: np.ndarray | None = None) -> np.ndarray:
    """One member's factors from their history (exact solve); zeros for an empty history.

    ``gram``: ``item_gram(items)`` when already at hand; ``ridge``: ``ridge_gram(gram, reg)``
    when already at hand (then ``gram`` is not used).
    """
    f = items.shape[1]
    if len(hist) == 0:
        return np.zeros(f, np.float32)
    y = items[hist].astype(np.float64)
    conf = alpha * np.asarray(strength, np.float64)
    if ridge is None:
        ridge = ridge_gram(item_gram(items) if gram is None else gram, reg)
    normal = ridge + (y.T * conf) @ y
    target = y.T @ (1.0 + conf)
    return np.linalg.solve(normal, target).astype(np.float32)


def _ridge_rows(x: sp.csr_array, other: np.ndarray, resid: np.ndarray, reg: np.ndarray, weight: np.ndarray, block: int = 8192, cells: int = 1 << 16) -> np.ndarray:
    """For every row u of ``x``: argmin sum_i weight_ui (resid_ui - w . other_i)^2 + sum_j reg_j w_j^2.

    Rows without entries are 0 (nothing to solve). Rows are solved a block at a time (at most
    ``block`` rows and, past the first row, about ``cells`` stored cells), with the outer
    products of only the rows of ``other`` that the block uses.
    """
    f = other.shape[1]
    out = np.zeros((x.shape[0], f))
    counts = np.diff(x.indptr)
    rows = np.flatnonzero(counts)
    ends = np.cumsum(counts[rows])
    target = resid * weight
    penalty = np.diag(reg)[None]
    start = 0
    while start < len(rows):
        done = int(ends[start - 1]) if start else 0
        stop = min(start + block, max(start + 1, int(np.searchsorted(ends, done + cells, side="right"))))
        sel = rows[start:stop]
        lo, hi = int(x.indptr[sel[0]]), int(x.indptr[sel[-1] + 1])  # rows between are empty
        used, local = np.unique(x.indices[lo:hi], return_inverse=True)
        indptr = np.r_[0, ends[start:stop] - done]
        sub = other[used]
        outer = np.einsum("ij,ik->ijk", sub, sub).reshape(len(used), f * f)
        mask = sp.csr_array((weight[lo:hi], local, indptr), shape=(len(sel), len(used)))
        rhs = sp.csr_array((target[lo:hi], local, indptr), shape=(len(sel), len(used))) @ sub
        normal = (mask @ outer).reshape(-1, f, f) + penalty
        out[sel] = np.linalg.solve(normal, rhs[..., None])[..., 0]
        start = stop
    return out


def biased_mf(x: sp.csr_array, factors: int, reg: float, bias_reg: float, iterations: int, rng: np.random.Generator) -> tuple[float, np.ndarray, np.ndarray]:
    """Biased MF on explicit ratings ``x`` (users x items, stored values = ratings).

    Returns ``(mu, item_bias, item_factors)``. Each side is solved with its bias as one more
    coordinate (against a column of ones on the other side), with its own penalty.
    """
    x = sp.csr_array(x, dtype=np.float64)
    x.sort_indices()
    w = np.ones(x.nnz)
    # the transpose, keeping track of where each cell went
    order = sp.csr_array((np.arange(x.nnz, dtype=np.float64) + 1, x.indices, x.indptr), shape=x.shape).T.tocsr()
    order.sort_indices()
    perm = order.data.astype(np.int64) - 1
    xt = sp.csr_array((x.data[perm], order.indices, order.indptr), shape=(x.shape[1], x.shape[0]))
    wt = w[perm]
    mu = float(x.data.mean()) if x.nnz else 0.0
    n_users, n_items = x.shape
    q = np.hstack([rng.standard_normal((n_items, factors)) * 0.01, np.zeros((n_items, 1))])
    reg_vec = np.r_[np.full(factors, reg), bias_reg]
    for _ in range(iterations):
        # users: resid = r - mu - b_i ; design = [q_i, 1]
        resid = x.data - mu - q[x.indices, -1]
        p = _ridge_rows(x, np.hstack([q[:, :-1], np.ones((n_items, 1))]), resid, reg_vec, w)
        # items: resid = r - mu - b_u ; design = [p_u, 1]
        resid = xt.data - mu - p[xt.indices, -1]
        q = _ridge_rows(xt, np.hstack([p[:, :-1], np.ones((n_users, 1))]), resid, reg_vec, wt)
    return mu, q[:, -1].astype(np.float32), np.ascontiguousarray(q[:, :-1], dtype=np.float32)


def rating_fold_in(mu: float, item_bias: np.ndarray, item_factors: np.ndarray, rated: np.ndarray, ratings: np.ndarray, reg: float, bias_reg: float, weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """One member's ``(bias, factors)`` from their ratings; ``(0, zeros)`` when they rated nothing."""
    f = item_factors.shape[1]
    if len(rated) == 0:
        return 0.0, np.zeros(f, np.float32)
    w = np.ones(len(rated)) if weights is None else np.asarray(weights, np.float64)
    design = np.ones((len(rated), f + 1))  # the factors, and a column of ones for the bias
    design[:, :f] = item_factors[rated]
    resid = np.asarray(ratings, np.float64) - mu - item_bias[rated]
    weighted = design.T * w
    normal = weighted @ design + _penalty(f, float(reg), float(bias_reg))
    sol = np.linalg.solve(normal, weighted @ resid)
    return float(sol[-1]), sol[:-1].astype(np.float32)


@functools.lru_cache(maxsize=16)
def _penalty(f: int, reg: float, bias_reg: float) -> np.ndarray:
    """The fold-in's ridge penalty: ``diag(reg, ..., reg, bias_reg)`` (read-only, kept per value)."""
    out = np.diag(np.r_[np.full(f, reg), bias_reg])
    out.setflags(write=False)
    return out
