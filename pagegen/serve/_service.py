"""The page service: pages over HTTP, fresh events applied nearline (``pagegen serve``).

An ASGI application (Starlette) served by uvicorn, one process: the model is loaded once and the
page builds run in the server's worker threads, all reading it.

    GET  /v1/page/{member}?device=web&policy=auto&now=...&selector=...&seed=...&visit=...   the Page JSON
         (``visit``: the request id the exploration is drawn for, default the request's now; with
         ``ServiceConfig.impressions`` each page's impression record is logged with its propensities)
    POST /v1/events      JSON lines {"id", "user", "item", "timestamp", "kind", "value"}, applied once per id
    GET  /healthz        {"status": "ok", ...}
    GET  /metrics        Prometheus text: requests, errors, latency histogram, events applied

A bad request gets a 4xx status with a JSON body ``{"error", "field", "value", "line"}``. When a
token is configured, ``POST /v1/events`` needs ``Authorization: Bearer TOKEN``; a service on an
address other than loopback refuses to start without one. Bodies, lines and reading time are
bounded (413 and 408 with a JSON body), so a slow or large client cannot hold the service.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hmac
import ipaddress
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path

import orjson
import uvicorn
from pydantic import BaseModel, ConfigDict, Field
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from pagegen.core._errors import DataError, PagegenError
from pagegen.learned._logging_policy import write_impressions
from policies._policy import PRESETS
from policies._route import AUTO, DEVICE_PRESETS

from ._engine import Engine, _selector
from ._impressions import impression_record
from ._nearline import Nearline, parse_event

__all__ = ["ImpressionLog", "ServiceConfig", "ServiceError", "check_address", "make_app", "serve"]

#: Upper bounds of the latency histogram's buckets, in seconds.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class ServiceError(PagegenError):
    """A service that cannot start as configured (e.g. an open address without a token)."""


class ServiceConfig(BaseModel):
    """How the page service listens and what it accepts."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field("127.0.0.1", min_length=1, description="Address to listen on; other than loopback it needs a token.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on (0: any free port).")
    token: str | None = Field(None, min_length=16, description="Bearer token required by the endpoints that change state (POST /v1/events).")
    max_body: int = Field(1 << 20, ge=1024, le=1 << 30, description="Largest request body in bytes (413 beyond).")
    max_line: int = Field(16_384, ge=64, le=1 << 20, description="Longest JSON line of an events post in bytes (413 beyond).")
    read_timeout: float = Field(10.0, gt=0.0, le=600.0, description="Seconds a client may take to send its body (408 beyond).")
    workers: int = Field(8, ge=1, le=256, description="Threads building pages at once.")
    impressions: str | None = Field(None, min_length=1, description="Folder the served pages' impression records go to (JSON-lines files, each written atomically); None: not written.")
    impressions_every: int = Field(1000, ge=1, le=1_000_000, description="Page views per impressions file (the rest is written at shutdown).")


def check_address(config: ServiceConfig) -> None:
    """Refuse an address other than loopback without a token."""
    if config.token is not None:
        return
    host = config.host
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ServiceError(f"host {host!r} is not a loopback address: set a token (PAGEGEN_TOKEN) so that only its holders can post events")


def _error(status: int, message: str, *, field: str | None = None, value: object = None, line: int | None = None) -> Response:
    body = {"error": message, "field": field, "value": None if value is None else str(value)[:200], "line": line}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def _from_data_error(err: DataError, status: int = 400) -> Response:
    return _error(status, err.message, field=err.field, value=err.value, line=err.line)


class _Metrics:
    """Counters and a latency histogram, rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.buckets: dict[str, list[int]] = {}
        self.sums: dict[str, float] = {}

    def observe(self, route: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[route, status] = self.requests.get((route, status), 0) + 1
            counts = self.buckets.setdefault(route, [0] * (len(BUCKETS) + 1))
            counts[next((i for i, b in enumerate(BUCKETS) if seconds <= b), len(BUCKETS))] += 1
            self.sums[route] = self.sums.get(route, 0.0) + seconds

    def render(self, nearline: Nearline) -> str:
        with self._lock:
            lines = ["# HELP pagegen_requests_total Requests served, by route and status.", "# TYPE pagegen_requests_total counter"]
            lines += [f'pagegen_requests_total{{route="{r}",status="{s}"}} {n}' for (r, s), n in sorted(self.requests.items())]
            errors = {}
            for (r, s), n in self.requests.items():
                if s >= 400:
                    errors[r] = errors.get(r, 0) + n
            lines += ["# HELP pagegen_errors_total Requests answered with a 4xx or 5xx status.", "# TYPE pagegen_errors_total counter"]
            lines += [f'pagegen_errors_total{{route="{r}"}} {n}' for r, n in sorted(errors.items())]
            lines += ["# HELP pagegen_request_seconds Request latency.", "# TYPE pagegen_request_seconds histogram"]
            for route, counts in sorted(self.buckets.items()):
                total = 0
                for bound, n in zip((*BUCKETS, float("inf")), counts, strict=True):
                    total += n
                    label = "+Inf" if bound == float("inf") else f"{bound:g}"
                    lines.append(f'pagegen_request_seconds_bucket{{route="{route}",le="{label}"}} {total}')
                lines.append(f'pagegen_request_seconds_sum{{route="{route}"}} {self.sums[route]:.6f}')
                lines.append(f'pagegen_request_seconds_count{{route="{route}"}} {total}')
        lines += ["# HELP pagegen_events_total Events posted, by outcome.", "# TYPE pagegen_events_total counter"]
        lines.append(f'pagegen_events_total{{outcome="applied"}} {nearline.applied}')
        lines.append(f'pagegen_events_total{{outcome="duplicate"}} {nearline.duplicates}')
        return "\n".join(lines) + "\n"


class _Pages:
    """One engine per policy, all on the nearline model and the member states it keeps."""

    def __init__(self, engine: Engine, nearline: Nearline, impressions: ImpressionLog | None = None) -> None:
        self.base, self.nearline, self.impressions = engine, nearline, impressions
        self.name = AUTO if engine.auto else engine.policy.name
        self._engines: dict[str, Engine] = {self.name: engine}
        self._lock = threading.Lock()

    def engine(self, policy: str | None) -> Engine:
        name = policy or self.name
        with self._lock:
            if name not in self._engines:
                if name not in (*PRESETS, AUTO):
                    raise DataError(f"expected one of {', '.join(sorted({*PRESETS, AUTO, self.name}))}", field="policy", value=name)
                base = self.base
                self._engines[name] = Engine(base.catalog, base.model, name, rankers=base.rankers, interactions=base.interactions,
                                             profiles=base.profiles, selector=base.selector, seed=base.seed, now=base.now, fatigue=base.fatigue)  # fmt: skip
            engine = copy.copy(self._engines[name])  # this request's view: the model as it is now, for the whole build
        engine.model = self.nearline.model
        return engine

    def build(self, member: str, query: Mapping[str, str]) -> bytes:
        unknown = sorted(set(query) - {"device", "policy", "now", "selector", "seed", "visit"})
        if unknown:
            raise DataError("unknown query parameter", field=unknown[0], value=query[unknown[0]])
        engine = self.engine(query.get("policy"))
        device = query.get("device", "web")
        devices = DEVICE_PRESETS if engine.auto else engine.policy.windows
        if device not in devices:
            raise DataError(f"expected one of {', '.join(sorted(devices))}", field="device", value=device)
        selector = query.get("selector")
        if selector is not None:
            _selector(selector)
        now = _int_param(query, "now", engine.now if engine.now is not None else int(time.time()))
        seed = _int_param(query, "seed", engine.seed)
        state = self.nearline.state(member, now, engine.profile(member))
        visit = query.get("visit")
        page = engine.build(state, device=device, selector=selector, seed=seed, visit=int(visit) if visit is not None and visit.isdigit() else visit)
        if self.impressions is not None:
            self.impressions.add(impression_record(page))
        return page.to_json()


class ImpressionLog:
    """Impression records of served pages, written to ``folder`` in files of ``every`` records
    (``part-<start>-<n>.jsonl``, each written atomically: a reader sees whole files only) and the
    rest at ``flush`` (the service's shutdown)."""

    def __init__(self, folder: str | os.PathLike[str], every: int) -> None:
        self.folder, self.every = Path(folder), int(every)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._start = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        self._records: list[dict] = []
        self._files = 0
        self._lock = threading.Lock()

    def add(self, record: dict) -> None:
        with self._lock:
            self._records.append(record)
            if len(self._records) >= self.every:
                self._write()

    def flush(self) -> None:
        with self._lock:
            if self._records:
                self._write()

    def _write(self) -> None:
        write_impressions(self.folder / f"part-{self._start}-{os.getpid()}-{self._files:06d}.jsonl", self._records)
        self._records, self._files = [], self._files + 1


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    text = query.get(name)
    if text is None:
        return int(default)
    try:
        value = int(text)
    except ValueError:
        raise DataError("expected a whole number", field=name, value=text) from None
    if not 0 <= value < 2**62:
        raise DataError("out of range", field=name, value=text)
    return value


async def _read_body(request: Request, config: ServiceConfig) -> bytes:
    """The body, bounded in size and in the time the client takes to send it."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > config.max_body:
        raise _TooLarge(f"body of {declared} bytes > {config.max_body}")
    chunks, size = [], 0
    stream = request.stream().__aiter__()
    deadline = time.monotonic() + config.read_timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise _TooSlow
        try:
            chunk = await asyncio.wait_for(stream.__anext__(), timeout=left)
        except StopAsyncIteration:
            break
        except TimeoutError:
            raise _TooSlow from None
        size += len(chunk)
        if size > config.max_body:
            raise _TooLarge(f"body > {config.max_body} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class _TooLarge(Exception):
    pass


class _TooSlow(Exception):
    pass


def make_app(engine: Engine, config: ServiceConfig | None = None) -> Starlette:
    """The ASGI application serving ``engine``'s pages with nearline events (see the module docstring)."""
    config = config or ServiceConfig()
    nearline = Nearline(engine.catalog, engine.model, engine.interactions)
    log = None if config.impressions is None else ImpressionLog(config.impressions, config.impressions_every)
    pages = _Pages(engine, nearline, log)
    metrics = _Metrics()
    limiter = threading.BoundedSemaphore(config.workers)

    def timed(route: str):
        def wrap(handler):
            async def endpoint(request: Request) -> Response:
                start = time.perf_counter()
                try:
                    response = await handler(request)
                except DataError as err:
                    response = _from_data_error(err, 404 if err.field == "member" else 400)
                except Exception as err:  # a fault inside the engine: 500, counted, the service stays up
                    response = _error(500, f"internal error ({type(err).__name__})")
                metrics.observe(route, response.status_code, time.perf_counter() - start)
                return response

            return endpoint

        return wrap

    @timed("page")
    async def page(request: Request) -> Response:
        member = request.path_params["member"]
        query = dict(request.query_params)

        def build() -> bytes:
            with limiter:
                return pages.build(member, query)

        return Response(await run_in_threadpool(build), media_type="application/json")

    @timed("events")
    async def events(request: Request) -> Response:
        if config.token is not None:
            given = request.headers.get("authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {config.token}".encode()):
                return _error(401, "a bearer token is required", field="authorization")
        try:
            body = await _read_body(request, config)
        except _TooLarge as err:
            return _error(413, str(err), field="body")
        except _TooSlow:
            return _error(408, f"the body took longer than {config.read_timeout:g} s", field="body")
        parsed = []
        for number, raw in enumerate(body.splitlines(), start=1):
            if len(raw) > config.max_line:
                return _error(413, f"line of {len(raw)} bytes > {config.max_line}", line=number, field="line")
            if not raw.strip():
                continue
            try:
                record = orjson.loads(raw)
            except orjson.JSONDecodeError as err:
                return _error(400, f"not JSON ({err})", line=number)
            parsed.append(parse_event(record, engine.catalog, number))
        applied, duplicates = await run_in_threadpool(nearline.apply, parsed)
        return Response(orjson.dumps({"applied": applied, "duplicates": duplicates}), media_type="application/json")

    @timed("healthz")
    async def healthz(request: Request) -> Response:
        body = {"status": "ok", "titles": engine.catalog.n, "events_applied": nearline.applied}
        return Response(orjson.dumps(body), media_type="application/json")

    async def prometheus(request: Request) -> Response:
        return Response(metrics.render(nearline), media_type="text/plain; version=0.0.4")

    routes = [
        Route("/v1/page/{member}", page, methods=["GET"]),
        Route("/v1/events", events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", prometheus, methods=["GET"]),
    ]
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        yield
        if log is not None:
            log.flush()  # the page views since the last impressions file

    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.nearline = nearline
    app.state.impressions = log
    return app


def serve(engine: Engine, config: ServiceConfig, *, log_level: str = "warning") -> None:
    """Run the service until interrupted (uvicorn, one process; ``config.workers`` page threads)."""
    check_address(config)
    uvicorn.run(make_app(engine, config), host=config.host, port=config.port, log_level=log_level, timeout_keep_alive=5, limit_concurrency=1024)

