"""The built-in rules as plain functions ``(page, policy, user, catalog) -> list[Violation]``: each runs the
violations face of the policy's constraint of that name (``Policy.constraints``), the one place the rule lives."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._violation import Rule, Violation, member_eligible

if TYPE_CHECKING:
    from pagegen.core._catalog import Catalog
    from pagegen.core._page import Page
    from pagegen.core._userstate import UserState

    from ._policy import Policy

__all__ = ["Rule", "Violation", "dedup", "eligibility", "genre_cap", "kind_cap", "member_eligible", "pins", "row_count", "row_length", "unique_keys"]


def _face(name: str) -> Rule:
    def rule(page: Page, policy: Policy, user: UserState, catalog: Catalog) -> list[Violation]:
        return [v for c in policy.constraints() if c.name == name for v in c.violations(page, policy, user, catalog)]

    rule.__name__ = rule.__qualname__ = name
    rule.__doc__ = f"The violations of the policy's {name!r} constraint."
    return rule


dedup = _face("dedup")
eligibility = _face("eligibility")
genre_cap = _face("genre_cap")
kind_cap = _face("kind_cap")
pins = _face("pins")
row_count = _face("row_count")
row_length = _face("row_length")
unique_keys = _face("unique_keys")
