"""Page validation: ``check(page, policy, user, catalog)`` runs the rules and lists the violations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from pagegen.core._errors import PagegenError

from . import _rules
from ._policy import Policy
from ._rules import Rule, Violation

if TYPE_CHECKING:
    from pagegen.core._catalog import Catalog
    from pagegen.core._page import Page
    from pagegen.core._userstate import UserState

__all__ = ["PageCheckError", "RULES", "check"]

#: The built-in rules, by name; ``check`` runs them all unless given its own mapping.
RULES: dict[str, Rule] = {
    "dedup": _rules.dedup,
    "eligibility": _rules.eligibility,
    "genre_cap": _rules.genre_cap,
    "kind_cap": _rules.kind_cap,
    "pins": _rules.pins,
    "row_count": _rules.row_count,
    "row_length": _rules.row_length,
    "unique_keys": _rules.unique_keys,
}


class PageCheckError(PagegenError):
    """A built page breaks its policy (raised by the Engine's debug switch); ``violations`` lists why."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        head = "; ".join(str(v) for v in violations[:5])
        more = f" (and {len(violations) - 5} more)" if len(violations) > 5 else ""
        super().__init__(f"page breaks its policy: {head}{more}")


def check(page: Page, policy: Policy, user: UserState, catalog: Catalog, *, rules: Mapping[str, Rule] | None = None) -> list[Violation]:
    """All violations of ``policy`` on ``page`` for ``user`` (an empty list when the page is valid).

    By default every constraint of the policy (``policy.constraints()``: the built-in rules by name, then
    the policy's own ``rules``) reports its violations. ``rules`` replaces them with plain rule functions
    by name, e.g. ``{**RULES, "mine": my_rule}``.
    """
    out: list[Violation] = []
    if rules is None:
        for constraint in policy.constraints():
            out.extend(constraint.violations(page, policy, user, catalog))
        return out
    for name in sorted(rules):
        out.extend(rules[name](page, policy, user, catalog))
    return out
