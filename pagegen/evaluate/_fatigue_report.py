"""Impression fatigue over repeated visits: plays per visit with and without fatigue handling.

``python -m pagegen.evaluate._fatigue_report --world small [--members 400] [--visits 8] [--seed 0] [--world-fatigue F]``
builds a synthetic world (whose truth tires of titles shown and not played, ``WorldConfig.fatigue``),
fits the model once, and follows the same sampled members over ``visits`` daily visits with two
engines that differ only in ``Engine(fatigue=...)``: the default FatigueConfig, and None.

At each visit the member's page is built from their state, the titles on its first screen (the
policy's window for the device) are logged as impressions, and the browsing simulator
(``pagegen.learned._simulate``) plays at most one title, with the truth's preference lowered by
the member's earlier unplayed showings of each title (their logged history included); a play is
logged as a finished play. Both engines see the same random numbers at each (member, visit)
(``browse_rng``), so the comparison is paired. Plays per visit is the exact expected number of
plays of each visit's page given the member's state then (``expected_plays``), averaged over the
visits; the sampled plays that drive the state are reported too. The difference, on minus off, is
summarized by a paired bootstrap over members (``_stats.paired``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from dataclasses import dataclass

import numpy as np

from pagegen.core._page import page_grid
from pagegen.core._time import DAY
from pagegen.core._userstate import UserState
from pagegen.data._synthetic import SIZES, World, synthetic_world
from pagegen.learned._simulate import BrowseConfig, browse, browse_rng, expected_plays, play_grid
from pagegen.models._fit import fit
from pagegen.models._popularity import fold_items
from pagegen.page._fatigue import FatigueConfig
from pagegen.serve._engine import Engine

from ._stats import Paired, paired

__all__ = ["ArmResult", "FatigueReport", "fatigue_report", "follow", "main"]

#: The arms compared: fatigue handling on (the default configuration) and off.
ARMS: dict[str, FatigueConfig | None] = {"on": FatigueConfig(), "off": None}


@dataclass(frozen=True)
class ArmResult:
    """One engine over the members' visits.

    expected  float64 (members, visits): exact expected plays of each visit's page
    played    bool (members, visits): whether the sampled visit played a title
    fatigued  int: titles demoted for fatigue, summed over all the pages
    """

    expected: np.ndarray
    played: np.ndarray
    fatigued: int

    @property
    def plays_per_visit(self) -> float:
        return float(self.expected.mean())


@dataclass(frozen=True)
class FatigueReport:
    """What ``fatigue_report`` measured; ``diff`` is on minus off of each member's plays per visit."""

    world: str
    members: int
    visits: int
    seed: int
    arms: dict[str, ArmResult]
    diff: Paired
    diff_sampled: Paired

    def to_dict(self) -> dict:
        arms = {name: {"plays_per_visit": a.plays_per_visit, "sampled_plays_per_visit": float(a.played.mean()), "per_visit": a.expected.mean(axis=0).round(6).tolist(), "fatigued_titles": a.fatigued}
                for name, a in self.arms.items()}  # fmt: skip
        d, s = self.diff, self.diff_sampled
        return {
            "world": self.world, "members": self.members, "visits": self.visits, "seed": self.seed, "arms": arms,
            "difference": {"mean": d.diff, "low": d.low, "high": d.high, "level": d.level, "better": d.better, "worse": d.worse, "verdict": d.verdict},
            "difference_sampled": {"mean": s.diff, "low": s.low, "high": s.high, "level": s.level, "verdict": s.verdict},
        }  # fmt: skip


def _visit_state(state: UserState, now: int, plays: list[tuple[int, int]], shown: list[tuple[int, int]]) -> UserState:
    """``state`` at ``now`` with the simulated plays (title, time) and impressions (title, time) added."""
    items = np.r_[[p[0] for p in reversed(plays)], state.items].astype(np.int32)
    last = np.r_[[p[1] for p in reversed(plays)], state.last].astype(np.int64)
    fraction = np.r_[np.ones(len(plays)), state.fraction].astype(np.float32)
    shown_items = np.r_[state.shown, [s[0] for s in shown]].astype(np.int32)
    shown_at = np.r_[state.shown_at, [s[1] for s in shown]].astype(np.int64)
    return dataclasses.replace(state, now=now, items=items, last=last, fraction=fraction, shown=shown_items, shown_at=shown_at)


def follow(engine: Engine, world: World, member: str, visits: int, seed: int, browse_config: BrowseConfig, device: str = "web") -> tuple[np.ndarray, np.ndarray, int]:
    """One member over ``visits`` daily visits from ``world.now``: (expected plays per visit,
    whether each sampled visit played, titles demoted for fatigue)."""
    window = engine.policy.window(device)
    fold = fold_items(world.catalog.series)
    index = world.interactions.users.index(member)
    start = engine.state(member, world.now)
    plays: list[tuple[int, int]] = []
    shown: list[tuple[int, int]] = []
    expected, played, fatigued = np.zeros(visits), np.zeros(visits, bool), 0
    for v in range(visits):
        at = world.now + v * DAY
        state = _visit_state(start, at + 1, plays, shown)
        page = engine.build(state, device=device, trace=True)
        fatigued += len(page.trace.fatigue) if page.trace else 0
        grid = page_grid(page, world.catalog)
        titles, counts = state.unplayed_impressions(0, fold)
        tired = np.zeros(world.catalog.n, np.int64)
        tired[titles] = counts
        prob = play_grid(grid, lambda items, tired=tired: world.truth.preference(index, fold[items], shown=tired[fold[items]]), browse_config)
        expected[v] = float(expected_plays(grid, prob, browse_config))
        outcome = browse(grid, prob, browse_rng(seed, index, v), browse_config)
        screen = grid[: window.rows, : window.columns]
        shown += [(int(i), at) for i in screen[screen >= 0].tolist()]
        if outcome.played:
            played[v] = True
            plays.append((outcome.item, at))
    return expected, played, fatigued


def fatigue_report(world: str | World = "small", *, members: int = 400, visits: int = 8, seed: int = 0, browse_config: BrowseConfig | None = None, progress: bool = False, name: str | None = None) -> FatigueReport:
    """Follow ``members`` sampled members (with ``seed``) of ``world`` (a size name: built with
    ``seed``) over ``visits`` visits with fatigue handling on and off; see the module docstring.
    ``name``: the world's name in the report (default: the size, or "given")."""
    name = name or (world if isinstance(world, str) else "given")
    if isinstance(world, str):
        world = synthetic_world(world, seed=seed)
    browse_config = browse_config or BrowseConfig()
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=progress)
    users = world.interactions.users
    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(users), size=min(members, len(users)), replace=False))
    arms = {}
    for arm, config in ARMS.items():
        engine = Engine(world.catalog, model, "default", interactions=world.interactions, profiles=world.profiles, now=world.now, seed=seed, fatigue=config)
        runs = [follow(engine, world, users.id(int(u)), visits, seed, browse_config) for u in chosen]
        arms[arm] = ArmResult(np.stack([r[0] for r in runs]), np.stack([r[1] for r in runs]), sum(r[2] for r in runs))
    on, off = arms["on"], arms["off"]
    diff = paired(on.expected.mean(axis=1), off.expected.mean(axis=1), seed=seed)
    sampled = paired(on.played.mean(axis=1), off.played.mean(axis=1), seed=seed)
    return FatigueReport(name, len(chosen), visits, seed, arms, diff, sampled)


def _text(report: FatigueReport) -> str:
    lines = [f"world {report.world}, seed {report.seed}: {report.members} members x {report.visits} daily visits, first-screen titles logged as impressions", ""]
    lines += ["| fatigue handling | plays per visit (expected) | sampled | fatigued titles on pages | per visit |", "|---|---:|---:|---:|---|"]
    for name, arm in report.arms.items():
        curve = " ".join(f"{x:.4f}" for x in arm.expected.mean(axis=0))
        lines.append(f"| {name} | {arm.plays_per_visit:.4f} | {arm.played.mean():.4f} | {arm.fatigued} | {curve} |")
    d, s = report.diff, report.diff_sampled
    lines += ["", f"on - off, plays per visit: {d.diff:+.5f} ({d.level:.0%} paired bootstrap CI {d.low:+.5f} to {d.high:+.5f}; {d.better} members better, {d.worse} worse): {d.verdict}"]
    lines.append(f"on - off, sampled plays per visit: {s.diff:+.5f} (CI {s.low:+.5f} to {s.high:+.5f}): {s.verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pagegen.evaluate._fatigue_report", description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="small", help="synthetic world size (tiny, small, medium, large)")
    parser.add_argument("--members", type=int, default=400, help="members followed (sampled with the seed)")
    parser.add_argument("--visits", type=int, default=8, help="daily visits per member")
    parser.add_argument("--seed", type=int, default=0, help="seed of the world, the member sample and the browsing")
    parser.add_argument("--world-fatigue", type=float, default=None, help="the world's truth fatigue (WorldConfig.fatigue; default: the size's), e.g. 0 for members who never tire")
    args = parser.parse_args(argv)
    if args.members < 1 or args.visits < 1:
        parser.error("--members and --visits must be at least 1")
    world: str | World = args.world
    name = args.world
    if args.world_fatigue is not None:
        name = f"{args.world} (truth fatigue {args.world_fatigue:g})"
        if args.world not in SIZES:
            parser.error(f"--world: expected one of {', '.join(SIZES)}")
        world = synthetic_world(SIZES[args.world].model_copy(update={"fatigue": args.world_fatigue, "seed": args.seed}))
    print(_text(fatigue_report(world, members=args.members, visits=args.visits, seed=args.seed, name=name)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
