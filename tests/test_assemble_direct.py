"""Assembly's shortcuts give the same page: the columns the greedy loop knows, and the JSON dump of
the rows' own evidences (without their JSON round trip)."""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import orjson
import pytest

from pagegen.core._candidates import CandidateRow
from pagegen.core._catalog import Catalog
from pagegen.core._page import JSON_OPTIONS
from pagegen.page._assemble import _positions, assemble, assemble_json
from pagegen.page._objective import Placed, SelectContext, Selection, prepare
from pagegen.page._registry import SELECTORS
from policies._policy import Policy

N = 60
CATALOG = Catalog.build([f"t{i}" for i in range(N)], [f"T{i}" for i in range(N)], [["Drama"] if i % 2 else ["Comedy"] for i in range(N)])


def _policy() -> Policy:
    return Policy(n_rows=5, row_length=4, min_titles=1, windows={"web": {"rows": 3, "columns": 2}}, pins=[], genre_cap=None,
                  attention={"row_decay": 0.5, "column_decay": 0.5}, diversity=0.5)  # fmt: skip


def _rows(rng: np.random.Generator) -> list[CandidateRow]:
    rows = []
    for r in range(9):
        items = rng.choice(N, size=int(rng.integers(3, 12)), replace=False)
        reasons = tuple(f"why {i}" if i % 3 else None for i in items) if r % 2 else None
        rows.append(CandidateRow(("a", "b", "genre")[r % 3], f"r{r}", f"R{r}", items, np.sort(rng.random(len(items)))[::-1], {"n": r}, float(rng.random()), reasons))
    return rows


def _dump(rows, selection) -> bytes:
    return assemble_json(rows, selection, CATALOG, user="u", policy="p", selector="s", device="web", now=7, seed=1)


def _page_json(rows, selection) -> bytes:
    return assemble(rows, selection, CATALOG, user="u", policy="p", selector="s", device="web", now=7, seed=1).to_json()


def _without_columns(selection: Selection) -> Selection:
    return dataclasses.replace(selection, rows=tuple(Placed(p.row, p.items) for p in selection.rows))


@pytest.mark.parametrize("name", ["stage_wise", "row_ranking", "template"])
def test_greedy_columns_locate_the_titles_when_ineligible_titles_were_removed(name):
    """Placed.columns give each shown title's position in its candidate row, also when prepare removed
    ineligible titles from the middle of rows (Problem.origin); the page is the one the lookup gives."""
    rng = np.random.default_rng(4)
    for _ in range(20):
        rows = _rows(rng)
        eligible = rng.random(N) < 0.7
        ctx = SelectContext(catalog=CATALOG, eligible=eligible)
        assert prepare(rows, _policy(), ctx).origin is not None  # the packed path
        selection = SELECTORS[name](rows, _policy(), ctx)
        assert selection.rows
        for p in selection.rows:
            np.testing.assert_array_equal(np.asarray(rows[p.row].items)[p.columns], p.items)
        plain = _without_columns(selection)
        assert _dump(rows, selection) == _dump(rows, plain) == _page_json(rows, plain) == _page_json(rows, selection)


def test_wrong_columns_are_not_trusted():
    """Columns that do not hold the placed titles (another position, past the row's end) are ignored:
    the titles are looked up as without them."""
    rng = np.random.default_rng(5)
    rows = _rows(rng)
    selection = SELECTORS["stage_wise"](rows, _policy(), SelectContext(catalog=CATALOG, eligible=np.ones(N, dtype=bool)))
    want = _dump(rows, _without_columns(selection))
    first = selection.rows[0]
    for columns in (first.columns[::-1].copy(), first.columns + len(rows[first.row].items), -1 - first.columns):
        if len(first.items) > 1 or columns[0] != first.columns[0]:
            broken = dataclasses.replace(selection, rows=(Placed(first.row, first.items, columns), *selection.rows[1:]))
            assert _dump(rows, broken) == want
    # the lookup itself: the columns in the concatenation of the page's candidate rows
    used = [rows[p.row] for p in selection.rows]
    index, starts = _positions(used, selection.rows, np.concatenate([p.items for p in selection.rows]), N)
    np.testing.assert_array_equal(index, np.concatenate([p.columns + starts[j] for j, p in enumerate(selection.rows)]))


@dataclasses.dataclass
class _Note:
    zeta: int
    alpha: str


class _Name(str):
    pass


@pytest.mark.parametrize(
    "evidence",
    [
        {"w": np.float32(0.1), "v": np.arange(3, dtype=np.int64), "f": np.array([0.5, 1e-7], np.float32), "z": {"b": 1, "a": [1.5, None]}},
        {"note": _Note(zeta=1, alpha="x")},  # a dataclass: its round trip is a dict, dumped with sorted keys
        {"when": datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.UTC)},
        {"name": _Name("drama"), "names": [_Name("x")]},
        {"nan": float("nan"), "big": 2**62, "neg": -0.0},
    ],
)
def test_dumped_evidences_equal_their_round_trip(evidence):
    """assemble_json dumps the rows' evidences as they are: the same bytes as the page made from their
    JSON round trip, also for values orjson writes otherwise (then the round trip is taken)."""
    rows = [CandidateRow("genre", "g", "G", np.array([3, 1, 0]), np.array([0.9, 0.5, 0.25], np.float32), evidence, 1.0)]
    selection = Selection(rows=(Placed(0, np.array([3, 1], np.int32), np.array([0, 1])),), objective=1.0)
    assert _dump(rows, selection) == _page_json(rows, selection)
    assert orjson.loads(_dump(rows, selection))["rows"][0]["evidence"] == orjson.loads(orjson.dumps(evidence, option=JSON_OPTIONS))
