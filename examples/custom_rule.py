"""Add your own page rule: a plain function ``(page, policy, user, catalog) -> list[Violation]``.

    python examples/custom_rule.py

The rule below asks that the first screen (the device's visible window) mixes at least three
row kinds. It runs with the built-in rules through ``check``; a page breaking it is reported
with the rule, row, column and title.
"""

from __future__ import annotations

from pagegen import Engine, fit, synthetic_world
from policies import RULES, Violation, check, load_policy


def varied_first_screen(page, policy, user, catalog) -> list[Violation]:
    """At least three distinct row kinds among the rows of the visible window."""
    rows = page.rows[: policy.window(page.device).rows]
    kinds = {row.kind for row in rows}
    if len(rows) >= 3 and len(kinds) < 3:
        return [Violation("varied_first_screen", len(rows) - 1, None, None, f"only {len(kinds)} row kinds on the first screen: {sorted(kinds)}")]
    return []


def main() -> None:
    world = synthetic_world("tiny")
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    policy = load_policy("tv")
    engine = Engine(world.catalog, model, policy, interactions=world.interactions, profiles=world.profiles, now=world.now)
    rules = {**RULES, "varied_first_screen": varied_first_screen}
    for member in ("u0", "u1", "u2", "u3"):
        for selector in ("template", "stage_wise"):
            page = engine.build(member, device="tv", selector=selector)
            found = check(page, policy, engine.state(member), world.catalog, rules=rules)
            print(f"{member} {selector:>10}: {[r.kind for r in page.rows[:4]]} -> {[str(v) for v in found] or 'ok'}")


if __name__ == "__main__":
    main()
