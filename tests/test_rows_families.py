"""Hand-computed expectations for each row family on a tiny hand-made catalog."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pagegen.core._catalog import Catalog
from pagegen.core._userstate import Profile, UserState
from pagegen.testing import FixedModel
from rows._because import BecauseYouWatched, BecauseYouWatchedConfig
from rows._context import make_context, top_k
from rows._fallback import NewReleases, NewReleasesConfig, Popular, PopularConfig, _new_since
from rows._genre import GenreRows, GenreRowsConfig
from rows._slices import tag_title
from rows._top_picks import Top10, Top10Config, TopPicks
from rows._trending import Trending, TrendingConfig

DAY = 86_400
NOW = 1_000 * DAY

#   0 m1 Comedy        1 m2 Comedy,Romance   2 m3 Drama,Romance   3 m4 Sci-Fi (1985)
#   4 m5 Sci-Fi (1987) 5 m6 Drama 18+ (1986)       6 m7 Comedy (DE only)   7 m8 Comedy (added after now)
#   8 s1 series Drama  9 e1 S1:E1           10 e2 S1:E2
IDS = ["m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "s1", "e1", "e2"]


def catalog() -> Catalog:
    return Catalog.build(
        IDS,
        ["One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Show", "Pilot", "Second"],
        [["Comedy"], ["Comedy", "Romance"], ["Drama", "Romance"], ["Sci-Fi"], ["Sci-Fi"], ["Drama"], ["Comedy"], ["Comedy"], ["Drama"], ["Drama"], ["Drama"]],
        kind=["movie"] * 8 + ["series", "episode", "episode"],
        series=[None] * 9 + ["s1", "s1"],
        season=[0] * 9 + [1, 1],
        episode=[0] * 9 + [1, 2],
        maturity=["all"] * 5 + ["18+"] + ["all"] * 5,
        year=[2001, 2002, 2003, 1985, 1987, 1986, 2007, 2008, 2009, 2009, 2009],
        added=[NOW - 200 * DAY, NOW - 5 * DAY, NOW - 1 * DAY, NOW - 300 * DAY, NOW - 300 * DAY, NOW - 2 * DAY, NOW - 10 * DAY, NOW + DAY, NOW - 50 * DAY, NOW - 50 * DAY, NOW - 50 * DAY],
        regions=[[], [], [], [], [], [], ["DE"], [], [], [], []],
        tags=[["time travel"], [], [], ["time travel"], ["time travel"], [], [], [], [], [], []],
    )


def member(items=(), last=(), fraction=(), rated=(), ratings=(), *, maturity=4, region=None) -> UserState:
    cat = catalog()
    return UserState(
        now=NOW,
        items=[cat.index(i) for i in items],
        last=list(last),
        fraction=list(fraction),
        rated=[cat.index(i) for i in rated],
        ratings=list(ratings),
        profile=Profile(maturity=maturity, region=region),
        user="u1",
    )


def ctx_for(user: UserState, model: FixedModel, n: int = 10):
    return make_context(catalog(), model, user, n=n, seed=0)


def ids(row) -> list[str]:
    return [IDS[i] for i in row.items]


def test_top_k_orders_best_first_and_breaks_ties_by_index():
    values = np.array([1.0, 3.0, 2.0, 3.0, 0.5], np.float32)
    items, scores = top_k(values, np.array([True, True, True, True, False]), 3)
    assert items.tolist() == [1, 3, 2]
    assert scores.tolist() == [3.0, 3.0, 2.0]
    assert top_k(values, np.zeros(5, bool), 3)[0].size == 0


def test_eligibility_mask():
    # episodes, 18+ for a 13+ profile, region-only titles elsewhere, not-yet-added and finished titles are out
    user = member(["m1"], [NOW - DAY], [0.95], maturity=2, region="FR")
    ctx = ctx_for(user, FixedModel(len(IDS)))
    assert [IDS[i] for i in np.flatnonzero(ctx.eligible)] == ["m2", "m3", "m4", "m5", "s1"]
    de = ctx_for(member(region="DE"), FixedModel(len(IDS)))
    assert de.eligible[IDS.index("m7")]
    assert not ctx.eligible[IDS.index("m7")]  # FR is no region of the catalog: unrestricted titles only


def test_top_picks_ranks_unseen_eligible_titles_by_score():
    scores = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1, 10, 10], np.float32)
    user = member(["m1", "m2"], [NOW - DAY, NOW - 2 * DAY], [0.95, 0.3])
    (row,) = TopPicks()(ctx_for(user, FixedModel(len(IDS), scores=scores)))
    # m1 finished, m2 seen, m7 DE only -> kept (no region in profile), m8 not added, episodes not tiles
    assert ids(row) == ["m3", "m4", "m5", "m6", "m7", "s1"]
    assert row.scores.tolist() == [7, 6, 5, 4, 3, 1]
    assert row.score == pytest.approx(0.9 * (1 - math.exp(-2 / 5)))
    assert TopPicks()(ctx_for(member(), FixedModel(len(IDS), scores=scores))) == []  # no history: nothing is "for you"
    (rated,) = TopPicks()(ctx_for(member(rated=["m1"], ratings=[4.0]), FixedModel(len(IDS), scores=scores)))
    assert rated.title == "Top Picks for You" and rated.score > 0.0


def test_top10_numbers_the_regional_chart_and_widens_the_window():
    day = np.array([5, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0], np.float32)
    week = np.array([5, 4, 3, 2, 1, 0, 7, 0, 6, 0, 0], np.float32)

    def popularity(now, window, region):
        assert now == NOW and region == "DE"
        return day if window == DAY else week

    model = FixedModel(len(IDS), popularity=popularity)
    ctx = ctx_for(member(region="DE"), model)
    (row,) = Top10(Top10Config(length=2))(ctx)
    assert ids(row) == ["m7", "m1"] and row.reasons == ("#1 in DE today", "#2 in DE today")
    assert row.title == "Top 2 in DE Today" and row.key == "top10:DE"
    (row,) = Top10(Top10Config(length=4, min_plays=1))(ctx_for(member(region="DE"), model))
    assert ids(row) == ["m7", "s1", "m1", "m2"] and row.reasons[0] == "#1 in DE this week"
    assert row.evidence["window"] == 7 * DAY


def test_top10_needs_support_and_shows_how_ties_were_broken():
    day = np.array([1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0], np.float32)  # one play each: no chart today
    week = np.array([6, 6, 9, 5, 6, 0, 0, 0, 4, 0, 0], np.float32)
    ever = np.array([50, 70, 90, 10, 60, 0, 0, 0, 80, 0, 0], np.float32)

    def popularity(now, window, region):
        return {DAY: day, 7 * DAY: week}.get(window, ever)

    (row,) = Top10(Top10Config(length=3))(ctx_for(member(), FixedModel(len(IDS), popularity=popularity)))
    # this week: m3 9 plays; m1, m2, m5 6 plays each, ordered by plays of all time (m2 70 > m5 60 > m1 50): m1 is left out
    assert row.title == "Top 3 This Week" and ids(row) == ["m3", "m2", "m5"]
    assert row.reasons == ("#1 this week", "#2 this week (tied at 6 plays)", "#3 this week (tied at 6 plays)")
    assert row.evidence["plays"] == [9, 6, 6] and row.evidence["min_plays"] == 5 and "all time" in row.evidence["ties"]
    (row,) = Top10(Top10Config(length=10))(ctx_for(member(), FixedModel(len(IDS), popularity=popularity)))
    # no window has 10 titles with 5 plays: the all-time chart holds the 6 titles that have them, none tied
    assert row.title == "Top 6 of All Time" and ids(row) == ["m3", "s1", "m2", "m5", "m1", "m4"]
    assert row.reasons[1] == "#2 of all time" and row.evidence["plays"] == [90, 80, 70, 60, 50, 10]


def test_trending_alpha_zero_is_the_raw_trend_and_alpha_lifts_liked_titles():
    trend = np.array([4.0, 3.5, 0, 0, 0, 0, 0, 0, 0, 0, 0], np.float32)
    scores = np.array([0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5], np.float32)
    model = FixedModel(len(IDS), scores=scores, trending=trend)
    (raw,) = Trending(TrendingConfig(alpha=0.0))(ctx_for(member(), model))
    assert ids(raw) == ["m1", "m2"] and raw.scores.tolist() == [4.0, 3.5]
    # affinity = logistic(z-score over eligible): m1 is the least liked, m2 the most
    ctx = ctx_for(member(), model)
    a1, a2 = float(ctx.affinity[0]), float(ctx.affinity[1])
    assert a1 < 0.5 < a2
    (row,) = Trending(TrendingConfig(alpha=1.0))(ctx)
    assert ids(row) == ["m2", "m1"]
    assert row.scores.tolist() == pytest.approx([3.5 * (1 + a2), 4.0 * (1 + a1)], rel=1e-6)


def test_new_releases_by_freshness():
    user = member(["m2"], [NOW - DAY], [0.2])
    (row,) = NewReleases(NewReleasesConfig(window_days=60, gamma=0.0, half_life_days=10))(ctx_for(user, FixedModel(len(IDS))))
    # m2 seen; m8 not yet added; m6 2 days, m3 1 day, m7 10 days, s1 50 days; m1 200 days is out of the window
    assert ids(row) == ["m3", "m6", "m7", "s1"]
    assert row.scores.tolist() == pytest.approx([0.5**0.1, 0.5**0.2, 0.5**1.0, 0.5**5.0], rel=1e-6)
    assert row.reasons == ("New 1 day ago", "New 2 days ago", "New 10 days ago", "New 50 days ago")
    assert [_new_since(d) for d in (0, 1, 2, 0)] == ["New today", "New 1 day ago", "New 2 days ago", "New today"]


def test_new_releases_of_one_score_go_by_title():
    (row,) = NewReleases(NewReleasesConfig(window_days=400, gamma=0.0, half_life_days=10))(ctx_for(member(), FixedModel(len(IDS))))
    assert ids(row)[-2:] == ["m4", "m5"] and row.scores[-1] == row.scores[-2]  # both added 300 days ago


def test_popular_falls_back_to_all_time():
    all_time = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 1], np.float32)
    recent = np.array([0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0], np.float32)
    model = FixedModel(len(IDS), popularity=lambda now, window, region: all_time if window is None else recent)
    user = member(["m4"], [NOW - DAY], [0.5])
    (row,) = Popular(PopularConfig(window_days=30))(ctx_for(user, model, n=3))
    assert ids(row) == ["s1", "m7", "m6"] and row.evidence["window"] is None
    (row,) = Popular(PopularConfig(window_days=30))(ctx_for(user, model, n=1))
    assert ids(row) == ["m3"] and row.evidence["window"] == 30 * DAY


def test_genre_rows_follow_affinity_and_rank_titles_by_score():
    scores = np.arange(len(IDS), dtype=np.float32)
    user = member(["m1"], [NOW - DAY], [0.5])  # half-watched comedy, a day ago
    cfg = GenreRowsConfig(min_titles=2, min_eligible=1, explore=0.0, max_rows=3, max_fine_rows=1, prior=1.0, half_life_days=1.0)
    rows = GenreRows(cfg)(ctx_for(user, FixedModel(len(IDS), scores=scores)))
    assert [r.key for r in rows] == ["genre:Comedy", "tag:time travel", "genre:Drama"]
    comedy, travel, drama = rows
    # Comedy: m1 (seen), m2, m7, m8 (not added) -> m7, m2 by score
    assert ids(comedy) == ["m7", "m2"] and comedy.title == "Comedy"
    mass = 0.5  # liking 0.5, the member's last play: age 0 on their own clock, however long ago
    a_comedy = (mass + 4 / 9) / (mass + 1.0)  # 4 of 9 displayable titles are comedies
    assert comedy.evidence["affinity"] == pytest.approx(a_comedy, abs=1e-6)
    assert comedy.score == pytest.approx(0.7)
    # time travel: m1, m4, m5 (3 of 9), a finer slice
    assert travel.title == "Time Travel" and ids(travel) == ["m5", "m4"]
    assert travel.score == pytest.approx(0.7 * 0.9 * ((mass + 3 / 9) / (mass + 1.0)) / a_comedy, rel=1e-5)
    assert drama.score == pytest.approx(0.7 * ((3 / 9) / (mass + 1.0)) / a_comedy, rel=1e-5)
    assert drama.evidence["explored"] is False


def test_genre_slices_have_readable_titles():
    idx = GenreRows(GenreRowsConfig(min_titles=1)).index(catalog())
    titles = dict(zip(idx.keys, idx.titles, strict=True))
    assert titles["genre-pair:Comedy+Romance"] == "Romantic Comedies"
    assert titles["tag:time travel"] == "Time Travel"
    assert titles["genre-decade:Drama:1980"] == "1980s Drama"
    assert "genre-decade:Sci-Fi:1980" not in titles  # the same titles as genre:Sci-Fi
    assert tag_title("based on a book") == "Based on a Book"


def test_genre_exploration_uses_the_request_rng_only():
    cfg = GenreRowsConfig(min_titles=1, min_eligible=1, explore=3.0, max_rows=2)
    model = FixedModel(len(IDS), scores=np.arange(len(IDS), dtype=np.float32))
    keys = {tuple(r.key for r in GenreRows(cfg)(make_context(catalog(), model, member(["m1"], [NOW - DAY], [0.5]), n=5, seed=s))) for s in range(12)}
    assert len(keys) > 1  # exploration varies with the seed...
    again = [tuple(r.key for r in GenreRows(cfg)(make_context(catalog(), model, member(["m1"], [NOW - DAY], [0.5]), n=5, seed=3))) for _ in range(2)]
    assert again[0] == again[1]  # ...and not otherwise


def test_because_you_watched_anchors_and_neighbours():
    sim = np.zeros((len(IDS), len(IDS)), np.float32)
    sim[0, [1, 2, 3, 6]] = [0.9, 0.5, 0.7, 0.1]  # m1's neighbours
    sim[8, [2, 5]] = [0.8, 0.4]  # the series' neighbours
    user = member(["e1", "m1", "m3"], [NOW - DAY, NOW - 3 * DAY, NOW - 4 * DAY], [1.0, 0.95, 0.1])
    model = FixedModel(len(IDS), similarity=sim)
    rows = BecauseYouWatched(BecauseYouWatchedConfig(beta=0.0, min_titles=1, half_life_days=30))(ctx_for(user, model))
    # anchors: the series (via its finished episode, 1 day ago), then m1; m3 is barely watched
    assert [r.key for r in rows] == ["byw:s1", "byw:m1"]
    assert ids(rows[1]) == ["m2", "m4", "m7"]  # m3 seen
    assert rows[1].scores.tolist() == pytest.approx([0.9, 0.7, 0.1])
    assert rows[1].evidence["anchor_title"] == "One" and rows[1].title == "Because you watched One"
    assert rows[0].evidence["last_played"] == NOW - DAY
    assert rows[1].score == pytest.approx(0.85 * 0.5 ** (2 / 30), rel=1e-6)  # m1: 2 days before the member's last play
    assert ids(rows[0]) == ["m6"]  # m3 seen


def test_because_you_watched_row_length_and_min_titles_around_the_similar_count():
    sim = np.zeros((len(IDS), len(IDS)), np.float32)
    sim[0, [1, 3, 6]] = [0.9, 0.7, 0.1]  # m1: three similar eligible titles
    user = member(["m1"], [NOW - DAY], [0.95])
    model = FixedModel(len(IDS), similarity=sim)
    for n, min_titles, want in ((2, 1, ["m2", "m4"]), (3, 1, ["m2", "m4", "m7"]), (4, 1, ["m2", "m4", "m7"]), (3, 3, ["m2", "m4", "m7"]), (3, 4, None), (2, 3, ["m2", "m4"]), (2, 4, None)):
        rows = BecauseYouWatched(BecauseYouWatchedConfig(beta=0.0, min_titles=min_titles))(ctx_for(user, model, n=n))
        assert [ids(r) for r in rows] == ([] if want is None else [want]), (n, min_titles)


def test_because_you_watched_uses_ratings_for_liking():
    sim = np.zeros((len(IDS), len(IDS)), np.float32)
    sim[2, [0, 1]] = [0.5, 0.6]
    sim[3, [0, 1]] = [0.5, 0.6]
    user = member(["m3", "m4"], [NOW - DAY, NOW - DAY], [0.95, 0.95], rated=["m3", "m4"], ratings=[1.0, 5.0])
    rows = BecauseYouWatched(BecauseYouWatchedConfig(min_titles=1))(ctx_for(user, FixedModel(len(IDS), similarity=sim)))
    assert [r.key for r in rows] == ["byw:m4"]  # m3 rated 1/5: not liked


def test_because_you_watched_evidence_per_anchor_and_an_anchor_never_in_its_own_row():
    sim = np.zeros((len(IDS), len(IDS)), np.float32)
    sim[0, [0, 1, 3]] = [1.0, 0.9, 0.7]  # m1: itself first
    sim[8, [1, 2]] = [0.8, 0.4]  # the series
    sim[4, [1, 3]] = [0.6, 0.5]  # m5, rated only
    user = member(["e1", "m1", "e2"], [NOW - 5 * DAY, NOW - 3 * DAY, NOW - 2 * DAY], [1.0, 0.5, 1.0], rated=["m1", "m5"], ratings=[5.0, 4.0])
    ctx = ctx_for(user, FixedModel(len(IDS), similarity=sim))
    ctx.__dict__["unseen"] = ctx.eligible  # a context whose unseen titles hold an anchor (m1: rated, half watched)
    rows = BecauseYouWatched(BecauseYouWatchedConfig(beta=0.0, min_titles=1, max_anchors=3))(ctx)
    by_key = {r.key: r for r in rows}
    assert set(by_key) == {"byw:m1", "byw:s1", "byw:m5"}
    assert ids(by_key["byw:m1"]) == ["m2", "m4"]  # not m1 itself
    assert by_key["byw:s1"].evidence["last_played"] == NOW - 2 * DAY  # the later of its episodes' plays
    assert by_key["byw:m1"].evidence["last_played"] == NOW - 3 * DAY
    assert by_key["byw:m5"].evidence["last_played"] is None  # rated, never played
    assert by_key["byw:m5"].evidence["liking"] == 0.8
