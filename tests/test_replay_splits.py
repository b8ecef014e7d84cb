"""The replay splits on hand-made event logs."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import EVENT_KINDS, Interactions
from pagegen.core._vocab import Vocab
from pagegen.evaluate._splits import display_titles, leave_last_split, time_split, truth_split

PLAY, RATING, IMPRESSION = (EVENT_KINDS.index(k) for k in ("play", "rating", "impression"))


def catalog(n: int = 20) -> Catalog:
    return Catalog.build([str(i) for i in range(n)], [f"t{i}" for i in range(n)])


def log(rows: list[tuple[int, int, int, int, float]], n_users: int = 3, n_items: int = 20) -> Interactions:
    u, i, t, k, v = (list(col) for col in zip(*rows, strict=True))
    return Interactions(users=Vocab([f"u{j}" for j in range(n_users)]), user=u, item=i, timestamp=t, kind=k, value=v, n_items=n_items)


def test_leave_last_holds_out_the_last_titles_by_time_then_title() -> None:
    rows = [(0, i, 100 + i, PLAY, 1.0) for i in range(8)]  # titles 0..7 at 100..107
    rows += [(0, 9, 107, RATING, 4.0), (0, 8, 107, PLAY, 1.0)]  # ties at 107: order by title -> 7, 8, 9
    rows += [(0, 2, 200, PLAY, 0.5)]  # re-play of a train title after the cutoff: dropped
    rows += [(0, 3, 106, IMPRESSION, 0.0)]  # impressions never count as interactions
    rows += [(1, i, 50 + i, PLAY, 1.0) for i in range(4)]  # too few: stays in train whole
    ev = log(rows)
    split = leave_last_split(catalog(), ev, n_test=3, min_interactions=6)
    assert split.users.tolist() == [0]
    assert sorted(split.relevance(0)) == [7, 8, 9]
    assert split.now.tolist() == [108]  # cutoff 107 (first time of title 7) + 1
    tr = split.train
    mine = tr.span(0)
    assert sorted(set(tr.item[mine].tolist())) == [0, 1, 2, 3, 4, 5, 6]
    assert tr.timestamp[mine].max() < split.now[0]
    assert tr.span(1).stop - tr.span(1).start == 4


def test_leave_last_ties_at_the_cutoff_stay_in_train() -> None:
    rows = [(0, i, 100, PLAY, 1.0) for i in range(10)]  # all at one time (a MovieLens batch)
    split = leave_last_split(catalog(), log(rows), n_test=5, min_interactions=10)
    assert sorted(split.relevance(0)) == [5, 6, 7, 8, 9]
    assert sorted(split.train.item.tolist()) == [0, 1, 2, 3, 4]
    assert split.now.tolist() == [101]


def test_leave_last_rejects_bad_sizes() -> None:
    with pytest.raises(DataError, match="n_test"):
        leave_last_split(catalog(), log([(0, 0, 1, PLAY, 1.0)]), n_test=5, min_interactions=5)


def test_episodes_count_as_their_series() -> None:
    cat = Catalog.build(["s", "e1", "e2", "m"], ["S", "S1", "S2", "M"], kind=["series", "episode", "episode", "movie"], series=[None, "s", "s", None])
    assert display_titles(cat, np.array([0, 1, 2, 3])).tolist() == [0, 0, 0, 3]
    rows = [(0, 3, 10, PLAY, 1.0), (0, 1, 20, PLAY, 1.0), (0, 2, 30, PLAY, 1.0)]
    split = time_split(cat, log(rows, n_users=1, n_items=4), cutoff=15)
    assert split.relevance(0) == {0: 1.0}


def test_time_split() -> None:
    rows = [
        (0, 1, 10, PLAY, 1.0), (0, 2, 30, PLAY, 1.0), (0, 1, 40, PLAY, 1.0),  # re-watch of a finished title: not relevant
        (1, 3, 10, PLAY, 0.3), (1, 3, 35, PLAY, 1.0), (1, 4, 36, RATING, 4.0),  # finishing an in-progress title: relevant
        (2, 5, 40, PLAY, 1.0),  # no history before the cutoff
    ]
    split = time_split(catalog(), log(rows), cutoff=20)
    assert split.users.tolist() == [0, 1]
    assert split.relevance(0) == {2: 1.0}
    assert split.relevance(1) == {3: 1.0, 4: 1.0}
    assert split.now.tolist() == [20, 20]
    assert split.train.timestamp.max() < 20
    with_cold = time_split(catalog(), log(rows), cutoff=20, min_history=0)
    assert with_cold.users.tolist() == [0, 1, 2]
    short = time_split(catalog(), log(rows), cutoff=20, horizon=16)  # [20, 36): drops the rating at 36
    assert short.relevance(1) == {3: 1.0}


def test_time_split_quantile_cutoff_and_errors() -> None:
    rows = [(0, i, 10 * i, PLAY, 1.0) for i in range(10)]
    split = time_split(catalog(), log(rows), quantile=0.5, min_history=1)
    assert int(split.now[0]) == int(np.quantile(np.arange(10) * 10, 0.5))
    with pytest.raises(DataError, match="quantile"):
        time_split(catalog(), log(rows), quantile=1.0)
    with pytest.raises(DataError, match="n_items"):
        time_split(catalog(5), log(rows))


def test_sample_is_seeded_and_keeps_relevance_aligned() -> None:
    rows = [(u, i, 100 * u + i, PLAY, 1.0) for u in range(6) for i in range(u, u + 12)]
    split = leave_last_split(catalog(), log(rows, n_users=6), n_test=2, min_interactions=3)
    sub = split.sample(3, seed=7)
    assert len(sub) == 3 and sub.users.tolist() == split.sample(3, seed=7).users.tolist()
    for k, u in enumerate(sub.users.tolist()):
        assert sub.relevance(k) == split.relevance(split.users.tolist().index(u))
    assert split.sample(None) is split


class _Truth:
    def preference(self, user: int, items: np.ndarray) -> np.ndarray:
        return (items % 7) / 7.0 + 0.01 * user


def test_truth_split_grades_unplayed_titles_by_preference() -> None:
    rows = [(0, 6, 10, PLAY, 1.0), (0, 1, 30, PLAY, 1.0)]
    base = time_split(catalog(), log(rows, n_users=1), cutoff=20)
    truth = truth_split(base, catalog(), _Truth(), k=3)
    rel = truth.relevance(0)
    assert set(rel) == {13, 5, 12}  # preference 6/7 (13; 6 was played), then 5/7 (5, 12)
    assert rel[13] == pytest.approx(6 / 7)
    assert truth.now.tolist() == base.now.tolist()
