"""A ranker whose rows the page could not carry is dropped for the request, with the fault in the
trace: the page is built from the other rankers, and a batch goes on."""

from __future__ import annotations

import numpy as np
import orjson
import pytest

from pagegen import BatchConfig, CandidateRow, Engine, run_batch


@pytest.fixture()
def world(tiny_world):
    return tiny_world


@pytest.fixture()
def model(tiny_model):
    return tiny_model


def faulty(**fields):
    def ranker(ctx):
        items = np.flatnonzero(ctx.eligible)[:5].astype(np.int32)
        row = {"kind": "top_picks", "key": "faulty", "title": "Faulty", "evidence": {}, "items": items, "scores": np.linspace(10, 9, 5), "score": 100.0}
        return [CandidateRow(**{**row, **fields})]

    return ranker


def good(ctx):
    items = np.flatnonzero(ctx.eligible)[10:20].astype(np.int32)
    return [CandidateRow(kind="popular", key="good", title="Good", evidence={"n": np.int64(3), "share": np.float32(0.5)}, items=items, scores=np.linspace(10, 9, 10), score=1.0)]


FAULTS = [
    ({"evidence": {"x": {1, 2}}}, "evidence is not JSON (Type is not JSON serializable: set)"),
    ({"evidence": {"x": object()}}, "evidence is not JSON (Type is not JSON serializable: object)"),
    ({"evidence": {(1, 2): 3}}, "evidence is not JSON (Dict key must be str)"),
    ({"evidence": {"x": [1.0, float("nan")], "y": None}}, "evidence.x[1] = nan is not a finite number"),
    ({"evidence": {"x": {"y": float("inf")}}}, "evidence.x.y = inf is not a finite number"),
    ({"title": 7}, "field 'title' = 7: expected a string"),
]


@pytest.mark.parametrize(("fields", "says"), FAULTS, ids=[f[1] for f in FAULTS])
def test_the_faulty_ranker_is_dropped_and_named(world, model, fields, says):
    engine = Engine(world.catalog, model, rankers={"faulty": faulty(**fields), "good": good}, interactions=world.interactions, profiles=world.profiles)
    page = engine.build("u3", trace=True)
    assert [row.key for row in page.rows] == ["good"]
    assert [f.ranker for f in page.trace.failures] == ["faulty"] and says in page.trace.failures[0].error
    assert orjson.loads(engine.dump_many(["u3"])[0])["rows"][0]["evidence"] == {"n": 3, "share": 0.5}


def test_a_batch_goes_on_past_a_faulty_ranker(world, model, tmp_path):
    rankers = {"faulty": faulty(evidence={"x": {1}}), "good": good}
    engine = Engine(world.catalog, model, rankers=rankers, interactions=world.interactions, profiles=world.profiles)
    members = [world.interactions.users.id(i) for i in range(12)]
    result = run_batch(engine, tmp_path / "pages", members, BatchConfig(shard_size=4, workers=1))
    assert result.pages == 12
