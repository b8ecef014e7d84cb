"""Order-aware scorers: the next-play transitions, recency weights, and the Model's answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from test_model import CONFIG, EVENTS, NOW, plays, tiny_catalog

from pagegen.core._userstate import UserState
from pagegen.models._blend import FEATURES
from pagegen.models._fit import fit
from pagegen.models._sequence import CUT, clock_affinity, clock_buckets, recency_weights, transitions, weighted_rows


def test_transitions_hand_computed():
    # member 0 plays 0, 1, 1 (a run: one play), 2; member 1 plays 0, 2
    user = np.array([0, 0, 0, 0, 1, 1])
    item = np.array([0, 1, 1, 2, 0, 2])
    got = transitions(user, item, 4, window=2, decay=0.5, neighbors=10).toarray()
    want = np.zeros((4, 4))
    # title 0 (2 plays): -> 1 at d=1 (1), -> 2 at d=2 (0.5) and at d=1 (1); divided by 1 + 2
    want[0, 1], want[0, 2] = 1 / 3, 1.5 / 3
    # title 1 (1 play after the run is merged): -> 2 at d=1; divided by 1 + 1
    want[1, 2] = 1 / 2
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert got.dtype == np.float32 and np.all(np.diag(got) == 0)


def test_transitions_never_cross_members_and_keep_the_largest():
    user = np.array([0, 0, 1, 1, 1])
    item = np.array([0, 1, 2, 0, 3])
    got = transitions(user, item, 4, window=3, decay=1.0, neighbors=1).toarray()
    assert got[1].sum() == 0  # member 0's last play is followed by nothing of theirs
    assert np.count_nonzero(got, axis=1).max() == 1
    # title 2 -> 0 and 3 tie (both 1/2): the lower title is kept
    assert got[2, 0] == pytest.approx(0.5) and got[2, 3] == 0


def test_recency_weights_decay_and_are_cut():
    w = recency_weights(1000, 5.0)
    np.testing.assert_allclose(w[:3], np.exp(-np.arange(3) / 5.0), rtol=1e-6)
    assert len(w) < 1000 and w[-1] >= CUT * 0.99 and np.all(np.diff(w) < 0)
    assert len(recency_weights(3, 5.0)) == 3


def test_weighted_rows_is_the_dense_product():
    rng = np.random.default_rng(0)
    dense = (rng.random((6, 5)) < 0.4) * rng.random((6, 5))
    mat = sp.csr_array(dense.astype(np.float32))
    rows, weights = np.array([4, 1, 4]), np.array([1.0, 0.5, 0.25], np.float32)
    got = weighted_rows(mat.data, mat.indices, mat.indptr, rows, weights, 5)
    np.testing.assert_allclose(got, weights @ dense[rows], rtol=1e-6)


def test_model_answers_follow_the_order_of_the_history():
    model = fit(tiny_catalog(), plays(EVENTS), CONFIG, progress=False)
    assert "next_indptr" in model.arrays and model.meta["next_shape"] == [6, 6]
    # the same titles, in two orders: the most recent one decides
    a = UserState(now=NOW, items=[1, 0], last=[NOW - 1, NOW - 2], fraction=[1.0, 1.0], rated=[], ratings=[])
    b = UserState(now=NOW, items=[0, 1], last=[NOW - 1, NOW - 2], fraction=[1.0, 1.0], rated=[], ratings=[])
    for scorer in (model.personal_recent, model.next_play):
        sa, sb = scorer(a), scorer(b)
        assert sa.shape == (6,) and np.all(np.isfinite(sa))
        assert not np.array_equal(sa, sb)
    # in the data, 0 is followed by 1 (three members) and 1 by 2 (one member)
    assert model.next_play(b)[1] > 0
    cold = UserState.cold(NOW)
    assert not model.next_play(cold).any() and not model.personal_recent(cold).any()
    assert np.all(np.isfinite(model.score(a)))


def test_clock_buckets_and_affinity_hand_computed():
    # 1970-01-01 (a Thursday) 00:00, 07:00 and 13:00; 1970-01-03 (a Saturday) 19:00
    hours = np.array([0, 7, 13, 48 + 19]) * 3600
    quarter, week = clock_buckets(hours)
    assert quarter.tolist() == [0, 1, 2, 3] and week.tolist() == [4, 4, 4, 5]
    # title 0 played twice at night, title 1 once each in the morning and the afternoon; title 2 never
    aff = clock_affinity(np.array([0, 0, 1, 1]), np.array([0, 3600, 7 * 3600, 13 * 3600]), 3)
    overall = np.log((np.array([2, 1, 1, 0]) + 1) / (4 + 4))
    np.testing.assert_allclose(aff[0, :4], np.log((np.array([2, 0, 0, 0]) + 1) / (2 + 4)) - overall, rtol=1e-6)
    np.testing.assert_allclose(aff[1, :4], np.log((np.array([0, 1, 1, 0]) + 1) / (2 + 4)) - overall, rtol=1e-6)
    assert aff[0, 0] > 0 > aff[1, 0] and np.all(aff[2] == 0)


def test_session_feature_fades_with_the_gap_since_the_last_play():
    model = fit(tiny_catalog(), plays(EVENTS), CONFIG, progress=False)
    cols = [FEATURES.index(f) for f in ("next", "next_session")]
    gap = CONFIG.session_gap
    near = UserState(now=NOW, items=[0], last=[NOW - 1], fraction=[1.0], rated=[], ratings=[])
    far = UserState(now=NOW, items=[0], last=[NOW - 3 * gap], fraction=[1.0], rated=[], ratings=[])
    f_near, f_far = model.features(near)[:, cols], model.features(far)[:, cols]
    np.testing.assert_allclose(f_near[:, 1], f_near[:, 0] * np.exp(-1 / gap), rtol=1e-5)
    np.testing.assert_allclose(f_far[:, 1], f_far[:, 0] * np.exp(-3.0), rtol=1e-5)
    assert f_near[:, 0].any()
