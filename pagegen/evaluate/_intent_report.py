"""Page builders in the intent browsing model, over a grid of its settings.

``python -m pagegen.evaluate._intent_report [--size small] [--members 2000] [--seed 1]`` builds every
member's page with each builder (and the single ranked list wrapped into the same rows) on a fresh
synthetic world, then gives the expected plays per visit under :mod:`pagegen.learned._intent` for
each setting of the grid: members with one taste or several, with and without row reading. Each
builder is compared member by member with row_ranking and with the single list (paired bootstrap
interval, sign test). The setting with one taste and no row reading is the sanity check: there a
page has nothing to gain from its rows, and a good single list should win or tie.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np

from pagegen.data._synthetic import synthetic_world
from pagegen.learned._intent import IntentConfig, expected_plays_with_intent
from pagegen.learned._simulate import BrowseConfig
from pagegen.models._fit import fit
from pagegen.serve._engine import Engine

from ._replay import BASELINE, member_pages, wrap_list
from ._stats import Paired, paired

__all__ = ["GRID", "Setting", "intent_grid", "main"]


@dataclass(frozen=True)
class Setting:
    """One point of the grid: which members, how they browse."""

    name: str
    several_tastes: bool
    intent: IntentConfig
    sanity: bool = False


#: The reported grid; the first is the sanity setting (a single list should win or tie there).
GRID: tuple[Setting, ...] = (
    Setting("one taste, no row reading", False, IntentConfig(read_rows=False), sanity=True),
    Setting("one taste, rows read", False, IntentConfig()),
    Setting("several tastes, no row reading", True, IntentConfig(read_rows=False)),
    Setting("several tastes, rows read", True, IntentConfig()),
    Setting("several tastes, rows read, selective", True, IntentConfig(enter_floor=0.05, enter_gain=0.95)),
)
#: A member has one taste when one share of its mixture is at least this.
ONE_TASTE = 0.85


@dataclass(frozen=True)
class SettingResult:
    setting: Setting
    members: int
    mean: dict[str, float]
    against: dict[str, dict[str, Paired]]  # reference -> builder -> paired difference


def intent_grid(size: str = "small", members: int = 2000, seed: int = 1, selectors: tuple[str, ...] = ("template", "row_ranking", "stage_wise", "learned"), device: str = "web") -> list[SettingResult]:
    """Every builder's expected plays per visit in every setting of ``GRID`` (see the module docstring)."""
    world = synthetic_world(size, seed)
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    engine = Engine(world.catalog, model, "default", interactions=world.interactions, profiles=world.profiles, now=world.now, seed=seed)
    browse = BrowseConfig(visible_rows=engine.policy.window(device).rows, visible_columns=engine.policy.window(device).columns)
    chosen = np.arange(min(members, world.interactions.n_users))
    grids: dict[str, list[np.ndarray]] = {name: [] for name in (*selectors, BASELINE)}
    for m in chosen.tolist():
        state = engine.state(world.interactions.users.id(m))
        pages, ctx, _, _ = member_pages(engine, state, selectors, device=device, seed=seed)
        for name, (grid, _) in pages.items():
            grids[name].append(grid)
        lengths = (pages[selectors[0]][0] >= 0).sum(axis=1).tolist()
        grids[BASELINE].append(wrap_list(np.asarray(ctx.scores, dtype=np.float64), ctx.eligible, lengths))
    one_taste = world.truth.taste[chosen].max(axis=1) >= ONE_TASTE
    out = []
    for setting in GRID:
        keep = np.flatnonzero(one_taste != setting.several_tastes)
        plays = {name: np.array([expected_plays_with_intent(world.truth, int(chosen[j]), grids[name][j], browse, setting.intent) for j in keep]) for name in grids}
        against = {ref: {name: paired(plays[name], plays[ref], seed=seed) for name in grids if name != ref} for ref in ("row_ranking", BASELINE) if ref in plays}
        out.append(SettingResult(setting, len(keep), {name: float(v.mean()) if len(v) else float("nan") for name, v in plays.items()}, against))
    return out


def markdown(results: list[SettingResult]) -> str:
    """One table per setting: mean expected plays per visit, and paired differences."""
    lines = []
    for res in results:
        tag = " (sanity setting)" if res.setting.sanity else ""
        lines += [f"### {res.setting.name}{tag}: {res.members} members", "", "| builder | plays/visit | vs row_ranking | vs single_list |", "|---|---:|---:|---:|"]
        for name, mean in res.mean.items():
            cells = [_cell(res.against.get(ref, {}).get(name)) for ref in ("row_ranking", BASELINE)]
            lines.append(f"| {name} | {mean:.4f} | {cells[0]} | {cells[1]} |")
        lines.append("")
    lines.append("Differences: mean per member [95% paired bootstrap CI], better+/worse- members; bold where the interval excludes 0.")
    return "\n".join(lines) + "\n"


def _cell(stats: Paired | None) -> str:
    if stats is None or stats.members == 0:
        return ""
    text = f"{stats.diff:+.4f} [{stats.low:+.4f}, {stats.high:+.4f}] {stats.better}+/{stats.worse}-"
    return f"**{text}**" if stats.verdict != "tied" else text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pagegen.evaluate._intent_report", description="Page builders in the intent browsing model, over a grid of settings.")
    parser.add_argument("--size", default="small", help="synthetic world size (default: small)")
    parser.add_argument("--members", type=int, default=2000, help="members whose pages are built (default: 2000)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the world and the pages (default: 1; the shipped learned scorer was trained on seed 0)")
    args = parser.parse_args(argv)
    sys.stdout.write(markdown(intent_grid(args.size, args.members, args.seed)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
