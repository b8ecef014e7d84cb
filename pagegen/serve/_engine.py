"""The page builder: ``Engine`` (catalog + model + policy) and ``build_page``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from pagegen.core._candidates import RankContext
from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError, PagegenError, PolicyError
from pagegen.core._extras import require
from pagegen.core._interactions import Interactions
from pagegen.core._page import Page
from pagegen.core._userstate import Profile, UserState, as_now
from pagegen.data._synthetic import synthetic_world
from pagegen.models._fit import fit
from pagegen.page._assemble import assemble
from pagegen.page._fatigue import FatigueConfig, demote_fatigued
from pagegen.page._objective import SelectContext
from pagegen.page._registry import SELECTORS
from pagegen.page._select import Selector
from policies._check import PageCheckError, check
from policies._policy import Policy, load_policy, policy_eligible
from policies._route import AUTO, preset_for
from rows._context import make_context, shared_context
from rows._registry import candidate_rows, default_rankers

from ._frames import pages_frame

__all__ = ["SELECTORS", "Engine", "assemble", "build_page", "default_engine"]

log = logging.getLogger("pagegen")


class Engine:
    """Builds members' pages from a catalog, a fitted model and a page policy.

    catalog, model   the service's titles and what ``fit`` learned
    policy           "auto" (default): each request is served the preset its profile and device call
                     for (``policies.preset_for``: kids profiles the kids preset, else the device's);
                     or a forced Policy, preset name or policy file path (``load_policy``) for all
    rankers          mapping name -> ranker (default: the built-in ``rows`` registry)
    interactions     the event log members' states are read from (optional)
    profiles         one Profile per member index of ``interactions``, or a mapping member id -> Profile
    selector         the default page-construction approach (a SELECTORS name, or a selector callable)
    seed             the default seed; each request's generator derives from (seed, member, visit)
    now              the default request time; default: one second after the last event
    debug            run ``policies.check`` on every page and raise PageCheckError on a violation
    fatigue          impression fatigue: titles shown k times lately without a play move down
                     (``pagegen.page._fatigue``); None: off
    """

    def __init__(
        self,
        catalog: Catalog,
        model: Any,
        policy: Any = AUTO,
        *,
        rankers: Mapping[str, Any] | None = None,
        interactions: Interactions | None = None,
        profiles: Sequence[Profile] | Mapping[str, Profile] | None = None,
        selector: str | Selector = "stage_wise",
        seed: int = 0,
        now: int | None = None,
        debug: bool = False,
        fatigue: FatigueConfig | None = FatigueConfig(),  # noqa: B008 (frozen)
    ) -> None:
        self.catalog = catalog
        self.model = model
        self.auto = isinstance(policy, str) and policy == AUTO
        #: the forced policy; under "auto", the default preset (what a web request of a grown-up profile gets)
        self.policy = load_policy("default" if self.auto else policy)
        self._presets: dict[str, Policy] = {self.policy.name: self.policy} if self.auto else {}
        self.rankers = dict(rankers) if rankers is not None else default_rankers()
        self.interactions = interactions
        self.profiles = profiles
        self.selector = selector
        self.seed = int(seed)
        if now is None and interactions is not None and len(interactions):
            now = int(interactions.timestamp.max()) + 1
        self.now = None if now is None else as_now(now)
        self.debug = debug
        if fatigue is not None and not isinstance(fatigue, FatigueConfig):
            raise DataError("expected a FatigueConfig or None", field="fatigue", value=fatigue)
        self.fatigue = fatigue
        _selector(selector)
        if hasattr(model, "check_catalog"):  # a fitted Model; tests and custom rankers may pass other objects
            model.check_catalog(catalog)
        _same_in_progress(self.policy, self.rankers)
        if interactions is not None and interactions.n_items != catalog.n:
            raise DataError(f"interactions are over {interactions.n_items} titles, the catalog has {catalog.n}", field="interactions", value=interactions.n_items)

    def profile(self, user: str) -> Profile:
        """The member's profile (the default Profile when unknown)."""
        if isinstance(self.profiles, Mapping):
            return self.profiles.get(user, Profile())
        if self.profiles is not None and self.interactions is not None and user in self.interactions.users:
            return self.profiles[self.interactions.users.index(user)]
        return Profile()

    def state(self, user: str, now: int | None = None) -> UserState:
        """The member as of ``now`` (events strictly before it); a member without events is cold."""
        when = self.now if now is None else as_now(now)
        if when is None:
            raise DataError("no request time: pass now= (the engine has no events to default from)", field="now")
        user = str(user)
        if self.interactions is not None and user in self.interactions.users:
            return UserState.from_interactions(self.interactions, user, when, self.profile(user))
        return UserState.cold(when, self.profile(user), user=user)

    def policy_for(self, profile: Profile, device: str = "web") -> Policy:
        """The policy a request from ``profile`` on ``device`` is served: the forced one, or under "auto"
        the preset ``policies.preset_for`` names (PolicyError for a device it does not know)."""
        if not self.auto:
            return self.policy
        name = preset_for(profile, device)
        if name not in self._presets:
            policy = load_policy(name)
            _same_in_progress(policy, self.rankers)
            self._presets[name] = policy
        return self._presets[name]

    def rank_context(self, state: UserState, seed: int, policy: Policy | None = None, visit: int | str | None = None) -> RankContext:
        """The rankers' context for one request: the member's eligibility narrowed by the policy's rules
        (``policy``: default, the one a web request of the member is served; ``visit``: see ``build``).

        The member-independent part (eligibility base, candidate pools, popularity orderings) is
        shared by the requests at the same ``now`` and profile (``rows._context.shared_context``).
        """

        policy = self.policy_for(state.profile) if policy is None else policy
        rules, rules_key = self._policy_rules(policy)
        shared = shared_context(self.catalog, self.model, state.now, state.profile, rules=rules, rules_key=rules_key)
        return make_context(self.catalog, self.model, state, n=policy.row_length, seed=seed, shared=shared, visit=visit)

    def _policy_rules(self, policy: Policy) -> tuple[np.ndarray, bytes]:
        """The policy's eligibility mask over the catalog, and its bytes (the shared contexts' key), once per policy."""

        cache = self.__dict__.setdefault("_rules", {})
        cached = cache.get(id(policy))
        if cached is None or cached[0] is not policy or cached[1] is not self.catalog:
            mask = np.ascontiguousarray(policy_eligible(policy, self.catalog), dtype=bool)
            mask.setflags(write=False)
            cached = cache[id(policy)] = (policy, self.catalog, mask, mask.tobytes())
        return cached[2], cached[3]

    def build(
        self,
        user: str | UserState,
        *,
        now: int | None = None,
        device: str = "web",
        selector: str | Selector | None = None,
        seed: int | None = None,
        trace: bool = False,
        visit: int | str | None = None,
    ) -> Page:
        """The member's page for ``device`` at ``now``.

        ``visit`` identifies the member's visit: the page's exploration (which genre slices are
        explored) is drawn from (seed, member, visit), so each visit draws anew and the same visit
        gives the same bytes. Pass the request's id (a string) or a session counter; by default a
        visit is the request's ``now`` (a retry within the same second sees the same page).

        A ranker that raises or returns bad rows is dropped for this request (logged, and listed in
        the trace); only when no row can be built does the call fail, with a PagegenError.
        """
        state, policy, rows, selection, failures, name, seed, fatigued = self._select(user, now, device, selector, seed, visit)
        shown = policy.window(device)
        page = assemble(rows, selection, self.catalog, user=state.user, policy=policy.name, selector=name, device=device, now=state.now, seed=seed,
                        failures=[(f.name, f.error) for f in failures] if trace else None, trace=trace, fatigued=fatigued,
                        visit=state.now if visit is None else visit, window=(shown.rows, shown.columns))  # fmt: skip
        if self.debug:
            self._check(page, policy, state)
        return page

    def build_many(
        self,
        users: Sequence[str | UserState],
        *,
        now: int | None = None,
        device: str = "web",
        selector: str | Selector | None = None,
        seed: int | None = None,
        visit: int | str | None = None,
    ) -> list[Page]:
        """The pages ``build`` returns for each of ``users`` one by one (same order, same JSON);
        meant for batch jobs, which pass a chunk of members at a time.

        The members of a chunk share the member-independent work (eligibility base, candidate
        pools, popularity orderings, the model's per-``now`` answers) through the shared contexts
        and the model's cache. Their personal scores stay one product per member: a product over
        the whole chunk rounds differently and would change the pages.
        """
        return [self.build(user, now=now, device=device, selector=selector, seed=seed, visit=visit) for user in users]

    def dump_many(
        self,
        users: Sequence[str | UserState],
        *,
        now: int | None = None,
        device: str = "web",
        selector: str | Selector | None = None,
        seed: int | None = None,
        visit: int | str | None = None,
    ) -> list[bytes]:
        """The JSON of the pages ``build_many`` returns (each ``page.to_json()``): what a batch job writes."""
        return [page.to_json() for page in self.build_many(users, now=now, device=device, selector=selector, seed=seed, visit=visit)]

    def recommend_frame(
        self,
        members: Sequence[str | UserState],
        *,
        now: int | None = None,
        device: str = "web",
        selector: str | Selector | None = None,
        seed: int | None = None,
        visit: int | str | None = None,
    ) -> Any:
        """The pages ``build_many`` returns, as a pandas DataFrame with one row per tile
        (``pages_frame``: member, row, column, item, title, score, reason, row kind, key, title
        and evidence). Needs the ``frames`` extra (pandas)."""
        require("pandas", "Engine.recommend_frame")
        return pages_frame(self.build_many(members, now=now, device=device, selector=selector, seed=seed, visit=visit))

    def _select(self, user: str | UserState, now: int | None, device: str, selector: str | Selector | None, seed: int | None, visit: int | str | None = None) -> tuple:
        """One request up to its selection: (state, policy, candidate rows, selection, ranker failures, selector name, seed,
        titles demoted for fatigue)."""

        if isinstance(user, UserState):
            if now is not None and as_now(now) != user.now:
                raise DataError(f"a UserState carries its own now ({user.now})", field="now", value=now)
            state = user
        else:
            state = self.state(user, now)
        policy = self.policy_for(state.profile, device)
        policy.window(device)
        seed = self.seed if seed is None else int(seed)
        name, select = _selector(self.selector if selector is None else selector)
        ctx = self.rank_context(state, seed, policy, visit)
        rows, failures = candidate_rows(ctx, self.rankers, budget=ranker_budget(policy))
        who = state.user if state.user is not None else "(anonymous)"
        for f in failures:
            log.warning("ranker %r dropped for member %s: %s", f.name, who, f.error)
        if not rows:
            why = "; ".join(f"{f.name}: {f.error}" for f in failures) or "every ranker returned no rows"
            raise PagegenError(f"no page for member {who}: no candidate rows ({why})")
        rows, fatigued = demote_fatigued(rows, state, self.catalog, self.fatigue)
        selection = select(rows, policy, SelectContext(catalog=self.catalog, eligible=ctx.eligible, device=device, rng=ctx.rng, rank=ctx))
        if not selection.rows:
            raise PagegenError(f"no page for member {who}: none of the {len(rows)} candidate rows fits policy {policy.name!r}")
        return state, policy, rows, selection, failures, name, seed, fatigued

    def _check(self, page: Page, policy: Policy, state: UserState) -> None:
        """``debug``: the page must pass ``policies.check`` under the policy it was served."""

        violations = check(page, policy, state, self.catalog)
        if violations:
            raise PageCheckError(violations)


def ranker_budget(policy: Policy) -> float | None:
    """The policy's ranker time budget in seconds (None: no budget)."""
    return None if policy.ranker_budget_ms is None else policy.ranker_budget_ms / 1000.0


def _same_in_progress(policy: Any, rankers: Mapping[str, Any]) -> None:
    """An 'in_progress' pin and the ranker registered under its kind must define "in progress" alike, or check() would
    require rows the ranker cannot give: a PolicyError naming both fields."""
    for i, pin in enumerate(policy.pins):
        config = getattr(rankers.get(pin.kind), "config", None)
        for field in ("max_age_days", "min_fraction"):
            if pin.when == "in_progress" and hasattr(config, field) and getattr(config, field) != getattr(pin, field):
                raise PolicyError(f"policy {policy.name!r}: pins[{i}].{field} ({getattr(pin, field)}) differs from the {pin.kind!r} ranker's config.{field} ({getattr(config, field)}); set both alike")


def _selector(selector: str | Selector) -> tuple[str, Selector]:
    if isinstance(selector, str):
        if selector not in SELECTORS:
            raise DataError(f"unknown selector, expected one of {', '.join(SELECTORS)}", field="selector", value=selector)
        return selector, SELECTORS[selector]
    if not callable(selector):
        raise DataError("a selector is a name or a callable (rows, policy, ctx) -> Selection", field="selector", value=selector)
    return getattr(selector, "__name__", type(selector).__name__), selector


@functools.lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine on the built-in synthetic world ("small"), fitted once per process."""

    world = synthetic_world("small")
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    return Engine(world.catalog, model, interactions=world.interactions, profiles=world.profiles, now=world.now)


def build_page(user: str | UserState | None = None, *, engine: Engine | None = None, **build_kwargs: Any) -> Page:
    """A member's page. Without ``engine``: on the built-in synthetic world; without ``user``: its first member."""
    engine = engine or default_engine()
    if user is None:
        if engine.interactions is None or not engine.interactions.n_users:
            raise DataError("no member given and the engine has no members", field="user")
        user = engine.interactions.users.id(0)
    return engine.build(user, **build_kwargs)
