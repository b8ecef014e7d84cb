"""The built-in page rules. A rule is one callable ``(page, policy, user, catalog) -> list[Violation]``."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from pagegen.core._candidates import row_genres

from ._policy import Policy, policy_eligible

if TYPE_CHECKING:
    from pagegen.core._catalog import Catalog
    from pagegen.core._page import Page
    from pagegen.core._userstate import UserState

__all__ = [
    "Rule",
    "Violation",
    "dedup",
    "eligibility",
    "genre_cap",
    "kind_cap",
    "member_eligible",
    "pins",
    "row_count",
    "row_length",
    "unique_keys",
]


@dataclass(frozen=True)
class Violation:
    """One broken rule: which rule, where on the page (0-based row and column), which title."""

    rule: str
    row: int | None
    column: int | None
    title: str | None
    message: str

    def __str__(self) -> str:
        where = "page" if self.row is None else f"row {self.row}" + ("" if self.column is None else f", column {self.column}")
        what = "" if self.title is None else f" (title {self.title!r})"
        return f"{self.rule}: {where}{what}: {self.message}"


class Rule(Protocol):
    """A page rule: one call returning the violations it finds (an empty list when the page is fine)."""

    def __call__(self, page: Page, policy: Policy, user: UserState, catalog: Catalog, /) -> list[Violation]: ...


def member_eligible(catalog: Catalog, user: UserState) -> np.ndarray:
    """Titles the member may be shown: displayable, maturity, region, already added, not finished."""
    mask = catalog.displayable() & (catalog.maturity <= user.profile.maturity)
    mask &= catalog.available_in(user.profile.region) & (catalog.added <= user.now)
    finished = user.finished()
    mask[finished[finished < catalog.n]] = False
    return mask


def row_count(page: Page, policy: Policy, user: UserState, catalog: Catalog) -> list[Violation]:
    """At most ``n_rows`` rows."""
    if len(page.rows) > policy.n_rows:
        return [Violation("row_count", policy.n_rows, None, None, f"{len(page.rows)} rows > n_rows ({policy.n_rows})")]
    return []


def row_length(page: Page, policy: Policy, user: UserState, catalog: Catalog) -> list[Violation]:
    """Each row holds between ``min_titles`` and ``row_length`` titles, none twice."""
    out = []
    for r, row in enumerate(page.rows):
        n = len(row.slots)
        if n > policy.row_length:
            out.append(Violation("row_length", r, policy.row_length, row.slots[policy.row_length].id, f"{n} titles > row_length ({policy.row_length})"))
        if n < policy.min_titles:
            out.append(Violation("row_length", r, None, None, f"{n} titles < min_titles ({policy.min_titles})"))
        seen: set[str] = set()
        for c, slot in enumerate(row.slots):
            if slot.id in seen:
                out.append(Violation("row_length", r, c, slot.id, "title repeated within its row"))
            seen.add(slot.id)
    return out


def unique_keys(page: Page, policy: Policy, user: UserState, catalog: Catalog) -> list[Violation]:
    """No candidate row appears twice."""
    first: dict[str, int] = {}
    out = []
    for r, row in enumerate(page.rows):
        if row.key in first:
            out.append(Violation("unique_keys", r, None, None, f"row key {row.key!r} already at row {first[row.key]}"))
        first.setdefault(row.key, r)
    return out


def dedup(page: Page, policy: Policy, user: UserState, catalog: Catalog) -> list[Violation]:
    """A title appears at most ``max_appearances`` times within the dedup scope (page or visible window)."""
    window = policy.window(page.device)
    seen: Counter[str] = Counter()
    out = []
    for r, row in enumerate(page.rows):
        if policy.dedup == "window" and r >= window.rows:
            break
        slots = row.slots if policy.dedup == "page" else row.slots[: window.columns]
        for c, slot in enumerate(slots):
            seen[slot.id] += 1
            if seen[slot.id] > policy.max_appearances:
                out.append(Violation("dedup", r, c, slot.id, f"appearance {seen[slot.id]} > max_appearances ({policy.max_appearances}) within the {policy.dedup}"))
    return out


def kind_cap(page: Page, policy: Policy, user: UserState, catalog: Catalog) -> list[Violation]:
    """At most ``max_rows_per_kind[kind]`` rows of a kind (a pinned kind: once)."""
    counts: Counter[str] = Counter()
    out = []
    for r, row in enumerate(page.rows):
        counts[row.kind] += 1
        cap = policy.kind_cap(row.kind)
        if counts[row.kind] > cap:
            out.append(Violation("kind_cap", r, None, None, f"row {counts[row.kind]} of kind {row.kind!r} > cap ({cap})"))
    return out


def genre_cap(page: Page, policy: Policy, user: UserState, catalog: Catalog) -> list[Violation]:
    """At most ``genre_cap.max_rows`` rows declaring one genre within any ``genre_cap.span`` consecutive rows."""
    cap = policy.genre_cap
    if cap is None:
        return []
    declared = [set(row_genres(row.evidence)) for row in page.rows]
    out = []
    for r in range(len(page.rows)):
        for g in sorted(declared[r]):
            recent = sum(g in declared[q] for q in range(max(0, r - cap.span + 1), r + 1))
            if recent > cap.max_rows:
                out.append(Violation("genre_cap", r, None, None, f"{recent} rows of genre {g!r} within {cap.span} consecutive rows > {cap.max_rows}"))
    return out


def pins(page: Page, policy: Policy, user: UserState, catalog: Catalog) -> list[Violation]:
    """Pinned kinds stand at their rows; an 'in_progress' pin is present when the member has titles in progress."""
    out = []
    last = len(page.rows) - 1
    for pin in policy.pins:
        allowed = pin.positions(policy.n_rows)
        at = [r for r, row in enumerate(page.rows) if row.kind == pin.kind]
        for r in at:
            late_ok = pin.at is not None and r == last and r < pin.at
            if r not in allowed and not late_ok:
                out.append(Violation("pins", r, None, None, f"pinned kind {pin.kind!r} at row {r}, expected {_where(pin)}"))
        if not at and pin.when == "in_progress":
            progress = user.in_progress()
            progress = progress[progress < catalog.n]
            ok = member_eligible(catalog, user) & policy_eligible(policy, catalog)
            if int(ok[progress].sum()) >= policy.min_titles:
                out.append(Violation("pins", None, None, None, f"no {pin.kind!r} row although the member has {int(ok[progress].sum())} eligible titles in progress"))
    return out


def _where(pin) -> str:
    return f"row {pin.at}" if pin.at is not None else f"within the first {pin.within} rows"


def eligibility(page: Page, policy: Policy, user: UserState, catalog: Catalog) -> list[Violation]:
    """Every title is known, displayable and eligible for the member (maturity, region, added, not finished) and the policy."""
    member = member_eligible(catalog, user)
    allowed = policy_eligible(policy, catalog)
    out = []
    for r, row in enumerate(page.rows):
        for c, slot in enumerate(row.slots):
            if slot.id not in catalog.vocab:
                out.append(Violation("eligibility", r, c, slot.id, "unknown title"))
                continue
            i = catalog.index(slot.id)
            if not member[i]:
                out.append(Violation("eligibility", r, c, slot.id, _why(catalog, user, i)))
            elif not allowed[i]:
                out.append(Violation("eligibility", r, c, slot.id, "excluded by the policy's eligibility rules"))
    return out


def _why(catalog: Catalog, user: UserState, i: int) -> str:
    if not catalog.displayable()[i]:
        return "not displayable (an episode)"
    if catalog.maturity[i] > user.profile.maturity:
        return f"maturity {int(catalog.maturity[i])} above the profile's {user.profile.maturity}"
    if not catalog.available_in(user.profile.region)[i]:
        return f"not available in region {user.profile.region!r}"
    if catalog.added[i] > user.now:
        return "not yet on the service at now"
    return "already finished by the member"
