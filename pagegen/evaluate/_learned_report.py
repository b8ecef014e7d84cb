"""The learned selector, end to end on a synthetic world, compared with the hand-made selectors.

``python -m pagegen.evaluate._learned_report [--size small] [--seed 0] [--out report.json]``:

1. fit the model on the world's events; members are split into a training half and a fresh half;
2. log page views of the training members with the Plackett-Luce logging policy, simulate the
   visits, train the row scorer on those logs (the same code as ``python -m pagegen.learned train``);
3. on the fresh members, build each member's page with template, row_ranking, stage_wise and
   learned (the trained scorer as the key of the same constrained greedy loop as stage_wise:
   the full policy, pins and caps, holds for all four, so ``learned - stage_wise`` compares the
   row scorers), and measure plays per page view in the simulator (sampled, with common random
   numbers across selectors, and the exact expectation), with confidence intervals, the paired
   difference learned - stage_wise, and offline metrics against the ground-truth relevance;
4. log fresh traffic on the fresh members (Plackett-Luce around both the gain and the learned
   scores) and estimate, off-policy, the value of the greedy in-loop policies (gain and
   learned) with IPS, SNIPS and DR, next to their true value.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np
import orjson
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._atomic import atomic_write_bytes
from pagegen.core._catalog import Catalog
from pagegen.data._synthetic import synthetic_world
from pagegen.learned._learned import FEATURES, LearnedScorer, Request, StepConfig, gain_scorer, greedy, run_steps, step_probabilities, train, training_rows
from pagegen.learned._logging_policy import LoggingConfig, log_pages, write_impressions
from pagegen.learned._ope import Estimate, cumulative_weights, doubly_robust, ips, snips
from pagegen.learned._simulate import BrowseConfig, browse, browse_rng, expected_plays, play_grid
from pagegen.models._fit import fit
from pagegen.page._learned_select import learned_selector
from pagegen.page._objective import SelectContext
from pagegen.page._registry import SELECTORS
from policies._policy import load_policy
from rows._context import make_context
from rows._registry import candidate_rows

from ._metrics import coverage, duplicates, n2dcg, recall

__all__ = ["ReportConfig", "compare", "format_report", "main", "member_requests", "off_policy", "run", "step_config", "true_value"]

SELECTOR_NAMES = ("template", "row_ranking", "stage_wise")


class ReportConfig(BaseModel):
    """What the comparison runs on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    size: str = Field("small", pattern="^(tiny|small|medium)$", description="Synthetic world size (pagegen.data._synthetic.SIZES).")
    seed: int = Field(0, ge=0, description="World, logging and browsing seed.")
    train_members: int = Field(1000, ge=10, le=1_000_000, description="Members whose logged views train the scorer (the first ones).")
    eval_members: int = Field(500, ge=10, le=1_000_000, description="Fresh members the selectors are compared on (after the training ones).")
    views: int = Field(2, ge=1, le=100, description="Logged page views per training member.")
    eval_views: int = Field(4, ge=1, le=100, description="Fresh logged page views per evaluated member, for the off-policy estimates.")
    policy: str = Field("default", description="Page policy preset or file.")
    device: str = Field("web", description="Device whose visible window the policy uses.")
    alpha: float = Field(0.05, gt=0.0, lt=1.0, description="Confidence intervals are at level 1 - alpha.")
    logging: LoggingConfig = Field(default_factory=LoggingConfig, description="Randomization of the logging policy.")
    browse: BrowseConfig = Field(default_factory=BrowseConfig, description="The simulated members' browsing.")
    weighting: Literal["none", "propensity"] = Field("none", description="Weigh each logged training row by its inverse propensity, or not (the shipped scorer: not).")


@dataclass(frozen=True, eq=False)
class Member:
    """One member's request, prepared once: candidates, eligibility and the selector context."""

    request: Request
    eligible: np.ndarray
    select_ctx: object


def step_config(policy) -> StepConfig:
    """The stage-wise loop shaped like the policy's pages."""
    return StepConfig(n_rows=policy.n_rows, n_cols=policy.row_length, min_titles=policy.min_titles, column_decay=policy.attention.column_decay)


def member_requests(world, model, policy, members: Sequence[int], *, device: str = "web", seed: int = 0) -> list[Member]:
    """Candidate rows of each member at ``world.now`` (the row rankers), ready for every selector."""
    out = []
    for m in members:
        user = world.user_state(int(m))
        ctx = make_context(world.catalog, model, user, n=policy.row_length, seed=seed)
        rows, _failures = candidate_rows(ctx)
        req = Request(int(m), user.user, user.now, 0, tuple(rows), ctx.affinity, len(user.items))
        out.append(Member(req, ctx.eligible, SelectContext(world.catalog, ctx.eligible, device, ctx.rng, rank=ctx)))
    return out


def _selector_grid(select, member: Member, policy) -> np.ndarray:
    sel = select(member.request.candidates, policy, member.select_ctx)
    grid = np.full((policy.n_rows, policy.row_length), -1, np.int32)
    for r, placed in enumerate(sel.rows):
        grid[r, : len(placed.items)] = placed.items
    return grid


def _ci(values: np.ndarray, alpha: float) -> dict[str, float]:
    v = np.asarray(values, np.float64)
    half = NormalDist().inv_cdf(1 - alpha / 2) * float(v.std(ddof=1)) / np.sqrt(len(v)) if len(v) > 1 else float("inf")
    return {"mean": float(v.mean()), "low": float(v.mean() - half), "high": float(v.mean() + half)}


def compare(world, catalog: Catalog, members: Sequence[Member], scorer: LearnedScorer, policy, config: ReportConfig) -> dict:
    """Plays per page view (sampled and exact) and offline metrics of each selector on ``members``."""
    selectors = {**{n: SELECTORS[n] for n in SELECTOR_NAMES}, "learned": learned_selector(scorer)}
    names = tuple(selectors)
    sampled = {n: np.zeros(len(members)) for n in names}
    exact = {n: np.zeros(len(members)) for n in names}
    offline = {n: {"recall@window": [], "n2dcg": [], "duplicates": 0} for n in names}
    grids: dict[str, list[np.ndarray]] = {n: [] for n in names}
    window = policy.window(config.device)
    for j, mem in enumerate(members):
        m = mem.request.member
        cand = np.flatnonzero(mem.eligible)
        pref = world.truth.preference(m, cand)
        top = np.argsort(-pref, kind="stable")[:10]
        relevance = dict(zip(cand[top].tolist(), pref[top].tolist(), strict=True))
        for name in names:
            grid = _selector_grid(selectors[name], mem, policy)
            prob = play_grid(grid, lambda items, m=m: world.truth.preference(m, items), config.browse)
            exact[name][j] = expected_plays(grid, prob, config.browse)
            sampled[name][j] = browse(grid, prob, browse_rng(config.seed + 1, m, 0), config.browse).played
            offline[name]["recall@window"].append(recall(grid, relevance, window.rows, window.columns))
            offline[name]["n2dcg"].append(n2dcg(grid, relevance))
            offline[name]["duplicates"] += duplicates(grid)
            grids[name].append(grid)
    out = {}
    for name in names:
        out[name] = {
            "plays_per_view": _ci(sampled[name], config.alpha),
            "expected_plays_per_view": _ci(exact[name], config.alpha),
            "recall@window": float(np.nanmean(offline[name]["recall@window"])),
            "n2dcg": float(np.nanmean(offline[name]["n2dcg"])),
            "duplicates": offline[name]["duplicates"],
            "coverage": coverage(grids[name], catalog.n),
        }
    out["learned - stage_wise"] = {
        "plays_per_view": _ci(sampled["learned"] - sampled["stage_wise"], config.alpha),
        "expected_plays_per_view": _ci(exact["learned"] - exact["stage_wise"], config.alpha),
    }
    return out


def off_policy(catalog: Catalog, members: Sequence[Member], logs: Sequence[dict], targets: dict, steps: StepConfig, reward_model: LearnedScorer, *, depth: int | None = None, alpha: float = 0.05) -> dict[str, list[Estimate]]:
    """IPS, SNIPS and DR estimates of each greedy target ``{name: row scorer}`` from ``logs``.

    ``depth``: estimate the plays in the first ``depth`` rows only (default: the whole page).
    A logged page rarely agrees with a deterministic target many rows down, so the cascade
    weights of deep rows are mostly zero with a few huge ones and no interval is reliable
    there; the first screen is what the logs support. Compare with :func:`true_value` at the
    same depth (the cascade reads top-down, so plays in the first rows do not depend on the
    rows below).

    Each log record is replayed on its member's candidates: at every logged step the target's
    choice given the logged rows above is compared with the logged row (deterministic target:
    probability 1 or 0), and ``reward_model`` (P(play in the row | reached)) gives DR's baseline.
    """
    by_member = {mem.request.member: mem for mem in members}
    n_rows = steps.n_rows if depth is None else min(int(depth), steps.n_rows)
    out: dict[str, list[Estimate]] = {}
    for name, scorer in targets.items():
        rewards, logp, tgt = (np.zeros((len(logs), n_rows)) for _ in range(3))
        logp[:] = 1.0
        q_logged, q_target = np.zeros((len(logs), n_rows)), np.zeros((len(logs), n_rows))
        for i, rec in enumerate(logs):
            mem = by_member[rec["member_index"]]
            keys = [c.key for c in mem.request.candidates]
            logged = [keys.index(row["key"]) for row in rec["rows"][:n_rows]]
            survive = [1.0]

            def choose(step, x, ok, i=i, rec=rec, logged=logged, survive=survive, scorer=scorer, tgt=tgt, logp=logp, q_logged=q_logged, q_target=q_target):
                a = logged[step]
                p_target = step_probabilities(scorer(x), ok, None)
                q = reward_model(x)
                tgt[i, step] = p_target[a]
                logp[i, step] = rec["rows"][step]["propensity"]
                q_logged[i, step] = survive[0] * q[a]
                q_target[i, step] = survive[0] * float(p_target @ q)
                survive[0] *= 1.0 - q[a]
                return a, None

            # the same loop and features as logging and true_value; only the first len(logged) steps
            run_steps(catalog, mem.request, steps, choose, limit=len(logged))
            if rec["play"] is not None and rec["play"]["row"] < n_rows:
                rewards[i, rec["play"]["row"]] = 1.0
        w = cumulative_weights(tgt, logp)
        out[name] = [ips(rewards, w, alpha=alpha), snips(rewards, w, alpha=alpha), doubly_robust(rewards, w, q_logged, q_target, alpha=alpha)]
    return out


def true_value(world, catalog: Catalog, members: Sequence[Member], scorer, steps: StepConfig, browse_config: BrowseConfig, *, depth: int | None = None) -> float:
    """Mean exact expected plays of the greedy in-loop policy ``scorer`` over ``members``.

    ``depth``: only the plays in the first ``depth`` rows (default: the whole page).
    """
    values = []
    for mem in members:
        grid = run_steps(catalog, mem.request, steps, greedy(scorer)).grid
        prob = play_grid(grid, lambda items, m=mem.request.member: world.truth.preference(m, items), browse_config)
        values.append(float(expected_plays(grid, prob, browse_config, per_row=True)[:depth].sum()))
    return float(np.mean(values))


def run(config: ReportConfig, *, logs_path=None, scorer_path=None) -> dict:
    """The whole pipeline of the module docstring; returns the report as a JSON-friendly dict.

    ``logs_path``: also write the training impressions there (JSON lines); ``scorer_path``: the
    trained scorer (``python -m pagegen.learned train LOGS OUT`` rebuilds the same one from the logs).
    """

    world = synthetic_world(config.size, seed=config.seed)
    catalog = world.catalog
    model = fit(catalog, world.interactions, profiles=world.profiles)
    policy = load_policy(config.policy)
    steps = step_config(policy)
    n = world.config.n_members
    n_train = min(config.train_members, n // 2)
    n_eval = min(config.eval_members, n - n_train)
    train_members = member_requests(world, model, policy, range(n_train), device=config.device, seed=config.seed)
    views = [Request(m.request.member, m.request.user, m.request.now, v, m.request.candidates, m.request.relevance, m.request.activity) for m in train_members for v in range(config.views)]
    logs = log_pages(catalog, views, world.truth.preference, config=config.logging, step_config=steps, browse_config=config.browse, seed=config.seed)
    if logs_path is not None:
        write_impressions(logs_path, logs)
    x, y, w = training_rows(logs)
    scorer = train(x, y, weights=w if config.weighting == "propensity" else None)
    if scorer_path is not None:
        scorer.save(scorer_path)
    eval_members = member_requests(world, model, policy, range(n_train, n_train + n_eval), device=config.device, seed=config.seed)
    table = compare(world, catalog, eval_members, scorer, policy, config)
    fresh_views = [Request(m.request.member, m.request.user, m.request.now, v, m.request.candidates, m.request.relevance, m.request.activity) for m in eval_members for v in range(config.eval_views)]
    # fresh traffic logged around both targets (a known mixture), so that each has small importance weights
    fresh = log_pages(catalog, fresh_views, world.truth.preference, scorer=(gain_scorer, scorer), config=config.logging, step_config=steps, browse_config=config.browse, seed=config.seed + 7)
    targets = {"gain (in-loop stage-wise)": gain_scorer, "learned": scorer}
    estimates = off_policy(catalog, eval_members, fresh, targets, steps, scorer, alpha=config.alpha)
    ope = {name: {"truth": true_value(world, catalog, eval_members, targets[name], steps, config.browse), "estimates": [e.as_dict() for e in ests]} for name, ests in estimates.items()}
    weights = dict(zip(FEATURES, scorer.weights.round(4).tolist(), strict=True))
    return {"config": config.model_dump(), "logged_views": len(logs), "training_rows": len(y), "training_plays": int(y.sum()), "eval_members": n_eval, "selectors": table, "ope": ope, "scorer_weights": weights}


def format_report(report: dict) -> str:
    """The report as plain-text tables."""
    lines = [f"world {report['config']['size']} seed {report['config']['seed']}: {report['logged_views']} logged views, {report['training_rows']} training rows ({report['training_plays']} plays), {report['eval_members']} fresh members", ""]
    lines.append(f"{'selector':<22} {'plays/view (sampled)':>28} {'expected plays/view':>28} {'recall@window':>14} {'n2dcg':>7} {'dups':>5} {'coverage':>9}")
    for name, row in report["selectors"].items():
        s, e = row["plays_per_view"], row["expected_plays_per_view"]
        cells = f"{s['mean']:.4f} [{s['low']:.4f}, {s['high']:.4f}]", f"{e['mean']:.4f} [{e['low']:.4f}, {e['high']:.4f}]"
        extra = f" {row['recall@window']:>14.4f} {row['n2dcg']:>7.4f} {row['duplicates']:>5d} {row['coverage']:>9.4f}" if "n2dcg" in row else ""
        lines.append(f"{name:<22} {cells[0]:>28} {cells[1]:>28}{extra}")
    lines += ["", f"{'off-policy target':<28} {'truth':>8} {'method':>6} {'estimate [interval]':>30} covers"]
    for name, row in report["ope"].items():
        for est in row["estimates"]:
            cov = "yes" if est["low"] <= row["truth"] <= est["high"] else "NO"
            lines.append(f"{name:<28} {row['truth']:>8.4f} {est['method']:>6} {est['value']:>10.4f} [{est['low']:.4f}, {est['high']:.4f}]  {cov}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pagegen.evaluate._learned_report", description="Learned page construction vs the hand-made selectors, in the browsing simulator.")
    parser.add_argument("--size", default="small", choices=("tiny", "small", "medium"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train-members", type=int, default=1000)
    parser.add_argument("--eval-members", type=int, default=500)
    parser.add_argument("--views", type=int, default=2)
    parser.add_argument("--eval-views", type=int, default=4)
    parser.add_argument("--out", help="also write the report as JSON here (atomic)")
    parser.add_argument("--logs", help="also write the training impressions here (JSON lines)")
    parser.add_argument("--scorer", help="also write the trained row scorer here (JSON)")
    parser.add_argument("--weights", choices=("none", "propensity"), default="none", help="weigh each logged training row by its inverse propensity, or not (default: none, as the shipped scorer)")
    args = parser.parse_args(argv)
    config = ReportConfig(size=args.size, seed=args.seed, train_members=args.train_members, eval_members=args.eval_members, views=args.views, eval_views=args.eval_views, weighting=args.weights)
    report = run(config, logs_path=args.logs, scorer_path=args.scorer)
    print(format_report(report))
    if args.out:
        atomic_write_bytes(args.out, orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    return 0


if __name__ == "__main__":
    sys.exit(main())
