"""The built-in synthetic streaming world: a seeded, deterministic catalog, members and events.

``synthetic_world("small", seed=0)`` returns a :class:`World`: a catalog of movies and series
(with seasons and episodes), a member base with profiles, their logged events (impressions,
plays with watched fractions, ratings) and the ground-truth preference model the events were
drawn from (:class:`Truth`), so that later work can simulate how a member responds to a page.

How the events relate to the truth: a title *shown* to member ``u`` is started with probability
``Truth.preference(u, [i])`` (at most once per title). A series is played episode by episode,
so its plays are logged on its episodes (``catalog.series`` maps an episode to its series);
impressions and ratings of a series are logged on the series itself. See
``_synthetic_catalog`` and ``_synthetic_members`` for the generative story.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ._arrays import frozen
from ._catalog import ITEM_KINDS, Catalog
from ._errors import DataError
from ._interactions import EVENT_KINDS, Interactions
from ._synthetic_catalog import LANGUAGES, REGIONS, TASTE_NAMES, make_catalog
from ._synthetic_members import make_events, make_members
from ._userstate import Profile, UserState
from ._vocab import Vocab

__all__ = ["SIZES", "Truth", "World", "WorldConfig", "synthetic_world"]

_N_FACTORS = 8  # idiosyncratic taste dimensions on top of the named tastes
_INTERCEPT = -3.0  # logit of P(play | shown) for a title far from every taste of the member
_AFFINITY = 5.0  # logit gained by a title fully inside the member's taste mix


class WorldConfig(BaseModel):
    """Everything that shapes a synthetic world. Same config and seed: identical world."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_titles: int = Field(2_000, ge=10, le=2_000_000, description="Displayable titles (movies + series); episodes come on top.")
    n_members: int = Field(3_000, ge=1, le=10_000_000, description="Members (profiles), indexed 0..n_members-1, ids 'u<index>'.")
    seed: int = Field(0, ge=0, description="Seed of every random draw.")
    now: int = Field(1_704_067_200, ge=10 * 365 * 86_400, le=4_000_000_000, description="End of simulated time (epoch seconds); all events are before it.")
    history_days: int = Field(365, ge=7, le=3_650, description="Length of the event timeline, ending at now.")
    series_share: float = Field(0.1, ge=0.0, le=1.0, description="Share of displayable titles that are series.")
    max_seasons: int = Field(3, ge=1, le=30, description="Most seasons a series has (fewer are more likely).")
    episodes_min: int = Field(4, ge=1, le=50, description="Fewest episodes per season.")
    episodes_max: int = Field(10, ge=1, le=50, description="Most episodes per season.")
    crossover_share: float = Field(0.3, ge=0.0, le=1.0, description="Share of titles that also belong to a second taste.")
    quality_spread: float = Field(0.8, ge=0.0, le=3.0, description="Std. dev. of a title's intrinsic appeal (a logit offset).")
    popularity_skew: float = Field(1.5, ge=0.0, le=5.0, description="How strongly appeal drives how often a title is shown (long tail).")
    library_share: float = Field(0.5, ge=0.0, le=1.0, description="Share of titles already on the service before the timeline starts.")
    fresh_share: float = Field(0.03, ge=0.0, le=0.5, description="Share of titles added in the last 14 days before now.")
    regional_share: float = Field(0.15, ge=0.0, le=1.0, description="Share of titles available only in some regions.")
    kids_share: float = Field(0.1, ge=0.0, le=1.0, description="Share of kids profiles (maturity 'all' or '7+', family taste).")
    factor_spread: float = Field(0.42, ge=0.0, le=2.0, description="Std. dev. of the idiosyncratic taste factors of members and titles.")
    mean_exposures: float = Field(40.0, ge=1.0, le=10_000.0, description="Mean number of titles shown to a member over the timeline.")
    activity_alpha: float = Field(1.8, gt=1.05, le=10.0, description="Tail index of the power-law member activity (smaller: heavier tail).")
    personal_share: float = Field(0.5, ge=0.0, le=1.0, description="Share of shown titles drawn from the member's tastes (the rest: popular/trending of the day).")
    burst: float = Field(25.0, ge=0.0, le=100.0, description="Extra exposure of a newly added title, as a multiple of its usual share.")
    burst_days: float = Field(5.0, gt=0.0, le=90.0, description="Decay time (days) of the burst after a title is added.")
    rating_rate: float = Field(0.25, ge=0.0, lt=1.0, description="Mean probability that a member rates a title they started.")
    impression_rate: float = Field(1.0, ge=0.0, le=1.0, description="Share of shown titles logged as impression events (sampled logging).")

    @model_validator(mode="after")
    def _episodes_range(self) -> WorldConfig:
        if self.episodes_min > self.episodes_max:
            raise ValueError(f"episodes_min ({self.episodes_min}) exceeds episodes_max ({self.episodes_max})")
        return self


#: Built-in sizes: "tiny" for unit tests, "small" for examples, "medium" the benchmark world,
#: "large" the scale test (100,000 displayable titles x 1,000,000 members).
SIZES: dict[str, WorldConfig] = {
    "tiny": WorldConfig(n_titles=120, n_members=200, history_days=120, series_share=0.2, max_seasons=2, episodes_min=4, episodes_max=8, mean_exposures=30.0),
    "small": WorldConfig(n_titles=1_500, n_members=3_000, series_share=0.08, max_seasons=2, episodes_min=4, episodes_max=8),
    "medium": WorldConfig(n_titles=10_000, n_members=20_000, series_share=0.08, max_seasons=3, episodes_min=5, episodes_max=10),
    "large": WorldConfig(
        n_titles=100_000, n_members=1_000_000, history_days=180, series_share=0.08, max_seasons=3, episodes_min=5, episodes_max=10, mean_exposures=30.0, impression_rate=0.25
    ),
}



@dataclass(frozen=True, eq=False, repr=False)
class Truth:
    """Ground-truth preference: ``P(play | shown) = sigmoid(a + b * taste_u . taste_i + quality_i + factor_u . factor_i)``.

    taste (n_members, n_tastes) and item_taste (n_items, n_tastes): mixtures over TASTE_NAMES;
    factor / item_factor: idiosyncratic dimensions; quality: a title's intrinsic appeal.
    An episode has its series' parameters.
    """

    taste: np.ndarray
    factor: np.ndarray
    item_taste: np.ndarray
    item_factor: np.ndarray
    quality: np.ndarray
    taste_names: tuple[str, ...] = TASTE_NAMES
    intercept: float = _INTERCEPT
    affinity: float = _AFFINITY

    def __post_init__(self) -> None:
        for name in ("taste", "factor", "item_taste", "item_factor", "quality"):
            object.__setattr__(self, name, frozen(getattr(self, name), np.float32))

    @property
    def n_members(self) -> int:
        return len(self.taste)

    @property
    def n_items(self) -> int:
        return len(self.quality)

    def preference(self, user: int, items: np.ndarray) -> np.ndarray:
        """P(play | shown) of member index ``user`` for each of ``items`` (catalog indices): float64 in [0, 1]."""
        if not 0 <= int(user) < self.n_members:
            raise DataError(f"member index out of range [0, {self.n_members - 1}]", field="user", value=user)
        items = self._items(items)
        u = int(user)
        logit = self.intercept + self.quality[items] + self.affinity * (self.item_taste[items] @ self.taste[u]) + self.item_factor[items] @ self.factor[u]
        return 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))

    def preference_pairs(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """P(play | shown) for each (users[j], items[j]) pair, vectorized: float64 in [0, 1]."""
        users = np.asarray(users, dtype=np.int64)
        items = self._items(items)
        if users.shape != items.shape:
            raise DataError(f"{len(users)} users for {len(items)} items", field="users")
        if len(users) and (users.min() < 0 or users.max() >= self.n_members):
            raise DataError(f"member index out of range [0, {self.n_members - 1}]", field="users", value=int(users[(users < 0) | (users >= self.n_members)][0]))
        aff = np.einsum("ij,ij->i", self.item_taste[items], self.taste[users])
        idio = np.einsum("ij,ij->i", self.item_factor[items], self.factor[users])
        logit = self.intercept + self.quality[items] + self.affinity * aff + idio
        return 1.0 / (1.0 + np.exp(-logit.astype(np.float64)))

    def _items(self, items: np.ndarray) -> np.ndarray:
        items = np.asarray(items)
        if items.dtype.kind not in "iu":
            raise DataError("item indices must be integers", field="items", value=str(items.dtype))
        items = items.astype(np.int64, copy=False)
        if items.size and (items.min() < 0 or items.max() >= self.n_items):
            raise DataError(f"item index out of range [0, {self.n_items - 1}]", field="items", value=int(items[(items < 0) | (items >= self.n_items)][0]))
        return items


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
    truth = Truth(taste=members.taste, factor=members.factor, item_taste=items.taste, item_factor=item_factor, quality=items.quality)
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
    cache: dict[tuple[int, int], Profile] = {}
    for m, r in set(zip(members.maturity.tolist(), members.region.tolist(), strict=True)):
        cache[(m, r)] = Profile(maturity=m, region=REGIONS[r], language=LANGUAGES[r])
    profiles = tuple(cache[key] for key in zip(members.maturity.tolist(), members.region.tolist(), strict=True))
    return World(config=config, catalog=catalog, interactions=interactions, profiles=profiles, truth=truth, now=config.now)
