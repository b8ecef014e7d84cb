"""The built-in page rules as constraints (the pins are in ``_pins``, deduplication in ``_dedup``); ``Policy.constraints()`` builds them.

Each class holds the policy fields it needs and gives the three faces of ``policies._constraint.Constraint``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pagegen.core._candidates import row_genres

from ._constraint import ExactModel, Loop
from ._violation import Violation, member_eligible, why_ineligible

if TYPE_CHECKING:
    from pagegen.core._catalog import Catalog
    from pagegen.core._page import Page
    from pagegen.core._userstate import UserState


__all__ = ["EligibleTitles", "GenreSpanCap", "KindCap", "MinTitles", "RowCount", "RowLength", "UniqueKeys", "padded"]


def padded(loop: Loop) -> np.ndarray:
    """intp (R, Lmax): ``M`` with its pads set to n_items (kept in ``loop.memo``: a title mask of n_items + 1 reads it)."""
    pad = loop.memo.get(padded)
    if pad is None:
        M = loop.candidates.M
        pad = loop.memo[padded] = np.where(M >= 0, M, loop.candidates.catalog.n).astype(np.intp)
    return pad


@dataclass(frozen=True)
class MinTitles:
    """The fewest titles a row needs to stand: ``per_kind`` (kind, n) pairs, else ``default``. The one rule
    every face reads (row length, the rows a pin designates, the rows the exact model holds)."""

    default: int
    per_kind: tuple[tuple[str, int], ...] = ()

    def of(self, kind: str) -> int:
        return dict(self.per_kind).get(kind, self.default)

    def of_rows(self, candidates: Any) -> np.ndarray:
        """intp (R,): the minimum of each candidate row, by its kind."""
        by_kind = np.array([self.of(k) for k in candidates.kinds], dtype=np.intp)
        return by_kind[candidates.kind] if len(by_kind) else np.zeros(len(candidates.kind), dtype=np.intp)


@dataclass(frozen=True, eq=False)
class RowCount:
    """At most ``n_rows`` rows."""

    n_rows: int
    name: str = "row_count"

    def entries(self, loop: Loop) -> None:
        return None

    def rows(self, loop: Loop) -> np.ndarray | None:
        return None if loop.p < self.n_rows else np.zeros(len(loop.candidates.rows), dtype=bool)

    def add_to(self, model: ExactModel) -> None:
        for (p, _r), u in model.u.items():
            if p >= self.n_rows:
                model.model.add(u == 0)

    def violations(self, page: Page, policy: Any, user: UserState, catalog: Catalog) -> list[Violation]:
        if len(page.rows) > self.n_rows:
            return [Violation(self.name, self.n_rows, None, None, f"{len(page.rows)} rows > n_rows ({self.n_rows})")]
        return []


@dataclass(frozen=True, eq=False)
class RowLength:
    """Each row holds between its kind's minimum (``min_titles``) and ``row_length`` titles, none twice (the
    builders show at most ``row_length`` titles a row, the page grid's width)."""

    row_length: int
    min_titles: MinTitles
    name: str = "row_length"

    def entries(self, loop: Loop) -> None:
        return None

    def rows(self, loop: Loop) -> np.ndarray:
        least = loop.memo.get(self)
        if least is None:
            least = loop.memo[self] = self.min_titles.of_rows(loop.candidates)
        return loop.refilled >= least

    def add_to(self, model: ExactModel) -> None:
        shown: dict[tuple[int, int], list] = {}
        for (p, r, _j, c), x in model.x.items():
            if c < self.row_length:
                shown.setdefault((p, r), []).append(x)
            else:
                model.model.add(x == 0)
        least = self.min_titles.of_rows(model.candidates)
        for (p, r), u in model.u.items():
            xs = shown.get((p, r), [])
            model.model.add(sum(xs) >= int(least[r]) * u)
            model.model.add(sum(xs) <= self.row_length * u)

    def violations(self, page: Page, policy: Any, user: UserState, catalog: Catalog) -> list[Violation]:
        out = []
        for r, row in enumerate(page.rows):
            n = len(row.slots)
            if n > self.row_length:
                out.append(Violation(self.name, r, self.row_length, row.slots[self.row_length].id, f"{n} titles > row_length ({self.row_length})"))
            least = self.min_titles.of(row.kind)
            if n < least:
                field = f"min_titles_per_kind.{row.kind}" if least != self.min_titles.default else "min_titles"
                out.append(Violation(self.name, r, None, None, f"{n} titles < {field} ({least})"))
            seen: set[str] = set()
            for c, slot in enumerate(row.slots):
                if slot.id in seen:
                    out.append(Violation(self.name, r, c, slot.id, "title repeated within its row"))
                seen.add(slot.id)
        return out


@dataclass(frozen=True, eq=False)
class UniqueKeys:
    """No candidate row (by key) appears twice."""

    name: str = "unique_keys"

    def _codes(self, keys: list[str]) -> np.ndarray:
        first = {k: i for i, k in reversed(list(enumerate(keys)))}
        return np.fromiter(map(first.__getitem__, keys), dtype=np.intp, count=len(keys))

    def entries(self, loop: Loop) -> None:
        return None

    def rows(self, loop: Loop) -> np.ndarray:
        held = loop.memo.get(self)
        if held is None:
            code = self._codes([row.key for row in loop.candidates.rows])
            unique = bool((code == np.arange(len(code))).all())
            held = loop.memo[self] = [0, None if unique else code, np.ones(len(code), dtype=bool)]
        code, allowed = held[1], held[2]
        for r in loop.placed[held[0] :]:  # the rows placed since: their keys are taken
            if code is None:
                allowed[r] = False
            else:
                allowed &= code != code[r]
        held[0] = len(loop.placed)
        return allowed

    def add_to(self, model: ExactModel) -> None:
        code = self._codes([row.key for row in model.candidates.rows])
        for c in np.unique(code[model.usable]).tolist() if model.usable else []:
            same = model.rows_of(code == c)
            model.model.add(sum(model.u[p, r] for p in range(model.n_rows) for r in same) <= 1)

    def violations(self, page: Page, policy: Any, user: UserState, catalog: Catalog) -> list[Violation]:
        first: dict[str, int] = {}
        out = []
        for r, row in enumerate(page.rows):
            if row.key in first:
                out.append(Violation(self.name, r, None, None, f"row key {row.key!r} already at row {first[row.key]}"))
            first.setdefault(row.key, r)
        return out


@dataclass(frozen=True, eq=False)
class KindCap:
    """At most ``caps[kind]`` rows of a kind (``n_rows`` when not listed); a pinned kind at most once."""

    caps: tuple[tuple[str, int], ...]
    pinned: frozenset[str]
    n_rows: int
    name: str = "kind_cap"

    def cap(self, kind: str) -> int:
        cap = dict(self.caps).get(kind, self.n_rows)
        return min(cap, 1) if kind in self.pinned else cap

    def entries(self, loop: Loop) -> None:
        return None

    def rows(self, loop: Loop) -> np.ndarray:
        c = loop.candidates
        held = loop.memo.get(self)
        if held is None:
            cap = np.array([self.cap(k) for k in c.kinds], dtype=np.intp)
            held = loop.memo[self] = [0, cap, np.zeros(len(c.kinds), dtype=np.intp), (cap > 0)[c.kind]]
        _, cap, count, allowed = held
        for r in loop.placed[held[0] :]:  # the rows placed since: a kind at its cap closes
            k = c.kind[r]
            count[k] += 1
            if count[k] >= cap[k]:
                allowed &= c.kind != k
        held[0] = len(loop.placed)
        return allowed

    def add_to(self, model: ExactModel) -> None:
        c = model.candidates
        for k, kind in enumerate(c.kinds):
            of_kind = model.rows_of(c.kind == k)
            if of_kind and self.cap(kind) < model.n_rows:
                model.model.add(sum(model.u[p, r] for p in range(model.n_rows) for r in of_kind) <= self.cap(kind))

    def violations(self, page: Page, policy: Any, user: UserState, catalog: Catalog) -> list[Violation]:
        counts: Counter[str] = Counter()
        out = []
        for r, row in enumerate(page.rows):
            counts[row.kind] += 1
            cap = self.cap(row.kind)
            if counts[row.kind] > cap:
                out.append(Violation(self.name, r, None, None, f"row {counts[row.kind]} of kind {row.kind!r} > cap ({cap})"))
        return out


@dataclass(frozen=True, eq=False)
class GenreSpanCap:
    """At most ``max_rows`` rows declaring one genre (in their evidence) within any ``span`` consecutive rows."""

    max_rows: int
    span: int
    name: str = "genre_cap"

    def entries(self, loop: Loop) -> None:
        return None

    def rows(self, loop: Loop) -> np.ndarray | None:
        declared = loop.candidates.declared
        if not declared.shape[1]:
            return None
        held = loop.memo.get(self)
        if held is None:
            held = loop.memo[self] = [0, np.zeros(declared.shape[1], dtype=np.intp)]  # rows counted; rows per genre within the span
        in_span = held[1]
        for t in range(held[0], len(loop.placed)):  # the rows placed since enter the span, the row span - 1 above the next leaves it
            in_span += declared[loop.placed[t]]
            if t + 1 - self.span + 1 > 0:
                in_span -= declared[loop.placed[t + 1 - self.span]]
        held[0] = len(loop.placed)
        full = in_span >= self.max_rows
        return ~declared[:, full].any(axis=1) if full.any() else None

    def add_to(self, model: ExactModel) -> None:
        declared, n_pos = model.candidates.declared, model.n_rows
        for g in range(declared.shape[1]):
            with_g = model.rows_of(declared[:, g])
            if len(with_g) > self.max_rows:
                for s in range(max(1, n_pos - self.span + 1)):
                    model.model.add(sum(model.u[p, r] for p in range(s, min(s + self.span, n_pos)) for r in with_g) <= self.max_rows)

    def violations(self, page: Page, policy: Any, user: UserState, catalog: Catalog) -> list[Violation]:
        declared = [set(row_genres(row.evidence)) for row in page.rows]
        out = []
        for r in range(len(page.rows)):
            for g in sorted(declared[r]):
                recent = sum(g in declared[q] for q in range(max(0, r - self.span + 1), r + 1))
                if recent > self.max_rows:
                    out.append(Violation(self.name, r, None, None, f"{recent} rows of genre {g!r} within {self.span} consecutive rows > {self.max_rows}"))
        return out


@dataclass(frozen=True, eq=False)
class EligibleTitles:
    """Every title is known, displayable and eligible for the member (maturity, region, added, not finished)
    and for the policy: maturity at most ``max_maturity`` (a level code; None: any), none of ``exclude_genres``."""

    max_maturity: int | None
    exclude_genres: tuple[str, ...]
    name: str = "eligibility"

    def allowed(self, catalog: Catalog, titles: np.ndarray | None = None) -> np.ndarray:
        """bool: the policy allows each of ``titles`` (every title of the catalog when None)."""
        titles = np.arange(catalog.n) if titles is None else titles
        mask = np.ones(len(titles), dtype=bool) if self.max_maturity is None else catalog.maturity[titles] <= self.max_maturity
        cols = [catalog.genre_names.index(g) for g in self.exclude_genres if g in catalog.genre_names]
        if cols:
            mask &= ~np.asarray(catalog.genres)[titles][:, cols].any(axis=1)
        return mask

    def entries(self, loop: Loop) -> np.ndarray | None:
        """The entries whose titles the policy allows (``M`` holds the request's eligible titles already: the
        member's, as ``candidates.eligible``); None when the policy restricts nothing or allows them all."""
        if self not in loop.memo:
            ok = None
            if self.max_maturity is not None or self.exclude_genres:
                M = loop.candidates.M
                valid = M >= 0
                ok = valid.copy()
                ok[valid] = self.allowed(loop.candidates.catalog, M[valid])
                ok = None if np.array_equal(ok, valid) else ok
            loop.memo[self] = ok
        return loop.memo[self]

    def rows(self, loop: Loop) -> None:
        return None

    def add_to(self, model: ExactModel) -> None:
        c = model.candidates
        ok = np.append(c.eligible & self.allowed(c.catalog), False)
        for (_p, r, j, _c), x in model.x.items():
            if not ok[c.M[r, j]]:
                model.model.add(x == 0)

    def violations(self, page: Page, policy: Any, user: UserState, catalog: Catalog) -> list[Violation]:
        member = member_eligible(catalog, user)
        allowed = self.allowed(catalog)
        out = []
        for r, row in enumerate(page.rows):
            for c, slot in enumerate(row.slots):
                if slot.id not in catalog.vocab:
                    out.append(Violation(self.name, r, c, slot.id, "unknown title"))
                    continue
                i = catalog.index(slot.id)
                if not member[i]:
                    out.append(Violation(self.name, r, c, slot.id, why_ineligible(catalog, user, i)))
                elif not allowed[i]:
                    out.append(Violation(self.name, r, c, slot.id, "excluded by the policy's eligibility rules"))
        return out
