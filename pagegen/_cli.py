"""Command line: ``pagegen SUBCOMMAND`` (``python -m pagegen``).

Every subcommand reads its data from a MovieLens folder (``--data DIR``), generic catalog and
events files (``--catalog F --events F``), or, with neither, the built-in synthetic world
(``--world tiny|small|medium|large``). A user's mistake (bad path, unknown member, bad policy
file, corrupt model ...) ends with one line on stderr and exit code 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import tomllib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from policies._policy import PRESETS, load_policy
from policies._route import AUTO

from . import __version__
from .core._atomic import atomic_write_bytes, atomic_write_text
from .core._candidates import ROW_KINDS
from .core._errors import DataError, PagegenError
from .core._page import Page
from .evaluate._quality import main as quality_main
from .evaluate._replay import main as evaluate_main
from .models._fit import FitConfig, fit
from .serve._batch import BatchConfig, run_batch
from .serve._batch_workers import WorkerMemory
from .serve._render import render_html, render_text
from .serve._service import ServiceConfig, check_address, serve
from .serve._sources import WORLDS, Source, check_member, demo_member, load_source, make_engine, parse_now, status, window

__all__ = ["main"]

def _emit(data: bytes, out: str | None) -> None:
    if out:
        atomic_write_bytes(out, data)
        status(f"wrote {out}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


# -- subcommands -----------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    engine, source, now, _ = make_engine(args, members=lambda s: check_member(s, args.user) if args.user else None)
    user = check_member(source, args.user) if args.user else demo_member(source)
    page = engine.build(user, now=now, device=args.device, visit=args.visit)
    rows, cols = window(None, args.device, page)
    sys.stdout.write(render_text(page, visible_rows=rows, visible_columns=cols))
    print(f"\nnext: pagegen build {user} --format text | pagegen render --user {user} --out page.html | pagegen --help")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    engine, source, now, _ = make_engine(args, members=lambda s: check_member(s, args.user))
    page = engine.build(check_member(source, args.user), now=now, device=args.device, trace=args.trace, visit=args.visit)
    if args.format == "text":
        rows, cols = window(None, args.device, page)
        _emit(render_text(page, visible_rows=rows, visible_columns=cols).encode("utf-8"), args.out)
    else:
        _emit(page.to_json() + b"\n", args.out)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.visit is not None:
        raise DataError("the service draws each request's visit from its visit= parameter (default: its now)", field="--visit", value=args.visit)
    token = os.environ.get(args.token_env) or None
    config = ServiceConfig(host=args.host, port=args.port, token=token, workers=args.threads, impressions=args.impressions)
    check_address(config)  # before loading anything
    engine, _, _, _ = make_engine(args)
    status(f"serving on http://{args.host}:{args.port} ({engine.catalog.n:,} titles)")
    serve(engine, config, log_level="info" if args.access_log else "warning")
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    config = _fit_config(args.config) if args.config else None
    source = load_source(args)
    now = parse_now(args.now)
    events = source.interactions if now is None else source.interactions.before(now)
    start = time.perf_counter()
    model = fit(source.catalog, events, config, profiles=source.profiles)
    model.save(args.out)
    print(f"fitted on {len(events):,} events, {source.catalog.n:,} titles in {time.perf_counter() - start:.1f} s -> {args.out}")
    return 0


def _read_config(path: str) -> dict[str, Any]:
    p = Path(path)
    raw = p.read_bytes()
    try:
        if p.suffix == ".toml":
            return tomllib.loads(raw.decode("utf-8"))
        return orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"not valid {'TOML' if p.suffix == '.toml' else 'JSON'} ({err})", source=path) from None


def _fit_config(path: str) -> FitConfig:
    """The FitConfig in a TOML or JSON file; a bad field names the file, the field and its value."""
    fields = _read_config(path)
    if not isinstance(fields, dict):
        raise DataError("expected a table of FitConfig fields", source=path)
    try:
        return FitConfig(**fields)
    except ValidationError as err:
        first = err.errors()[0]
        name = ".".join(map(str, first["loc"])) or "config"
        raise DataError(str(first["msg"]), source=path, field=name, value=first.get("input")) from None
    except DataError as err:
        raise DataError(err.message, source=path, field=err.field, value=err.value) from None


def _cmd_batch(args: argparse.Namespace) -> int:
    config = BatchConfig(shard_size=args.shard_size, workers=args.workers, engine=args.engine, address=args.address, device=args.device, format=args.format,
                         visit=args.visit, impressions=args.impressions)  # fmt: skip
    if args.world_members is not None and (args.data or args.catalog):
        raise DataError("--world-members sizes the synthetic world; it does not apply to --data or --catalog", field="--world-members", value=args.world_members)
    start = time.perf_counter()
    listed = _read_members(args.members) if args.members else None

    def check(source: Source) -> None:
        unknown = [m for m in listed or () if m not in source.interactions.users]
        if unknown:
            raise DataError(f"{len(unknown):,} unknown member(s), the first: {unknown[0]!r}", source=args.members)

    engine, source, now, params = make_engine(args, members=check)
    setup = time.perf_counter() - start
    members = listed if listed is not None else source.interactions.users.ids.tolist()
    if args.limit is not None:
        members = members[: args.limit]
    config = config.model_copy(update={"now": now})
    result = run_batch(engine, args.out, members, config, params=params)
    done = f"{result.pages:,} pages in {result.seconds:.1f} s ({result.pages_per_second:,.0f} pages/s)"
    print(f"{result.out}: {result.n_members:,} members in {result.n_shards} shards; this run built {result.shards_built} shards, {done}; {result.shards_skipped} already done")
    total = setup + result.seconds
    print(f"set-up (data, model, engine) {setup:.1f} s; with it {total:.1f} s ({result.pages / total if total > 0 else 0.0:,.0f} pages/s)")
    if result.workers:
        print("memory per worker: " + _worker_memory(result.workers))
    return 0


def _visit(text: str) -> int | str:
    """``--visit``: a whole number (a session counter) or a request id."""
    return int(text) if text.isdigit() else text


def _read_members(path: str) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    members = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not members:
        raise DataError("no member ids (one per line)", source=path)
    return members


def _worker_memory(workers: Sequence[WorkerMemory]) -> str:
    """'peak RSS 412, 415 MB (shared pages included); private 96, 97 MB' for the batch's summary line."""
    def mb(values: Iterable[int]) -> str:
        return ", ".join(f"{v / 2**20:,.0f}" for v in values)

    line = f"peak RSS {mb(w.peak_rss for w in workers)} MB (pages shared with the coordinator included)"
    private = [w.private for w in workers]
    return line if None in private else line + f"; private {mb(p for p in private if p is not None)} MB"


def _cmd_render(args: argparse.Namespace) -> int:
    if (args.page is None) == (args.user is None):
        raise DataError("give a page JSON file or --user ID (one of them)", field="page")
    if args.page is not None:
        try:
            page = Page.from_json(Path(args.page).read_bytes())
        except ValueError as err:  # orjson and pydantic errors are ValueErrors
            raise DataError(f"not a page ({_first_line(err)})", source=args.page) from None
        if args.data or args.catalog or args.world or args.model:
            raise DataError("a page file carries its titles and genres: --data, --world, --catalog and --model go with --user", field="page")
        policy_ref = args.policy  # None: the window the page states
    else:
        args.policy = args.policy or AUTO
        engine, source, now, _ = make_engine(args, members=lambda s: check_member(s, args.user))
        page = engine.build(check_member(source, args.user), now=now, device=args.device, visit=args.visit)
        policy_ref = None
    rows, cols = window(policy_ref, page.device, page)
    atomic_write_text(args.out, render_html(page, visible_rows=rows, visible_columns=cols))
    print(f"wrote {args.out} ({len(page.rows)} rows, {sum(len(r.slots) for r in page.rows)} tiles)")
    return 0


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return " ".join(text[:3]) if text else type(err).__name__


def published_schema() -> dict:
    """The page schema ``pagegen schema`` prints: the presets' devices and the built-in row kinds as enums."""
    return Page.json_schema(devices=sorted({d for name in PRESETS for d in load_policy(name).windows}), kinds=ROW_KINDS)


def _cmd_schema(args: argparse.Namespace) -> int:
    _emit(orjson.dumps(published_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n", args.out)
    return 0


def _delegate(command: Callable[[list[str]], int], argv: list[str]) -> int:
    try:
        return int(command(argv) or 0)
    except SystemExit as stop:  # argparse inside the delegate: --help, usage errors
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)


# -- parser ------------------------------------------------------------------------------------


def _count(text: str) -> int:
    """A whole number >= 0 (argparse type)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {value}")
    return value


def _add_source(p: argparse.ArgumentParser, *, model: bool = True) -> None:
    g = p.add_argument_group("data (default: the built-in synthetic world)")
    g.add_argument("--world", choices=WORLDS, help="synthetic world size (default: small)")
    g.add_argument("--world-seed", type=int, default=0, metavar="N", help="seed of the synthetic world (default: 0)")
    g.add_argument("--data", metavar="DIR", help="a MovieLens folder (movies.csv, ratings.csv, ...)")
    g.add_argument("--catalog", metavar="FILE", help="generic catalog file (CSV or JSON lines), with --events")
    g.add_argument("--events", metavar="FILE", help="generic events file (CSV or JSON lines), with --catalog")
    g.add_argument("--lenient", action="store_true", help="skip bad input lines (each one reported) instead of stopping")
    g.add_argument("--now", metavar="TIME", help="build time: epoch seconds or ISO date (default: just after the last event)")
    if model:
        g.add_argument("--model", metavar="FILE", help="a model written by `pagegen fit` (default: fit one now)")


def _add_page_options(p: argparse.ArgumentParser, *, policy_default: str | None = AUTO) -> None:
    g = p.add_argument_group("page")
    g.add_argument(
        "--policy", default=policy_default, metavar="NAME|FILE",
        help="auto (default: kids profiles get the kids preset, others their device's: tv, mobile, default on the web), "
        "a preset (default, kids, mobile, tv) forced for everyone, or a TOML/JSON file",
    )  # fmt: skip
    g.add_argument("--selector", metavar="NAME", help="page construction: template, row_ranking, stage_wise (default), learned, or exact (small pages: --n-rows 3 --row-length 4)")
    g.add_argument("--device", default="web", help="device the page is shaped for (default: web)")
    g.add_argument("--seed", type=int, default=0, help="seed of the per-member randomness (default: 0)")
    g.add_argument("--visit", type=_visit, metavar="ID", help="the visit the exploration is drawn for: a request id, or a whole number such as a session counter (default: the build time)")
    g.add_argument("--n-rows", type=int, metavar="N", help="rows of the page instead of the policy's (e.g. 3 with --selector exact)")
    g.add_argument("--row-length", type=int, metavar="N", help="titles per row instead of the policy's (e.g. 4 with --selector exact)")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show a traceback on errors")
    parser = argparse.ArgumentParser(prog="pagegen", description="Personalized streaming homepages: rows of titles, built per member.", parents=[common])
    parser.add_argument("--version", action="version", version=f"pagegen {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func, help_: str, **kw) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_, description=help_, parents=[common], **kw)
        p.set_defaults(func=func)
        return p

    p = add("demo", _cmd_demo, "build a member's page on the synthetic world and print it")
    p.add_argument("--user", help="member id (default: an active member)")
    _add_source(p)
    _add_page_options(p)
    p = add("build", _cmd_build, "build one member's page (JSON, or a text view)")
    p.add_argument("user", help="member id")
    p.add_argument("--format", choices=("json", "text"), default="json")
    p.add_argument("--out", metavar="FILE", help="write here (atomically) instead of stdout")
    p.add_argument("--trace", action="store_true", help="include the build trace in the JSON")
    _add_source(p)
    _add_page_options(p)
    p = add("fit", _cmd_fit, "fit a model on a data set and save it")
    p.add_argument("--out", required=True, metavar="FILE", help="model file to write")
    p.add_argument("--config", metavar="FILE", help="FitConfig fields as JSON or TOML")
    _add_source(p, model=False)
    p = add("batch", _cmd_batch, "build every member's page into JSON-lines or Parquet shards (resumable)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (part-00000.jsonl, ..., manifest.json)")
    p.add_argument("--format", choices=("jsonl", "parquet"), default="jsonl", help="jsonl: one page a line; parquet: one row per tile (pip install 'pagegen[frames]') (default: jsonl)")
    p.add_argument("--members", metavar="FILE", help="member ids, one per line (default: every member)")
    p.add_argument("--limit", type=_count, metavar="N", help="only the first N members")
    p.add_argument("--shard-size", type=int, default=500, metavar="N", help="members per shard (default: 500)")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="worker processes or Ray actors (default: one per CPU)")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="local process pool or Ray (pip install 'pagegen[ray]')")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--world-members", type=int, metavar="N", help="synthetic world with N members instead of its size's count (e.g. --world medium --world-members 1000000)")
    p.add_argument("--impressions", action="store_true", help="also write impression records with propensities (OUT/impressions/part-0000k.jsonl)")
    _add_source(p)
    _add_page_options(p)
    p = add("render", _cmd_render, "write a page as a self-contained HTML preview")
    p.add_argument("page", nargs="?", help="a page JSON file (from `pagegen build`), or use --user")
    p.add_argument("--user", help="build this member's page and render it")
    p.add_argument("--out", required=True, metavar="FILE", help="HTML file to write")
    _add_source(p)
    _add_page_options(p, policy_default=None)
    p = add("serve", _cmd_serve, "serve pages over HTTP, with fresh events applied nearline")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1; another address needs a token)")
    p.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    p.add_argument("--token-env", default="PAGEGEN_TOKEN", metavar="NAME", help="environment variable holding the bearer token for POST /v1/events (default: PAGEGEN_TOKEN)")
    p.add_argument("--threads", type=int, default=8, metavar="N", help="page builds at once (default: 8)")
    p.add_argument("--access-log", action="store_true", help="log every request")
    p.add_argument("--impressions", metavar="DIR", help="write served pages' impression records with propensities here (JSON-lines files, each written atomically)")
    _add_source(p)
    _add_page_options(p)
    p = add("schema", _cmd_schema, "print the JSON Schema of a page")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    for name, help_ in (("evaluate", "offline replay evaluation of the page builders"), ("quality", "model quality table: validation and test figures, chosen settings")):
        add(name, None, help_ + f" (arguments: pagegen {name} --help)")
    return parser


_DELEGATES = {"evaluate": evaluate_main, "quality": quality_main}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    head = [a for a in argv[:2] if a == "--debug"]
    command = argv[len(head)] if len(argv) > len(head) else None
    if command in _DELEGATES:  # the delegate parses its own arguments (and --help)
        args = argparse.Namespace(command=command, debug=bool(head), rest=argv[len(head) + 1 :], delegate=_DELEGATES[command])
    else:
        try:
            args = _parser().parse_args(argv)
        except SystemExit as stop:
            return stop.code if isinstance(stop.code, int) else 2
    debug = getattr(args, "debug", False)
    try:
        if getattr(args, "delegate", None):
            return _delegate(args.delegate, args.rest)
        return int(args.func(args))
    except KeyboardInterrupt:
        print(f"pagegen {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as err:
        if debug:
            raise
        user_error = isinstance(err, (PagegenError, OSError)) or type(err).__name__ == "ValidationError"
        if isinstance(err, OSError) and err.filename is not None:
            reason = f"{err.strerror or err}: {err.filename}"
        else:
            reason = _first_line(err)
        kind = "error" if user_error else f"internal error ({type(err).__name__})"
        hint = "" if user_error else " (rerun with --debug for the traceback)"
        print(f"pagegen {args.command}: {kind}: {reason}{hint}", file=sys.stderr)
        return 2 if user_error else 1
