"""A logging policy with known randomization, and impression logs as JSON lines.

The logging policy is the stage-wise loop (:func:`pagegen.learned._learned.run_steps`) with
Plackett-Luce sampling: at each step a row is drawn among the placeable candidates with
probability ``(1 - epsilon) softmax(score / temperature) + epsilon / #placeable`` (the uniform
share keeps every propensity away from zero). Given several row scorers, the softmax is the
average of theirs: logging around every policy one means to evaluate off-policy keeps the
importance weights of each of them small. Each page view is then browsed by the
simulator, and one JSON line records what was shown and what happened::

    {"member": "u17", "member_index": 17, "now": 1700000000, "view": 0, "policy": "plackett_luce",
     "rows": [{"kind": "trending", "key": "trending", "title": "Trending Now",
               "items": ["t12", "t7", ...], "propensity": 0.31, "features": [...]}, ...],
     "play": {"row": 1, "col": 3, "item": "t40"}}        # or null when nothing was played

``propensity`` is the probability that the logging policy placed that row given the rows
above it; ``features`` are the row's :data:`pagegen.learned._learned.FEATURES` at that step.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np
import orjson

from pagegen.core._atomic import atomic_write_bytes
from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._plackett_luce import LoggingConfig, plackett_luce

from ._learned import Request, Scorer, StepConfig, Steps, gain_scorer, run_steps
from ._simulate import BrowseConfig, BrowseOutcome, browse, browse_rng, play_grid

__all__ = ["LoggingConfig", "log_pages", "plackett_luce", "read_impressions", "write_impressions"]

def _record(catalog: Catalog, request: Request, steps: Steps, outcome: BrowseOutcome, policy: str) -> dict:
    ids = catalog.ids
    rows = []
    for r, cand in enumerate(steps.chosen):
        row = request.candidates[int(cand)]
        titles = steps.grid[r][steps.grid[r] >= 0]
        rows.append({"kind": row.kind, "key": row.key, "title": row.title, "items": ids[titles].tolist(), "propensity": steps.info[r], "features": steps.features[r].tolist()})
    play = {"row": outcome.row, "col": outcome.col, "item": str(ids[outcome.item])} if outcome.played else None
    return {"member": request.user, "member_index": request.member, "now": request.now, "view": request.view, "policy": policy, "rows": rows, "play": play}


def log_pages(
    catalog: Catalog,
    requests: Iterable[Request],
    preference: Callable[[int, np.ndarray], np.ndarray],
    *,
    scorer: Scorer | Sequence[Scorer] = gain_scorer,
    config: LoggingConfig | None = None,
    step_config: StepConfig | None = None,
    browse_config: BrowseConfig | None = None,
    seed: int = 0,
) -> list[dict]:
    """Serve each request with the Plackett-Luce logging policy, simulate the visit, record it.

    ``scorer``: the row scorer(s) the policy randomizes around (default: the stage-wise gain).

    ``preference(member, items)`` is the ground truth (``world.truth.preference``). The page's
    randomness comes from (seed, member, view) and the visit's from another stream of the
    same triple, so the log does not depend on the order of the requests.
    """
    step_config = step_config or StepConfig()
    out = []
    for req in requests:
        rng = np.random.default_rng(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, req.member & 0xFFFFFFFF, req.view & 0xFFFFFFFF, 0x106]))
        steps = run_steps(catalog, req, step_config, plackett_luce(scorer, rng, config))
        prob = play_grid(steps.grid, lambda items, m=req.member: preference(m, items), browse_config)
        outcome = browse(steps.grid, prob, browse_rng(seed, req.member, req.view), browse_config)
        out.append(_record(catalog, req, steps, outcome, "plackett_luce"))
    return out


def write_impressions(path, records: Sequence[dict]) -> None:
    """Write impression records as JSON lines, atomically (a reader never sees half a file)."""
    atomic_write_bytes(path, b"".join(orjson.dumps(rec) + b"\n" for rec in records))


_REQUIRED = ("member", "now", "view", "rows", "play")
_ROW_REQUIRED = ("kind", "key", "items", "propensity", "features")


def read_impressions(path) -> list[dict]:
    """Read and check an impression log; bad lines raise DataError naming file, line and field."""
    out = []
    with open(path, "rb") as fh:
        for line, raw in enumerate(fh, start=1):
            if not raw.strip():
                continue
            try:
                rec = orjson.loads(raw)
            except orjson.JSONDecodeError as err:
                raise DataError(f"not JSON ({err})", source=str(path), line=line) from None
            if not isinstance(rec, dict):
                raise DataError("expected a JSON object", source=str(path), line=line, value=rec)
            for name in _REQUIRED:
                if name not in rec:
                    raise DataError("missing field", source=str(path), line=line, field=name)
            for r, row in enumerate(rec["rows"]):
                for name in _ROW_REQUIRED:
                    if name not in row:
                        raise DataError("missing field", source=str(path), line=line, field=f"rows[{r}].{name}")
                p = row["propensity"]
                if not isinstance(p, int | float) or not 0.0 < p <= 1.0:
                    raise DataError("propensity must be a number within (0, 1]", source=str(path), line=line, field=f"rows[{r}].propensity", value=p)
            play = rec["play"]
            if play is not None and not (isinstance(play, dict) and 0 <= play.get("row", -1) < len(rec["rows"])):
                raise DataError("play must be null or name a row of the page", source=str(path), line=line, field="play", value=play)
            out.append(rec)
    return out
