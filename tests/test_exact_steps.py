"""The request path's kept steps give the plain results to the bit: the fold-ins with their per-model
parts kept, the content rows gathered from the dense copy, the genre feature."""

from __future__ import annotations

import numpy as np
import pytest
from test_model import CONFIG
from test_model_tiles import EVENTS, events, series_catalog

from pagegen.models._als import implicit_fold_in, item_gram, rating_fold_in, ridge_gram
from pagegen.models._features import dense_rows
from pagegen.models._fit import fit


def test_fold_ins_with_their_kept_parts_are_the_same():
    rng = np.random.default_rng(1)
    items = rng.standard_normal((50, 8)).astype(np.float32)
    gram = item_gram(items)
    for size in (1, 3, 20):
        hist = rng.choice(50, size, replace=False)
        strength = rng.random(size).astype(np.float32)
        want = implicit_fold_in(items, hist, strength, 2.0, 5.0)
        for got in (implicit_fold_in(items, hist, strength, 2.0, 5.0, gram), implicit_fold_in(items, hist, strength, 2.0, 5.0, ridge=ridge_gram(gram, 2.0))):
            assert got.tobytes() == want.tobytes()
        # the rating fold-in against its formula written out (design with a column of ones, diagonal penalty)
        ratings = rng.uniform(0.5, 5.0, size).astype(np.float32)
        bias = rng.standard_normal(50).astype(np.float32)
        weights = rng.random(size) + 0.5
        got_bias, got_vec = rating_fold_in(3.5, bias, items, hist, ratings, 5.0, 10.0, weights)
        design = np.hstack([items[hist].astype(np.float64), np.ones((size, 1))])
        resid = ratings.astype(np.float64) - 3.5 - bias[hist]
        normal = (design.T * weights) @ design + np.diag(np.r_[np.full(8, 5.0), 10.0])
        sol = np.linalg.solve(normal, (design.T * weights) @ resid)
        assert got_bias == float(sol[-1]) and got_vec.tobytes() == sol[:-1].astype(np.float32).tobytes()


@pytest.mark.parametrize("large", [False, True])
def test_content_rows_are_the_dense_rows(large):
    cfg = CONFIG.model_copy(update={"ease_max_items": 1, "als_factors": 4, "als_iterations": 3, "neighbors": 3}) if large else CONFIG
    model = fit(series_catalog(), events(EVENTS), cfg, progress=False)
    model._content_rows(np.array([0]))
    assert model._content_dense is not None and model._flags["content_canonical"]  # (the gather, not the fallback)
    for items in ([0], [1, 5], [2, 2, 6], []):
        items = np.array(items, np.int64)
        got = model._content_rows(items)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, dense_rows(model._content, items))


def _genre_feature(model, state) -> np.ndarray:
    """The genre feature by its formula: the tiles' genres times the member's summed genres, over the norms' product."""
    t = model._tiles
    hist = model._history(state)[0]
    taste = model.arrays["genres"][hist].sum(axis=0)
    norm = np.sqrt(taste.dot(taste)) * t.genre_norm
    return np.divide(t.genres @ taste, norm, out=np.zeros(t.n, np.float32), where=norm > 0)


@pytest.mark.parametrize("genres", ["0/1", "0/1, some tiles without", "weighted"])
def test_genre_feature_is_the_product_of_genres_and_taste(genres):
    from pagegen.models._model import Model
    from pagegen.serve._engine import default_engine

    engine = default_engine()
    arrays, g = engine.model.arrays, engine.model.arrays["genres"]
    if genres != "0/1":
        g = g.copy()
        if genres == "weighted":
            g *= np.random.default_rng(0).uniform(0.1, 2.0, g.shape).astype(np.float32)
        else:
            g[::7] = 0.0  # a norm of 0: the feature is 0 there
    model = Model({**arrays, "genres": g, "genre_norm": np.linalg.norm(g, axis=1).astype(np.float32)}, engine.model.meta)
    members = [engine.interactions.users.id(u) for u in range(0, engine.interactions.n_users, 7)]
    played = 0
    for user in members:
        state = engine.state(user)
        got = model._user_features(state, None)[:, 1]
        if len(model._history(state)[0]):
            played += 1
            assert got.tobytes() == _genre_feature(model, state).tobytes()
        else:
            assert not got.any()
    assert played > 20
