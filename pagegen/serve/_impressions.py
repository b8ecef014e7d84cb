"""Served pages as impression records: the JSON lines ``pagegen.learned`` reads (``read_impressions``).

One record per page view, what was shown and with what probability::

    {"member": "u17", "now": 1700000000, "view": 1700000000, "visit": 1700000000, "policy": "default",
     "selector": "stage_wise", "device": "web", "seed": 0, "propensity": 0.021, "draw": ["genre:Drama", ...],
     "rows": [{"kind": "genre", "key": "genre:Drama", "title": "Drama", "items": ["t12", ...],
               "propensity": 0.31, "features": []}, ...],
     "play": null}

``view`` is the page's visit. ``propensity`` (top level) is the probability of the page's
exploration draw under the served policy given the member's state (``Page.propensity``): a
served page is a deterministic function of the state and its ``draw``, so a page-level weight
target / logged probability of the draw is exact. A row's ``propensity`` is the step
probability of its own draw (1 for deterministic rows); unlike the learned module's logging
policy, the rows of a served page are not placed one draw at a time, so the product of the row
propensities down the page is not the probability of its first rows. ``features`` are empty
(the served selectors do not compute the learned row features) and ``play`` is null: plays are
joined from the event log afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

import orjson

from pagegen.core._page import Page
from pagegen.learned._logging_policy import write_impressions

__all__ = ["impression_record", "impressions_from_pages", "write_page_impressions"]


def impression_record(page: Page) -> dict:
    """The impression record of one served page."""
    rows = [{"kind": r.kind, "key": r.key, "title": r.title, "items": [s.id for s in r.slots], "propensity": r.propensity, "features": []} for r in page.rows]
    return {"member": page.user, "now": page.now, "view": page.visit, "visit": page.visit, "policy": page.policy, "selector": page.selector, "device": page.device,
            "seed": page.seed, "propensity": page.propensity, "draw": list(page.draw), "rows": rows, "play": None}  # fmt: skip


def impressions_from_pages(lines: Iterable[bytes]) -> list[dict]:
    """Impression records of pages given as JSON lines (a batch shard's lines)."""
    return [impression_record(Page.model_validate(orjson.loads(line))) for line in lines if line.strip()]


def write_page_impressions(path: str | os.PathLike[str], pages: Iterable[Page]) -> None:
    """Write the pages' impression records as JSON lines, atomically (``write_impressions``)."""
    write_impressions(path, [impression_record(p) for p in pages])
