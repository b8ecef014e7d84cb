"""How often Continue Watching is on the page of members who have something to resume (not part of CI).

For members of a synthetic world, every preset and the greedy selectors, at the world's end and at
``now`` offsets after it: the share of members who can resume at least one eligible title
(``pagegen.core._resume.resumable``, what the ranker shows and the pin requires) whose page has the
Continue Watching row, and the share of members with any title started and not finished (whatever its
age) for comparison.

    python scripts/cw_presence.py --size small --members 0
    python scripts/cw_presence.py --size medium --members 2000
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from pagegen import Engine, PagegenError, fit, synthetic_world
from pagegen.core._resume import resumable
from policies import PRESETS

DAY = 86_400


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="small", help="synthetic world (default: small)")
    parser.add_argument("--members", type=int, default=0, help="members sampled (0: all)")
    parser.add_argument("--offsets", default="0,90,365", help="days after the world's end, comma-separated (default: 0,90,365)")
    parser.add_argument("--selectors", default="stage_wise,template", help="greedy selectors (default: stage_wise,template)")
    parser.add_argument("--presets", default=",".join(PRESETS), help="policy presets (default: all)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    world = synthetic_world(args.size, args.seed)
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    print(f"world {args.size}: {world.interactions.n_users:,} members, {world.catalog.n:,} titles (fit in {time.perf_counter() - start:.0f} s)")
    users = np.arange(world.interactions.n_users)
    if 0 < args.members < users.size:
        users = np.sort(np.random.default_rng(args.seed).choice(users, args.members, replace=False))
    worst = 1.0
    for preset in args.presets.split(","):
        engine = Engine(world.catalog, model, preset, interactions=world.interactions, profiles=world.profiles, now=world.now)
        for offset in (int(d) for d in args.offsets.split(",")):
            for selector in args.selectors.split(","):
                can, shown, started = 0, 0, 0
                for u in users.tolist():
                    state = engine.state(world.interactions.users.id(u), world.now + offset * DAY)
                    started += bool(state.in_progress().size)
                    if not resumable(state, world.catalog, engine.rank_context(state, 0).eligible).count():
                        continue
                    can += 1
                    try:
                        page = engine.build(state, selector=selector)
                    except PagegenError:
                        continue
                    shown += any(r.kind == "continue_watching" for r in page.rows)
                share = shown / can if can else 1.0
                worst = min(worst, share)
                print(f"  {preset:<8} +{offset:>3} days {selector:<11} members who can resume: {can:>5,}, with the row: {shown:>5,} ({100 * share:.2f}%); any title started: {started:,}")
    print(f"lowest share: {100 * worst:.2f}%")
    return 0 if worst >= 0.99 else 1


if __name__ == "__main__":
    sys.exit(main())
