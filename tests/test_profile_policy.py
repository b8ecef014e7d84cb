"""Profile-driven policy: kids profiles get the kids preset, devices their own, unless a policy is forced."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from pagegen import Engine, PolicyError, Profile
from pagegen.core._catalog import MATURITY_LEVELS
from pagegen.serve._sources import page_policy
from policies import AUTO, DEVICE_PRESETS, preset_for

SEVEN = MATURITY_LEVELS.index("7+")


def _engine(world, model, policy=AUTO):
    return Engine(world.catalog, model, policy, interactions=world.interactions, profiles=world.profiles, now=world.now)


def _kids(world) -> list[str]:
    return [world.interactions.users.id(i) for i, p in enumerate(world.profiles) if p.kids]


def _titles(world, page) -> np.ndarray:
    index = {t: i for i, t in enumerate(world.catalog.ids.tolist())}
    return np.array([index[s.id] for row in page.rows for s in row.slots], dtype=np.intp)


def test_a_kids_profile_starts_at_the_kids_level_and_never_above() -> None:
    assert Profile(kids=True).maturity_name == "7+"
    assert Profile(kids=True, maturity="all").maturity_name == "all"
    with pytest.raises(ValidationError, match="at most '7\\+'"):
        Profile(kids=True, maturity="18+")
    assert not Profile().kids


@pytest.mark.parametrize("level", MATURITY_LEVELS[MATURITY_LEVELS.index("7+") + 1 :])
def test_every_level_above_the_kids_level_is_refused_for_kids(level) -> None:
    """The level right above the kids level too, by name and by code: the bound is not off by one."""
    for maturity in (level, MATURITY_LEVELS.index(level)):
        with pytest.raises(ValidationError, match="at most '7\\+'"):
            Profile(kids=True, maturity=maturity)


def test_the_synthetic_world_marks_kids_profiles(tiny_world) -> None:
    kids = [p for p in tiny_world.profiles if p.kids]
    assert kids and all(p.maturity <= SEVEN for p in kids)


def test_preset_for_routes_kids_then_devices() -> None:
    assert {d: preset_for(Profile(), d) for d in DEVICE_PRESETS} == {"mobile": "mobile", "tv": "tv", "web": "default"}
    assert {preset_for(Profile(kids=True), d) for d in DEVICE_PRESETS} == {"kids"}
    with pytest.raises(PolicyError, match="'phone'"):
        preset_for(Profile(), "phone")


def test_kids_pages_are_kids_pages_without_a_forced_policy(tiny_world, tiny_model) -> None:
    """Every kids member of the world gets the kids preset: nothing above 7+, no Horror, on every device."""
    engine, cat = _engine(tiny_world, tiny_model), tiny_world.catalog
    horror = cat.genre_names.index("Horror") if "Horror" in cat.genre_names else None
    for user in _kids(tiny_world):
        for device in DEVICE_PRESETS:
            page = engine.build(user, device=device)
            assert page.policy == "kids"
            shown = _titles(tiny_world, page)
            assert (cat.maturity[shown] <= SEVEN).all()
            if horror is not None:
                assert not cat.genres[shown, horror].any()


def test_other_members_get_their_devices_preset(tiny_world, tiny_model) -> None:
    engine = _engine(tiny_world, tiny_model)
    user = next(tiny_world.interactions.users.id(i) for i, p in enumerate(tiny_world.profiles) if not p.kids)
    assert {d: engine.build(user, device=d).policy for d in DEVICE_PRESETS} == {"mobile": "mobile", "tv": "tv", "web": "default"}
    with pytest.raises(PolicyError, match="'phone'"):
        engine.build(user, device="phone")


def test_a_forced_policy_holds_for_kids_too_within_their_maturity(tiny_world, tiny_model) -> None:
    engine, cat = _engine(tiny_world, tiny_model, "default"), tiny_world.catalog
    for user in _kids(tiny_world)[:5]:
        page = engine.build(user, device="tv")
        assert page.policy == "default"
        assert (cat.maturity[_titles(tiny_world, page)] <= SEVEN).all()


def test_auto_is_the_engines_default_and_stays_deterministic(tiny_world, tiny_model) -> None:
    user = _kids(tiny_world)[0]
    plain = Engine(tiny_world.catalog, tiny_model, interactions=tiny_world.interactions, profiles=tiny_world.profiles, now=tiny_world.now)
    assert plain.auto and plain.build(user).to_json() == _engine(tiny_world, tiny_model).build(user).to_json()


def test_the_command_line_routes_by_default_and_reshapes_the_devices_preset() -> None:
    from argparse import Namespace

    args = Namespace(policy=AUTO, device="tv", selector=None, n_rows=None, row_length=None)
    assert page_policy(args) == AUTO
    with pytest.raises(PolicyError, match="'phone'"):
        page_policy(Namespace(**{**vars(args), "device": "phone"}))
    reshaped = page_policy(Namespace(**{**vars(args), "n_rows": 3}))
    assert (reshaped.name, reshaped.n_rows, reshaped.row_length) == ("tv", 3, 25)
