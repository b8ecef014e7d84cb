"""Frames out: one row per tile from the engine and from built pages (or their JSON)."""

from __future__ import annotations

import numpy as np
import orjson
import pandas as pd
import pytest

from pagegen import Engine, Page, PageRow, Slot, pages_frame
from pagegen.serve._frames import TILE_COLUMNS, pages_arrow, tile_columns


@pytest.fixture(scope="module")
def engine(tiny_world, tiny_model) -> Engine:
    return Engine(tiny_world.catalog, tiny_model, interactions=tiny_world.interactions, profiles=tiny_world.profiles, now=tiny_world.now)


def expected_tiles(pages: list[Page]) -> list[dict]:
    """The tiles of ``pages`` written out by hand, field by field."""
    return [
        {
            "member": page.user,
            "row": r,
            "column": c,
            "item": slot.id,
            "title": slot.title,
            "score": slot.score,
            "reason": slot.reason,
            "genres": list(slot.genres),
            "propensity": slot.propensity,
            "row_kind": row.kind,
            "row_key": row.key,
            "row_title": row.title,
            "row_evidence": orjson.dumps(row.evidence, option=orjson.OPT_SORT_KEYS).decode(),
            "row_propensity": row.propensity,
        }
        for page in pages
        for r, row in enumerate(page.rows)
        for c, slot in enumerate(row.slots)
    ]


def records(frame: pd.DataFrame) -> list[dict]:
    """Rows as plain Python values (missing text as None), whatever dtypes pandas chose."""
    def plain(v):
        if isinstance(v, np.ndarray):  # a list column read back from Arrow
            return v.tolist()
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else v

    return [{k: plain(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def test_recommend_frame_is_the_pages_tiles(engine, tiny_world) -> None:
    members = tiny_world.interactions.users.ids[:3].tolist()
    frame = engine.recommend_frame(members, device="tv")
    pages = engine.build_many(members, device="tv")
    assert tuple(frame.columns) == TILE_COLUMNS
    assert len(frame) == sum(len(row.slots) for page in pages for row in page.rows) > 0
    assert frame["member"].unique().tolist() == members
    assert records(frame) == expected_tiles(pages)
    assert frame["row"].dtype == np.int64 and frame["column"].dtype == np.int64 and frame["score"].dtype == np.float64
    assert records(pages_frame(pages)) == records(frame)
    assert records(pages_frame([orjson.loads(p.to_json()) for p in pages])) == records(frame)  # from the JSON too
    assert records(pages_arrow(pages).to_pandas()) == records(frame)


def test_the_columns_follow_the_page_models_fields() -> None:
    """A field added to Slot or PageRow becomes a column with no other change."""
    slot = ["item" if name == "id" else name for name in Slot.model_fields]
    row = [f"row_{name}" for name in PageRow.model_fields if name != "slots"]
    assert TILE_COLUMNS == ("member", "row", "column", *slot, *row)
    page = Page(user="m", policy="p", selector="s", device="web", now=0, seed=0, rows=[PageRow(kind="k", key="k:1", title="T", slots=[Slot(id="a", title="A", score=1.0)])])
    assert {name: values for name, (_, values) in tile_columns([page]).items()}["reason"] == [None]
    assert set(tile_columns([page])) == set(TILE_COLUMNS)
