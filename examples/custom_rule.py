"""Add your own hard page rule: a constraint that every page builder enforces and ``check`` reports.

    python examples/custom_rule.py

The rule below allows at most two rows of one genre family (e.g. "dark": Crime, Horror, Thriller,
War) in the device's visible window. It is one object with three faces (``policies.Constraint``):
``rows`` tells the greedy builders which candidate rows may stand at a row index, ``add_to`` adds
the rule to the exact builder's CP-SAT model, and ``violations`` finds where a finished page breaks
it. Put it in ``Policy.rules`` and every selector honours it while building.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pagegen import Engine, fit, row_genres, synthetic_world
from policies import ExactModel, Loop, Violation, check, load_policy

#: Genre -> family (a genre without a family is in none).
FAMILIES = {
    "Crime": "dark", "Horror": "dark", "Thriller": "dark", "War": "dark", "Mystery": "dark",
    "Animation": "light", "Children": "light", "Comedy": "light", "Family": "light", "Romance": "light",
    "Action": "spectacle", "Adventure": "spectacle", "Fantasy": "spectacle", "Sci-Fi": "spectacle",
}  # fmt: skip


@dataclass(frozen=True, eq=False)
class FamilyCap:
    """At most ``max_rows`` rows of one genre family (by the genres a row declares) in the visible window
    (``window_rows``: the window's rows per device)."""

    families: dict[str, str]
    window_rows: dict[str, int]
    max_rows: int = 2
    name: str = "family_cap"

    def _of(self, evidence: object) -> set[str]:
        return {self.families[g] for g in row_genres(evidence) if g in self.families} if isinstance(evidence, dict) else set()

    def _matrix(self, rows) -> np.ndarray:
        """bool (R, F): the families each candidate row belongs to (F: the sorted family names)."""
        names = sorted(set(self.families.values()))
        out = np.zeros((len(rows), len(names)), dtype=bool)
        for r, row in enumerate(rows):
            for f in self._of(row.evidence):
                out[r, names.index(f)] = True
        return out

    def entries(self, loop: Loop) -> None:
        return None  # the rule is about rows, not titles

    def rows(self, loop: Loop) -> np.ndarray | None:
        if loop.p >= self.window_rows[loop.candidates.device]:
            return None
        if self not in loop.memo:
            loop.memo[self] = self._matrix(loop.candidates.rows)
        family = loop.memo[self]
        full = family[loop.placed].sum(axis=0) >= self.max_rows
        return ~family[:, full].any(axis=1) if full.any() else None

    def add_to(self, model: ExactModel) -> None:
        family = self._matrix(model.candidates.rows)
        window = min(self.window_rows[model.candidates.device], model.n_rows)
        for f in range(family.shape[1]):
            of_f = model.rows_of(family[:, f])
            if len(of_f) > self.max_rows:
                model.model.add(sum(model.u[p, r] for p in range(window) for r in of_f) <= self.max_rows)

    def violations(self, page, policy, user, catalog) -> list[Violation]:
        seen: dict[str, int] = {}
        out = []
        for r, row in enumerate(page.rows[: self.window_rows[page.device]]):
            for f in sorted(self._of(row.evidence)):
                seen[f] = seen.get(f, 0) + 1
                if seen[f] > self.max_rows:
                    out.append(Violation(self.name, r, None, None, f"row {seen[f]} of genre family {f!r} in the visible window > {self.max_rows}"))
        return out


def family_cap(policy, max_rows: int = 2) -> FamilyCap:
    """The rule for ``policy``'s visible windows."""
    return FamilyCap(FAMILIES, {device: w.rows for device, w in policy.windows.items()}, max_rows)


def main() -> None:
    world = synthetic_world("tiny")
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    plain = load_policy("tv")
    rule = family_cap(plain, max_rows=1)
    ruled = plain.model_copy(update={"rules": (rule,)})  # check() and every builder now apply it
    engines = {p.name if not p.rules else "with the rule": Engine(world.catalog, model, p, interactions=world.interactions, profiles=world.profiles, now=world.now) for p in (plain, ruled)}
    broken = fixed = 0
    for i in range(30):
        member = f"u{i}"
        for selector in ("template", "stage_wise", "row_ranking"):
            before = engines["tv"].build(member, device="tv", selector=selector)
            after = engines["with the rule"].build(member, device="tv", selector=selector)
            found = rule.violations(before, plain, None, world.catalog)
            if found:  # the page built without the rule breaks it; built with it, it holds
                broken += 1
                fixed += not [v for v in check(after, ruled, engines["tv"].state(member), world.catalog) if v.rule == rule.name]
                families = [sorted(rule._of(row.evidence)) for row in after.rows[:4]]
                print(f"{member} {selector:>11}: {found[0]}\n{'':17}with the rule, first screen families: {families}")
    print(f"{broken} pages broke the family cap without it; {fixed} of them hold it when built with it")


if __name__ == "__main__":
    main()
