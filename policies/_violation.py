"""What a page rule reports (``Violation``), the plain-function rule protocol (``Rule``) and the member's own eligibility."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from pagegen.core._catalog import Catalog
    from pagegen.core._page import Page
    from pagegen.core._userstate import UserState


__all__ = ["Rule", "Violation", "member_eligible", "why_ineligible"]


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

    def __call__(self, page: Page, policy: Any, user: UserState, catalog: Catalog, /) -> list[Violation]: ...


def member_eligible(catalog: Catalog, user: UserState) -> np.ndarray:
    """Titles the member may be shown: displayable, maturity, region, already added, not finished."""
    mask = catalog.displayable() & (catalog.maturity <= user.profile.maturity)
    mask &= catalog.available_in(user.profile.region) & (catalog.added <= user.now)
    finished = user.finished()
    mask[finished[finished < catalog.n]] = False
    return mask


def why_ineligible(catalog: Catalog, user: UserState, i: int) -> str:
    if not catalog.displayable()[i]:
        return "not displayable (an episode)"
    if catalog.maturity[i] > user.profile.maturity:
        return f"maturity {int(catalog.maturity[i])} above the profile's {user.profile.maturity}"
    if not catalog.available_in(user.profile.region)[i]:
        return f"not available in region {user.profile.region!r}"
    if catalog.added[i] > user.now:
        return "not yet on the service at now"
    return "already finished by the member"
