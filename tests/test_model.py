"""Model answers on hand-made data: popularity, trending, similarity, cold start and fold-in."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import Interactions
from pagegen.core._userstate import Profile, UserState
from pagegen.core._vocab import Vocab
from pagegen.models._fit import FitConfig, fit

DAY = 86_400
T0 = 1_600_000_000

CONFIG = FitConfig(min_plays=1, trend_short=7 * DAY, trend_long=28 * DAY, blend_min_history=2, blend_holdout=1)


def tiny_catalog() -> Catalog:
    return Catalog.build(
        ["a", "b", "c", "d", "e", "f"],
        ["A", "B", "C", "D", "E", "F"],
        [["Drama"], ["Drama"], ["Comedy"], ["Comedy"], ["Horror"], ["Horror", "Drama"]],
        year=[2001, 2002, 2003, 2004, 2005, 0],
        regions=[["US"], ["US", "FR"], ["FR"], [], ["US"], ["US"]],
        tags=[{"space": 2}, {"space": 1}, {}, {"heist": 1}, {}, {}],
    )


def plays(events: list[tuple[int, int, int]], n_users: int = 4, n_items: int = 6) -> Interactions:
    """Play events (user, item, time), watched to the end."""
    arr = np.asarray(events, np.int64).reshape(-1, 3)
    return Interactions(
        users=Vocab([f"u{i}" for i in range(n_users)]),
        user=arr[:, 0],
        item=arr[:, 1],
        timestamp=arr[:, 2],
        kind=np.zeros(len(arr), np.int8),
        value=np.ones(len(arr), np.float32),
        n_items=n_items,
    )


# plays: title 0 long ago and steadily, title 1 a burst in the last week, title 2 twice
EVENTS = [
    (0, 0, T0),
    (1, 0, T0 + 10 * DAY),
    (2, 0, T0 + 20 * DAY),
    (3, 0, T0 + 25 * DAY),
    (0, 1, T0 + 30 * DAY),
    (1, 1, T0 + 31 * DAY),
    (2, 1, T0 + 32 * DAY),
    (3, 2, T0 + 12 * DAY),
    (0, 2, T0 + 33 * DAY),
    (3, 3, T0 + 34 * DAY),
]
NOW = T0 + 35 * DAY


@pytest.fixture(scope="module")
def model():
    return fit(tiny_catalog(), plays(EVENTS), CONFIG, progress=False)


def test_popularity_hand_computed(model):
    assert model.popularity(NOW).tolist() == [4, 3, 2, 1, 0, 0]
    # the last 7 days: [NOW - 7d, NOW) holds title 1 x3, title 2 x1, title 3 x1
    assert model.popularity(NOW, window=7 * DAY).tolist() == [0, 3, 1, 1, 0, 0]
    # as of an earlier moment, later plays do not count; the bound is exclusive
    assert model.popularity(T0 + 10 * DAY).tolist() == [1, 0, 0, 0, 0, 0]
    assert model.popularity(T0 + 10 * DAY + 1).tolist() == [2, 0, 0, 0, 0, 0]
    assert model.popularity(T0).tolist() == [0] * 6
    assert model.popularity(NOW).dtype == np.float32


def test_popularity_by_region_masks_unavailable_titles(model):
    # no member regions were given: all plays count, titles not available in FR are 0
    assert model.popularity(NOW, region="FR").tolist() == [0, 3, 2, 1, 0, 0]
    with pytest.raises(DataError, match="region"):
        model.popularity(NOW, region="XX")
    with pytest.raises(DataError, match="window"):
        model.popularity(NOW, window=0)


def test_popularity_by_member_region():
    profiles = [Profile(region="US"), Profile(region="FR"), Profile(region="US"), Profile()]
    m = fit(tiny_catalog(), plays(EVENTS), CONFIG, progress=False, profiles=profiles)
    # US members are users 0 and 2: title 0 x2, title 1 x2, title 2 x1 (not in US: masked)
    assert m.popularity(NOW, region="US").tolist() == [2, 2, 0, 0, 0, 0]
    assert m.popularity(NOW, region="FR").tolist() == [0, 1, 0, 0, 0, 0]


def test_trending_hand_computed(model):
    # short = 7 days, long = 28 days: recent in [NOW-7d, NOW), baseline in [NOW-28d, NOW-7d)
    # title 0: recent 0, baseline 3 (days 10, 20, 25) -> 0
    # title 1: recent 3, baseline 0 -> 3 / sqrt(1) = 3
    # title 2: recent 1, baseline 1 (day 12) -> expected 1/3 -> (2/3) / sqrt(4/3)
    trend = model.trending(NOW)
    expected = [0.0, 3.0, (2 / 3) / np.sqrt(4 / 3), 1.0, 0.0, 0.0]
    np.testing.assert_allclose(trend, expected, rtol=1e-6)
    assert trend.dtype == np.float32


@given(
    events=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 60 * DAY)), min_size=1, max_size=40),
    later=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 30 * DAY)), min_size=1, max_size=20),
    cut=st.integers(0, 60 * DAY),
)
def test_answers_as_of_now_ignore_later_events(model, events, later, cut):
    """Popularity and trending as of ``now`` are unchanged by any events at or after ``now``."""
    base = plays([(u, i, T0 + t) for u, i, t in events])
    now = T0 + cut
    m1 = model.update(base)
    extra = plays([(u, i, now + t) for u, i, t in later])
    m2 = m1.update(extra)
    np.testing.assert_array_equal(m1.popularity(now), m2.popularity(now))
    np.testing.assert_array_equal(m1.popularity(now, window=5 * DAY), m2.popularity(now, window=5 * DAY))
    np.testing.assert_array_equal(m1.trending(now), m2.trending(now))


def test_update_counts_new_plays_without_refit(model):
    new = plays([(0, 4, NOW - DAY), (1, 4, NOW - 2 * DAY)])
    updated = model.update(new)
    assert updated.popularity(NOW)[4] == 2 and model.popularity(NOW)[4] == 0
    assert updated.trending(NOW)[4] > 0
    np.testing.assert_array_equal(updated.score(UserState.cold(NOW)).shape, (6,))
    with pytest.raises(DataError, match="titles"):
        model.update(plays([(0, 0, NOW)], n_items=7))


def test_similarity_and_neighbors(model):
    sims = model.similarity(np.array([0, 4]))
    assert sims.shape == (2, 6) and sims.dtype == np.float32
    assert np.all((sims >= 0) & (sims <= 1))
    assert sims[0, 0] == 0 and sims[1, 4] == 0
    items, scores = model.neighbors(0, 3)
    assert 0 not in items and len(items) == 3
    assert np.all(np.diff(scores) <= 0)
    # title 4 has no plays: its neighbours come from content (Horror, shared with title 5)
    items4, scores4 = model.neighbors(4, 1)
    assert items4.tolist() == [5] and scores4[0] > 0
    with pytest.raises(DataError, match="out of range"):
        model.similarity(np.array([6]))


def test_cold_member_gets_finite_popularity_like_scores(model):
    cold = UserState.cold(NOW)
    for scores in (model.score(cold), model.personal(cold), model.predict_rating(cold, np.arange(6))):
        assert scores.dtype == np.float32 and np.all(np.isfinite(scores))
    assert model.features(cold)[:, 0].tolist() == [0.0] * 6


def test_fold_in_for_unseen_member(model):
    catalog = tiny_catalog()
    events = [{"item": "a", "timestamp": NOW - 5, "kind": "play", "value": 1.0}, {"item": "a", "timestamp": NOW - 5, "kind": "rating", "value": 4.5}]
    live = UserState.from_history(catalog, events, NOW)
    assert live.user_index == -1
    personal = model.personal(live)
    assert np.all(np.isfinite(personal))
    # title 0 co-occurs with 1 and 2 (users 0-2), never with 4 or 5
    assert personal[1] > personal[4] and personal[2] > personal[5]
    assert np.all(np.isfinite(model.score(live)))
    assert model.predict_rating(live, np.array([0]))[0] > model.predict_rating(UserState.cold(NOW), np.array([0]))[0]
