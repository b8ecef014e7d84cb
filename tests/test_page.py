"""Page: JSON through orjson (byte-stable, round trip), the published schema, the grid."""

from __future__ import annotations

import numpy as np
import orjson

from pagegen._catalog import Catalog
from pagegen._page import PAGE_FORMAT_VERSION, Page, PageRow, Slot, Trace, TraceStep, jsonable, page_grid


def _page(**kw):
    rows = [
        PageRow(kind="top10", key="top10", title="Top 10", evidence={"region": "US", "n": 2}, slots=[Slot(id="b", title="B", score=0.5), Slot(id="a", title="A", score=0.25, reason="popular")]),
        PageRow(kind="genre", key="genre:Drama", title="Drama", evidence={"genre": "Drama"}, slots=[Slot(id="c", title="C", score=1.0)]),
    ]
    return Page(user="u1", policy="default", selector="stage_wise", device="tv", now=123, seed=7, rows=rows, **kw)


def test_json_is_sorted_compact_and_round_trips():
    page = _page(trace=Trace(steps=[TraceStep(row=0, key="top10", gain=1.5, feasible=3)], objective=2.0))
    data = page.to_json()
    assert data == _page(trace=page.trace).to_json()
    parsed = orjson.loads(data)
    assert list(parsed) == sorted(parsed) and parsed["version"] == PAGE_FORMAT_VERSION
    assert parsed["rows"][0]["slots"][1] == {"id": "a", "reason": "popular", "score": 0.25, "title": "A"}
    back = Page.from_json(data)
    assert back == page and back.to_json() == data
    assert Page.from_json(data.decode()) == page


def test_schema_is_published():
    schema = Page.json_schema()
    assert schema["title"] == "Page"
    assert {"version", "user", "policy", "selector", "device", "now", "seed", "rows", "trace"} <= set(schema["properties"])
    assert "Slot" in schema["$defs"] and "PageRow" in schema["$defs"]


def test_page_grid_maps_ids_to_catalog_indices():
    catalog = Catalog.build(["a", "b", "c"], ["A", "B", "C"])
    grid = page_grid(_page(), catalog)
    assert grid.dtype == np.int32
    assert grid.tolist() == [[1, 0], [2, -1]]
    empty = Page(user=None, policy="p", selector="s", device="web", now=0, seed=0, rows=[])
    assert page_grid(empty, catalog).shape == (0, 0)


def test_jsonable_turns_numpy_into_plain_json():
    value = jsonable({"items": np.arange(3, dtype=np.int32), "w": np.float32(0.5), "k": "x"})
    assert value == {"items": [0, 1, 2], "k": "x", "w": 0.5}
    assert all(type(v) in (list, float, str) for v in value.values())
