"""Taste that survives a break: a history decays on the member's own clock, not the wall clock."""

from __future__ import annotations

import numpy as np
import pytest

from pagegen.core import _time
from pagegen.core._time import DAY
from pagegen.core._userstate import UserState
from pagegen.testing import FixedModel
from rows._because import BecauseYouWatched
from rows._context import history_liking, make_context
from rows._genre import GenreRows, GenreRowsConfig

YEAR = 365 * DAY


def test_active_age_runs_from_play_to_play_and_a_break_counts_as_break():
    plays = np.array([101, 100, 1, 0]) * DAY  # most recent first; a 99-day gap between the 2nd and 3rd
    user = UserState(now=2_000 * DAY, items=[3, 2, 1, 0], last=plays, fraction=[1.0] * 4, rated=[], ratings=[])
    BREAK = _time.BREAK
    assert BREAK == 30 * DAY
    assert user.active_age(plays).tolist() == [0, DAY, DAY + BREAK, 2 * DAY + BREAK]
    # between plays the clock runs (capped), after the last play it has stopped
    assert user.active_age(np.array([50 * DAY, 1_500 * DAY, -40 * DAY])).tolist() == [DAY, 0, 2 * DAY + 2 * BREAK]
    later = UserState(now=9_000 * DAY, items=user.items, last=user.last, fraction=user.fraction, rated=[], ratings=[])
    assert later.active_age(plays).tolist() == user.active_age(plays).tolist()  # a member away for years: the same ages
    assert UserState.cold(5).active_age(np.array([1, 2])).tolist() == [0, 0]


def _liked_genres(user: UserState, catalog) -> tuple[int, np.ndarray]:
    """How many titles (a series counts once) the member played or rated, and per genre their summed
    liking of them (rating / 5, else the watched fraction), whenever they were played."""
    items, like, _ = history_liking(user, catalog, rating_max=5.0, undated_recency=0.5, half_life=1.0)
    return len(items), (like[:, None] * catalog.genres[items]).sum(axis=0)


def _top_genre_row(rows) -> str:
    genre_rows = [r for r in rows if r.evidence["slice"] == "genre"]
    return max(genre_rows, key=lambda r: r.score).evidence["genres"][0]


def test_synthetic_members_keep_their_taste_a_year_after_the_world_ends(tiny_world):
    world = tiny_world
    cat, model = world.catalog, FixedModel(world.catalog.n)
    rows = GenreRows(GenreRowsConfig(explore=0.0))
    idx = rows.index(cat)
    byw = BecauseYouWatched()
    clear = 0
    for u in range(len(world.profiles)):
        before, after = world.user_state(u), world.user_state(u, world.now + YEAR)
        if before.is_cold:
            continue
        ctx = make_context(cat, model, after, n=10, seed=0)
        was = make_context(cat, model, before, n=10, seed=0)
        assert rows.affinity(ctx, idx).tolist() == rows.affinity(was, idx).tolist(), u  # a year away changes nothing
        assert [r.score for r in byw(ctx)] == [r.score for r in byw(was)], u
        got = rows(ctx)
        assert all(r.evidence["affinity"] != r.evidence["catalog_share"] for r in got), u
        n_titles, liked = _liked_genres(after, cat)
        first, second = np.sort(liked)[-2:][::-1]
        if n_titles >= 10 and first - second >= 1.0:  # a long history with a clear favourite
            clear += 1
            assert _top_genre_row(got) == cat.genre_names[int(liked.argmax())], u
    assert clear >= 5  # members with a long history and a clear favourite: 7 in the tiny world (its truth has fatigue)


@pytest.fixture(scope="module")
def movielens(ml_small_dir):
    from pagegen.data._load_movielens import load_movielens

    return load_movielens(ml_small_dir)


@pytest.mark.data
@pytest.mark.parametrize(("member", "favourite"), [("1", "Action"), ("42", "Comedy")])
def test_movielens_members_get_genre_rows_of_their_history_long_after_it(movielens, member, favourite):
    """At the default now, 17+ years after their last rating, members 1 and 42 get their own genres
    (before: every affinity equalled the slice's catalog share, and Drama led for both)."""
    from pagegen.serve._engine import Engine

    cat = movielens.catalog
    user = Engine(cat, FixedModel(cat.n), interactions=movielens.interactions).state(member)  # now: after the file's last event
    assert user.now - int(user.last.max()) > 17 * YEAR
    assert cat.genre_names[int(_liked_genres(user, cat)[1].argmax())] == favourite
    got = GenreRows()(make_context(cat, FixedModel(cat.n), user, n=10, seed=0))
    assert len(got) == GenreRowsConfig().max_rows
    assert all(r.evidence["affinity"] != r.evidence["catalog_share"] for r in got)
    assert _top_genre_row(got) == favourite
