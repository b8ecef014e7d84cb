"""The rating predictor's neighbourhood corrections: item-kNN and user-kNN on centred ratings."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from pagegen.models._neighbours import Neighbours, centred_ratings, correction


def _ratings(seed: int, shape=(40, 30), density=0.3) -> sp.csr_array:
    rng = np.random.default_rng(seed)
    mat = sp.random_array(shape, density=density, format="csr", rng=rng)
    mat.data = rng.integers(1, 11, size=mat.nnz) / 2.0
    return sp.csr_array(mat)


def _pearson_shrunk(a: dict, b: dict, shrink: float) -> float:
    """The docstring's similarity, by its definition: over the keys both rated."""
    common = sorted(set(a) & set(b))
    if not common:
        return 0.0
    x, y = np.array([a[k] for k in common]), np.array([b[k] for k in common])
    denom = np.sqrt((x * x).sum() * (y * y).sum())
    return float((x * y).sum() / denom * len(common) / (len(common) + shrink)) if denom > 0 else 0.0


def _by_definition(sims: np.ndarray, values: np.ndarray, k: int) -> float:
    keep = np.argsort(-sims, kind="stable")[:k]
    s = np.maximum(sims[keep], 0.0)
    return float((s @ values[keep]) / (s.sum() + 1.0))


def test_centred_ratings_have_zero_member_means():
    r = _ratings(1)
    bias = np.random.default_rng(2).normal(size=r.shape[1]).astype(np.float32)
    c = centred_ratings(r, 3.5, bias)
    assert c.dtype == np.float32 and c.nnz == r.nnz
    means = np.add.reduceat(c.data.astype(np.float64), r.indptr[:-1][np.diff(r.indptr) > 0]) / np.diff(r.indptr)[np.diff(r.indptr) > 0]
    assert np.abs(means).max() < 1e-5
    member, title = 3, r.indices[r.indptr[3]]
    row = r.data[r.indptr[3] : r.indptr[4]] - 3.5 - bias[r.indices[r.indptr[3] : r.indptr[4]]]
    assert np.isclose(c[member, title], r[member, title] - 3.5 - bias[title] - row.mean(), atol=1e-5)


def test_item_correction_matches_the_definition():
    c = centred_ratings(_ratings(3), 3.0, np.zeros(30))
    nb = Neighbours(c, shrink=5.0, item_k=4, user_k=10)
    by_title = [dict(zip(c.tocsc()[:, [j]].indices, c.tocsc()[:, [j]].data.astype(np.float64), strict=True)) for j in range(30)]
    rated = np.array([0, 2, 5, 7, 11, 13, 17, 19])
    deviation = np.random.default_rng(4).normal(size=len(rated))
    titles = np.array([1, 4, 20])
    got = nb.item_correction(titles, rated, deviation)
    want = [_by_definition(np.array([_pearson_shrunk(by_title[t], by_title[j], 5.0) for j in rated]), deviation, 4) for t in titles]
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_user_correction_matches_the_definition():
    c = centred_ratings(_ratings(5), 3.0, np.zeros(30))
    nb = Neighbours(c, shrink=2.0, item_k=4, user_k=6)
    by_member = [dict(zip(c[[u]].indices, c[[u]].data.astype(np.float64), strict=True)) for u in range(40)]
    rated = np.array([1, 3, 6, 9, 12, 15])
    centred = np.random.default_rng(6).normal(size=len(rated))
    me = dict(zip(rated, centred, strict=True))
    titles = np.array([0, 8, 29])
    got = nb.user_correction(titles, rated, centred)
    want = []
    for t in titles:
        raters = [u for u in range(40) if t in by_member[u]]
        sims = np.array([_pearson_shrunk(me, by_member[u], 2.0) for u in raters])
        want.append(_by_definition(sims, np.array([by_member[u][t] for u in raters]), 6))
    np.testing.assert_allclose(got, want, atol=1e-9)


def test_no_ratings_no_correction():
    nb = Neighbours(centred_ratings(_ratings(7), 3.0, np.zeros(30)), shrink=5.0, item_k=4, user_k=6)
    none = np.zeros(0, np.int64)
    assert nb.item_correction(np.array([1, 2]), none, np.zeros(0)).tolist() == [0.0, 0.0]
    assert nb.user_correction(np.array([1, 2]), none, np.zeros(0)).tolist() == [0.0, 0.0]
    assert nb.item_correction(none, np.array([1]), np.ones(1)).shape == (0,)


def _rating_world(seed: int = 0):
    """Two groups of members with opposite tastes over 12 titles (group 0 likes titles 0-5)."""
    from pagegen.core._interactions import PLAY, RATING, Interactions
    from pagegen.core._vocab import Vocab

    rng = np.random.default_rng(seed)
    rows = []
    for user in range(60):
        group = user % 2
        for t, title in enumerate(rng.choice(12, size=9, replace=False)):
            likes = (title < 6) == (group == 0)
            rating = float(np.clip((4.5 if likes else 1.5) + rng.normal(0, 0.5), 0.5, 5.0))
            when = 1_000_000 + 3600 * (10 * user + t)
            rows += [(user, title, when, PLAY, 1.0), (user, title, when, RATING, round(rating * 2) / 2)]
    arr = np.array(rows)
    return Interactions(
        users=Vocab([f"u{i}" for i in range(60)]),
        user=arr[:, 0].astype(np.int64),
        item=arr[:, 1].astype(np.int64),
        timestamp=arr[:, 2].astype(np.int64),
        kind=arr[:, 3].astype(np.int8),
        value=arr[:, 4].astype(np.float32),
        n_items=12,
    )


def test_the_predictor_adds_the_corrections_to_the_mf(tmp_path):
    from pagegen import Catalog, FitConfig, Model, UserState, fit

    catalog = Catalog.build([f"t{i}" for i in range(12)], [f"T{i}" for i in range(12)], [["Drama"]] * 12)
    events = _rating_world()
    cfg = FitConfig(min_plays=1, rating_factors=2, blend_min_history=2, blend_holdout=1)
    model = fit(catalog, events, cfg, progress=False)
    off = fit(catalog, events, cfg.model_copy(update={"rating_item_weight": 0.0, "rating_user_weight": 0.0, "rating_similar_weight": 0.0}), progress=False)
    assert "neighbours_indptr" in model.arrays and "neighbours_indptr" not in off.arrays
    now = 2_000_000
    # a new member of group 0: rated titles 0, 1 high and 6 low
    member = UserState(now=now, items=np.array([0, 1, 6], np.int32), last=np.array([now - 30, now - 20, now - 10]), fraction=np.ones(3, np.float32), rated=np.array([0, 1, 6], np.int32), ratings=np.array([5.0, 4.5, 1.0], np.float32))
    titles = np.arange(12)
    full, mf = model.predict_rating(member, titles), model.predict_rating(member, titles, neighbours=False)
    assert full.dtype == np.float32 and np.isfinite(full).all()
    assert not np.array_equal(full, mf)
    # the corrections move the unrated titles the member's group likes up, the others down
    liked, disliked = titles[2:6], titles[7:]
    assert (full[liked] - mf[liked]).mean() > 0 > (full[disliked] - mf[disliked]).mean()
    # every weight 0: no correlations' matrix, and the predictor is the MF
    np.testing.assert_array_equal(off.predict_rating(member, titles), off.predict_rating(member, titles, neighbours=False))
    # saved and loaded: the same predictions
    model.save(tmp_path / "m")
    np.testing.assert_array_equal(Model.load(tmp_path / "m").predict_rating(member, titles), full)


def test_correction_reads_the_k_largest_positive_similarities():
    sim = np.array([[0.9, -0.8, 0.1, 0.5], [-0.2, -0.1, 0.0, -0.3]])
    deviation = np.array([1.0, 5.0, 2.0, -1.0])
    got = correction(sim, deviation, 2)
    assert np.isclose(got[0], (0.9 * 1.0 + 0.5 * -1.0) / (1.4 + 1.0))
    assert got[1] == 0.0
