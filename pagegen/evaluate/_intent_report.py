"""Page builders in the intent browsing model, over a grid of its settings.

``python -m pagegen.evaluate._intent_report [--size small] [--members 2000] [--seed 2]`` splits a fresh
synthetic world per member (the last ``--n-test`` titles held out, members with at least
``--min-interactions`` titles), fits the model on the train part, builds each member's page as of its
cutoff with each builder (and two single ranked lists wrapped into the same rows), then gives for each
setting of the grid the expected plays per visit under :mod:`pagegen.learned._intent` and Recall@window
of the held-out plays (the titles played next that the first screen shows). Settings: members with one
taste or several, with and without row reading (Recall@window depends on the members only). Each
builder is compared member by member with row_ranking and with the single lists (paired bootstrap
interval, sign test). The setting with one taste and no row reading is the sanity check: there a
page has nothing to gain from its rows, and a good single list should win or tie.

The single lists fill the policy's full shape (a list is bound by no row's length), row by row:
``single_list`` ranks every eligible title by the personalized scorer
(``model.score``, as ``pagegen evaluate`` does); ``single_list_pool`` ranks, by the same scorer, the
titles of the member's candidate rows: the titles the rows could show, in the order of the values the
page objective gives them, so that it differs from the pages only by having no rows. A third list,
``single_list_truth``, ranks the eligible titles by the member's true preference (the world's hidden
truth, which no builder sees): an oracle that shows what a single list can do in each setting.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np

from pagegen.core._errors import DataError
from pagegen.data._synthetic import synthetic_world
from pagegen.learned._intent import IntentConfig, expected_plays_with_intent
from pagegen.learned._simulate import BrowseConfig
from pagegen.models._fit import fit
from pagegen.page._registry import SELECTORS as ALL_SELECTORS
from pagegen.serve._engine import Engine

from . import _metrics as M
from ._replay import BASELINE, member_pages, wrap_list
from ._splits import leave_last_split
from ._stats import Paired, paired

__all__ = ["GRID", "ORACLE", "POOL", "Setting", "intent_grid", "intent_pages", "main", "markdown"]


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


#: The second single list: the candidate rows' titles by the personalized scorer (see the module docstring).
POOL = "single_list_pool"
#: An oracle list for the sanity check: every eligible title by the member's true preference (not a builder).
ORACLE = "single_list_truth"
#: The builders compared by default.
SELECTORS = ("template", "row_ranking", "stage_wise", "stage_wise_intent", "learned")
#: The references every builder is compared with, member by member.
REFERENCES = ("row_ranking", BASELINE, POOL)


@dataclass(frozen=True)
class SettingResult:
    setting: Setting
    members: int
    mean: dict[str, dict[str, float]]  # metric -> builder -> mean
    against: dict[str, dict[str, dict[str, Paired]]]  # metric -> reference -> builder -> paired difference


@dataclass(frozen=True)
class Pages:
    """Every member's page grid per builder, the held-out titles and where the members stand in the world."""

    members: np.ndarray  # int (n,) member indices of the world (its truth)
    grids: dict[str, list[np.ndarray]]
    recall: dict[str, np.ndarray]  # builder -> float (n,) Recall@window


def intent_pages(world, *, members: int, seed: int, selectors: tuple[str, ...], device: str, n_test: int, min_interactions: int) -> tuple[Pages, BrowseConfig]:
    """Each tested member's pages as of its cutoff (model fitted on the train part) and their Recall@window."""
    if "row_ranking" not in selectors:
        raise DataError("the builders must include row_ranking (the reference of every comparison)", field="selectors", value=",".join(selectors))
    split = leave_last_split(world.catalog, world.interactions, n_test=n_test, min_interactions=min_interactions).sample(members, seed)
    model = fit(world.catalog, split.train, profiles=world.profiles, progress=False)
    engine = Engine(world.catalog, model, "default", interactions=split.train, profiles=world.profiles, seed=seed)
    window = engine.policy.window(device)
    browse = BrowseConfig(visible_rows=window.rows, visible_columns=window.columns)
    names = (*selectors, BASELINE, POOL, ORACLE)
    grids: dict[str, list[np.ndarray]] = {name: [] for name in names}
    recall: dict[str, list[float]] = {name: [] for name in names}
    for k, (u, now) in enumerate(zip(split.users.tolist(), split.now.tolist(), strict=True)):
        state = engine.state(split.train.users.id(u), now=now)
        policy = engine.policy_for(state.profile, device)
        pages, ctx, _, _, rows = member_pages(engine, state, selectors, device=device, seed=seed)
        found = {name: grid for name, (grid, _) in pages.items()}
        lengths = [policy.row_length] * policy.n_rows  # a list is bound by no row's length: the policy's full shape
        scores = np.asarray(ctx.scores, dtype=np.float64)
        found[BASELINE] = wrap_list(scores, ctx.eligible, lengths)
        pool = np.zeros(world.catalog.n, dtype=bool)
        pool[np.concatenate([row.items for row in rows]).astype(np.intp) if rows else []] = True
        found[POOL] = wrap_list(scores, pool & ctx.eligible, lengths)
        truth = np.zeros(world.catalog.n)
        truth[ctx.eligible] = world.truth.preference(int(u), np.flatnonzero(ctx.eligible))
        found[ORACLE] = wrap_list(truth, ctx.eligible, lengths)
        rel = split.relevance(k)
        for name, grid in found.items():
            grids[name].append(grid)
            recall[name].append(M.recall(grid, rel, window.rows, window.columns))
    return Pages(np.asarray(split.users), grids, {n: np.asarray(v) for n, v in recall.items()}), browse


def intent_grid(size: str = "small", members: int = 2000, seed: int = 2, selectors: tuple[str, ...] = SELECTORS, device: str = "web", *, n_test: int = 3, min_interactions: int = 6) -> list[SettingResult]:
    """Every builder's expected plays per visit and Recall@window in every setting of ``GRID`` (see the module docstring)."""
    world = synthetic_world(size, seed)
    pages, browse = intent_pages(world, members=members, seed=seed, selectors=selectors, device=device, n_test=n_test, min_interactions=min_interactions)
    one_taste = world.truth.taste[pages.members].max(axis=1) >= ONE_TASTE
    out = []
    for setting in GRID:
        keep = np.flatnonzero(one_taste != setting.several_tastes)
        values = {
            "plays": {name: np.array([expected_plays_with_intent(world.truth, int(pages.members[j]), grids[j], browse, setting.intent) for j in keep]) for name, grids in pages.grids.items()},
            "recall": {name: v[keep] for name, v in pages.recall.items()},
        }
        mean = {metric: {name: float(v.mean()) if len(v) else float("nan") for name, v in by.items()} for metric, by in values.items()}
        against = {metric: {ref: {name: paired(by[name], by[ref], seed=seed) for name in by if name != ref} for ref in REFERENCES} for metric, by in values.items()}
        out.append(SettingResult(setting, len(keep), mean, against))
    return out


#: The metrics of the tables, by their heading.
METRICS = {"plays": "plays/visit", "recall": "Recall@window"}


def markdown(results: list[SettingResult], command: str = "") -> str:
    """One table per setting and metric: the mean per member, and paired differences with each reference."""
    lines = [f"Command: `{command}`", ""] if command else []
    for res in results:
        tag = " (sanity setting)" if res.setting.sanity else ""
        lines += [f"### {res.setting.name}{tag}: {res.members} members", ""]
        for metric, heading in METRICS.items():
            lines += [f"| builder | {heading} | " + " | ".join(f"vs {ref}" for ref in REFERENCES) + " |", "|---|---:|" + "---:|" * len(REFERENCES)]
            for name, mean in res.mean[metric].items():
                cells = [_cell(res.against[metric][ref].get(name)) for ref in REFERENCES]
                lines.append(f"| {name} | {mean:.4f} | " + " | ".join(cells) + " |")
            lines.append("")
    lines.append("Differences: mean per member [95% paired bootstrap CI], better+/worse- members; bold where the interval excludes 0. "
                 "Recall@window depends on the members only (the same in the settings with and without row reading).")
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
    parser.add_argument("--seed", type=int, default=2, help="seed of the world, the member sample and the pages (default: 2; the shipped learned scorer was trained on seed 0, the coverage term tuned on seed 1)")
    parser.add_argument("--n-test", type=int, default=3, help="titles held out per member (default: 3)")
    parser.add_argument("--min-interactions", type=int, default=6, help="fewest distinct titles of a tested member (default: 6)")
    parser.add_argument("--selectors", default=",".join(SELECTORS), help=f"comma-separated builders (default: {','.join(SELECTORS)})")
    args = parser.parse_args(argv)
    selectors = tuple(s for s in args.selectors.split(",") if s)
    if "row_ranking" not in selectors:
        parser.error("--selectors must include row_ranking (every builder is compared with it)")
    unknown = [s for s in selectors if s not in ALL_SELECTORS]
    if unknown:
        parser.error(f"unknown selector {unknown[0]!r}, expected one of {', '.join(ALL_SELECTORS)}")
    command = "python -m pagegen.evaluate._intent_report " + " ".join(argv if argv is not None else sys.argv[1:])
    results = intent_grid(args.size, args.members, args.seed, selectors, n_test=args.n_test, min_interactions=args.min_interactions)
    sys.stdout.write(markdown(results, command.strip()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
