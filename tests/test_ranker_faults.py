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


def _budgeted(ms: float):
    from policies import Policy, load_policy

    return Policy(**{**load_policy("default").model_dump(), "ranker_budget_ms": ms})


def test_a_ranker_past_the_time_budget_is_dropped_and_the_page_does_not_wait(world, model):
    import threading

    release = threading.Event()

    def stuck(ctx):
        release.wait(120)  # answers only when the test lets it
        return []

    engine = Engine(world.catalog, model, _budgeted(50), rankers={"stuck": stuck, "good": good}, interactions=world.interactions, profiles=world.profiles)
    try:
        page = engine.build("u3", trace=True)
        # the page was built while the ranker was still running: the budget, not the ranker, ended the wait
        assert any(t.name == "pagegen-ranker-stuck" and t.is_alive() for t in threading.enumerate())
    finally:
        release.set()
    assert [row.key for row in page.rows] == ["good"]
    assert [f.ranker for f in page.trace.failures] == ["stuck"] and "time budget of 50 ms" in page.trace.failures[0].error


def test_a_budget_the_rankers_meet_changes_nothing(world, model):
    """Run side by side within a generous budget, the built-in rankers give the same pages as one after another."""
    users = [world.interactions.users.id(i) for i in range(0, 60, 6)]
    plain = Engine(world.catalog, model, "default", interactions=world.interactions, profiles=world.profiles, now=world.now)
    timed = Engine(world.catalog, model, _budgeted(60_000), interactions=world.interactions, profiles=world.profiles, now=world.now)
    assert timed.dump_many(users) == plain.dump_many(users)


def test_the_budget_is_a_checked_policy_field():
    from pagegen import PolicyError

    for bad in (0, -5, 10**9, "soon"):
        with pytest.raises(PolicyError, match="ranker_budget_ms"):
            _budgeted(bad)
