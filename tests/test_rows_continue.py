"""Continue Watching: hand-computed ranking, next episodes, and never a finished title (property)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagegen.core._catalog import Catalog
from pagegen.core._userstate import FINISHED_AT, Profile, UserState
from pagegen.testing import FixedModel
from rows._context import make_context
from rows._continue import ContinueWatching, ContinueWatchingConfig

DAY = 86_400
NOW = 500 * DAY

# movies m1..m3; series s1 with S1:E1, S1:E2, S2:E1; series s2 with S1:E1, S1:E2
IDS = ["m1", "m2", "m3", "s1", "s1e1", "s1e2", "s1e3", "s2", "s2e1", "s2e2"]


def catalog(added_last: int = 0) -> Catalog:
    return Catalog.build(
        IDS,
        ["One", "Two", "Three", "Show", "Pilot", "Second", "Third", "Other", "O1", "O2"],
        kind=["movie"] * 3 + ["series", "episode", "episode", "episode", "series", "episode", "episode"],
        series=[None] * 4 + ["s1"] * 3 + [None, "s2", "s2"],
        # listed out of order on purpose: S2:E1 comes after S1:E2
        season=[0, 0, 0, 0, 1, 2, 1, 0, 1, 1],
        episode=[0, 0, 0, 0, 1, 1, 2, 0, 1, 2],
        added=[0] * 9 + [added_last],
    )


def state(events: list[tuple[str, int, float]]) -> UserState:
    """events: (item id, days ago, watched fraction); most recent first in the state."""
    cat = catalog()
    events = sorted(events, key=lambda e: e[1])
    return UserState(
        now=NOW,
        items=[cat.index(e[0]) for e in events],
        last=[NOW - e[1] * DAY for e in events],
        fraction=[e[2] for e in events],
        rated=[],
        ratings=[],
        profile=Profile(),
        user="u",
    )


def run(user: UserState, cfg: ContinueWatchingConfig | None = None, cat: Catalog | None = None):
    cat = cat or catalog()
    ctx = make_context(cat, FixedModel(cat.n), user, n=10, seed=0)
    return ContinueWatching(cfg)(ctx)


def test_ranked_by_chance_to_resume_with_next_episode():
    user = state([("m1", 1, 0.4), ("m2", 2, 0.95), ("s1e1", 2, 1.0), ("m3", 28, 0.8)])
    (row,) = run(user)
    assert [IDS[i] for i in row.items] == ["s1", "m1", "m3"]  # m2 finished: never
    half = 14.0
    expected = [0.5 ** (2 / half) * 0.8, 0.5 ** (1 / half) * (0.5 + 0.5 * 0.4), 0.5 ** (28 / half) * (0.5 + 0.5 * 0.8)]
    assert row.scores.tolist() == pytest.approx(expected, rel=1e-5)
    # the next episode of s1 after S1:E1 is S1:E2 (catalog order is not episode order)
    assert row.reasons == ("Next: S1:E2", "Resume (40% watched)", "Resume (80% watched)")
    assert row.evidence["titles"][0] == {"item": "s1", "episode": "s1e3", "episode_name": "S1:E2", "next": True, "fraction": 0.0}
    assert row.score == pytest.approx(expected[0], rel=1e-5)
    assert row.key == "continue_watching" and row.kind == "continue_watching"


def test_resume_an_episode_in_progress_and_skip_watched_ones():
    # latest s1 episode is S1:E2 at 30%: resume it; s2: E1 finished and E2 already finished -> nothing left
    user = state([("s1e3", 1, 0.3), ("s1e1", 3, 1.0), ("s2e1", 2, 0.92), ("s2e2", 5, 0.99)])
    (row,) = run(user)
    assert [IDS[i] for i in row.items] == ["s1"]
    assert row.reasons == ("Resume S1:E2 (30% watched)",)
    # s1: finished S1:E1, then S1:E2 was finished earlier -> skip to S2:E1
    (row,) = run(state([("s1e1", 1, 1.0), ("s1e3", 4, 0.95)]))
    assert row.reasons == ("Next: S2:E1",)


def test_episode_not_yet_added_is_not_offered():
    user = state([("s2e1", 1, 1.0)])
    assert run(user, cat=catalog(added_last=NOW + DAY)) == []
    (row,) = run(user)
    assert row.reasons == ("Next: S1:E2",)


def test_no_row_when_nothing_in_progress():
    assert run(state([])) == []
    assert run(state([("m1", 1, 1.0), ("m2", 3, 0.9)])) == []
    assert run(state([("m1", 400, 0.5)]), ContinueWatchingConfig(max_age_days=100)) == []


def test_plays_older_than_max_age_are_left_out_and_the_others_keep_their_own_age():
    cat = catalog()
    events = [("m1", 400, 0.5), ("m2", 3, 0.6), ("s1e1", 200, 1.0), ("m3", 7, 0.2)]  # old plays first: not a prefix
    user = UserState(now=NOW, items=[cat.index(e[0]) for e in events], last=[NOW - e[1] * DAY for e in events], fraction=[e[2] for e in events], rated=[], ratings=[], user="u")
    (row,) = run(user, ContinueWatchingConfig(max_age_days=100))
    assert [IDS[i] for i in row.items] == ["m2", "m3"]
    expected = [0.5 ** (3 / 14.0) * (0.5 + 0.5 * 0.6), 0.5 ** (7 / 14.0) * (0.5 + 0.5 * 0.2)]
    assert row.scores.tolist() == pytest.approx(expected, rel=1e-5)
    assert row.reasons == ("Resume (60% watched)", "Resume (20% watched)")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(IDS),
            st.integers(min_value=1, max_value=400),
            st.one_of(st.floats(min_value=0.0, max_value=1.0), st.sampled_from([0.0, FINISHED_AT, 1.0, np.nextafter(FINISHED_AT, 0.0)])),
        ),
        max_size=12,
        unique_by=lambda e: e[0],
    )
)
def test_never_shows_a_finished_title(events):
    user = state(events)
    finished = set(user.finished().tolist())
    for row in run(user):
        shown = set(row.items.tolist())
        assert not shown & finished
        for entry in row.evidence["titles"]:
            if "episode" in entry:  # the episode it proposes is never one already finished
                assert catalog().index(entry["episode"]) not in finished
        assert np.all(np.diff(row.scores) <= 0)
