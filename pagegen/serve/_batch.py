"""Batch runs: every member's page, written as JSON lines in shards, resumable after a crash.

Members are cut, in the given order, into shards of ``shard_size``; shard ``k`` is the file
``OUT/part-0000k.jsonl`` (one page per line), or with ``format="parquet"`` ``OUT/part-0000k.parquet``
(one row per tile, ``_frames.TILE_COLUMNS``; the coordinator writes it from the shard's JSON lines). A local worker builds the pages of a shard and
writes them, in one write, to a temporary file next to it; a Ray actor hands the bytes back and
the coordinator writes the temporary file. Only the coordinating process renames (after an
fsync), so a shard file is either complete or absent, and none appears after it dies. A run that is killed and started again skips the
complete shards and builds the rest: every member's page exactly once, none lost, none
duplicated. With ``impressions``, each shard's impression records (``pagegen.serve._impressions``)
are written atomically to ``OUT/impressions/part-0000k.jsonl`` once its pages are in place. ``OUT/manifest.json`` records what the run builds; a restart with different
parameters into the same folder is refused. ``OUT/_SUCCESS.json`` marks a finished run.

Workers: a local process pool (the engine reaches each worker once: inherited on fork, or
pickled once into the worker's initializer elsewhere), or Ray actors (``engine="ray"``; the
engine is put into the object store once and each actor fetches it once).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field

from pagegen.core._atomic import TMP_SUFFIX, atomic_write_bytes
from pagegen.core._errors import BatchError
from pagegen.core._extras import require
from pagegen.core._progress import Progress
from pagegen.learned._logging_policy import write_impressions
from rows._context import visit_entropy

from ._batch_workers import WorkerMemory, build_shard, memory_now, place, run_local, run_ray, shard_path
from ._frames import write_parquet_shard
from ._impressions import impressions_from_pages

__all__ = ["BatchConfig", "BatchError", "BatchResult", "impressions_path", "run_batch", "shard_path"]

MANIFEST = "manifest.json"
SUCCESS = "_SUCCESS.json"
IMPRESSIONS = "impressions"
LOCK = ".lock"
FORMAT = "pagegen-batch/1"


class BatchConfig(BaseModel):
    """How a batch run is cut and executed (what it builds comes from the engine and ``params``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    shard_size: int = Field(500, ge=1, le=1_000_000, description="Members per shard file; part of the run's identity.")
    workers: int = Field(0, ge=0, le=4096, description="Worker processes or Ray actors; 0 = one per CPU.")
    engine: Literal["local", "ray"] = Field("local", description="'local': a process pool; 'ray': Ray actors (optional extra).")
    address: str | None = Field(None, description="Ray cluster address (engine='ray'); None starts a local Ray instance.")
    device: str = Field("web", min_length=1, max_length=64, description="Device every page is built for.")
    now: int | None = Field(None, ge=0, description="Build time (epoch seconds) for every page; None = the engine's default.")
    selector: str | None = Field(None, max_length=64, description="Page selector; None = the engine's default.")
    visit: int | str | None = Field(None, description="The visit every page's exploration is drawn for (e.g. the run's date); None = the build time.")
    impressions: bool = Field(False, description="Also write each shard's impression records (pagegen.learned's JSON lines, with propensities) to OUT/impressions/part-0000k.jsonl (JSON-lines shards only).")
    format: Literal["jsonl", "parquet"] = Field("jsonl", description="Shard files: 'jsonl', one page a line; 'parquet', one row per tile (the frames extra).")


@dataclass(frozen=True)
class BatchResult:
    """What a run did. ``pages`` counts the pages this invocation built (resumed shards excluded)."""

    out: Path
    n_members: int
    n_shards: int
    shards_built: int
    shards_skipped: int
    pages: int
    seconds: float
    #: Per worker that built shards this run (by process id): its peak RSS and largest private memory.
    workers: tuple[WorkerMemory, ...] = ()

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.seconds if self.seconds > 0 else 0.0


# -- bookkeeping -------------------------------------------------------------------------


def _members_digest(members: Sequence[str]) -> str:
    h = hashlib.sha256()
    for lo in range(0, len(members), 100_000):  # one update per block: the same digest, fast for millions
        h.update("".join(m + "\n" for m in members[lo : lo + 100_000]).encode("utf-8"))
    return h.hexdigest()


def _manifest(members: Sequence[str], config: BatchConfig, params: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "n_members": len(members),
        "members_sha256": _members_digest(members),
        "shard_size": config.shard_size,
        "n_shards": -(-len(members) // config.shard_size),
        "device": config.device,
        "now": config.now,
        "selector": config.selector,
        **({"visit": config.visit} if config.visit is not None else {}),
        "params": dict(params),
    } | ({"output": config.format} if config.format != "jsonl" else {})


def _check_manifest(out: Path, manifest: dict[str, Any]) -> None:
    path = out / MANIFEST
    wanted = orjson.loads(orjson.dumps(manifest, option=orjson.OPT_SORT_KEYS))
    if path.exists():
        try:
            found = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as err:
            raise BatchError(f"{path}: not a batch manifest ({err}); use an empty folder") from None
        if found != wanted:
            diff = sorted(k for k in set(found) | set(wanted) if found.get(k) != wanted.get(k))
            if "params" in diff:
                fp, wp = found.get("params") or {}, wanted["params"]
                diff = [d for d in diff if d != "params"] + [f"params.{k}" for k in sorted(set(fp) | set(wp)) if fp.get(k) != wp.get(k)]
            shown = "; ".join(f"{k}: was {_get(found, k)!r}, now {_get(wanted, k)!r}" for k in diff[:4])
            raise BatchError(
                f"{out} holds a batch run with different parameters ({shown}); "
                "rerun with the same parameters to resume, or use another (or an empty) folder"
            )
        return
    stray = sorted(p.name for p in out.glob("part-*"))
    if stray:
        raise BatchError(f"{out} has shard files ({stray[0]}, ...) but no {MANIFEST}; use an empty folder")
    atomic_write_bytes(path, orjson.dumps(wanted, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))


def _get(d: Mapping[str, Any], dotted: str) -> Any:
    for part in dotted.split("."):
        d = d.get(part) if isinstance(d, Mapping) else None  # type: ignore[assignment]
    return d


@contextlib.contextmanager
def _locked(out: Path) -> Iterator[int]:
    """Hold an exclusive lock on the folder (released by the OS when the process dies)."""
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"{out} is in use by another batch run") from None
        yield fd
    finally:
        os.close(fd)


def _complete(path: Path) -> bool:
    """A shard file appears only by an atomic rename, so it is whole; reading its last byte
    (O(1), unlike counting lines of a million-member run) still catches a torn copy (for Parquet,
    its closing magic bytes)."""
    end = b"PAR1" if path.suffix == ".parquet" else b"\n"
    try:
        with path.open("rb") as fh:
            fh.seek(-len(end), os.SEEK_END)
            return fh.read(len(end)) == end
    except OSError:  # missing, or empty (seek before the start)
        return False


def _pending(out: Path, n_shards: int, format: str) -> list[int]:
    """Shards still to build (missing, or not ending with a complete line)."""
    todo = [shard for shard in range(n_shards) if not _complete(shard_path(out, shard, format))]
    for prefix in (".part-", f".{MANIFEST}.", f".{SUCCESS}."):  # temporary files of a run killed mid-write
        for leftover in out.glob(f"{prefix}*{TMP_SUFFIX}"):
            with contextlib.suppress(OSError):
                leftover.unlink()
    return todo


def impressions_path(out: str | os.PathLike[str], shard: int) -> Path:
    """Where the impression records of shard ``shard`` of a run into ``out`` are written."""
    return Path(out) / IMPRESSIONS / f"part-{shard:05d}.jsonl"


def _write_impressions(out: Path, shard: int) -> None:
    """The impression records of a complete shard file, written atomically next to it."""
    path = impressions_path(out, shard)
    path.parent.mkdir(exist_ok=True)
    write_impressions(path, impressions_from_pages(shard_path(out, shard).read_bytes().splitlines()))


# -- entry point -------------------------------------------------------------------------


def run_batch(
    engine: Any,
    out: str | os.PathLike[str],
    members: Sequence[str],
    config: BatchConfig | None = None,
    *,
    params: Mapping[str, Any] | None = None,
    progress: bool | None = None,
    on_shard: Callable[[int, int], None] | None = None,
) -> BatchResult:
    """Build the page of every member in ``members`` with ``engine`` into shards under ``out``.

    ``params`` (JSON-friendly) describes what the engine was built from (data, model, policy,
    seed ...); it is recorded in the manifest with the members and ``config``'s shard size,
    device, now and selector, and a restart must match it. ``progress``: a progress line on
    stderr (None: when stderr is a terminal). ``on_shard(shard, pages)`` is called after each
    shard is safely on disk.
    """
    config = config or BatchConfig()
    if config.visit is not None:
        visit_entropy(config.visit)  # a bad visit is named before anything is written
    if config.impressions and config.format != "jsonl":
        raise BatchError("impressions are written from JSON-lines shards: use format 'jsonl' with impressions")
    if config.format == "parquet":
        require("pyarrow", "pagegen batch --format parquet")
    members = [str(m) for m in members]
    if len(set(members)) != len(members):
        seen: set[str] = set()
        dup = next(m for m in members if m in seen or seen.add(m))  # type: ignore[func-returns-value]
        raise BatchError(f"member {dup!r} is listed twice; each member's page is built once")
    out_dir = Path(out)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise BatchError(f"cannot create output folder {out_dir}: {err.strerror}") from None
    start = time.perf_counter()
    build_kwargs: dict[str, Any] = {"device": config.device}
    if config.now is not None:
        build_kwargs["now"] = config.now
    if config.selector is not None:
        build_kwargs["selector"] = config.selector
    if config.visit is not None:
        build_kwargs["visit"] = config.visit
    manifest = _manifest(members, config, params or {})
    n_shards = manifest["n_shards"]
    with _locked(out_dir) as lock_fd:
        _check_manifest(out_dir, manifest)
        todo = _pending(out_dir, n_shards, config.format)
        bar = Progress("batch", n_shards, enabled=progress, done=n_shards - len(todo))
        built, pages = 0, 0
        memory: dict[int, WorkerMemory] = {}

        def write(shard: int, data: bytes | str, count: int, used: WorkerMemory) -> None:
            """Put a shard in place (its bytes, or a worker's temporary file holding them); note the worker's memory."""
            nonlocal built, pages
            seen = memory.get(used.pid, used)
            private = None if used.private is None else max(used.private, seen.private or 0)
            memory[used.pid] = WorkerMemory(used.pid, max(used.peak_rss, seen.peak_rss), private)
            if config.format == "parquet":
                write_parquet_shard(shard_path(out_dir, shard, "parquet"), data)
            elif isinstance(data, str):
                place(data, shard_path(out_dir, shard))
            else:
                atomic_write_bytes(shard_path(out_dir, shard), data)
            if config.impressions:
                _write_impressions(out_dir, shard)
            built += 1
            pages += count
            bar.step(f"shards, {pages:,} pages, {pages / max(time.perf_counter() - start, 1e-9):,.0f} pages/s", eta=True)
            if on_shard is not None:
                on_shard(shard, count)

        if todo:
            (out_dir / SUCCESS).unlink(missing_ok=True)
            n_workers = min(config.workers or os.cpu_count() or 1, len(todo))
            runner = run_ray if config.engine == "ray" else run_local
            try:
                if n_workers == 1 and config.engine == "local":
                    for shard in todo:
                        data = build_shard(engine, members, shard, config.shard_size, build_kwargs)
                        write(shard, data, data.count(b"\n"), memory_now())
                else:
                    runner(engine, members, todo, config, build_kwargs, n_workers, write, lock_fd, out_dir)
            finally:
                bar.close()
        if config.impressions:  # shards of an earlier run, or placed just before a crash
            for shard in range(n_shards):
                if not impressions_path(out_dir, shard).exists():
                    _write_impressions(out_dir, shard)
        seconds = time.perf_counter() - start
        workers = tuple(memory[pid] for pid in sorted(memory))
        result = BatchResult(out_dir, len(members), n_shards, built, n_shards - len(todo), pages, seconds, workers)
        if todo or not (out_dir / SUCCESS).exists():
            summary = {"n_members": len(members), "n_shards": n_shards, "pages_this_run": pages, "seconds_this_run": round(seconds, 3),
                       "worker_memory": [{"peak_rss": w.peak_rss, "private": w.private} for w in workers]}  # fmt: skip
            atomic_write_bytes(out_dir / SUCCESS, orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    return result
