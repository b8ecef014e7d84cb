"""Matrix factorization by alternating least squares.

- Implicit feedback (Hu, Koren, Volinsky 2008): confidence ``1 + alpha * r`` on observed
  cells, preference 1 there and 0 elsewhere. Each half step runs a few conjugate-gradient
  steps per row, warm-started from the row's previous factors (Takacs et al. 2011), in a
  compiled loop over rows: ``O(factors^2 + cells * factors)`` a row and step, and no
  temporaries beyond a few vectors.
- Explicit ratings: biased MF ``mu + b_u + b_i + p_u . q_i``; each half step is an exact
  ridge solve for every row (its normal equations and a Cholesky solve), in a compiled
  loop over rows.

Only item-side parameters are kept in a Model; a member's side is folded in at request
time from their history (``implicit_fold_in``, ``rating_fold_in``), so members unseen in
training are served the same way as the others.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
import scipy.sparse as sp

__all__ = ["biased_mf", "implicit_als", "implicit_fold_in", "item_gram", "rating_fold_in", "ridge_gram"]

#: fastmath: the sums of the dot products may be reordered (vectorized); the same machine
#: and build give the same bits every run.
_JIT = dict(cache=True, nogil=True, fastmath={"reassoc", "contract"})


@numba.njit(**_JIT)
def _apply(gram: np.ndarray, other: np.ndarray, indices: np.ndarray, conf: np.ndarray, lo: int, hi: int, v: np.ndarray, out: np.ndarray) -> None:
    """``out = (gram + sum_c conf_c y_c y_c') v``, ``y_c = other[indices[c]]`` over cells ``lo:hi``."""
    k = v.shape[0]
    for a in range(k):  # gram is symmetric: row a times v
        acc = np.float32(0.0)
        for b in range(k):
            acc += gram[a, b] * v[b]
        out[a] = acc
    for c in range(lo, hi):
        i = indices[c]
        acc = np.float32(0.0)
        for b in range(k):
            acc += other[i, b] * v[b]
        acc *= conf[c]
        for b in range(k):
            out[b] += acc * other[i, b]


@numba.njit(**_JIT)
def _dot(a: np.ndarray, b: np.ndarray) -> np.float32:
    out = np.float32(0.0)
    for j in range(a.shape[0]):
        out += a[j] * b[j]
    return out


@numba.njit(**_JIT)
def _cg_rows(indptr: np.ndarray, indices: np.ndarray, conf: np.ndarray, other: np.ndarray, gram: np.ndarray, init: np.ndarray, steps: int, out: np.ndarray) -> None:
    """``out[u]``: ``steps`` conjugate-gradient steps from ``init[u]`` towards the solution of
    ``(gram + sum_c conf_c y_c y_c') w = sum_c (1 + conf_c) y_c`` (``y_c = other[indices[c]]``,
    ``c`` over row u's stored cells), one row at a time."""
    k = other.shape[1]
    x = np.empty(k, np.float32)
    resid = np.empty(k, np.float32)
    direction = np.empty(k, np.float32)
    product = np.empty(k, np.float32)
    for u in range(init.shape[0]):
        lo, hi = indptr[u], indptr[u + 1]
        for a in range(k):
            x[a] = init[u, a]
        _apply(gram, other, indices, conf, lo, hi, x, product)
        for a in range(k):
            resid[a] = -product[a]
        for c in range(lo, hi):
            i = indices[c]
            for a in range(k):
                resid[a] += (1.0 + conf[c]) * other[i, a]
        for a in range(k):
            direction[a] = resid[a]
        rs_old = _dot(resid, resid)
        for _ in range(steps):
            if rs_old <= 0.0:
                break
            _apply(gram, other, indices, conf, lo, hi, direction, product)
            denom = _dot(direction, product)
            if denom <= 0.0:
                break
            step = rs_old / denom
            for a in range(k):
                x[a] += step * direction[a]
                resid[a] -= step * product[a]
            rs_new = _dot(resid, resid)
            for a in range(k):
                direction[a] = resid[a] + (rs_new / rs_old) * direction[a]
            rs_old = rs_new
        for a in range(k):
            out[u, a] = x[a]


def _cg_half_step(x: sp.csr_array, other: np.ndarray, init: np.ndarray, reg: float, alpha: float, steps: int) -> np.ndarray:
    """Rows' factors given the other side's, for all rows of ``x`` (values = raw strengths r)."""
    other = np.ascontiguousarray(other, np.float32)
    gram = other.T @ other + reg * np.eye(other.shape[1], dtype=np.float32)
    out = np.empty_like(init, dtype=np.float32)
    conf = (alpha * x.data).astype(np.float32)
    _cg_rows(x.indptr.astype(np.int64, copy=False), x.indices.astype(np.int32, copy=False), conf, other, gram, np.ascontiguousarray(init, np.float32), steps, out)
    return out


def small_random(rng: np.random.Generator, n: int, k: int, block: int = 65_536) -> np.ndarray:
    """float32 (n, k): ``(rng.standard_normal((n, k)) * 0.01).astype(np.float32)``, the same values
    drawn ``block`` rows at a time (the generator fills in order), so that no float64 (n, k)
    temporaries are made: 1.3 GB of them for a million members with 64 factors."""
    out = np.empty((n, k), np.float32)
    for lo in range(0, n, block):
        out[lo : lo + block] = rng.standard_normal((min(block, n - lo), k)) * 0.01
    return out


def implicit_als(x: sp.csr_array, factors: int, reg: float, alpha: float, iterations: int, rng: np.random.Generator, cg_steps: int = 3, *, init: tuple[np.ndarray, np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """User and item factors (float32) of a users x items strength matrix.

    ``init``: ``(users, items)`` factors to start from (a warm start, e.g. from a fit on
    nearly the same data); random small values otherwise.
    """
    xt = sp.csr_array(x.T)
    if init is None:
        users = small_random(rng, x.shape[0], factors)
        items = small_random(rng, x.shape[1], factors)
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


@numba.njit(**_JIT)
def _ridge_kernel(indptr: np.ndarray, indices: np.ndarray, other: np.ndarray, target: np.ndarray, weight: np.ndarray, reg: np.ndarray, out: np.ndarray) -> None:
    """``out[u]`` solves ``(sum_c weight_c y_c y_c' + diag(reg)) w = sum_c target_c y_c`` for every
    non-empty row u (``y_c = other[indices[c]]``): normal equations, then a Cholesky solve."""
    f = other.shape[1]
    normal = np.empty((f, f))
    rhs = np.empty(f)
    for u in range(out.shape[0]):
        lo, hi = indptr[u], indptr[u + 1]
        if lo == hi:
            continue
        normal[:] = 0.0
        rhs[:] = 0.0
        for c in range(lo, hi):
            i = indices[c]
            for a in range(f):
                wa = weight[c] * other[i, a]
                rhs[a] += target[c] * other[i, a]
                for b in range(a + 1):
                    normal[a, b] += wa * other[i, b]
        for a in range(f):  # Cholesky, lower triangle in place
            normal[a, a] += reg[a]
            for b in range(a + 1):
                acc = normal[a, b]
                for j in range(b):
                    acc -= normal[a, j] * normal[b, j]
                normal[a, b] = np.sqrt(acc) if a == b else acc / normal[b, b]
        for a in range(f):  # forward: L z = rhs
            acc = rhs[a]
            for j in range(a):
                acc -= normal[a, j] * rhs[j]
            rhs[a] = acc / normal[a, a]
        for a in range(f - 1, -1, -1):  # back: L' w = z
            acc = rhs[a]
            for j in range(a + 1, f):
                acc -= normal[j, a] * rhs[j]
            rhs[a] = acc / normal[a, a]
            out[u, a] = rhs[a]


def _ridge_rows(x: sp.csr_array, other: np.ndarray, resid: np.ndarray, reg: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """For every row u of ``x``: argmin sum_i weight_ui (resid_ui - w . other_i)^2 + sum_j reg_j w_j^2.

    Rows without entries are 0 (nothing to solve); ``reg`` > 0 keeps every system positive definite.
    """
    out = np.zeros((x.shape[0], other.shape[1]))
    _ridge_kernel(x.indptr.astype(np.int64, copy=False), x.indices.astype(np.int32, copy=False), np.ascontiguousarray(other, np.float64), resid * weight, np.asarray(weight, np.float64), np.asarray(reg, np.float64), out)
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
