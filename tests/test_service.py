"""The page service: pages over HTTP, nearline events applied once, bad requests named, limits,
and a real server on loopback under a bounded load."""

from __future__ import annotations

import concurrent.futures as cf
import socket
import threading
import time

import httpx
import numpy as np
import orjson
import pytest
import uvicorn
from starlette.testclient import TestClient

from pagegen import Engine
from pagegen.serve._service import ServiceConfig, ServiceError, check_address, make_app

TOKEN = "s3cret-token-of-16+chars"


@pytest.fixture()
def world(tiny_world):
    return tiny_world


@pytest.fixture()
def model(tiny_model):
    return tiny_model


def engine(world, model) -> Engine:
    return Engine(world.catalog, model, "default", interactions=world.interactions, profiles=world.profiles, now=world.now)


@pytest.fixture()
def client(world, model):
    with TestClient(make_app(engine(world, model), ServiceConfig(token=TOKEN, max_body=4096, max_line=512))) as c:
        yield c


def post(client, events, token=TOKEN):
    body = b"\n".join(orjson.dumps(e) for e in events)
    return client.post("/v1/events", content=body, headers={"Authorization": f"Bearer {token}"} if token else {})


def rows_of(page: dict, kind: str) -> list[list[str]]:
    return [[s["id"] for s in row["slots"]] for row in page["rows"] if row["kind"] == kind]


def test_a_page_is_the_engines_page(client, world, model):
    got = client.get("/v1/page/u3", params={"device": "tv", "seed": "5"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    assert got.content == engine(world, model).build("u3", device="tv", seed=5).to_json()
    assert client.get("/v1/page/u3", params={"policy": "kids"}).json()["policy"] == "kids"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"device": "phone"}, "device"), ({"policy": "nope"}, "policy"), ({"now": "soon"}, "now"), ({"selector": "magic"}, "selector"), ({"colour": "red"}, "colour"), ({"seed": "-1"}, "seed")],
)
def test_a_bad_page_request_names_the_field(client, params, field):
    got = client.get("/v1/page/u3", params=params)
    assert got.status_code == 400 and got.json()["field"] == field


def test_events_change_the_next_page_and_count_once(client, world):
    now = world.now + 3600
    titles = [str(t) for t in world.catalog.ids[world.catalog.displayable() & (world.catalog.maturity == 0)][5:8]]
    events = [{"id": f"e{k}", "user": "new-member", "item": t, "timestamp": world.now + k, "kind": "play", "value": 0.4} for k, t in enumerate(titles)]
    assert post(client, events).json() == {"applied": 3, "duplicates": 0}
    assert post(client, events[:1]).json() == {"applied": 0, "duplicates": 1}  # a retry is not a second play
    page = client.get("/v1/page/new-member", params={"now": str(now)}).json()
    assert [set(row) for row in rows_of(page, "continue_watching")] == [set(titles)]
    other = client.get("/v1/page/another-new-member", params={"now": str(now)}).json()
    assert not rows_of(other, "continue_watching")
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and health["events_applied"] == 3


def test_trending_follows_fresh_plays_without_a_refit(client, world):
    app_nearline = client.app.state.nearline
    title = str(world.catalog.ids[world.catalog.displayable()][7])
    index = world.catalog.index(title)
    before = app_nearline.model.popularity(world.now + 60)[index]
    plays = [{"id": f"p{k}", "user": f"fan{k}", "item": title, "timestamp": world.now + k, "kind": "play"} for k in range(30)]
    assert post(client, plays).json() == {"applied": 30, "duplicates": 0}
    assert app_nearline.model.popularity(world.now + 60)[index] == before + 30


def test_members_never_see_each_others_history(client, world):
    """Interleaved posts and pages from many members: each Continue Watching row holds only the
    member's own titles in progress."""
    titles = [str(t) for t in world.catalog.ids[world.catalog.displayable() & (world.catalog.maturity == 0)][:40]]
    own: dict[str, set[str]] = {}
    with cf.ThreadPoolExecutor(8) as pool:
        futures = []
        for k in range(60):  # five titles in progress per member (Continue Watching needs three)
            member = f"m{k % 12}"
            title = titles[(k * 7) % len(titles)]
            own.setdefault(member, set()).add(title)
            event = {"id": f"iso{k}", "user": member, "item": title, "timestamp": world.now + k, "kind": "play", "value": 0.3}
            futures.append(pool.submit(post, client, [event]))
        assert all(f.result().status_code == 200 for f in futures)
        pages = {m: pool.submit(client.get, f"/v1/page/{m}", params={"now": str(world.now + 1000)}) for m in own}
    for member, got in pages.items():
        shown = {t for row in rows_of(got.result().json(), "continue_watching") for t in row}
        assert shown and shown <= own[member], member


@pytest.mark.parametrize(
    ("line", "status", "field"),
    [
        (b'{"id": "a", "user": "u1", "item": "nope", "timestamp": 1700000000}', 400, "item"),
        (b'{"id": "a", "user": "u1", "timestamp": 1700000000}', 400, "item"),
        (b'{"id": "a", "user": "u1", "item": "ITEM", "timestamp": "soon"}', 400, "timestamp"),
        (b'{"id": "a", "user": "u1", "item": "ITEM", "timestamp": 1700000000, "kind": "play", "value": 3}', 400, "value"),
        (b'{"id": "a", "user": "u1", "item": "ITEM", "timestamp": 1700000000, "kind": "like"}', 400, "kind"),
        (b'{"id": 7, "user": "u1", "item": "ITEM", "timestamp": 1700000000}', 400, "id"),
        (b"[1, 2]", 400, None),
        (b"{not json", 400, None),
        (b'{"id": "a", "user": "' + b"x" * 600 + b'"}', 413, "line"),
    ],
)
def test_a_bad_events_post_names_the_line_and_field(client, world, line, status, field):
    body = b'{"id": "ok", "user": "u1", "item": "ITEM", "timestamp": 1700000000}\n' + line
    body = body.replace(b"ITEM", str(world.catalog.ids[0]).encode())
    got = client.post("/v1/events", content=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == status and got.json()["line"] == 2 and got.json()["field"] == field, got.json()
    assert client.app.state.nearline.applied == 0  # nothing of a refused post is applied


def test_the_token_and_the_body_size_are_enforced(client):
    assert post(client, [], token=None).status_code == 401
    assert post(client, [], token="wrong-token-of-enough-length").status_code == 401
    big = client.post("/v1/events", content=b"x" * 5000, headers={"Authorization": f"Bearer {TOKEN}"})
    assert big.status_code == 413 and big.json()["field"] == "body"
    metrics = client.get("/metrics").text
    assert 'pagegen_requests_total{route="events",status="401"} 2' in metrics and "pagegen_request_seconds_bucket" in metrics


def test_an_open_address_needs_a_token():
    check_address(ServiceConfig(host="127.0.0.1"))
    check_address(ServiceConfig(host="0.0.0.0", token=TOKEN))
    with pytest.raises(ServiceError, match="not a loopback address"):
        check_address(ServiceConfig(host="0.0.0.0"))


# -- a real server on loopback ------------------------------------------------------------------------


class Server:
    """uvicorn serving the app on a free loopback port, in a thread, for one test."""

    def __init__(self, app, **config) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", timeout_keep_alive=5, **config))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def test_a_slow_client_does_not_hold_the_service(world, model):
    app = make_app(engine(world, model), ServiceConfig(read_timeout=0.5))
    with Server(app) as url:
        port = int(url.rsplit(":", 1)[1])
        slow = socket.create_connection(("127.0.0.1", port), timeout=10)
        slow.sendall(b"POST /v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # and then nothing
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200  # others are served meanwhile
        answer = b""
        while b'"line"' not in answer:  # the status line and the JSON body may come in several packets
            chunk = slow.recv(4096)
            if not chunk:
                break
            answer += chunk
        slow.close()
        assert answer.startswith(b"HTTP/1.1 408") and b'"field":"body"' in answer


@pytest.mark.parametrize("n_requests", [pytest.param(5000, marks=pytest.mark.slow), 300])
def test_a_bounded_load_on_loopback(world, model, n_requests):
    """16 concurrent clients, pages and event posts mixed (every 10th post resent): no error, every
    event applied exactly once. Prints throughput and latency."""
    app = make_app(engine(world, model), ServiceConfig(token=TOKEN))
    titles = [str(t) for t in world.catalog.ids[world.catalog.displayable()][:50]]
    members = [world.interactions.users.id(i) for i in range(100)]

    def request(k: int, client: httpx.Client) -> tuple[int, float, int]:
        start = time.perf_counter()
        if k % 5 == 0:  # an event post (a tenth of them resent: their ids were seen)
            resend = k % 50 == 0 and k > 0
            event_id = f"load{k // 5 - 1}" if resend else f"load{k // 5}"
            event = {"id": event_id, "user": members[k % 100], "item": titles[k % 50], "timestamp": world.now + k, "kind": "play", "value": 0.5}
            got = client.post("/v1/events", content=orjson.dumps(event), headers={"Authorization": f"Bearer {TOKEN}"})
            sent = int(not resend)
        else:
            got = client.get(f"/v1/page/{members[k % 100]}", params={"now": str(world.now + 10_000)})
            sent = 0
        return got.status_code, time.perf_counter() - start, sent

    with Server(app) as url:
        clients = [httpx.Client(base_url=url, timeout=30) for _ in range(16)]
        start = time.perf_counter()
        with cf.ThreadPoolExecutor(16) as pool:
            results = list(pool.map(lambda k: request(k, clients[k % 16]), range(n_requests), timeout=600))
        seconds = time.perf_counter() - start
        for c in clients:
            c.close()
        metrics = httpx.get(f"{url}/metrics").text
    statuses = [r[0] for r in results]
    latency = np.array([r[1] for r in results]) * 1000
    print(f"\n{n_requests} requests in {seconds:.1f} s: {n_requests / seconds:.0f} requests/s, p50 {np.percentile(latency, 50):.1f} ms, p99 {np.percentile(latency, 99):.1f} ms")
    assert statuses.count(200) == n_requests, {s: statuses.count(s) for s in set(statuses)}
    unique = sum(r[2] for r in results)
    nearline = app.state.nearline
    assert nearline.applied == unique and nearline.duplicates == n_requests // 5 - unique
    assert f'pagegen_events_total{{outcome="applied"}} {unique}' in metrics
