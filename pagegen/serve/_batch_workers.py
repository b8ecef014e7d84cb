"""The workers of a batch run: building a shard's pages, the worker processes, and the two executors
(a local process pool, Ray actors). ``_batch.run_batch`` coordinates them and owns every rename."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing as mp
import os
import resource
import signal
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, NamedTuple

from threadpoolctl import threadpool_limits

from pagegen.core._atomic import TMP_SUFFIX, fsync_dir
from pagegen.core._errors import BatchError

__all__ = ["CHUNK", "WorkerMemory", "build_shard", "memory_now", "place", "run_local", "run_ray", "shard_path"]


def shard_path(out: str | os.PathLike[str], shard: int, format: str = "jsonl") -> Path:
    """Where shard ``shard`` of a run into ``out`` is written (``format``: jsonl or parquet)."""
    return Path(out) / f"part-{shard:05d}.{format}"


# -- the work of one shard (runs in workers) ---------------------------------------------


class WorkerMemory(NamedTuple):
    """A worker's memory after a shard: its process id, its peak resident set (bytes; it counts
    the pages a forked worker shares with the coordinator), and its private memory now (bytes,
    the pages no other process maps; None where the system does not say)."""

    pid: int
    peak_rss: int
    private: int | None


def memory_now() -> WorkerMemory:
    """This process's WorkerMemory (peak RSS from getrusage; private memory from Linux's smaps_rollup)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    private = None
    with contextlib.suppress(OSError, ValueError):
        fields = dict(line.split(":", 1) for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:])
        private = sum(int(fields[k].split()[0]) for k in ("Private_Clean", "Private_Dirty")) * 1024
    return WorkerMemory(os.getpid(), peak, private)


#: Members per ``engine.dump_many`` (or ``build_many``) call: work shared across a chunk, memory bounded whatever the shard size.
CHUNK = 100


def _build_one(engine: Any, member: str, build_kwargs: Mapping[str, Any]) -> Any:
    try:
        return engine.build(member, **build_kwargs)
    except Exception as err:
        raise BatchError(f"member {member!r}: {type(err).__name__}: {err}") from None


def build_shard(engine: Any, members: Sequence[str], shard: int, shard_size: int, build_kwargs: Mapping[str, Any]) -> bytes:
    """The shard's pages as JSON lines: ``engine.dump_many`` (the pages' JSON) or ``engine.build_many``
    over chunks when the engine has one (a chunk that fails is rebuilt member by member, to name the
    member), else ``engine.build``."""
    members = members[shard * shard_size : (shard + 1) * shard_size]
    dump_many, build_many = getattr(engine, "dump_many", None), getattr(engine, "build_many", None)
    lines: list[bytes] = []
    for lo in range(0, len(members), CHUNK):
        chunk = members[lo : lo + CHUNK]
        dumped = None
        with contextlib.suppress(Exception):
            if dump_many is not None:
                dumped = dump_many(chunk, **build_kwargs)
            elif build_many is not None:
                dumped = [page.to_json() for page in build_many(chunk, **build_kwargs)]
        if dumped is None or len(dumped) != len(chunk):
            dumped = [_build_one(engine, member, build_kwargs).to_json() for member in chunk]
        lines.extend(dumped)
    lines.append(b"")
    return b"\n".join(lines)


_JOB: dict[str, Any] = {}
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # (read and restored at import, while single-threaded)


def _die_with_parent() -> None:
    """Linux: a worker gets SIGKILL when its coordinator dies, so a killed run leaves no orphans."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _one_blas_thread() -> None:
    """A worker is one of N processes on N cores: a BLAS call spread over every core fights the
    other workers (medium world, 2 workers on 2 cores: 7x slower). Each worker's BLAS gets one
    thread (threadpoolctl: any BLAS, any platform), unless the user set OPENBLAS_NUM_THREADS or
    OMP_NUM_THREADS (their choice wins)."""
    if os.environ.get("OPENBLAS_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS"):
        return
    threadpool_limits(limits=1, user_api="blas")


def _init_worker(payload: tuple[Any, Sequence[str], int, Mapping[str, Any], Path] | None) -> None:
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the coordinator's to handle
    _one_blas_thread()
    lock_fd = _JOB.pop("lock_fd", None)
    if lock_fd is not None:  # a forked worker must not keep the folder locked after the coordinator dies
        with contextlib.suppress(OSError):
            os.close(lock_fd)
    if payload is not None:  # spawn/forkserver: the engine arrives once, pickled
        _JOB.update(engine=payload[0], members=payload[1], shard_size=payload[2], build_kwargs=payload[3], out=payload[4])


def _worker_shard(shard: int) -> tuple[int, str, int, WorkerMemory]:
    """Build a shard and write it to a temporary file next to its place (the coordinator, the
    only one who renames, makes it the shard): the bytes go to disk once, not through a pipe."""
    data = build_shard(_JOB["engine"], _JOB["members"], shard, _JOB["shard_size"], _JOB["build_kwargs"])
    out = _JOB["out"]
    fd, tmp = tempfile.mkstemp(prefix=f".{shard_path(out, shard).name}.", suffix=TMP_SUFFIX, dir=out)
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # as atomic_write_bytes: mkstemp makes 0600
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return shard, tmp, data.count(b"\n"), memory_now()


def place(tmp: str, dest: Path) -> None:
    """Make a worker's complete temporary file the shard: flushed to disk, then renamed (atomic)."""
    try:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(dest.parent)


# -- executors ---------------------------------------------------------------------------


def run_local(engine, members, todo, config, build_kwargs, n_workers, write, lock_fd, out) -> None:
    method = "fork" if "fork" in mp.get_all_start_methods() else mp.get_start_method()
    payload = None
    if method == "fork":
        _JOB.update(engine=engine, members=members, shard_size=config.shard_size, build_kwargs=build_kwargs, lock_fd=lock_fd, out=out)
        gc.collect()
        gc.freeze()  # the inherited objects leave the collector's view: no copy-on-write of their pages by the workers' gc passes
    else:
        payload = (engine, members, config.shard_size, build_kwargs, out)
    try:
        with ProcessPoolExecutor(n_workers, mp_context=mp.get_context(method), initializer=_init_worker, initargs=(payload,)) as pool:
            queue = iter(todo)
            running = {pool.submit(_worker_shard, s) for s in _take(queue, 2 * n_workers)}
            try:
                while running:
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        running.discard(fut)
                        write(*fut.result())
                    running |= {pool.submit(_worker_shard, s) for s in _take(queue, len(done))}
            except BaseException:
                pool.shutdown(wait=True, cancel_futures=True)  # stop soon: do not build queued shards
                for fut in running:  # shards built but not placed: their temporary files go
                    if fut.done() and not fut.cancelled() and fut.exception() is None:
                        with contextlib.suppress(OSError):
                            os.unlink(fut.result()[1])
                raise
    finally:
        _JOB.clear()
        if method == "fork":
            gc.unfreeze()


def _take(it: Iterator[int], k: int) -> list[int]:
    return [s for _, s in zip(range(k), it, strict=False)]


def run_ray(engine, members, todo, config, build_kwargs, n_workers, write, lock_fd, out) -> None:
    try:
        import ray
    except ImportError:
        raise BatchError("engine 'ray' needs Ray: pip install 'pagegen[ray]'") from None
    started = False
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False}
        if config.address is None:
            kwargs["num_cpus"] = n_workers
        ray.init(address=config.address, **kwargs)
        started = True
    try:
        job_ref = ray.put((engine, members, config.shard_size, dict(build_kwargs)))
        worker_cls = ray.remote(num_cpus=1)(_RayWorker)
        actors = [worker_cls.remote(job_ref) for _ in range(n_workers)]
        queue = iter(todo)
        running: dict[Any, Any] = {}
        for actor in actors:
            for shard in _take(queue, 2):
                running[actor.shard.remote(shard)] = actor
        while running:
            done, _ = ray.wait(list(running), num_returns=1)
            for ref in done:
                actor = running.pop(ref)
                try:
                    write(*ray.get(ref))
                except ray.exceptions.RayTaskError as err:
                    cause = err.as_instanceof_cause()
                    raise (cause if isinstance(cause, BatchError) else BatchError(_first_line(cause))) from None
                except ray.exceptions.RayError as err:  # an actor or node died
                    raise BatchError(f"a Ray worker failed: {_first_line(err)}") from None
                for shard in _take(queue, 1):
                    running[actor.shard.remote(shard)] = actor
        for actor in actors:
            ray.kill(actor)
    finally:
        if started:
            ray.shutdown()


def _first_line(err: BaseException) -> str:
    lines = [line for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


class _RayWorker:
    """A Ray actor holding one engine (fetched once from the object store)."""

    def __init__(self, job: tuple[Any, Sequence[str], int, Mapping[str, Any]]) -> None:
        _one_blas_thread()
        self.engine, self.members, self.shard_size, self.build_kwargs = job

    def shard(self, shard: int) -> tuple[int, bytes, int, WorkerMemory]:
        data = build_shard(self.engine, self.members, shard, self.shard_size, self.build_kwargs)
        return shard, data, data.count(b"\n"), memory_now()
