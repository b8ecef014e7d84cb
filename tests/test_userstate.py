"""UserState: hand-computed cases, validation of live histories, and the 'no peeking past now' property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import EVENT_KINDS, Interactions
from pagegen.core._userstate import FINISHED_AT, Profile, UserState
from pagegen.core._vocab import Vocab

NOW = 1_000_000
N_ITEMS = 5


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.build(["a", "b", "c", "d", "e"], ["Alpha", "Beta", "Gamma", "Delta", "Epsilon"])


def _log(events: list[tuple[str, str, int, str, float]], users: tuple[str, ...] = ("u1", "u2")) -> Interactions:
    """events: (user id, item id, timestamp, kind, value) with items a..e."""
    vocab = Vocab(users, what="user id")
    return Interactions(
        users=vocab,
        user=[vocab.index(e[0]) for e in events],
        item=["abcde".index(e[1]) for e in events],
        timestamp=[e[2] for e in events],
        kind=[EVENT_KINDS.index(e[3]) for e in events],
        value=[e[4] for e in events],
        n_items=N_ITEMS,
    )


def _same(a: UserState, b: UserState) -> bool:
    return (
        a.now == b.now
        and a.profile == b.profile
        and all(np.array_equal(getattr(a, f), getattr(b, f)) for f in ("items", "last", "fraction", "rated", "ratings", "shown", "shown_at"))
    )


# -- hand-computed cases ----------------------------------------------------------------

HISTORY = [
    ("u1", "a", 100, "play", 0.3),  # a: abandoned, then resumed to the end -> finished
    ("u1", "a", 500, "play", 0.95),
    ("u1", "b", 200, "play", 0.5),  # b: started, not finished -> in progress
    ("u1", "c", 300, "play", 1.0),  # c: finished
    ("u1", "c", 350, "rating", 2.0),  # c rated twice: the later rating (at 400) wins
    ("u1", "c", 400, "rating", 4.5),
    ("u1", "d", 600, "play", 0.1),  # d: in progress, the most recent play
    ("u1", "e", 700, "impression", 0.0),  # an impression is not a play
    ("u2", "e", 150, "play", 1.0),
]


def test_state_from_interactions_by_hand() -> None:
    state = UserState.from_interactions(_log(HISTORY), "u1", now=NOW, profile=Profile(maturity=2, region="US"))
    assert state.user == "u1" and state.user_index == 0
    # distinct played titles, most recent play first: d (600), a (500), c (300), b (200)
    assert state.items.tolist() == [3, 0, 2, 1]
    assert state.last.tolist() == [600, 500, 300, 200]
    np.testing.assert_allclose(state.fraction, [0.1, 0.95, 1.0, 0.5], rtol=1e-6)
    assert state.in_progress().tolist() == [3, 1]
    assert sorted(state.finished().tolist()) == [0, 2]
    assert state.rated.tolist() == [2] and state.ratings.tolist() == [4.5]
    assert state.profile.region == "US" and state.profile.maturity == 2
    mask = state.seen_mask(N_ITEMS)
    assert mask.tolist() == [True, True, True, True, False]
    assert not state.is_cold


def test_state_at_an_earlier_moment_sees_only_the_past() -> None:
    # at now=500 the resume of a (at 500) is not yet seen: a is still in progress at 0.3
    state = UserState.from_interactions(_log(HISTORY), "u1", now=500)
    assert state.items.tolist() == [2, 1, 0]
    np.testing.assert_allclose(state.fraction, [1.0, 0.5, 0.3], rtol=1e-6)
    assert sorted(state.in_progress().tolist()) == [0, 1]
    assert state.ratings.tolist() == [4.5]
    # at now=380 only the first rating of c exists
    assert UserState.from_interactions(_log(HISTORY), "u1", now=380).ratings.tolist() == [2.0]


def test_finished_threshold_is_inclusive() -> None:
    events = [("u1", "a", 10, "play", FINISHED_AT), ("u1", "b", 20, "play", np.nextafter(np.float32(FINISHED_AT), 0))]
    state = UserState.from_interactions(_log(events), "u1", now=NOW)
    assert state.finished().tolist() == [0]
    assert state.in_progress().tolist() == [1]


def test_cold_start() -> None:
    state = UserState.cold(NOW, Profile(maturity=0), user="new")
    assert state.is_cold and state.user == "new" and state.user_index == -1
    assert len(state.items) == len(state.rated) == 0
    assert state.in_progress().size == 0 and state.finished().size == 0
    assert not state.seen_mask(N_ITEMS).any()
    # a member with no events before now is cold too
    assert UserState.from_interactions(_log(HISTORY), "u2", now=150).is_cold


def test_unknown_member_names_the_id() -> None:
    with pytest.raises(DataError) as err:
        UserState.from_interactions(_log(HISTORY), "nobody", now=NOW)
    assert err.value.field == "user id" and err.value.value == "nobody"


def test_from_history_matches_from_interactions(catalog: Catalog) -> None:
    live = [{"item": e[1], "timestamp": e[2], "kind": e[3], "value": e[4]} for e in HISTORY if e[0] == "u1"]
    a = UserState.from_history(catalog, live[::-1], now=NOW, user="u1")  # order of the request does not matter
    b = UserState.from_interactions(_log(HISTORY), "u1", now=NOW)
    assert _same(a, b)
    assert a.user_index == -1


# -- a live history with bad events: each error names the field and the value ----------------


@pytest.mark.parametrize(
    ("event", "field", "value", "words"),
    [
        ({"item": "zzz", "timestamp": 5, "kind": "play", "value": 0.5}, "events[1].item", "zzz", "unknown item id"),
        ({"item": "a", "timestamp": 5, "kind": "binge", "value": 0.5}, "events[1].kind", "binge", "expected one of"),
        ({"item": "a", "timestamp": 5, "kind": "play", "value": 1.5}, "events[1].value", 1.5, "watched fraction"),
        ({"item": "a", "timestamp": 5, "kind": "rating", "value": float("nan")}, "events[1].value", None, "non-finite"),
        ({"item": "a", "kind": "play", "value": 0.5}, "events[1].timestamp", None, "missing field"),
    ],
)
def test_bad_live_history(catalog: Catalog, event: dict, field: str, value: object, words: str) -> None:
    good = {"item": "b", "timestamp": 1, "kind": "play", "value": 1.0}
    with pytest.raises(DataError) as err:
        UserState.from_history(catalog, [good, event], now=NOW)
    assert err.value.field == field
    if value is not None:
        assert err.value.value == value
    assert words in str(err.value)


def test_state_rejects_inconsistent_arrays() -> None:
    with pytest.raises(DataError, match="at or after now") as err:
        UserState(now=10, items=[1], last=[10], fraction=[0.5], rated=[], ratings=[])
    assert err.value.field == "last" and err.value.value == 10
    with pytest.raises(DataError) as err:
        UserState(now=10, items=[1], last=[5], fraction=[1.5], rated=[], ratings=[])
    assert err.value.field == "fraction"


# -- property: an event at or after now never changes the state ------------------------------

_event = st.tuples(
    st.sampled_from(["u1", "u2"]),
    st.sampled_from(list("abcde")),
    st.integers(0, 2_000),
    st.sampled_from(["play", "rating", "impression", "click"]),
    st.floats(0.0, 1.0, width=32),
)


@given(
    history=st.lists(_event, max_size=30),
    later=st.lists(_event, min_size=1, max_size=5),
    now=st.integers(1, 2_000),
    delay=st.integers(0, 10_000),
)
def test_events_after_now_do_not_change_the_state(history, later, now, delay) -> None:
    past = [e for e in history if e[2] < now]
    future = [(u, i, now + delay + t, k, v) for (u, i, t, k, v) in later]
    base = UserState.from_interactions(_log(past), "u1", now=now)
    more = UserState.from_interactions(_log(past + future), "u1", now=now)
    assert _same(base, more)


@given(
    history=st.lists(_event, max_size=30),
    later=st.lists(_event, min_size=1, max_size=5),
    now=st.integers(1, 2_000),
    delay=st.integers(0, 10_000),
)
def test_live_events_after_now_do_not_change_the_state(history, later, now, delay) -> None:
    cat = Catalog.build(list("abcde"), list("ABCDE"))

    def live(events):
        return [{"item": i, "timestamp": t, "kind": k, "value": v} for (_, i, t, k, v) in events]

    past = [e for e in history if e[2] < now]
    future = [(u, i, now + delay + t, k, v) for (u, i, t, k, v) in later]
    base = UserState.from_history(cat, live(past), now=now)
    mixed = live(past + future)
    np.random.default_rng(len(mixed)).shuffle(mixed)
    assert _same(base, UserState.from_history(cat, mixed, now=now))
    # and the live path agrees with the logged path on the same events
    logged = UserState.from_interactions(_log([("u1", *e[1:]) for e in past]), "u1", now=now)
    assert _same(base, logged)


def test_the_property_bites_on_a_state_that_peeks() -> None:
    """A builder that also keeps events at ``now`` (an off-by-one) fails the comparison above."""
    events = [("u1", "a", 50, "rating", 2.0), ("u1", "a", 100, "rating", 5.0)]
    log = _log(events)
    honest = UserState.from_interactions(log, "u1", now=100)
    sl = log.span(0)
    peeking = UserState._from_arrays(100, log.item[sl], log.timestamp[sl], log.kind[sl], log.value[sl], profile=None, user="u1")
    assert honest.ratings.tolist() == [2.0]
    assert not _same(honest, peeking)


def test_same_second_ratings_do_not_depend_on_arrival_order(catalog: Catalog) -> None:
    events = [{"item": "a", "timestamp": 7, "kind": "rating", "value": v} for v in (3.0, 1.0, 4.0)]
    states = [UserState.from_history(catalog, order, now=NOW) for order in (events, events[::-1])]
    assert states[0].ratings.tolist() == states[1].ratings.tolist() == [4.0]


def test_profile_accepts_a_maturity_name_and_rejects_the_rest() -> None:
    from pydantic import ValidationError

    assert Profile(maturity="13+").maturity == 2 and Profile(maturity="13+").maturity_name == "13+"
    assert Profile().maturity_name == "18+"
    with pytest.raises(ValidationError, match="maturity"):
        Profile(maturity="PG-13")
    with pytest.raises(ValidationError, match="maturity"):
        Profile(maturity=7)
    with pytest.raises(ValidationError, match="extra"):
        Profile(age=12)
