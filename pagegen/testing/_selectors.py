"""The reusable selector contract: run it on any page selector, built-in or your own.

    check_selector(my_selector, instances)   # raises AssertionError naming what broke

A selector is a callable ``(rows, policy, ctx) -> Selection``. For every instance given (a
catalog, a member, candidate rows and a policy: ``pagegen.testing.instances()`` draws them) it
checks: the result is a Selection of Placed rows; each row is a candidate row shown once, its
titles that candidate's own, eligible, in the candidate's order and none twice; ``columns``, when
given, locate the titles in the candidate row; the page passes ``policies.check``; the objective
is finite; and the same request gives the same selection.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from pagegen.page._assemble import assemble
from pagegen.page._objective import Placed, SelectContext, Selection
from policies._check import check

from ._strategies import NOW, Instance

__all__ = ["check_selector"]


def check_selector(selector: Any, instances: Iterable[Instance], *, device: str = "web", seed: int = 0, rank: Any = None) -> None:
    """Run the whole contract on ``selector`` for each instance; AssertionError names the broken property.

    ``rank``: a function Instance -> RankContext, for selectors that read ``ctx.rank`` (the learned one).
    """
    for n, inst in enumerate(instances):
        where = f"instance {n}"
        selection = _select(selector, inst, device, seed, rank)
        assert isinstance(selection, Selection), f"{where}: a selector returns a Selection, got {type(selection).__name__}"
        _check_rows(selection, inst, where)
        assert math.isfinite(selection.objective), f"{where}: objective {selection.objective} is not finite"
        page = assemble(inst.rows, selection, inst.catalog, user=inst.user.user, policy=inst.policy.name, selector="checked", device=device, now=NOW, seed=seed)
        violations = check(page, inst.policy, inst.user, inst.catalog)
        assert not violations, f"{where}: the page breaks its policy: {'; '.join(map(str, violations[:3]))}"
        again = _select(selector, inst, device, seed, rank)
        assert _same(selection, again), f"{where}: the same request gave another selection (a selector is deterministic given ctx.rng)"


def _select(selector: Any, inst: Instance, device: str, seed: int, rank: Any) -> Selection:
    ctx = SelectContext(catalog=inst.catalog, eligible=inst.eligible, device=device, rng=np.random.default_rng(seed), rank=rank(inst) if rank else None)
    return selector(inst.rows, inst.policy, ctx)


def _check_rows(selection: Selection, inst: Instance, where: str) -> None:
    seen: set[int] = set()
    for p, placed in enumerate(selection.rows):
        at = f"{where}, row {p}"
        assert isinstance(placed, Placed), f"{at}: rows are Placed, got {type(placed).__name__}"
        assert 0 <= placed.row < len(inst.rows), f"{at}: candidate row {placed.row} out of range [0, {len(inst.rows)})"
        assert placed.row not in seen, f"{at}: candidate row {placed.row} placed twice"
        seen.add(placed.row)
        own = np.asarray(inst.rows[placed.row].items)
        items = np.asarray(placed.items)
        assert items.ndim == 1 and items.dtype.kind in "iu", f"{at}: items are a 1-D integer array"
        assert len(set(items.tolist())) == len(items), f"{at}: a title shown twice in its row"
        position = {int(t): c for c, t in enumerate(own.tolist())}
        missing = [int(t) for t in items if int(t) not in position]
        assert not missing, f"{at}: titles {missing[:3]} are not in candidate row {inst.rows[placed.row].key!r}"
        columns = [position[int(t)] for t in items]
        assert columns == sorted(columns), f"{at}: titles out of their candidate row's order"
        assert bool(inst.eligible[items].all()), f"{at}: an ineligible title is shown"
        if placed.columns is not None:
            cols = np.asarray(placed.columns)
            inside = cols.shape == items.shape and bool(((cols >= 0) & (cols < len(own))).all())
            assert inside and np.array_equal(own[cols], items), f"{at}: columns do not locate the titles in the candidate row"


def _same(a: Selection, b: Selection) -> bool:
    if len(a.rows) != len(b.rows) or a.objective != b.objective:
        return False
    return all(x.row == y.row and np.array_equal(x.items, y.items) for x, y in zip(a.rows, b.rows, strict=True))
