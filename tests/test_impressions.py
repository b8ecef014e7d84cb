"""Served and batch pages write impression records with propensities that pagegen.learned reads."""

from __future__ import annotations

import orjson
import pytest
from starlette.testclient import TestClient

from pagegen.core._errors import DataError
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


def test_the_command_line_takes_a_visit_and_writes_impressions(capsys, tmp_path):
    from pagegen._cli import main

    tiny = ("--world", "tiny")
    assert main(["build", "u3", *tiny, "--visit", "r1"]) == 0
    first = capsys.readouterr().out
    assert main(["build", "u3", *tiny, "--visit", "r1"]) == 0
    assert capsys.readouterr().out == first and Page.from_json(first).visit == "r1"
    assert main(["build", "u3", *tiny, "--visit", "12"]) == 0
    assert Page.from_json(capsys.readouterr().out).visit == 12
    out = tmp_path / "pages"
    assert main(["batch", *tiny, "--out", str(out), "--limit", "6", "--shard-size", "4", "--workers", "1", "--impressions", "--visit", "day-1"]) == 0
    records = read_impressions(impressions_path(out, 0)) + read_impressions(impressions_path(out, 1))
    assert [r["member"] for r in records] == [f"u{i}" for i in range(6)] and {r["visit"] for r in records} == {"day-1"}


def test_a_bad_visit_is_refused_with_its_field(tmp_path, engine, tiny_world):
    with TestClient(make_app(engine)) as client:
        response = client.get(f"/v1/page/{tiny_world.interactions.users.id(0)}", params={"visit": ""})
    assert response.status_code == 400 and response.json()["field"] == "visit"
    with pytest.raises(DataError) as err:
        run_batch(engine, tmp_path, ["u1"], BatchConfig(visit=-3, workers=1), progress=False)
    assert err.value.field == "visit" and not list(tmp_path.iterdir())


def test_serve_refuses_a_fixed_visit(capsys):
    from pagegen._cli import main

    assert main(["serve", "--world", "tiny", "--visit", "r1"]) == 2
    assert "--visit" in capsys.readouterr().err


def test_impressions_need_json_lines_shards(tmp_path, engine):
    from pagegen.core._errors import BatchError

    with pytest.raises(BatchError, match="jsonl"):
        run_batch(engine, tmp_path, ["u1"], BatchConfig(format="parquet", impressions=True, workers=1), progress=False)
    assert not list(tmp_path.iterdir())
