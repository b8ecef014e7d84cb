"""UserState carries the member's impressions: from the event log, from a live history, given directly."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import EVENT_KINDS, Interactions
from pagegen.core._userstate import UserState
from pagegen.core._vocab import Vocab

NOW = 1_000_000


def _log(events: list[tuple[str, int, str]]) -> Interactions:
    """events: (item id among a..e, timestamp, kind) of member u1."""
    vocab = Vocab(("u1",), what="user id")
    return Interactions(
        users=vocab, user=[0] * len(events), item=["abcde".index(e[0]) for e in events], timestamp=[e[1] for e in events],
        kind=[EVENT_KINDS.index(e[2]) for e in events], value=[1.0 if e[2] == "play" else 0.0 for e in events], n_items=5,
    )  # fmt: skip


EVENTS = [("a", 100, "impression"), ("a", 200, "impression"), ("b", 300, "impression"), ("b", 300, "play"), ("c", 400, "impression"), ("b", 500, "impression"), ("a", NOW + 5, "impression")]


def test_impressions_reach_the_state_from_the_log() -> None:
    state = UserState.from_interactions(_log(EVENTS), "u1", NOW)
    assert state.shown.tolist() == [0, 0, 1, 2, 1]  # the one at NOW + 5 is not before now
    assert state.shown_at.tolist() == [100, 200, 300, 400, 500]


def test_unplayed_impressions_count_only_those_after_the_last_play() -> None:
    state = UserState.from_interactions(_log(EVENTS), "u1", NOW)
    titles, counts = state.unplayed_impressions(0)
    # a twice, c once; b shown at 300 and played in the same second (answered), shown again at 500
    assert dict(zip(titles.tolist(), counts.tolist(), strict=True)) == {0: 2, 1: 1, 2: 1}
    titles, counts = state.unplayed_impressions(150)  # a window: only impressions from 150 on
    assert dict(zip(titles.tolist(), counts.tolist(), strict=True)) == {0: 1, 1: 1, 2: 1}


def test_a_played_episode_answers_its_series_impressions() -> None:
    # title 0 is a series, 1 its episode; the member was shown the series, then played the episode
    state = UserState(now=NOW, items=[1], last=[50], fraction=[1.0], rated=[], ratings=[], shown=[0, 0], shown_at=[10, 60])
    fold = np.array([0, 0, 2, 3, 4])
    titles, counts = state.unplayed_impressions(0, fold)
    assert titles.tolist() == [0] and counts.tolist() == [1]  # the impression at 10 came before the play at 50
    titles, counts = state.unplayed_impressions(0)
    assert titles.tolist() == [0] and counts.tolist() == [2]  # without the fold the play is of another title


def test_a_live_history_carries_impressions() -> None:
    catalog = Catalog.build(["a", "b", "c", "d", "e"], ["A", "B", "C", "D", "E"])
    events = [{"item": e[0], "timestamp": e[1], "kind": e[2]} for e in EVENTS]
    live = UserState.from_history(catalog, events, NOW)
    logged = UserState.from_interactions(_log(EVENTS), "u1", NOW)
    assert live.shown.tolist() == logged.shown.tolist() and live.shown_at.tolist() == logged.shown_at.tolist()


def test_given_impressions_are_sorted_by_time() -> None:
    state = UserState(now=NOW, items=[], last=[], fraction=[], rated=[], ratings=[], shown=[3, 1], shown_at=[20, 10])
    assert state.shown.tolist() == [1, 3] and state.shown_at.tolist() == [10, 20]


@pytest.mark.parametrize(
    ("shown", "shown_at", "field"),
    [([1, 2], [10], "shown_at"), ([-1], [10], "shown"), ([1], [NOW], "shown_at")],
)
def test_bad_impressions_name_the_field(shown: list, shown_at: list, field: str) -> None:
    with pytest.raises(DataError) as err:
        UserState(now=NOW, items=[], last=[], fraction=[], rated=[], ratings=[], shown=shown, shown_at=shown_at)
    assert err.value.field == field
