"""Hypothesis strategies for catalogs, members, candidate rows and policies (for your own property tests).

Candidate rows are drawn from a SMALL pool of titles, so that rows overlap and deduplication,
refilling and caps really happen. ``instances()`` draws a whole selection problem at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from pagegen.core._candidates import CandidateRow
from pagegen.core._catalog import Catalog
from pagegen.core._resume import resumable
from pagegen.core._userstate import Profile, UserState
from policies._policy import Policy, policy_eligible
from policies._rules import member_eligible
from policies._shape import resize

__all__ = ["Instance", "NOW", "candidate_rows", "catalogs", "instances", "members", "policies", "shrink_policy"]

#: The request time of generated members (titles added after it are not yet on the service).
NOW = 1_700_000_000
GENRES = ("Action", "Comedy", "Drama", "Horror", "Kids")
REGIONS = ("FR", "US")
KINDS = ("continue_watching", "top_picks", "top10", "trending", "because_you_watched", "genre", "new_releases", "popular")


@st.composite
def catalogs(draw, min_titles: int = 8, max_titles: int = 24) -> Catalog:
    """Small catalogs: movies, series with episodes, maturity levels, regional and future titles."""
    n = draw(st.integers(min_titles, max_titles))
    kinds, series = [], []
    for i in range(n):
        episode = i > 0 and kinds[i - 1] in ("series", "episode") and draw(st.booleans())
        if episode:
            kinds.append("episode")
            series.append(series[i - 1] if kinds[i - 1] == "episode" else f"t{i - 1}")
        else:
            kinds.append(draw(st.sampled_from(("movie", "movie", "series"))))
            series.append(None)
    return Catalog.build(
        [f"t{i}" for i in range(n)],
        [f"Title {i}" for i in range(n)],
        draw(st.lists(st.lists(st.sampled_from(GENRES), min_size=1, max_size=2, unique=True), min_size=n, max_size=n)),
        kind=kinds,
        series=series,
        maturity=draw(st.lists(st.sampled_from(("all", "7+", "13+", "16+", "18+")), min_size=n, max_size=n)),
        regions=draw(st.lists(st.sampled_from(((), (), ("US",), ("FR",), REGIONS)), min_size=n, max_size=n)),
        added=draw(st.lists(st.sampled_from((0, 0, 0, NOW - 10, NOW + 10)), min_size=n, max_size=n)),
        genre_names=GENRES,
    )


@st.composite
def members(draw, catalog: Catalog, now: int = NOW, cold: bool | None = None) -> UserState:
    """A member at ``now``: profile (maturity, region) and plays (finished, in progress) before ``now``."""
    region = draw(st.sampled_from((None, *catalog.region_names)))
    profile = Profile(maturity=draw(st.sampled_from((0, 1, 2, 3, 4, 4, 4))), region=region)
    if cold if cold is not None else draw(st.booleans()) and draw(st.booleans()):
        return UserState.cold(now, profile, user="cold")
    k = draw(st.integers(0, catalog.n))
    items = draw(st.permutations(range(catalog.n)))[:k]
    events = [{"item": f"t{i}", "timestamp": now - 1000 + j, "kind": "play", "value": draw(st.sampled_from((0.2, 0.5, 0.95, 1.0)))} for j, i in enumerate(items)]
    return UserState.from_history(catalog, events, now, profile, user=f"m{draw(st.integers(0, 99))}")


@st.composite
def candidate_rows(draw, catalog: Catalog, user: UserState, eligible: np.ndarray, max_rows: int = 10, max_len: int = 8) -> list[CandidateRow]:
    """Candidate rows over the eligible titles, as rankers would return them (unique keys, scores descending).

    A continue-watching row holds the eligible titles the member can resume (``resumable``, what the
    Continue Watching ranker shows); genre rows declare their genre, and half of the other rows declare
    one too (as a ranker may), from three genres, so that genre caps bind.
    """
    pool = np.flatnonzero(eligible)
    rows: list[CandidateRow] = []
    tiles = resumable(user, catalog, eligible).tile
    progress = tiles[np.sort(np.unique(tiles, return_index=True)[1])]
    if len(progress):
        rows.append(_row(draw, "continue_watching", "cw", progress, {}))
    if len(pool) == 0:
        return rows
    for k in range(draw(st.integers(min(2, max_rows), max_rows))):
        kind = draw(st.sampled_from((*KINDS[1:], "genre", "because_you_watched")))  # the capped kinds twice as often
        size = draw(st.integers(1, min(max_len, len(pool))))
        items = np.asarray(draw(st.permutations(pool.tolist()))[:size], dtype=np.int32)
        evidence: dict = {}
        if kind == "genre" or draw(st.booleans()):
            evidence = {"genre": draw(st.sampled_from(GENRES[:3]))}
        rows.append(_row(draw, kind, f"{kind}:{k}", items, evidence))
    return rows


def _row(draw, kind: str, key: str, items: np.ndarray, evidence: dict) -> CandidateRow:
    scores = np.sort(np.asarray(draw(st.lists(st.floats(0.0, 1.0, width=32), min_size=len(items), max_size=len(items))), np.float32))[::-1]
    return CandidateRow(kind=kind, key=key, title=key, items=items, scores=scores, evidence=evidence, score=draw(st.floats(0.0, 1.0, width=32)))


@st.composite
def policies(draw, max_rows: int = 5, max_len: int = 5) -> Policy:
    """Small valid policies: row minimums, dedup scope, repeats, caps, genre caps, pins, windows, attention."""
    n_rows = draw(st.integers(2, max_rows))
    row_length = draw(st.integers(2, max_len))
    dedup = draw(st.sampled_from(("page", "window")))
    pins = []
    if draw(st.sampled_from((True, True, True, False))):
        pins.append({"kind": "continue_watching", "within": draw(st.integers(1, min(2, n_rows))), "when": "in_progress"})
    if draw(st.booleans()):
        at = draw(st.integers(0, n_rows - 1))
        if not pins or at >= pins[0]["within"] or pins[0]["within"] > 1:
            pins.append({"kind": "top10", "at": at})
    return Policy(
        name="generated",
        n_rows=n_rows,
        row_length=row_length,
        min_titles=draw(st.integers(1, max(1, row_length - 1))),
        min_titles_per_kind=draw(st.sampled_from(({}, {"continue_watching": 1}, {"continue_watching": row_length}))),
        windows={"web": {"rows": draw(st.integers(1, n_rows)), "columns": draw(st.integers(1, row_length))}},
        dedup=dedup,
        max_appearances=draw(st.integers(1, 2)),
        max_appearances_below=draw(st.sampled_from((None, 1, 2))) if dedup == "window" else None,
        max_rows_per_kind={"because_you_watched": draw(st.integers(0, 2)), "genre": draw(st.integers(1, 3))},
        genre_cap=draw(st.sampled_from((None, {"max_rows": 1, "span": 2}, {"max_rows": 1, "span": 3}, {"max_rows": 2, "span": 3}))),
        pins=pins,
        diversity=draw(st.sampled_from((0.0, 0.3, 1.0))),
        attention={"row_decay": draw(st.sampled_from((0.6, 0.85, 1.0))), "column_decay": draw(st.sampled_from((0.7, 0.92)))},
        eligibility={"exclude_genres": draw(st.sampled_from(((), ("Horror",))))},
    )


def shrink_policy(policy: Policy | str, n_rows: int, row_length: int) -> Policy:
    """A preset cut down to a small page (``policies.resize``: windows and pins clipped), keeping its other rules."""
    return resize(policy, n_rows, row_length)


@dataclass(frozen=True)
class Instance:
    """One selection problem: a catalog, a member, what they may see, candidate rows, a policy."""

    catalog: Catalog
    user: UserState
    eligible: np.ndarray
    rows: list[CandidateRow]
    policy: Policy


@st.composite
def instances(draw, policy: Policy | None = None, max_rows: int = 10, max_len: int = 8, cold: bool | None = None) -> Instance:
    """A whole problem; ``policy`` fixed (e.g. a preset) or drawn with ``policies()``."""
    catalog = draw(catalogs())
    user = draw(members(catalog, cold=cold))
    pol = policy if policy is not None else draw(policies())
    eligible = member_eligible(catalog, user) & policy_eligible(pol, catalog)
    rows = draw(candidate_rows(catalog, user, eligible, max_rows=max_rows, max_len=max_len))
    return Instance(catalog=catalog, user=user, eligible=eligible, rows=rows, policy=pol)
