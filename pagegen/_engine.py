"""The page builder: ``Engine`` (catalog + model + policy) and ``build_page``."""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._candidates import CandidateRow, RankContext
from ._catalog import Catalog
from ._errors import DataError, PagegenError
from ._interactions import Interactions
from ._objective import SelectContext, Selection
from ._page import Page, Trace, TraceCandidate, TraceFailure, TraceStep, jsonable
from ._select import SELECTORS, Selector
from ._userstate import Profile, UserState

__all__ = ["Engine", "SELECTORS", "build_page", "default_engine"]

log = logging.getLogger("pagegen")


class Engine:
    """Builds members' pages from a catalog, a fitted model and a page policy.

    catalog, model   the service's titles and what ``fit`` learned
    policy           a Policy, or a preset name / policy file path (``load_policy``)
    rankers          mapping name -> ranker (default: the built-in ``rows`` registry)
    interactions     the event log members' states are read from (optional)
    profiles         one Profile per member index of ``interactions``, or a mapping member id -> Profile
    selector         the default page-construction approach (a SELECTORS name, or a selector callable)
    seed             the default seed; each request's generator derives from (seed, member)
    now              the default request time; default: one second after the last event
    debug            run ``policies.check`` on every page and raise PageCheckError on a violation
    """

    def __init__(
        self,
        catalog: Catalog,
        model: Any,
        policy: Any = "default",
        *,
        rankers: Mapping[str, Any] | None = None,
        interactions: Interactions | None = None,
        profiles: Sequence[Profile] | Mapping[str, Profile] | None = None,
        selector: str | Selector = "stage_wise",
        seed: int = 0,
        now: int | None = None,
        debug: bool = False,
    ) -> None:
        from policies._policy import load_policy
        from rows._registry import default_rankers

        self.catalog = catalog
        self.model = model
        self.policy = load_policy(policy)
        self.rankers = dict(rankers) if rankers is not None else default_rankers()
        self.interactions = interactions
        self.profiles = profiles
        self.selector = selector
        self.seed = int(seed)
        if now is None and interactions is not None and len(interactions):
            now = int(interactions.timestamp.max()) + 1
        self.now = now
        self.debug = debug
        _selector(selector)
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
        when = self.now if now is None else int(now)
        if when is None:
            raise DataError("no request time: pass now= (the engine has no events to default from)", field="now")
        user = str(user)
        if self.interactions is not None and user in self.interactions.users:
            return UserState.from_interactions(self.interactions, user, when, self.profile(user))
        return UserState.cold(when, self.profile(user), user=user)

    def rank_context(self, state: UserState, seed: int) -> RankContext:
        """The rankers' context for one request: the member's eligibility narrowed by the policy's rules."""
        from policies._policy import policy_eligible
        from rows._context import make_context

        base = make_context(self.catalog, self.model, state, n=self.policy.row_length, seed=seed)
        eligible = base.eligible & policy_eligible(self.policy, self.catalog)
        eligible.setflags(write=False)
        return RankContext(catalog=self.catalog, model=self.model, user=state, eligible=eligible, n=base.n, rng=base.rng)

    def build(
        self,
        user: str | UserState,
        *,
        now: int | None = None,
        device: str = "web",
        selector: str | Selector | None = None,
        seed: int | None = None,
        trace: bool = False,
    ) -> Page:
        """The member's page for ``device`` at ``now``.

        A ranker that raises or returns bad rows is dropped for this request (logged, and listed in
        the trace); only when no row can be built does the call fail, with a PagegenError.
        """
        from policies._check import PageCheckError, check
        from rows._registry import candidate_rows

        if isinstance(user, UserState):
            if now is not None and int(now) != user.now:
                raise DataError(f"a UserState carries its own now ({user.now})", field="now", value=now)
            state = user
        else:
            state = self.state(user, now)
        policy = self.policy
        policy.window(device)
        seed = self.seed if seed is None else int(seed)
        name, select = _selector(self.selector if selector is None else selector)
        ctx = self.rank_context(state, seed)
        rows, failures = candidate_rows(ctx, self.rankers)
        who = state.user if state.user is not None else "(anonymous)"
        for f in failures:
            log.warning("ranker %r dropped for member %s: %s", f.name, who, f.error)
        if not rows:
            why = "; ".join(f"{f.name}: {f.error}" for f in failures) or "every ranker returned no rows"
            raise PagegenError(f"no page for member {who}: no candidate rows ({why})")
        selection = select(rows, policy, SelectContext(catalog=self.catalog, eligible=ctx.eligible, device=device, rng=ctx.rng, rank=ctx))
        if not selection.rows:
            raise PagegenError(f"no page for member {who}: none of the {len(rows)} candidate rows fits policy {policy.name!r}")
        page = assemble(rows, selection, self.catalog, user=state.user, policy=policy.name, selector=name, device=device, now=state.now, seed=seed,
                        failures=[(f.name, f.error) for f in failures] if trace else None, trace=trace)  # fmt: skip
        if self.debug:
            violations = check(page, policy, state, self.catalog)
            if violations:
                raise PageCheckError(violations)
        return page


def _selector(selector: str | Selector) -> tuple[str, Selector]:
    if isinstance(selector, str):
        if selector not in SELECTORS:
            raise DataError(f"unknown selector, expected one of {', '.join(SELECTORS)}", field="selector", value=selector)
        return selector, SELECTORS[selector]
    if not callable(selector):
        raise DataError("a selector is a name or a callable (rows, policy, ctx) -> Selection", field="selector", value=selector)
    return getattr(selector, "__name__", type(selector).__name__), selector


def assemble(
    rows: Sequence[CandidateRow], selection: Selection, catalog: Catalog, *, user: str | None, policy: str, selector: str,
    device: str, now: int, seed: int, failures: Sequence[tuple[str, str]] | None = None, trace: bool = False,
) -> Page:  # fmt: skip
    """The Page of a selection: external ids, display titles, ranker scores and reasons."""
    # one gather per column over the whole page, then plain dicts that pydantic-core validates in one call
    where = np.empty(catalog.n, dtype=np.intp)  # scratch: position of each title in the candidate row
    positions, gathered = [], []
    for placed in selection.rows:
        row = rows[placed.row]
        where[row.items] = np.arange(len(row.items))
        pos = where[placed.items]
        positions.append(pos)
        gathered.append(row.scores[pos])
    everything = np.concatenate([p.items for p in selection.rows]) if selection.rows else np.zeros(0, np.int32)
    ids, titles = catalog.ids[everything].tolist(), catalog.titles[everything].tolist()
    scores = np.concatenate(gathered).astype(np.float64).round(6).tolist() if gathered else []
    reasons: list = []
    for placed, pos in zip(selection.rows, positions, strict=True):
        given = rows[placed.row].reasons
        reasons.extend([given[k] for k in pos.tolist()] if given is not None else [None] * len(pos))
    slots = [{"id": i, "title": t, "score": sc, "reason": r} for i, t, sc, r in zip(ids, titles, scores, reasons, strict=True)]
    page_rows, start = [], 0
    for placed in selection.rows:
        row = rows[placed.row]
        stop = start + len(placed.items)
        page_rows.append({"kind": row.kind, "key": row.key, "title": row.title, "evidence": jsonable(row.evidence), "slots": slots[start:stop]})
        start = stop
    record = None
    if trace:
        record = Trace(
            candidates=[TraceCandidate(kind=r.kind, key=r.key, score=r.score, n=len(r)) for r in rows],
            steps=[TraceStep(**s) for s in selection.steps],
            failures=[TraceFailure(ranker=n, error=e) for n, e in failures or ()],
            objective=selection.objective,
            status=selection.status,
            gap=selection.gap,
        )
    return Page.model_validate({"user": user, "policy": policy, "selector": selector, "device": device, "now": int(now), "seed": int(seed), "rows": page_rows, "trace": record})


@functools.lru_cache(maxsize=1)
def default_engine() -> Engine:
    """The engine on the built-in synthetic world ("small"), fitted once per process."""
    from ._fit import fit
    from ._synthetic import synthetic_world

    world = synthetic_world("small")
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    return Engine(world.catalog, model, "default", interactions=world.interactions, profiles=world.profiles, now=world.now)


def build_page(user: str | UserState | None = None, *, engine: Engine | None = None, **build_kwargs: Any) -> Page:
    """A member's page. Without ``engine``: on the built-in synthetic world; without ``user``: its first member."""
    engine = engine or default_engine()
    if user is None:
        if engine.interactions is None or not engine.interactions.n_users:
            raise DataError("no member given and the engine has no members", field="user")
        user = engine.interactions.users.id(0)
    return engine.build(user, **build_kwargs)
