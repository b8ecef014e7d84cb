"""Fuzz the page builders at scale and check every page against its policy (not part of CI).

Two sources of pages, each checked with ``policies.check``:

1. engine pages: the built-in rankers on a synthetic world, random members, every preset and
   its devices, the greedy selectors, and ``now`` from one year before the world's end to two
   years after (members come back after a break, titles arrive later);
2. generated problems: hypothesis draws catalogs, members, candidate rows (what an arbitrary
   ranker could return: overlapping, short, ineligible titles, any kinds and genres) and
   policies, and every selector, exact included, builds a page.

    python scripts/fuzz_pages.py --pages 100000 --generated 20000

Prints pages/s and the violations found (the first few in full); exit 1 when any page breaks
its policy. A page that cannot be built (no candidate row fits) is counted, not a violation.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pagegen import SELECTORS, Engine, PagegenError, SelectContext, fit, synthetic_world
from pagegen.core._candidates import RankContext
from pagegen.core._time import DAY
from pagegen.page._assemble import assemble
from pagegen.testing import instances, shrink_policy
from policies import PRESETS, check, load_policy

GREEDY = ("template", "row_ranking", "stage_wise", "stage_wise_intent", "learned")


def engine_pages(n: int, size: str, seed: int, report: Counter, bad: list) -> int:
    world = synthetic_world(size, seed)
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    engines = {name: Engine(world.catalog, model, name, interactions=world.interactions, profiles=world.profiles, now=world.now) for name in PRESETS}
    rng = np.random.default_rng(seed)
    built = 0
    for _ in range(n):
        preset = PRESETS[rng.integers(len(PRESETS))]
        engine = engines[preset]
        device = sorted(engine.policy.windows)[rng.integers(len(engine.policy.windows))]
        selector = GREEDY[rng.integers(len(GREEDY))]
        member = world.interactions.users.id(int(rng.integers(world.interactions.n_users)))
        now = world.now + int(rng.integers(-365, 731)) * DAY
        try:
            state = engine.state(member, now)
            page = engine.build(state, device=device, selector=selector, seed=int(rng.integers(2**31)))
        except PagegenError as err:
            report[f"engine: no page ({type(err).__name__})"] += 1
            continue
        built += 1
        violations = check(page, engine.policy, state, world.catalog)
        if violations:
            report[f"engine: {preset}/{device}/{selector}"] += len(violations)
            bad.append(f"{member} {preset}/{device}/{selector} now={now}: {violations[0]}")
    return built


class _Scores:
    def __init__(self, scores: np.ndarray) -> None:
        self.scores = scores

    def score(self, user) -> np.ndarray:
        return self.scores


def generated_pages(n: int, report: Counter, bad: list) -> int:
    built = [0]
    if n <= 0:  # hypothesis runs at least one example
        return 0

    @settings(max_examples=n, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(instances(max_rows=12, max_len=8), st.sampled_from((*GREEDY, "exact")), st.integers(0, 2**31 - 1), st.data())
    def run(inst, selector, seed, data):
        policy = inst.policy
        if selector == "exact":
            policy = shrink_policy(policy, 3, 3)
            inst = type(inst)(inst.catalog, inst.user, inst.eligible, inst.rows[:6], policy)
        else:
            preset = data.draw(st.sampled_from((None, *PRESETS)))
            if preset is not None:  # a problem drawn under a preset: its rows offer what the preset lets the member see
                inst = data.draw(instances(policy=load_policy(preset), max_rows=12, max_len=8))
                policy = inst.policy
        device = data.draw(st.sampled_from(sorted(policy.windows)))
        scores = np.cos(np.arange(inst.catalog.n) * 2.3 + seed % 7).astype(np.float32)
        rank = RankContext(catalog=inst.catalog, model=_Scores(scores), user=inst.user, eligible=inst.eligible, n=policy.row_length, rng=np.random.default_rng(seed))
        ctx = SelectContext(catalog=inst.catalog, eligible=inst.eligible, device=device, rng=np.random.default_rng(seed), rank=rank)
        try:
            selection = SELECTORS[selector](inst.rows, policy, ctx)
        except PagegenError as err:
            report[f"generated: no page ({type(err).__name__})"] += 1
            return
        page = assemble(inst.rows, selection, inst.catalog, user=inst.user.user, policy=policy.name, selector=selector, device=device, now=inst.user.now, seed=seed)
        built[0] += 1
        violations = check(page, policy, inst.user, inst.catalog)
        if violations:
            report[f"generated: {policy.name}/{device}/{selector}"] += len(violations)
            bad.append(f"generated {policy.name}/{device}/{selector}: {violations[0]}")

    run()
    return built[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100_000, help="engine pages (default: 100,000)")
    parser.add_argument("--generated", type=int, default=20_000, help="pages of generated problems (default: 20,000)")
    parser.add_argument("--size", default="small", help="synthetic world of the engine pages (default: small)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    report: Counter = Counter()
    bad: list[str] = []
    for name, run in (("engine", lambda: engine_pages(args.pages, args.size, args.seed, report, bad)), ("generated", lambda: generated_pages(args.generated, report, bad))):
        start = time.perf_counter()
        built = run()
        seconds = time.perf_counter() - start
        print(f"{name}: {built:,} pages checked in {seconds:.1f} s ({built / max(seconds, 1e-9):,.0f} pages/s)")
    violations = sum(v for k, v in report.items() if "no page" not in k)
    for key, count in sorted(report.items()):
        print(f"  {key}: {count:,}")
    print(f"violations: {violations}")
    for line in bad[:10]:
        print("  " + line)
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main())
