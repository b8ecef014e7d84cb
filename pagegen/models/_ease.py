"""Item-item models: EASE (Steck 2019), sparse top-k cosine neighbours, content similarity.

EASE is the closed form ``B = I - P diag(1 / diag(P))``, ``P = (X'X + lambda I)^-1``, with a
zero diagonal; it is computed in float32 through a Cholesky factorization (BLAS syrk, LAPACK
potrf + potri, upper triangles only), on the titles with enough plays only.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as la
import scipy.sparse as sp

from pagegen.core._catalog import Catalog

__all__ = ["content_features", "cosine_topk", "ease_weights"]


def ease_weights(x: sp.csr_array, lam: float) -> np.ndarray:
    """EASE item-item weights (float32, ``(n, n)``, zero diagonal) of a users x items matrix.

    Only upper triangles are formed (BLAS syrk for ``X'X``, LAPACK potrf/potri for its
    inverse), then mirrored once.
    """
    n = x.shape[1]
    gram = _gram(x)
    gram[np.diag_indices(n)] += np.float32(lam)
    potrf, potri = la.get_lapack_funcs(("potrf", "potri"), (gram,))
    chol, info = potrf(gram, lower=False, overwrite_a=True, clean=True)
    if info == 0:
        prec, info = potri(chol, lower=False, overwrite_c=True)
    if info != 0:  # not positive definite in float32: fall back to float64
        gram64 = _gram(x).astype(np.float64)
        gram64 += np.triu(gram64, 1).T
        gram64[np.diag_indices(n)] += lam
        prec = np.triu(la.inv(gram64, overwrite_a=True, check_finite=False)).astype(np.float32)
    # prec holds the upper triangle (the lower one is zero): mirror it
    diag = np.diag(prec).copy()
    prec += prec.T
    prec[np.diag_indices(n)] = 0.0
    prec /= -diag[None, :]
    return np.ascontiguousarray(prec, dtype=np.float32)


def _gram(x: sp.csr_array, block: int = 4096) -> np.ndarray:
    """The upper triangle of ``x' x`` as a dense float32 array (lower triangle zero), from dense
    blocks of rows through BLAS syrk (not a sparse product)."""
    n = x.shape[1]
    gram = np.zeros((n, n), np.float32, order="F")
    syrk = la.get_blas_funcs("syrk", (gram,))
    for start in range(0, x.shape[0], block):
        chunk = x[start : start + block].toarray().astype(np.float32, copy=False)
        gram = syrk(1.0, chunk, beta=1.0, c=gram, trans=1, lower=0, overwrite_c=1)
    return gram


def cosine_topk(x: sp.csr_array, k: int, *, block: int = 2048, cells: int = 1 << 23) -> sp.csr_array:
    """Top-``k`` cosine neighbours of every item (columns of ``x``), as a sparse (n, n) float32 array.

    Computed block by block of items (at most ``block`` items and ``cells`` similarities at a
    time), so memory stays ``O(cells)`` however many items there are; the diagonal is excluded.
    """
    n = x.shape[1]
    xc = sp.csc_array(x, dtype=np.float32)
    norms = np.sqrt(np.asarray(xc.multiply(xc).sum(axis=0)).ravel())
    norms[norms == 0] = 1.0
    xn = sp.csc_array(xc.multiply(1.0 / norms[None, :]), dtype=np.float32)
    xt = sp.csr_array(xn.T)
    xn = sp.csr_array(xn)  # converted once, not by every block's product
    k = min(k, max(n - 1, 0))
    block = max(1, min(block, cells // max(n, 1)))
    rows, cols, vals = [], [], []
    for start in range(0, n, block):
        stop = min(start + block, n)
        sims = (xt[start:stop] @ xn).toarray()
        sims[np.arange(stop - start), np.arange(start, stop)] = 0.0
        if k == 0:
            continue
        np.negative(sims, out=sims)  # in place: the k smallest of -sims are the k largest
        top = np.argpartition(sims, k - 1, axis=1)[:, :k]
        val = -np.take_along_axis(sims, top, axis=1)
        keep = val > 0
        rows.append(np.repeat(np.arange(start, stop, dtype=np.int32), k).reshape(-1, k)[keep])
        cols.append(top[keep].astype(np.int32))
        vals.append(val[keep])
    if not rows:
        return sp.csr_array((n, n), dtype=np.float32)
    return sp.csr_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n), dtype=np.float32)


def content_features(catalog: Catalog, tag_weight: float = 0.5) -> sp.csr_array:
    """L2-normalized content vectors: genres (weight 1) and tf-idf tags (total weight ``tag_weight``).

    A title without genres or tags gets a zero row (no content neighbours).
    """
    n = catalog.n
    genres = sp.csr_array(catalog.genres.astype(np.float32))
    gnorm = np.sqrt(np.asarray(genres.sum(axis=1)).ravel())
    gnorm[gnorm == 0] = 1.0
    genres = sp.csr_array(genres.multiply(1.0 / gnorm[:, None]))
    parts = [genres]
    tags = catalog.tags
    if tags is not None and tags.shape[1]:
        tags = sp.csr_array(tags, dtype=np.float32)
        df = np.bincount(tags.indices, minlength=tags.shape[1]).astype(np.float32)
        idf = np.log((n + 1.0) / (df + 1.0)).astype(np.float32) + 1.0
        tf = tags.copy()
        tf.data = np.log1p(tf.data)
        tf = sp.csr_array(tf.multiply(idf[None, :]))
        tnorm = np.sqrt(np.asarray(tf.multiply(tf).sum(axis=1)).ravel())
        tnorm[tnorm == 0] = 1.0
        parts.append(sp.csr_array(tf.multiply(np.float32(tag_weight) / tnorm[:, None])))
    feats = sp.csr_array(sp.hstack(parts, format="csr"), dtype=np.float32)
    norm = np.sqrt(np.asarray(feats.multiply(feats).sum(axis=1)).ravel())
    norm[norm == 0] = 1.0
    return sp.csr_array(feats.multiply(1.0 / norm[:, None]), dtype=np.float32)

