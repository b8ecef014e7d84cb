"""Episodes count for their series; the request-time paths (count index, per-tile features,
mean similarity) agree with the direct computations they replace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_model import CONFIG, NOW, T0, plays

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import Interactions
from pagegen.core._time import DAY
from pagegen.core._userstate import UserState
from pagegen.models._fit import fit
from pagegen.models._popularity import SPAN, CountIndex, first_per_day, fold_items, item_starts, play_keys, plays_before

# a movie, a series with three episodes, two more movies
IDS = ["m", "s", "s1", "s2", "s3", "n", "o"]


def series_catalog(**columns) -> Catalog:
    """The catalog above; ``columns`` replace or add ``Catalog.build`` columns (e.g. ``season``, ``added``)."""
    base = {
        "kind": ["movie", "series", "episode", "episode", "episode", "movie", "movie"],
        "series": [None, None, "s", "s", "s", None, None],
        "season": [0, 0, 1, 1, 1, 0, 0],
        "episode": [0, 0, 1, 2, 3, 0, 0],
        "year": [2001, 2002, 2002, 2002, 2002, 2003, 2004],
    }
    names = ["M", "S", "S 1", "S 2", "S 3", "N", "O"]
    genres = [["Drama"], ["Comedy"], ["Comedy"], ["Comedy"], ["Comedy"], ["Drama"], ["Horror"]]
    return Catalog.build(IDS, names, genres, **{**base, **columns})


def events(rows: list[tuple[int, int, int]]) -> Interactions:
    return plays(rows, n_items=len(IDS))


# u0 binges the series in one day; u1 watches it over two days; u2 and u3 watch movies
EVENTS = [
    (0, 2, T0 + 30 * DAY),
    (0, 3, T0 + 30 * DAY + 3600),
    (0, 4, T0 + 30 * DAY + 7200),
    (0, 0, T0 + 31 * DAY),
    (1, 2, T0 + 32 * DAY),
    (1, 3, T0 + 33 * DAY),
    (1, 0, T0 + 34 * DAY),
    (2, 0, T0 + 10 * DAY),
    (2, 5, T0 + 11 * DAY),
    (3, 5, T0 + 12 * DAY),
    (3, 6, T0 + 13 * DAY),
    (2, 6, T0 + 14 * DAY),
]


@pytest.fixture(scope="module")
def model():
    return fit(series_catalog(), events(EVENTS), CONFIG, progress=False)


def test_episode_plays_count_for_the_series_once_per_member_day(model):
    # series: u0 one day, u1 two days -> 3; episodes themselves count nothing
    assert model.popularity(NOW).tolist() == [3, 3, 0, 0, 0, 2, 2]
    # [NOW - 3d, NOW): u1 plays m on day 34 and the series on days 32 and 33
    assert model.popularity(NOW, window=3 * DAY).tolist() == [1, 2, 0, 0, 0, 0, 0]
    assert model.trending(NOW)[1] > 0 and model.trending(NOW)[2] == 0
    updated = model.update(events([(3, 3, NOW - DAY), (3, 4, NOW - DAY + 60)]))
    assert updated.popularity(NOW)[1] == 4


def test_series_gets_collaborative_scores_and_episodes_score_as_their_series(model):
    # a member who watched an episode: the series' co-watched movie scores above the unrelated one
    state = UserState.from_history(series_catalog(), [{"item": "s2", "timestamp": NOW - 10}], NOW)
    personal = model.personal(state)
    assert personal[0] > personal[6]
    # and a member who watched the movie m gets the series recommended (its plays are on episodes)
    movie = UserState.from_history(series_catalog(), [{"item": "m", "timestamp": NOW - 10}], NOW)
    assert model.personal(movie)[1] > model.personal(movie)[6]
    for user in (state, movie, UserState.cold(NOW)):
        score = model.score(user)
        assert score.shape == (len(IDS),) and np.all(np.isfinite(score))
        np.testing.assert_array_equal(score[[2, 3, 4]], score[1])
    assert model.arrays["fold"].tolist() == [0, 1, 1, 1, 1, 5, 6]


def test_score_is_the_blend_of_the_features(model):
    state = UserState.from_history(series_catalog(), [{"item": "s2", "timestamp": NOW - 10}, {"item": "s2", "timestamp": NOW - 9, "kind": "rating", "value": 4}], NOW)
    a = model.arrays
    z = (model.features(state).astype(np.float64) - a["blend_mean"]) / a["blend_scale"]
    np.testing.assert_allclose(model.score(state), z @ a["blend_weights"] + model.meta["blend_bias"], rtol=1e-4, atol=1e-4)


def test_mean_similarity_matches_the_rows(model):
    recent = np.array([1, 0, 5])
    tiles = np.flatnonzero(model.arrays["fold"] == np.arange(len(IDS)))
    np.testing.assert_allclose(model._mean_similarity_tiles(recent), model.similarity(recent)[:, tiles].mean(axis=0), rtol=1e-5, atol=1e-6)


def test_fold_and_first_per_day():
    assert fold_items(np.array([-1, -1, 1, 1, -1])).tolist() == [0, 1, 1, 1, 4]
    keep = first_per_day(np.array([0, 0, 0, 1]), np.array([2, 2, 2, 2]), np.array([DAY + 50, DAY + 10, 2 * DAY, DAY]))
    assert keep.tolist() == [False, True, True, True]


@given(
    plays=st.lists(st.tuples(st.integers(0, 4), st.integers(0, 10_000)), max_size=60),
    times=st.lists(st.integers(-100, 12_000), min_size=1, max_size=5),
    segment=st.integers(1, 8),
)
def test_count_index_matches_binary_search(plays, times, segment):
    arr = np.asarray(plays, np.int64).reshape(-1, 2)
    origin = 1_000
    keys = play_keys(arr[:, 0], arr[:, 1] + origin, origin)
    index = CountIndex(keys, 5, origin, segment=segment)
    expected = plays_before(keys, item_starts(keys, 5), origin, [t + origin for t in times])
    for t, want in zip(times, expected, strict=True):
        np.testing.assert_array_equal(index.before(t + origin), want)
    first = np.full(5, SPAN)
    for item, t in plays:
        first[item] = min(first[item], t)
    np.testing.assert_array_equal(index.first, first)


def test_large_catalog_path_folds_episodes_too():
    """ALS and top-k neighbours (the path of large catalogs) see the series' plays as well."""
    cfg = CONFIG.model_copy(update={"ease_max_items": 1, "als_factors": 4, "als_iterations": 3, "neighbors": 3})
    model = fit(series_catalog(), events(EVENTS), cfg, progress=False)
    assert model.personal_method == "als"
    factors = model.arrays["als_items"]
    assert np.all(factors[[2, 3, 4]] == 0) and np.any(factors[1] != 0)
    sims = model.similarity(np.array([0]))[0]
    assert sims[1] > 0  # m and the series share two members
    state = UserState.from_history(series_catalog(), [{"item": "s3", "timestamp": NOW - 10}], NOW)
    score = model.score(state)
    assert np.all(np.isfinite(score)) and np.all(score[[2, 3, 4]] == score[1])


@pytest.mark.parametrize("large", [False, True])
def test_similarity_at_is_the_columns_of_similarity(model, large):
    """Tile targets take the tiles-only path, any other target the full rows: the same values either
    way; the same for the neighbour sums of the mean similarity."""
    if large:  # top-k neighbours instead of EASE weights
        cfg = CONFIG.model_copy(update={"ease_max_items": 1, "als_factors": 4, "als_iterations": 3, "neighbors": 3})
        model = fit(series_catalog(), events(EVENTS), cfg, progress=False)
    tiles = np.array([0, 1, 5, 6])  # the movies and the series
    for items in ([0], [1, 5], [2], [6, 0, 3], []):
        items = np.array(items, np.int64)
        full = model.similarity(items)
        for targets in (tiles, tiles[::-1], np.array([6]), np.array([2, 0, 4]), np.arange(len(IDS)), np.zeros(0, np.int64)):
            got = model.similarity_at(items, targets)
            assert got.dtype == np.float32 and got.shape == (len(items), len(targets))
            np.testing.assert_array_equal(got, full[:, targets])
        if len(items):  # the mean similarity's neighbour part, from the stored entries on the large path
            np.testing.assert_array_equal(model._collab_sum_tiles(items), model._collab(items, tiles=True).sum(axis=0))
    with pytest.raises(DataError, match="out of range"):
        model.similarity_at(np.array([0]), np.array([len(IDS)]))
    # a negative title is named too (the range check reads it as a large unsigned number)
    for call, field in ((lambda: model.similarity_at(np.array([0]), np.array([0, -1])), "targets"),
                        (lambda: model.similarity_at(np.array([0, -1]), tiles), "items"), (lambda: model.similarity(np.array([-1])), "items")):  # fmt: skip
        with pytest.raises(DataError, match="out of range") as err:
            call()
        assert (err.value.field, err.value.value) == (field, -1)
    if large:  # the per-model row peaks are the maxima of the raw dense rows (0 counts where a row has empty cells)
        every = np.arange(len(IDS))
        for tiles in (False, True):
            np.testing.assert_array_equal(model._topk_peaks(tiles), model._collab_rows(every, tiles=tiles).max(axis=1))


def test_content_product_over_the_held_features_is_the_whole_product():
    """Sparse content vectors of 1-24 titles (a row may hold no feature): the product over the
    features the rows hold is ``query @ dense`` (to the bit with 0/1 features, whose sums are
    exact in any order; to float32 rounding with weights, which the BLAS may sum in another order)."""
    from pagegen.models._model_similarity import _content_product

    rng = np.random.default_rng(3)
    for pos in range(300):
        d, t, m = int(rng.integers(1, 60)), int(rng.integers(1, 3000)), int(rng.integers(1, 25))
        dense = (rng.random((d, t)) < 0.08).astype(np.float32)
        if pos % 2:
            dense *= rng.random((d, t)).astype(np.float32)
        query = np.ascontiguousarray(dense[:, rng.integers(0, t, size=m)].T)
        query[rng.random(m) < 0.1] = 0.0
        got, want = _content_product(query, dense), query @ dense
        assert got.dtype == np.float32 and got.shape == (m, t)
        if pos % 2:
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
        else:
            assert got.tobytes() == want.tobytes()
