"""Served and batch pages write impression records with propensities that pagegen.learned reads."""

from __future__ import annotations

import orjson
import pytest
from starlette.testclient import TestClient

from pagegen.core._page import Page
from pagegen.learned._logging_policy import read_impressions
from pagegen.serve._batch import BatchConfig, impressions_path, run_batch, shard_path
from pagegen.serve._engine import Engine
from pagegen.serve._impressions import impression_record
from pagegen.serve._service import ServiceConfig, make_app


@pytest.fixture(scope="module")
def engine(tiny_world, tiny_model):
    return Engine(tiny_world.catalog, tiny_model, "default", interactions=tiny_world.interactions, profiles=tiny_world.profiles, now=tiny_world.now)


def _same(record: dict, page: Page) -> None:
    assert record["member"] == page.user and record["view"] == record["visit"] == page.visit and record["play"] is None
    assert record["propensity"] == page.propensity and record["draw"] == page.draw
    assert [r["key"] for r in record["rows"]] == [r.key for r in page.rows]
    assert [r["propensity"] for r in record["rows"]] == [r.propensity for r in page.rows]
    assert [r["items"] for r in record["rows"]] == page.items()


def test_batch_writes_the_impressions_of_its_pages(tmp_path, engine, tiny_world):
    members = tiny_world.interactions.users.ids.tolist()[:12]
    cfg = BatchConfig(shard_size=5, workers=1, visit="run-1", impressions=True)
    run_batch(engine, tmp_path, members, cfg, progress=False)
    records = [rec for shard in range(3) for rec in read_impressions(impressions_path(tmp_path, shard))]
    pages = [Page.from_json(line) for shard in range(3) for line in shard_path(tmp_path, shard).read_bytes().splitlines()]
    assert len(records) == len(pages) == 12 and any(p.propensity < 1 for p in pages)
    for record, page in zip(records, pages, strict=True):
        assert page.visit == "run-1"
        _same(record, page)
    impressions_path(tmp_path, 1).unlink()  # a crash after the shard, before its impressions
    run_batch(engine, tmp_path, members, cfg, progress=False)
    assert read_impressions(impressions_path(tmp_path, 1)) == records[5:10]


def test_batch_without_the_option_writes_none(tmp_path, engine, tiny_world):
    run_batch(engine, tmp_path, tiny_world.interactions.users.ids.tolist()[:3], BatchConfig(shard_size=5, workers=1), progress=False)
    assert not (tmp_path / "impressions").exists()


def test_the_service_logs_each_page_with_its_propensities(tmp_path, engine, tiny_world):
    users = tiny_world.interactions.users
    with TestClient(make_app(engine, ServiceConfig(impressions=str(tmp_path / "imp"), impressions_every=2))) as client:
        bodies = [client.get(f"/v1/page/{users.id(u)}", params={"visit": f"r{u}"}).content for u in range(3)]
        assert len(list((tmp_path / "imp").glob("*.jsonl"))) == 1  # two views written, one waiting
        again = client.get(f"/v1/page/{users.id(0)}", params={"visit": "r0"}).content
        other = [client.get(f"/v1/page/{users.id(0)}", params={"visit": str(v)}).content for v in range(6)]
    assert again == bodies[0] and len(set(other)) > 1
    records = [rec for path in sorted((tmp_path / "imp").glob("*.jsonl")) for rec in read_impressions(path)]
    assert len(records) == 10  # the rest written at shutdown
    for record, body in zip(records, bodies, strict=False):
        _same(record, Page.from_json(body))
    assert orjson.loads(other[0])["visit"] == 0  # a whole number is a session counter


def test_impression_record_of_a_page_round_trips_through_json(engine, tiny_world):
    page = engine.build(tiny_world.interactions.users.id(1), visit=7)
    _same(orjson.loads(orjson.dumps(impression_record(page))), page)
