"""The blend's ``continuing`` feature: a title the member is in the middle of, decaying with the time
since their latest play of it; 0 for everything else."""

from __future__ import annotations

import numpy as np
import pytest
from test_model import CONFIG, EVENTS, NOW, T0, plays, tiny_catalog
from test_model_tiles import EVENTS as SERIES_EVENTS
from test_model_tiles import IDS, series_catalog

from pagegen.core._catalog import Catalog
from pagegen.core._errors import ModelFileError
from pagegen.core._time import DAY
from pagegen.core._userstate import UserState
from pagegen.data._synthetic import synthetic_world
from pagegen.models._blend import FEATURES
from pagegen.models._fit import fit
from pagegen.models._model import Model
from pagegen.models._validate import validate_model

COL = FEATURES.index("continuing")
TAU = CONFIG.continue_tau


def catalog() -> Catalog:
    """A movie, a series of three episodes (the third, of season 2, joins the service at NOW + 1 day), two more movies."""
    return series_catalog(season=[0, 0, 1, 1, 2, 0, 0], episode=[0, 0, 1, 2, 1, 0, 0], year=[2001, 2002, 2002, 2002, 2003, 2003, 2004], added=[T0] * 4 + [NOW + DAY] + [T0] * 2)


@pytest.fixture(scope="module")
def model() -> Model:
    return fit(catalog(), plays(SERIES_EVENTS, n_items=len(IDS)), CONFIG, progress=False)


def member(*plays_: tuple[str, float, int], now: int = NOW) -> UserState:
    """A member from (title id, watched fraction, seconds before ``now``), most recent first."""
    index = {tid: i for i, tid in enumerate(IDS)}
    return UserState(now=now, items=[index[p[0]] for p in plays_], last=[now - p[2] for p in plays_], fraction=[p[1] for p in plays_], rated=[], ratings=[])


def continuing(model: Model, user: UserState) -> np.ndarray:
    values = model.features(user)[:, COL]
    assert np.all(np.isfinite(values))
    return values


def test_mid_series_member_gets_it_on_the_series_tile(model):
    values = continuing(model, member(("s1", 1.0, DAY), ("o", 1.0, 2 * DAY)))
    # the series tile (and its episodes, which score as the series); nothing else
    np.testing.assert_allclose(values[[1, 2, 3, 4]], np.exp(-DAY / TAU), rtol=1e-6)
    assert not values[[0, 5, 6]].any()
    # an unfinished latest episode: the member resumes it; the value fades with the time since
    near, far = continuing(model, member(("s2", 0.4, DAY))), continuing(model, member(("s2", 0.4, 20 * DAY)))
    assert near[1] == pytest.approx(np.exp(-DAY / TAU), rel=1e-6) and 0 < far[1] < near[1]
    # the latest play decides: s2 watched after s1
    assert continuing(model, member(("s2", 0.4, DAY), ("s1", 1.0, 9 * DAY)))[1] == pytest.approx(np.exp(-DAY / TAU), rel=1e-6)


def test_movie_started_and_not_finished_counts_too(model):
    values = continuing(model, member(("m", 0.3, 3 * DAY), ("n", 1.0, DAY)))
    assert values[0] == pytest.approx(np.exp(-3 * DAY / TAU), rel=1e-6)
    assert not np.delete(values, 0).any()


@pytest.mark.parametrize(
    "history",
    [
        (("s1", 1.0, DAY), ("s2", 1.0, 2 * DAY)),  # s3, the only episode left, is not on the service before NOW + 1 day
        (("s1", 0.95, 400 * DAY),),  # stale: older than Continue Watching's year
        (("m", 1.0, DAY), ("n", 1.0, DAY + 60)),  # movies watched to the end
        (("s2", 1.0, DAY), ("s1", 0.5, 2 * DAY)),  # the latest episode finished, the next one (s3) not yet out
    ],
)
def test_nothing_left_or_stale_gives_zero(model, history):
    assert not continuing(model, member(*history)).any()


def test_next_episode_counts_once_it_is_on_the_service(model):
    later = NOW + 2 * DAY
    values = continuing(model, member(("s2", 1.0, 3 * DAY), ("s1", 1.0, 4 * DAY), now=later))
    assert values[1] == pytest.approx(np.exp(-3 * DAY / TAU), rel=1e-6)
    # s3 already finished too: the series is done
    assert not continuing(model, member(("s3", 1.0, DAY), ("s2", 1.0, 3 * DAY), ("s1", 1.0, 4 * DAY), now=later)).any()


def test_zero_without_history_and_on_a_catalog_without_series():
    movies = fit(tiny_catalog(), plays(EVENTS), CONFIG, progress=False)
    assert np.all(movies.arrays["next_episode"] == -1)
    for user in (UserState.cold(NOW), UserState(now=NOW, items=[1, 0], last=[NOW - 1, NOW - DAY], fraction=[1.0, 1.0], rated=[], ratings=[])):
        assert not continuing(movies, user).any()
    # a constant 0 column: the blend's scaling keeps a unit scale and learns no weight
    assert movies.arrays["blend_scale"][COL] == 1.0 and movies.arrays["blend_weights"][COL] == 0.0
    assert np.all(np.isfinite(movies.score(UserState.cold(NOW))))


def test_blend_learns_it_on_a_world_with_series():
    world = synthetic_world("tiny", seed=0)
    model = fit(world.catalog, world.interactions, progress=False)
    a = model.arrays
    assert a["blend_mean"][COL] > 0 and a["blend_scale"][COL] != 1.0  # it varies over the blend's examples
    assert a["blend_weights"][COL] > 0  # continuing is a reason to play next
    # members in the middle of something: the weight lifts those titles above every other one's shift
    without = Model(a | {"blend_weights": np.where(np.arange(len(FEATURES)) == COL, 0.0, a["blend_weights"])}, model.meta)
    lifted = 0
    for u in range(len(world.profiles)):
        user = world.user_state(u)
        going = model.features(user)[:, COL] > a["blend_mean"][COL]
        shift = model.score(user) - without.score(user)
        assert np.all(np.isfinite(shift))
        if going.any():
            assert shift[going].min() > shift[~going].max()
            lifted += 1
    assert lifted > 0


def test_model_file_checks_the_episode_order(model, tmp_path):
    a, meta = model.arrays, model.meta
    validate_model(a, meta, "m.json")
    broken = a["next_episode"].copy()
    broken[2] = 0  # an episode followed by a movie
    with pytest.raises(ModelFileError, match="next_episode"):
        validate_model(a | {"next_episode": broken}, meta, "m.json")
    with pytest.raises(ModelFileError, match="'added' is missing"):
        validate_model({k: v for k, v in a.items() if k != "added"}, meta, "m.json")
