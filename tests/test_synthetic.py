"""The built-in synthetic world: determinism, structural invariants, realism, and learnability."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from pagegen.core._catalog import ITEM_KINDS, MATURITY_LEVELS
from pagegen.core._errors import DataError
from pagegen.core._interactions import IMPRESSION, PLAY, RATING
from pagegen.core._userstate import FINISHED_AT, Profile
from pagegen.data._synthetic import SIZES, World, WorldConfig, synthetic_world

DAY = 86_400
MOVIE, SERIES, EPISODE = (ITEM_KINDS.index(k) for k in ("movie", "series", "episode"))


@pytest.fixture(scope="module")
def tiny() -> World:
    return synthetic_world("tiny", seed=0)


@pytest.fixture(scope="module")
def small() -> World:
    return synthetic_world("small", seed=0)


def _arrays(world: World) -> dict[str, np.ndarray]:
    c, i, t = world.catalog, world.interactions, world.truth
    cols = {f"catalog.{k}": getattr(c, k) for k in ("ids", "titles", "genres", "kind", "series", "season", "episode", "duration", "maturity", "year", "released", "added", "regions")}
    cols["catalog.tags"] = c.tags.toarray()
    cols |= {f"events.{k}": getattr(i, k) for k in ("user", "item", "timestamp", "kind", "value")}
    cols |= {f"truth.{k}": getattr(t, k) for k in ("taste", "factor", "item_taste", "item_factor", "quality")}
    cols["profiles"] = np.array([(p.maturity, p.region, p.language) for p in world.profiles], dtype=object)
    return cols


# -- determinism ---------------------------------------------------------------------------


def test_same_seed_same_world(tiny: World) -> None:
    again = _arrays(synthetic_world("tiny", seed=0))
    for name, arr in _arrays(tiny).items():
        assert np.array_equal(arr, again[name]), name


def test_different_seed_different_world(tiny: World) -> None:
    other = synthetic_world("tiny", seed=1)
    assert other.config.seed == 1
    ours, theirs = _arrays(tiny), _arrays(other)
    for name in ("catalog.titles", "catalog.genres", "truth.taste", "truth.quality"):
        assert not np.array_equal(ours[name], theirs[name]), name
    assert tiny.interactions.n != other.interactions.n or not np.array_equal(tiny.interactions.item, other.interactions.item)


def test_config_and_seed_argument() -> None:
    config = SIZES["tiny"].model_copy(update={"seed": 7})
    a, b = synthetic_world(config), synthetic_world("tiny", seed=7)
    assert a.config == b.config
    assert np.array_equal(a.interactions.item, b.interactions.item)
    with pytest.raises(ValidationError, match="seed"):
        synthetic_world("tiny", seed=-1)
    with pytest.raises(DataError) as err:
        synthetic_world("huge")
    assert err.value.field == "size" and err.value.value == "huge"


def test_config_is_frozen_bounded_and_strict() -> None:
    with pytest.raises(ValidationError):
        WorldConfig(n_titles=5)
    with pytest.raises(ValidationError):
        WorldConfig(colour="red")
    with pytest.raises(ValidationError, match="episodes_min"):
        WorldConfig(episodes_min=9, episodes_max=3)
    with pytest.raises(ValidationError):
        SIZES["tiny"].n_members = 3  # type: ignore[misc]


# -- structure -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_catalog_structure(name: str, tiny: World, small: World) -> None:
    world = {"tiny": tiny, "small": small}[name]
    c, n = world.catalog, world.config.n_titles
    assert 0.6 * n < np.count_nonzero(c.kind == MOVIE) < n
    assert np.array_equal(c.displayable(), np.arange(c.n) < n)
    ep = np.flatnonzero(c.kind == EPISODE)
    assert ep.size > 0
    assert np.all(c.kind[c.series[ep]] == SERIES), "an episode's series is a series item"
    assert np.all(c.series[c.kind != EPISODE] == -1)
    assert np.all((c.season[ep] >= 1) & (c.episode[ep] >= 1))
    # every series has episodes, stored contiguously in (season, episode) order
    assert set(np.unique(c.series[ep]).tolist()) == set(np.flatnonzero(c.kind == SERIES).tolist())
    key = c.series[ep].astype(np.int64) * 10_000 + c.season[ep].astype(np.int64) * 100 + c.episode[ep]
    assert np.all(np.diff(key) > 0)
    # dates: released <= added < now; an episode joins with or after its series
    assert np.all(c.released <= c.added) and np.all(c.added < world.now)
    assert np.all(c.added[ep] >= c.added[c.series[ep]])
    assert np.any(c.added[:n] >= world.now - 14 * DAY), "some titles are added near now"
    assert np.all((c.duration[c.kind == MOVIE] >= 80) & (c.duration[c.kind == MOVIE] <= 180))
    assert np.all((c.duration[ep] >= 18) & (c.duration[ep] <= 65))
    assert len(set(c.titles[:n].tolist())) == n, "display titles are unique"
    assert np.all(c.genres.any(axis=1)), "every title has a genre"
    assert 18 <= len(c.genre_names) <= 24
    regional = c.regions[:n].any(axis=1)
    assert 0 < regional.mean() < 0.5, "most titles everywhere, some regional"
    assert c.tags.nnz > 0 and c.tags[[ep[0]]].nnz == 0


def test_genres_co_occur_and_drive_maturity(small: World) -> None:
    c = small.catalog
    g = {name: c.genres[: small.config.n_titles, j] for j, name in enumerate(c.genre_names)}

    def lift(a: str, b: str) -> float:
        return (g[a] & g[b]).mean() / (g[a].mean() * g[b].mean())

    assert lift("Action", "Adventure") > 2 and lift("Horror", "Thriller") > 2 and lift("Children", "Family") > 2
    assert lift("Horror", "Children") < 0.5
    mat = c.maturity[: small.config.n_titles]
    assert np.mean(mat[g["Children"]] <= MATURITY_LEVELS.index("7+")) > 0.8
    assert np.mean(mat[g["Horror"] & ~g["Children"]] >= MATURITY_LEVELS.index("16+")) > 0.7


def test_events_are_well_formed(tiny: World, small: World) -> None:
    for world in (tiny, small):
        i = world.interactions
        assert i.n_items == world.catalog.n and i.n_users == world.config.n_members
        assert np.all(i.timestamp < world.now)
        assert np.all(i.timestamp >= world.now - world.config.history_days * DAY)
        play = i.kind == PLAY
        assert np.all((i.value[play] >= 0) & (i.value[play] <= 1))
        rating = i.value[i.kind == RATING]
        assert rating.size and np.all((rating >= 0.5) & (rating <= 5.0)) and np.all(rating * 2 == np.round(rating * 2))
        assert np.all(world.catalog.displayable()[i.item[(i.kind == IMPRESSION) | (i.kind == RATING)]])
        assert np.all(world.catalog.added[i.item] <= i.timestamp), "nothing is watched before it is on the service"
        assert len(world.profiles) == world.config.n_members and all(isinstance(p, Profile) for p in world.profiles)


def test_members_see_only_what_their_profile_allows(small: World) -> None:
    c, i = small.catalog, small.interactions
    maturity = np.array([p.maturity for p in small.profiles])
    region = np.array([c.region_names.index(p.region) for p in small.profiles])
    kids = maturity <= MATURITY_LEVELS.index("7+")
    assert 0.03 < kids.mean() < 0.3, "kids profiles exist"
    assert np.all(c.maturity[i.item] <= maturity[i.user])
    assert np.all(c.regions[i.item, region[i.user]] | ~c.regions[i.item].any(axis=1))
    # kids profiles watch mostly family titles
    family = c.genres[:, c.genre_names.index("Family")]
    kid_plays = kids[i.user] & (i.kind == PLAY)
    assert family[i.item[kid_plays]].mean() > 0.7


def test_viewing_behaviour(small: World) -> None:
    c, i = small.catalog, small.interactions
    play = i.kind == PLAY
    u, item, ts, v = i.user[play], i.item[play], i.timestamp[play], i.value[play]
    # partial viewing: abandoned plays, some resumed later to the end, some still in progress
    assert 0.05 < np.mean(v < FINISHED_AT) < 0.5
    key = u.astype(np.int64) * c.n + item
    order = np.lexsort((ts, key))
    k, vs = key[order], v[order]
    resumed = (k[1:] == k[:-1]) & (vs[:-1] < FINISHED_AT) & (vs[1:] >= FINISHED_AT)
    assert resumed.sum() > 10
    in_progress = sum(len(small.user_state(m).in_progress()) for m in range(200))
    assert in_progress > 20
    # binges: a member's episodes of a series are played in episode order
    ep = c.kind[item] == EPISODE
    pos = item[ep]  # episodes are stored in order, so the catalog index is the episode order
    order = np.lexsort((ts[ep], c.series[pos], u[ep]))
    same = (u[ep][order][1:] == u[ep][order][:-1]) & (c.series[pos][order][1:] == c.series[pos][order][:-1])
    assert same.sum() > 100, "members watch several episodes of a series"
    assert np.all(pos[order][1:][same] >= pos[order][:-1][same])
    # power-law activity: the most active members play far more than the median one
    per_member = np.bincount(u, minlength=i.n_users)
    assert per_member.max() > 8 * np.median(per_member)


def test_trending_bursts_around_new_titles(small: World) -> None:
    """A title added during the timeline is shown far more in its first days than a month later."""
    c, i = small.catalog, small.interactions
    launch = small.now - small.config.history_days * DAY
    added = c.added[i.item]
    new = c.displayable()[i.item] & (added >= launch + 10 * DAY) & (added < small.now - 60 * DAY)
    age = (i.timestamp - added) / DAY
    shown = (i.kind == IMPRESSION) & new
    first_days = np.count_nonzero(shown & (age < 3)) / 3
    month_later = np.count_nonzero(shown & (age >= 30) & (age < 60)) / 30
    assert first_days > 3 * month_later, f"{first_days:.1f} vs {month_later:.1f} impressions a day"


def test_truth_preference(tiny: World, small: World) -> None:
    for world in (tiny, small):
        items = np.arange(world.catalog.n)
        for user in (0, world.config.n_members - 1):
            p = world.truth.preference(user, items)
            assert p.shape == items.shape and np.all((p >= 0) & (p <= 1))
            ep = world.catalog.kind == EPISODE
            assert np.array_equal(p[ep], p[world.catalog.series[ep]]), "an episode is liked as its series"
        users = np.full(5, 3)
        np.testing.assert_allclose(world.truth.preference_pairs(users, items[:5]), world.truth.preference(3, items[:5]), rtol=1e-6)
    with pytest.raises(DataError) as err:
        tiny.truth.preference(0, np.array([0, tiny.catalog.n]))
    assert err.value.field == "items" and err.value.value == tiny.catalog.n
    with pytest.raises(DataError) as err:
        tiny.truth.preference(tiny.config.n_members, np.array([0]))
    assert err.value.field == "user"


def test_user_state(tiny: World) -> None:
    i = tiny.interactions
    active = int(np.argmax(np.diff(i.indptr)))
    by_index = tiny.user_state(active)
    by_id = tiny.user_state(f"u{active}")
    assert by_index.user == by_id.user == f"u{active}" and by_index.user_index == active
    assert np.array_equal(by_index.items, by_id.items) and by_index.profile == tiny.profiles[active]
    assert by_index.now == tiny.now and len(by_index.items) > 0
    earlier = tiny.user_state(active, now=tiny.now - 30 * DAY)
    assert len(earlier.items) <= len(by_index.items) and np.all(earlier.last < tiny.now - 30 * DAY)
    with pytest.raises(DataError) as err:
        tiny.user_state("u-nobody")
    assert err.value.value == "u-nobody"
    with pytest.raises(DataError) as err:
        tiny.user_state(tiny.config.n_members)
    assert err.value.field == "user"


# -- learnability: the log says something about the truth -------------------------------------


def test_late_plays_are_preferred_titles(small: World) -> None:
    """Titles members started in the last 30 days have far higher true preference than random titles."""
    c, i, truth = small.catalog, small.interactions, small.truth
    late = (i.kind == PLAY) & (i.timestamp >= small.now - 30 * DAY)
    title = np.where(c.series >= 0, c.series, np.arange(c.n))[i.item[late]]
    played = truth.preference_pairs(i.user[late], title).mean()
    rng = np.random.default_rng(0)
    random_titles = rng.integers(0, small.config.n_titles, size=late.sum())
    baseline = truth.preference_pairs(i.user[late], random_titles).mean()
    assert played > 2.5 * baseline, (played, baseline)


def test_early_history_predicts_late_plays(small: World) -> None:
    """A member's genre profile from the first part of the log ranks their later plays above chance."""
    c, i = small.catalog, small.interactions
    n = small.config.n_titles
    cut = small.now - 60 * DAY
    title = np.where(c.series >= 0, c.series, np.arange(c.n))
    play = i.kind == PLAY
    early, late = play & (i.timestamp < cut), play & (i.timestamp >= cut)
    genres = c.genres[:n].astype(np.float64)
    profile = np.zeros((i.n_users, genres.shape[1]))
    np.add.at(profile, i.user[early], genres[title[i.item[early]]])
    users = np.flatnonzero((profile.sum(axis=1) > 5) & (np.bincount(i.user[late], minlength=i.n_users) > 0))[:300]
    assert len(users) > 50
    scores = profile[users] @ (genres / np.maximum(genres.sum(axis=1, keepdims=True), 1)).T
    top = np.argsort(-scores, axis=1)[:, : n // 10]  # the best-matching tenth of the catalog
    hit = np.zeros((len(users), n), dtype=bool)
    hit[np.arange(len(users))[:, None], top] = True
    row = np.searchsorted(users, i.user[late])
    known = (row < len(users)) & (users[np.minimum(row, len(users) - 1)] == i.user[late])
    rate = hit[row[known], title[i.item[late]][known]].mean()
    assert rate > 0.25, f"{rate:.2f} of later plays fall in the top tenth (chance: 0.10)"


@pytest.mark.slow
def test_medium_world_benchmark_size() -> None:
    world = synthetic_world("medium", seed=3)
    assert np.count_nonzero(world.catalog.displayable()) == 10_000
    assert world.interactions.n_users == 20_000
    assert np.all(world.interactions.timestamp < world.now)
    assert np.all(world.catalog.kind[world.catalog.series[world.catalog.kind == EPISODE]] == SERIES)
