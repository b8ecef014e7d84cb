"""Command line: ``pagegen SUBCOMMAND`` (``python -m pagegen``).

Every subcommand reads its data from a MovieLens folder (``--data DIR``), generic catalog and
events files (``--catalog F --events F``), or, with neither, the built-in synthetic world
(``--world tiny|small|medium|large``). A user's mistake (bad path, unknown member, bad policy
file, corrupt model ...) ends with one line on stderr and exit code 2; ``--debug`` shows the
traceback instead.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from ._errors import DataError, PagegenError

__all__ = ["main"]

WORLDS = ("tiny", "small", "medium", "large")


def _status(message: str) -> None:
    """A progress note on stderr, only on a terminal (pipes and logs stay clean)."""
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


# -- data sources, model, engine -----------------------------------------------------------


@dataclass
class Source:
    catalog: Any
    interactions: Any
    profiles: Any
    now: int
    params: dict[str, Any] = field(default_factory=dict)


def _parse_now(text: str | None) -> int | None:
    if text is None:
        return None
    if text.lstrip("-").isdigit():
        return int(text)
    try:
        when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise DataError("expected epoch seconds or an ISO date such as 2018-09-01", field="--now", value=text) from None
    return int((when if when.tzinfo else when.replace(tzinfo=_dt.UTC)).timestamp())


def load_source(args: argparse.Namespace) -> Source:
    """The data the arguments name (default: the synthetic world)."""
    if args.data and (args.catalog or args.events):
        raise DataError("give either --data DIR or --catalog F --events F, not both", field="--data", value=args.data)
    if bool(args.catalog) != bool(args.events):
        raise DataError("--catalog and --events go together", field="--catalog" if args.catalog else "--events")
    if args.data or args.catalog:
        from ._load import load_dataset, load_movielens

        _status(f"loading {args.data or args.catalog} ...")
        if args.data:
            if not Path(args.data).is_dir():
                raise DataError("not a folder", field="--data", value=args.data)
            ds = load_movielens(args.data, lenient=args.lenient)
            params = {"data": str(Path(args.data).resolve())}
        else:
            ds = load_dataset(args.catalog, args.events, lenient=args.lenient)
            params = {"catalog": str(Path(args.catalog).resolve()), "events": str(Path(args.events).resolve())}
        ts = ds.interactions.timestamp
        now = int(ts.max()) + 1 if len(ts) else 0
        return Source(ds.catalog, ds.interactions, None, now, params)
    from ._synthetic import synthetic_world

    size = args.world or "small"
    n_members = getattr(args, "world_members", None)  # batch: the world's member count, overridden
    _status(f"generating the synthetic world {size!r}{'' if n_members is None else f' with {n_members:,} members'} ...")
    world = synthetic_world(size, seed=args.world_seed, n_members=n_members)
    params = {"world": size, "world_seed": args.world_seed} | ({} if n_members is None else {"world_members": n_members})
    return Source(world.catalog, world.interactions, world.profiles, world.now, params)


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def load_or_fit(args: argparse.Namespace, source: Source, now: int) -> tuple[Any, dict[str, Any]]:
    """The model file given with --model, or a model fitted now on the events before ``now``."""
    if getattr(args, "model", None):
        from ._model import Model

        model = Model.load(args.model)
        if model.n_items != source.catalog.n:
            raise DataError(f"model has {model.n_items} titles but the catalog has {source.catalog.n}: fitted on other data", field="--model", value=args.model)
        path = Path(args.model)
        if not path.is_file():  # Model.save adds .npz when the name has none
            path = path.with_name(path.name + ".npz")
        return model, {"model": str(path.resolve()), "model_sha256": _file_digest(path) if path.is_file() else None}
    from ._fit import fit

    events = source.interactions
    if len(events) and int(events.timestamp.max()) >= now:
        events = events.before(now)
    _status(f"fitting a model on {len(events):,} events ...")
    return fit(source.catalog, events, profiles=source.profiles), {"model": "fit"}


def make_engine(args: argparse.Namespace) -> tuple[Any, Source, int, dict[str, Any]]:
    """Engine, source, build time and the parameters that identify them (for batch manifests)."""
    from policies._policy import load_policy

    from ._engine import Engine

    policy = load_policy(args.policy)
    source = load_source(args)
    now = _parse_now(args.now)
    now = source.now if now is None else now
    model, model_params = load_or_fit(args, source, now)
    kwargs: dict[str, Any] = {"interactions": source.interactions, "profiles": source.profiles, "seed": args.seed, "now": now}
    if args.selector:
        kwargs["selector"] = args.selector
    engine = Engine(source.catalog, model, policy, **kwargs)
    params = {**source.params, **model_params, "policy": args.policy, "policy_name": policy.name, "selector": args.selector, "seed": args.seed}
    return engine, source, now, params


def check_member(source: Source, user: str) -> str:
    """A member id the data knows (a typo would otherwise get a cold-start page silently)."""
    users = source.interactions.users
    if user not in users:
        sample = ", ".join(users.ids[:3].tolist())
        raise DataError(f"unknown member (the data has {len(users):,} members, e.g. {sample})", field="user", value=user)
    return str(user)


def _window(policy_ref: str, device: str) -> tuple[int | None, int | None]:
    from policies._policy import load_policy

    try:
        window = load_policy(policy_ref).window(device)
    except PagegenError as err:
        print(f"pagegen: note: visible window not marked ({err})", file=sys.stderr)
        return None, None
    return window.rows, window.columns


def _demo_member(source: Source) -> str:
    """A member worth showing: the one with the most titles in progress (then the most plays)."""
    from ._interactions import PLAY
    from ._userstate import FINISHED_AT

    ev = source.interactions
    n = ev.n_users
    plays = ev.kind == PLAY
    started = plays & (ev.value < FINISHED_AT) & (ev.value > 0)
    score = np.bincount(ev.user[started], minlength=n) * 1_000_000 + np.bincount(ev.user[plays], minlength=n)
    return ev.users.id(int(np.argmax(score)))


def _emit(data: bytes, out: str | None) -> None:
    if out:
        from ._atomic import atomic_write_bytes

        atomic_write_bytes(out, data)
        _status(f"wrote {out}")
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()


# -- subcommands -----------------------------------------------------------------------------


def _cmd_demo(args: argparse.Namespace) -> int:
    from ._render import render_text

    engine, source, now, _ = make_engine(args)
    user = check_member(source, args.user) if args.user else _demo_member(source)
    page = engine.build(user, now=now, device=args.device)
    rows, cols = _window(args.policy, args.device)
    sys.stdout.write(render_text(page, visible_rows=rows, visible_columns=cols))
    print(f"\nnext: pagegen build {user} --format text | pagegen render --user {user} --out page.html | pagegen --help")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    engine, source, now, _ = make_engine(args)
    page = engine.build(check_member(source, args.user), now=now, device=args.device, trace=args.trace)
    if args.format == "text":
        from ._render import render_text

        rows, cols = _window(args.policy, args.device)
        _emit(render_text(page, visible_rows=rows, visible_columns=cols).encode("utf-8"), args.out)
    else:
        _emit(page.to_json() + b"\n", args.out)
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    from ._fit import FitConfig, fit

    config = FitConfig(**_read_config(args.config)) if args.config else None
    source = load_source(args)
    now = _parse_now(args.now)
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
            import tomllib

            return tomllib.loads(raw.decode("utf-8"))
        return orjson.loads(raw)
    except (ValueError, UnicodeDecodeError) as err:
        raise DataError(f"not valid {'TOML' if p.suffix == '.toml' else 'JSON'} ({err})", source=path) from None


def _cmd_batch(args: argparse.Namespace) -> int:
    from ._batch import BatchConfig, run_batch

    config = BatchConfig(shard_size=args.shard_size, workers=args.workers, engine=args.engine, address=args.address, device=args.device)
    if args.world_members is not None and (args.data or args.catalog):
        raise DataError("--world-members sizes the synthetic world; it does not apply to --data or --catalog", field="--world-members", value=args.world_members)
    start = time.perf_counter()
    engine, source, now, params = make_engine(args)
    setup = time.perf_counter() - start
    if args.members:
        members = _read_members(args.members)
        known = source.interactions.users
        unknown = [m for m in members if m not in known]
        if unknown:
            raise DataError(f"{len(unknown):,} unknown member(s), the first: {unknown[0]!r}", source=args.members)
    else:
        members = source.interactions.users.ids.tolist()
    if args.limit is not None:
        members = members[: args.limit]
    config = config.model_copy(update={"now": now})
    result = run_batch(engine, args.out, members, config, params=params)
    done = f"{result.pages:,} pages in {result.seconds:.1f} s ({result.pages_per_second:,.0f} pages/s)"
    print(f"{result.out}: {result.n_members:,} members in {result.n_shards} shards; this run built {result.shards_built} shards, {done}; {result.shards_skipped} already done")
    total = setup + result.seconds
    print(f"set-up (data, model, engine) {setup:.1f} s; with it {total:.1f} s ({result.pages / total if total > 0 else 0.0:,.0f} pages/s)")
    return 0


def _read_members(path: str) -> list[str]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    members = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not members:
        raise DataError("no member ids (one per line)", source=path)
    return members


def _cmd_render(args: argparse.Namespace) -> int:
    from ._atomic import atomic_write_text
    from ._page import Page
    from ._render import render_html

    if (args.page is None) == (args.user is None):
        raise DataError("give a page JSON file or --user ID (one of them)", field="page")
    catalog = None
    if args.page is not None:
        try:
            page = Page.from_json(Path(args.page).read_bytes())
        except ValueError as err:  # orjson and pydantic errors are ValueErrors
            raise DataError(f"not a page ({_first_line(err)})", source=args.page) from None
        if args.data or args.catalog or args.world:
            catalog = load_source(args).catalog
        policy_ref = args.policy or page.policy
    else:
        args.policy = args.policy or "default"
        engine, source, now, _ = make_engine(args)
        page = engine.build(check_member(source, args.user), now=now, device=args.device)
        catalog, policy_ref = source.catalog, args.policy
    rows, cols = _window(policy_ref, page.device)
    atomic_write_text(args.out, render_html(page, catalog, visible_rows=rows, visible_columns=cols))
    print(f"wrote {args.out} ({len(page.rows)} rows, {sum(len(r.slots) for r in page.rows)} tiles)")
    return 0


def _first_line(err: Exception) -> str:
    text = str(err).strip().splitlines()
    return " ".join(text[:3]) if text else type(err).__name__


def _cmd_schema(args: argparse.Namespace) -> int:
    from ._page import Page

    _emit(orjson.dumps(Page.json_schema(), option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n", args.out)
    return 0


def _delegate(module: str, argv: list[str]) -> int:
    import importlib

    try:
        target = importlib.import_module(module)
    except ImportError as err:
        raise PagegenError(f"{module} is not available in this installation ({err})") from None
    try:
        return int(target.main(argv) or 0)
    except SystemExit as stop:  # argparse inside the delegate: --help, usage errors
        return stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 2)


# -- parser ------------------------------------------------------------------------------------


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


def _add_page_options(p: argparse.ArgumentParser, *, policy_default: str | None = "default") -> None:
    g = p.add_argument_group("page")
    g.add_argument("--policy", default=policy_default, metavar="NAME|FILE", help="policy preset (default, kids, mobile, tv) or a TOML/JSON file")
    g.add_argument("--selector", metavar="NAME", help="page construction: template, row_ranking, stage_wise, exact, ...")
    g.add_argument("--device", default="web", help="device the page is shaped for (default: web)")
    g.add_argument("--seed", type=int, default=0, help="seed of the per-member randomness (default: 0)")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show a traceback on errors")
    parser = argparse.ArgumentParser(prog="pagegen", description="Personalized streaming homepages: rows of titles, built per member.", parents=[common])
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
    p = add("batch", _cmd_batch, "build every member's page into JSON-lines shards (resumable)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (part-00000.jsonl, ..., manifest.json)")
    p.add_argument("--members", metavar="FILE", help="member ids, one per line (default: every member)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N members")
    p.add_argument("--shard-size", type=int, default=500, metavar="N", help="members per shard (default: 500)")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="worker processes or Ray actors (default: one per CPU)")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="local process pool or Ray (pip install 'pagegen[ray]')")
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--world-members", type=int, metavar="N", help="synthetic world with N members instead of its size's count (e.g. --world medium --world-members 1000000)")
    _add_source(p)
    _add_page_options(p)
    p = add("render", _cmd_render, "write a page as a self-contained HTML preview")
    p.add_argument("page", nargs="?", help="a page JSON file (from `pagegen build`), or use --user")
    p.add_argument("--user", help="build this member's page and render it")
    p.add_argument("--out", required=True, metavar="FILE", help="HTML file to write")
    _add_source(p)
    _add_page_options(p, policy_default=None)
    p = add("schema", _cmd_schema, "print the JSON Schema of a page")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    for name, help_ in (("evaluate", "offline replay evaluation of the page builders"), ("quality", "model quality table on MovieLens")):
        add(name, None, help_ + f" (arguments: pagegen {name} --help)")
    return parser


_DELEGATES = {"evaluate": "pagegen._replay", "quality": "pagegen._quality"}


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
