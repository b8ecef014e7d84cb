"""Assembly: each slot from its candidate row, and the evidences as their JSON round trip."""

from __future__ import annotations

import dataclasses
import datetime

import numpy as np
import orjson
import pytest

from pagegen.core._candidates import CandidateRow
from pagegen.core._catalog import Catalog
from pagegen.core._page import JSON_OPTIONS
from pagegen.page._assemble import assemble, assemble_json
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


@pytest.mark.parametrize("name", ["stage_wise", "row_ranking", "template"])
def test_each_slot_holds_its_rows_title_score_and_reason(name):
    """Also when prepare removed ineligible titles from the middle of rows (Problem.origin)."""
    rng = np.random.default_rng(4)
    for _ in range(20):
        rows = _rows(rng)
        eligible = rng.random(N) < 0.7
        ctx = SelectContext(catalog=CATALOG, eligible=eligible)
        assert prepare(rows, _policy(), ctx).origin is not None
        selection = SELECTORS[name](rows, _policy(), ctx)
        page = orjson.loads(_page_json(rows, selection))
        assert _dump(rows, selection) == _page_json(rows, selection)
        for p, shown in zip(selection.rows, page["rows"], strict=True):
            row = rows[p.row]
            at = {int(t): c for c, t in enumerate(row.items)}
            assert [s["id"] for s in shown["slots"]] == [f"t{t}" for t in p.items]
            assert [s["score"] for s in shown["slots"]] == [round(float(row.scores[at[int(t)]]), 6) for t in p.items]
            assert [s["reason"] for s in shown["slots"]] == [row.reasons[at[int(t)]] if row.reasons else None for t in p.items]


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
    """A row's evidence is written as its JSON round trip, by assemble and assemble_json alike."""
    rows = [CandidateRow("genre", "g", "G", np.array([3, 1, 0]), np.array([0.9, 0.5, 0.25], np.float32), evidence, 1.0)]
    selection = Selection(rows=(Placed(0, np.array([3, 1], np.int32), np.array([0, 1])),), objective=1.0)
    assert _dump(rows, selection) == _page_json(rows, selection)
    assert orjson.loads(_dump(rows, selection))["rows"][0]["evidence"] == orjson.loads(orjson.dumps(evidence, option=JSON_OPTIONS))
