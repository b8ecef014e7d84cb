"""The command line's data sources: a MovieLens folder, generic files or the synthetic world, then
the model (loaded or fitted) and the engine, from the parsed arguments."""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pagegen.core._errors import DataError, PagegenError
from pagegen.core._interactions import PLAY
from pagegen.core._page import Page
from pagegen.core._progress import note as status
from pagegen.core._userstate import FINISHED_AT, Profile
from pagegen.data._load import MAX_TIMESTAMP, MIN_TIMESTAMP, load_dataset, load_movielens
from pagegen.data._load_common import parse_time
from pagegen.data._synthetic import synthetic_world
from pagegen.models._fit import fit
from pagegen.models._model import Model
from pagegen.page._select_exact import ExactConfig
from policies._policy import Policy, load_policy
from policies._route import AUTO, preset_for
from policies._shape import resize

from ._engine import Engine, _selector

#: Candidate rows a request usually has (the built-in rankers): sizes the exact selector's model up front.
TYPICAL_CANDIDATES = 20

__all__ = ["WORLDS", "Source", "check_member", "demo_member", "load_or_fit", "load_source", "make_engine", "parse_now", "status", "window"]

WORLDS = ("tiny", "small", "medium", "large")


@dataclass
class Source:
    catalog: Any
    interactions: Any
    profiles: Any
    now: int
    params: dict[str, Any] = field(default_factory=dict)


def parse_now(text: str | None) -> int | None:
    """``--now``: epoch seconds or an ISO 8601 date/time (UTC when no zone), within the times
    events may have; anything else is a DataError naming the option and the value."""
    if text is None:
        return None
    try:
        now = parse_time(text)
    except (ValueError, OverflowError):
        raise DataError("expected epoch seconds or an ISO date such as 2018-09-01", field="--now", value=text) from None
    if not MIN_TIMESTAMP <= now <= MAX_TIMESTAMP:
        raise DataError(f"outside [{MIN_TIMESTAMP}, {MAX_TIMESTAMP}] (1970-01-01 to 2100-01-01)", field="--now", value=text)
    return now


def load_source(args: argparse.Namespace) -> Source:
    """The data the arguments name (default: the synthetic world)."""
    if args.data and (args.catalog or args.events):
        raise DataError("give either --data DIR or --catalog F --events F, not both", field="--data", value=args.data)
    if bool(args.catalog) != bool(args.events):
        raise DataError("--catalog and --events go together", field="--catalog" if args.catalog else "--events")
    if args.data or args.catalog:
        status(f"loading {args.data or args.catalog} ...")
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

    size = args.world or "small"
    n_members = getattr(args, "world_members", None)  # batch: the world's member count, overridden
    status(f"generating the synthetic world {size!r}{'' if n_members is None else f' with {n_members:,} members'} ...")
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
        model = Model.load(args.model)
        model.check_catalog(source.catalog, field="--model", value=args.model)
        path = Path(args.model)
        if not path.is_file():  # Model.save adds .npz when the name has none
            path = path.with_name(path.name + ".npz")
        return model, {"model": str(path.resolve()), "model_sha256": _file_digest(path) if path.is_file() else None}

    events = source.interactions
    if len(events) and int(events.timestamp.max()) >= now:
        events = events.before(now)
    status(f"fitting a model on {len(events):,} events ...")
    return fit(source.catalog, events, profiles=source.profiles), {"model": "fit"}


def page_policy(args: argparse.Namespace) -> Policy | str:
    """The policy the arguments name, its page shape overridden by --n-rows/--row-length, checked
    with the device and the selector before anything is loaded (a typo costs no fit). "auto" stays
    a name (the engine routes each request by profile and device; its device is checked here) unless
    the page is reshaped: then the device's preset, reshaped, is served to every member."""
    auto = args.policy == AUTO
    policy = load_policy(preset_for(Profile(), args.device) if auto else args.policy)
    shape = {k: v for k, v in (("n_rows", getattr(args, "n_rows", None)), ("row_length", getattr(args, "row_length", None))) if v is not None}
    if shape and auto:
        status(f"note: --n-rows/--row-length reshape one policy: serving {policy.name!r} (the {args.device} preset) to every member")
        auto = False
    if shape:
        policy = resize(policy, shape.get("n_rows", policy.n_rows), shape.get("row_length", policy.row_length))
    policy.window(args.device)
    if args.selector:
        _selector(args.selector)
        cells = policy.n_rows * TYPICAL_CANDIDATES * policy.row_length**2
        if args.selector == "exact" and cells > ExactConfig().max_cells:
            raise DataError(
                f"the exact selector solves small pages; policy {policy.name!r} is {policy.n_rows} x {policy.row_length} "
                "(try --n-rows 3 --row-length 4)", field="--selector", value="exact",
            )  # fmt: skip
    return AUTO if auto else policy


def make_engine(args: argparse.Namespace, *, members: Callable[[Source], object] | None = None) -> tuple[Any, Source, int, dict[str, Any]]:
    """Engine, source, build time and the parameters that identify them (for batch manifests).

    ``members(source)`` checks the members the command will build for, once the data is loaded and
    before a model is fitted."""
    policy = page_policy(args)
    source = load_source(args)
    if members is not None:
        members(source)
    now = parse_now(args.now)
    now = source.now if now is None else now
    model, model_params = load_or_fit(args, source, now)
    kwargs: dict[str, Any] = {"interactions": source.interactions, "profiles": source.profiles, "seed": args.seed, "now": now}
    if args.selector:
        kwargs["selector"] = args.selector
    engine = Engine(source.catalog, model, policy, **kwargs)
    name = policy if isinstance(policy, str) else policy.name
    params = {**source.params, **model_params, "policy": args.policy, "policy_name": name, "selector": args.selector, "seed": args.seed}
    if not isinstance(policy, str) and (args.policy == AUTO or policy != load_policy(args.policy)):
        params["page_shape"] = [policy.n_rows, policy.row_length]
    return engine, source, now, params


def check_member(source: Source, user: str) -> str:
    """A member id the data knows (a typo would otherwise get a cold-start page silently)."""
    users = source.interactions.users
    if not len(users):
        raise DataError("unknown member: no events were loaded, so the data knows no member", field="user", value=user)
    if user not in users:
        sample = ", ".join(users.ids[:3].tolist())
        raise DataError(f"unknown member (the data has {len(users):,} members, e.g. {sample})", field="user", value=user)
    return str(user)


def window(policy_ref: str | None, device: str, page: Page | None = None) -> tuple[int | None, int | None]:
    """The visible (rows, columns) to mark: the window the page states, else the named policy's for ``device``."""
    if page is not None and page.window is not None and (policy_ref is None or policy_ref == page.policy):
        return page.window.rows, page.window.columns
    if policy_ref is None:
        policy_ref = page.policy if page is not None else "default"
    try:
        window = load_policy(policy_ref).window(device)
    except PagegenError as err:
        print(f"pagegen: note: visible window not marked ({err})", file=sys.stderr)
        return None, None
    return window.rows, window.columns


def demo_member(source: Source) -> str:
    """A member worth showing: the one with the most titles in progress (then the most plays)."""

    ev = source.interactions
    n = ev.n_users
    plays = ev.kind == PLAY
    started = plays & (ev.value < FINISHED_AT) & (ev.value > 0)
    score = np.bincount(ev.user[started], minlength=n) * 1_000_000 + np.bincount(ev.user[plays], minlength=n)
    return ev.users.id(int(np.argmax(score)))
