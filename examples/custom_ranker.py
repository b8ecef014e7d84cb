"""Add your own row ranker: a plain function ``(ctx) -> list[CandidateRow]``.

    python examples/custom_ranker.py

Builds a page on the built-in synthetic world with a "Short & Sweet" row (titles under
100 minutes the member is likely to enjoy) next to the built-in rows, plus a broken ranker
to show fault isolation: it is dropped for the request and listed in the trace.
"""

from __future__ import annotations

import numpy as np

from pagegen import CandidateRow, Engine, RankContext, fit, synthetic_world
from rows import default_rankers, top_k


def short_and_sweet(ctx: RankContext) -> list[CandidateRow]:
    """Eligible titles under 100 minutes, ordered by the member's personalized score."""
    short = ctx.eligible & (ctx.catalog.duration > 0) & (ctx.catalog.duration < 100)
    items, scores = top_k(ctx.affinity, short, ctx.n)
    if len(items) == 0:
        return []
    reasons = tuple(f"Only {round(minutes)} minutes" for minutes in ctx.catalog.duration[items].tolist())  # each tile's own reason
    row = CandidateRow(kind="short", key="short", title="Short & Sweet", items=items, scores=scores,
                       evidence={"max_minutes": 100}, score=float(scores[:5].mean()), reasons=reasons)  # fmt: skip
    return [row]


def broken(ctx: RankContext) -> list[CandidateRow]:
    raise RuntimeError("this ranker always fails")


def main() -> None:
    world = synthetic_world("tiny")
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    rankers = {**default_rankers(), "short": short_and_sweet, "broken": broken}
    engine = Engine(world.catalog, model, "default", rankers=rankers, interactions=world.interactions, profiles=world.profiles, now=world.now)
    page = engine.build("u1", trace=True)
    for row in page.rows:
        print(f"{row.kind:>20}  {row.title[:40]:<40}  {', '.join(s.title for s in row.slots[:3])} ...")
    print("dropped:", [(f.ranker, f.error) for f in page.trace.failures])
    assert any(f.ranker == "broken" for f in page.trace.failures)
    short = [r for r in page.rows if r.kind == "short"]
    print("short row on the page:", bool(short), "| objective:", round(page.trace.objective, 3))
    if short:
        print("why:", short[0].slots[0].reason)
        assert short[0].slots[0].reason.startswith("Only ")
    assert np.isfinite(page.trace.objective)


if __name__ == "__main__":
    main()
