"""The built-in synthetic streaming world: a seeded, deterministic catalog, members and events.

``synthetic_world("small", seed=0)`` returns a :class:`World`: a catalog of movies and series
(with seasons and episodes), a member base with profiles, their logged events (impressions,
plays with watched fractions, ratings) and the ground-truth preference model the events were
drawn from (:class:`Truth`), so that later work can simulate how a member responds to a page.

How the events relate to the truth: a title *shown* to member ``u`` is started with probability
``Truth.preference(u, [i])`` (at most once per title), less with each earlier showing of the title that the member
did not play (``WorldConfig.fatigue``). A series is played episode by episode,
so its plays are logged on its episodes (``catalog.series`` maps an episode to its series);
impressions and ratings of a series are logged on the series itself. See
``_synthetic_catalog`` and ``_synthetic_members`` for the generative story.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pagegen.core._catalog import ITEM_KINDS, Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import EVENT_KINDS, Interactions
from pagegen.core._userstate import Profile, UserState
from pagegen.core._vocab import Vocab

from ._synthetic_catalog import LANGUAGES, REGIONS, make_catalog
from ._synthetic_members import make_events, make_members
from ._truth import Truth
from ._world_config import _N_FACTORS, SIZES, WorldConfig

__all__ = ["SIZES", "Truth", "World", "WorldConfig", "synthetic_world"]

@dataclass(frozen=True, eq=False, repr=False)
class World:
    """A synthetic streaming service: catalog, logged events, member profiles and the truth behind them."""

    config: WorldConfig
    catalog: Catalog
    interactions: Interactions
    profiles: tuple[Profile, ...]
    truth: Truth
    now: int

    def user_state(self, user: str | int, now: int | None = None) -> UserState:
        """The member (external id, or index) as of ``now`` (default: the end of the timeline), with their profile."""
        users = self.interactions.users
        if isinstance(user, (int, np.integer)) and not isinstance(user, bool):
            if not 0 <= int(user) < len(users):
                raise DataError(f"member index out of range [0, {len(users) - 1}]", field="user", value=int(user))
            index = int(user)
        else:
            index = users.index(user, what="user id")
        when = self.now if now is None else int(now)
        return UserState.from_interactions(self.interactions, users.id(index), when, self.profiles[index])

    def __repr__(self) -> str:
        kinds = np.bincount(self.catalog.kind, minlength=len(ITEM_KINDS))
        titles = ", ".join(f"{c:,} {k if k == 'series' else k + 's'}" for k, c in zip(ITEM_KINDS, kinds, strict=True))
        events = np.bincount(self.interactions.kind, minlength=len(EVENT_KINDS))
        logged = ", ".join(f"{c:,} {k}s" for k, c in zip(EVENT_KINDS, events, strict=True) if c)
        return f"World(seed={self.config.seed}: {titles}; {len(self.profiles):,} members; {logged})"


def synthetic_world(size: str | WorldConfig = "small", seed: int | None = None, *, n_members: int | None = None) -> World:
    """Generate a world: ``size`` names one of SIZES or is a WorldConfig; ``seed`` overrides its seed,
    ``n_members`` its member count (e.g. the 10,000-title "medium" catalog with 1,000,000 members).

    The catalog and the titles' truth do not depend on ``n_members``; the members and their events
    do (another count is another, equally deterministic, world). Members are generated in fixed
    chunks of 50,000, so memory grows with the events, not with temporaries over all members.
    """
    if isinstance(size, str):
        if size not in SIZES:
            raise DataError(f"unknown world size, expected one of {', '.join(SIZES)}", field="size", value=size)
        config = SIZES[size]
    elif isinstance(size, WorldConfig):
        config = size
    else:
        raise DataError("expected a size name or a WorldConfig", field="size", value=type(size).__name__)
    if seed is not None:
        config = WorldConfig.model_validate({**config.model_dump(), "seed": seed})  # validated, unlike model_copy
    if n_members is not None:
        limit = WorldConfig.model_fields["n_members"].metadata
        lo, hi = next(m.ge for m in limit if hasattr(m, "ge")), next(m.le for m in limit if hasattr(m, "le"))
        if isinstance(n_members, bool) or not isinstance(n_members, (int, np.integer)) or not lo <= n_members <= hi:
            raise DataError(f"expected a whole number of members in [{lo:,}, {hi:,}]", field="n_members", value=n_members)
        config = WorldConfig.model_validate({**config.model_dump(), "n_members": int(n_members)})
    root = np.random.SeedSequence(config.seed)
    s_catalog, s_members, s_items, s_events = root.spawn(4)
    catalog, items = make_catalog(config, np.random.default_rng(s_catalog))
    members = make_members(config, np.random.default_rng(s_members), _N_FACTORS)
    n = config.n_titles
    item_factor = np.random.default_rng(s_items).normal(0.0, config.factor_spread, size=(n, _N_FACTORS))
    item_factor = np.concatenate([item_factor, item_factor[catalog.series[n:]]])
    truth = Truth(taste=members.taste, factor=members.factor, item_taste=items.taste, item_factor=item_factor, quality=items.quality, fatigue=config.fatigue)
    user, item, ts, kind, value = make_events(config, catalog, items, members, truth, s_events)
    interactions = Interactions(
        users=Vocab([f"u{i}" for i in range(config.n_members)], what="user id"),
        user=user,
        item=item,
        timestamp=ts,
        kind=kind,
        value=value,
        n_items=catalog.n,
    )
    keys = list(zip(members.maturity.tolist(), members.region.tolist(), members.kids.tolist(), strict=True))
    cache = {(m, r, k): Profile(maturity=m, region=REGIONS[r], language=LANGUAGES[r], kids=k) for m, r, k in set(keys)}
    profiles = tuple(cache[key] for key in keys)
    return World(config=config, catalog=catalog, interactions=interactions, profiles=profiles, truth=truth, now=config.now)
