"""Batch bookkeeping: shards, manifest, resume, refusal, exactly-once (with a stand-in engine)."""

from __future__ import annotations

import os

import orjson
import pytest

from pagegen.serve._batch import MANIFEST, SUCCESS, BatchConfig, BatchError, run_batch, shard_path


class _Page:
    def __init__(self, user: str, now: int | None, device: str) -> None:
        self.user, self.now, self.device = user, now, device

    def to_json(self) -> bytes:
        return orjson.dumps({"user": self.user, "now": self.now, "device": self.device, "pid": os.getpid()})


class EchoEngine:
    """Builds a one-line page naming the member; fails for members listed in ``bad``."""

    def __init__(self, bad: frozenset[str] = frozenset()) -> None:
        self.bad = bad

    def build(self, user: str, *, now: int | None = None, device: str = "web") -> _Page:
        if user in self.bad:
            raise KeyError(f"unknown member {user}")
        return _Page(user, now, device)


def read_pages(out) -> list[dict]:
    pages = []
    for path in sorted(out.glob("part-*.jsonl")):
        pages.extend(orjson.loads(line) for line in path.read_bytes().splitlines())
    return pages


MEMBERS = [f"m{i}" for i in range(23)]


@pytest.mark.parametrize("workers", [1, 2])
def test_every_member_once_in_order(tmp_path, workers):
    cfg = BatchConfig(shard_size=5, workers=workers, now=1000, device="tv")
    result = run_batch(EchoEngine(), tmp_path, MEMBERS, cfg, params={"world": "test"}, progress=False)
    pages = read_pages(tmp_path)
    assert [p["user"] for p in pages] == MEMBERS
    assert {p["now"] for p in pages} == {1000} and {p["device"] for p in pages} == {"tv"}
    assert (result.n_shards, result.shards_built, result.shards_skipped, result.pages) == (5, 5, 0, 23)
    assert [len(shard_path(tmp_path, k).read_bytes().splitlines()) for k in range(5)] == [5, 5, 5, 5, 3]
    manifest = orjson.loads((tmp_path / MANIFEST).read_bytes())
    assert manifest["n_members"] == 23 and manifest["params"] == {"world": "test"}
    assert orjson.loads((tmp_path / SUCCESS).read_bytes())["n_members"] == 23
    if workers == 2:
        assert all(p["pid"] != os.getpid() for p in pages)
    # each worker that built shards reports its memory: the pids that wrote pages, nothing else
    assert [w.pid for w in result.workers] == sorted({p["pid"] for p in pages})
    assert all(w.peak_rss >= (w.private or 0) > 0 for w in result.workers)
    summary = orjson.loads((tmp_path / SUCCESS).read_bytes())["worker_memory"]
    assert summary == [{"peak_rss": w.peak_rss, "private": w.private} for w in result.workers]


def test_resume_builds_only_missing_shards(tmp_path):
    cfg = BatchConfig(shard_size=4, workers=1)
    run_batch(EchoEngine(), tmp_path, MEMBERS, cfg, progress=False)
    shard_path(tmp_path, 2).unlink()
    shard_path(tmp_path, 4).write_bytes(b'{"user": "m16"}\n{"us')  # torn copy: rebuilt
    (tmp_path / ".part-00001.jsonl.abc.tmp").write_bytes(b"half")  # leftover of a killed writer
    built = []
    result = run_batch(EchoEngine(), tmp_path, MEMBERS, cfg, progress=False, on_shard=lambda s, n: built.append(s))
    assert built == [2, 4] and result.shards_skipped == 4 and result.pages == 8
    assert [p["user"] for p in read_pages(tmp_path)] == MEMBERS
    assert not list(tmp_path.glob("*.tmp"))
    again = run_batch(EchoEngine(), tmp_path, MEMBERS, cfg, progress=False)
    assert again.shards_built == 0 and again.pages == 0


def test_crash_mid_run_then_resume_is_exactly_once(tmp_path):
    cfg = BatchConfig(shard_size=3, workers=1)
    with pytest.raises(BatchError, match="m10"):
        run_batch(EchoEngine(bad=frozenset({"m10"})), tmp_path, MEMBERS, cfg, progress=False)
    assert not (tmp_path / SUCCESS).exists()
    partial = read_pages(tmp_path)
    assert [p["user"] for p in partial] == MEMBERS[:9]
    run_batch(EchoEngine(), tmp_path, MEMBERS, cfg, progress=False)
    assert [p["user"] for p in read_pages(tmp_path)] == MEMBERS


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"shard_size": 6}, "shard_size"),
        ({"device": "tv"}, "device"),
        ({"params": {"policy": "other"}}, "params.policy"),
        ({"members": MEMBERS[:-1]}, "n_members"),
    ],
)
def test_restart_with_other_parameters_is_refused(tmp_path, change, match):
    run_batch(EchoEngine(), tmp_path, MEMBERS, BatchConfig(shard_size=5, workers=1), params={"policy": "default"}, progress=False)
    cfg = BatchConfig(shard_size=change.get("shard_size", 5), workers=1, device=change.get("device", "web"))
    with pytest.raises(BatchError, match=match) as info:
        run_batch(EchoEngine(), tmp_path, change.get("members", MEMBERS), cfg, params=change.get("params", {"policy": "default"}), progress=False)
    assert "different parameters" in str(info.value)


def test_worker_count_is_not_part_of_identity(tmp_path):
    run_batch(EchoEngine(), tmp_path, MEMBERS, BatchConfig(shard_size=5, workers=1), progress=False)
    shard_path(tmp_path, 0).unlink()
    result = run_batch(EchoEngine(), tmp_path, MEMBERS, BatchConfig(shard_size=5, workers=2), progress=False)
    assert result.shards_built == 1


def test_refuses_duplicates_foreign_folders_and_concurrent_runs(tmp_path):
    with pytest.raises(BatchError, match="listed twice"):
        run_batch(EchoEngine(), tmp_path / "a", ["x", "y", "x"], progress=False)
    stray = tmp_path / "b"
    stray.mkdir()
    shard_path(stray, 0).write_bytes(b"{}\n")
    with pytest.raises(BatchError, match="no manifest"):
        run_batch(EchoEngine(), stray, MEMBERS, progress=False)
    busy = tmp_path / "c"
    busy.mkdir()
    import fcntl

    with open(busy / ".lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(BatchError, match="in use"):
            run_batch(EchoEngine(), busy, MEMBERS, progress=False)


def test_worker_failure_names_member(tmp_path):
    cfg = BatchConfig(shard_size=4, workers=2)
    with pytest.raises(BatchError, match="'m7'"):
        run_batch(EchoEngine(bad=frozenset({"m7"})), tmp_path, MEMBERS, cfg, progress=False)


def test_config_is_frozen_and_strict():
    with pytest.raises(ValueError):
        BatchConfig(shard_size=0)
    with pytest.raises(ValueError):
        BatchConfig(shards=3)
    with pytest.raises(ValueError):
        BatchConfig().shard_size = 3  # type: ignore[misc]


# -- chunked engines (build_many) ------------------------------------------------------------


class ChunkEngine(EchoEngine):
    """An EchoEngine with ``build_many``; records the chunks it was given (one process only)."""

    def __init__(self, bad: frozenset[str] = frozenset()) -> None:
        super().__init__(bad)
        self.chunks: list[list[str]] = []

    def build_many(self, users, *, now=None, device="web"):
        self.chunks.append(list(users))
        return [self.build(u, now=now, device=device) for u in users]


def test_build_many_gets_the_shard_in_chunks(tmp_path, monkeypatch):
    import pagegen.serve._batch_workers as batch

    monkeypatch.setattr(batch, "CHUNK", 4)
    engine = ChunkEngine()
    run_batch(engine, tmp_path, MEMBERS, BatchConfig(shard_size=10, workers=1, now=7), progress=False)
    assert engine.chunks == [MEMBERS[0:4], MEMBERS[4:8], MEMBERS[8:10], MEMBERS[10:14], MEMBERS[14:18], MEMBERS[18:20], MEMBERS[20:23]]
    pages = read_pages(tmp_path)
    assert [p["user"] for p in pages] == MEMBERS and {p["now"] for p in pages} == {7}


class DumpEngine(ChunkEngine):
    """A ChunkEngine with ``dump_many`` (the pages' JSON, as Engine has); records its chunks too."""

    def __init__(self, bad: frozenset[str] = frozenset()) -> None:
        super().__init__(bad)
        self.dumped: list[list[str]] = []

    def dump_many(self, users, *, now=None, device="web"):
        self.dumped.append(list(users))
        return [self.build(u, now=now, device=device).to_json() for u in users]


def test_dump_many_is_preferred_and_writes_the_same_shards(tmp_path, monkeypatch):
    import pagegen.serve._batch_workers as batch

    monkeypatch.setattr(batch, "CHUNK", 4)
    engine = DumpEngine()
    run_batch(engine, tmp_path / "dumped", MEMBERS, BatchConfig(shard_size=10, workers=1, now=7), progress=False)
    assert engine.dumped == [MEMBERS[0:4], MEMBERS[4:8], MEMBERS[8:10], MEMBERS[10:14], MEMBERS[14:18], MEMBERS[18:20], MEMBERS[20:23]]
    assert engine.chunks == []  # build_many is not asked
    run_batch(EchoEngine(), tmp_path / "built", MEMBERS, BatchConfig(shard_size=10, workers=1, now=7), progress=False)
    for k in range(3):
        assert shard_path(tmp_path / "dumped", k).read_bytes() == shard_path(tmp_path / "built", k).read_bytes()


@pytest.mark.parametrize("engine_type", [ChunkEngine, DumpEngine])
@pytest.mark.parametrize("workers", [1, 2])
def test_a_failing_chunk_names_its_member(tmp_path, workers, engine_type):
    with pytest.raises(BatchError, match="member 'm12': KeyError"):
        run_batch(engine_type(bad=frozenset({"m12"})), tmp_path, MEMBERS, BatchConfig(shard_size=5, workers=workers), progress=False)
    if workers == 1:  # in order: the shards before the failing one are on disk, the failing one is not
        assert [p["user"] for p in read_pages(tmp_path)] == MEMBERS[:10]
    assert not shard_path(tmp_path, 2).exists() and not (tmp_path / SUCCESS).exists()
    assert not list(tmp_path.glob("*.tmp")), "the workers' temporary files of a failed run are left behind"


# -- a synthetic world with another member count ------------------------------------------------


def test_world_members_override_is_deterministic_and_keeps_the_catalog():
    import numpy as np

    from pagegen.data._synthetic import synthetic_world

    tiny = synthetic_world("tiny")
    assert synthetic_world("tiny", n_members=tiny.config.n_members).interactions.timestamp.tobytes() == tiny.interactions.timestamp.tobytes()
    a, b = synthetic_world("tiny", n_members=57), synthetic_world("tiny", n_members=57)
    assert a.config.n_members == 57 and a.interactions.n_users == 57 and len(a.profiles) == 57
    assert a.interactions.users.ids.tolist() == [f"u{i}" for i in range(57)]
    for col in ("user", "item", "timestamp", "kind", "value"):
        assert np.array_equal(getattr(a.interactions, col), getattr(b.interactions, col)), col
    assert np.array_equal(a.catalog.ids, tiny.catalog.ids) and np.array_equal(a.catalog.added, tiny.catalog.added)
    assert np.array_equal(a.truth.quality, tiny.truth.quality) and np.array_equal(a.truth.item_factor, tiny.truth.item_factor)


@pytest.mark.parametrize("value", [0, -5, 10_000_001, 2.5, True, "100"])
def test_world_members_override_is_validated(value):
    from pagegen.core._errors import DataError
    from pagegen.data._synthetic import synthetic_world

    with pytest.raises(DataError, match=r"n_members.*expected a whole number of members in \[1, 10,000,000\]"):
        synthetic_world("tiny", n_members=value)


def test_cli_batch_on_a_resized_world(tmp_path, capsys):
    from pagegen._cli import main

    out = tmp_path / "pages"
    argv = ["batch", "--world", "tiny", "--world-members", "30", "--shard-size", "8", "--workers", "1", "--out", str(out)]
    assert main(argv) == 0
    stdout = capsys.readouterr().out
    assert "30 members in 4 shards" in stdout and "set-up (data, model, engine)" in stdout
    assert "memory per worker: peak RSS " in stdout and " MB" in stdout
    assert [p["user"] for p in read_pages(out)] == [f"u{i}" for i in range(30)]
    assert orjson.loads((out / MANIFEST).read_bytes())["params"]["world_members"] == 30
    assert main([*argv[:4], "31", *argv[5:]]) == 2  # another world: refused in the same folder
    assert "params.world_members: was 30, now 31" in capsys.readouterr().err
    assert main([*argv[:4], "0", *argv[5:-1], str(tmp_path / "other")]) == 2
    assert "n_members" in capsys.readouterr().err
    assert main(["batch", "--data", str(tmp_path), "--world-members", "5", "--out", str(tmp_path / "x")]) == 2
    assert "--world-members" in capsys.readouterr().err


def test_progress_line_counts_shards_pages_and_time_left(tmp_path, capsys):
    run_batch(EchoEngine(), tmp_path, MEMBERS, BatchConfig(shard_size=5, workers=1), progress=True)
    shard_path(tmp_path, 4).unlink()
    run_batch(EchoEngine(), tmp_path, MEMBERS, BatchConfig(shard_size=5, workers=1), progress=True)
    runs = [line.strip().split("\r") for line in capsys.readouterr().err.strip().split("\n")]
    (first, first_end), (resumed, resumed_end) = ((r[-2].strip(), r[-1].strip()) for r in runs)  # the last step, then the closing line
    assert first.startswith("batch [####################] 5/5 shards, 23 pages,") and first.endswith("about 0 min 00 s left)")
    assert resumed.startswith("batch [####################] 5/5 shards, 3 pages,")
    assert first_end.startswith("batch [####################] 5/5 done") and resumed_end.startswith("batch [####################] 5/5 done")


@pytest.mark.parametrize(("env", "expected"), [({}, {1}), ({"OPENBLAS_NUM_THREADS": "2"}, {2})])
def test_a_worker_gets_one_blas_thread_unless_told_otherwise(env, expected):
    import ast
    import os
    import subprocess
    import sys

    code = (
        "from threadpoolctl import threadpool_info\n"
        "import numpy, scipy.linalg\n"
        "from pagegen.serve._batch_workers import _one_blas_thread\n"
        "_one_blas_thread()\n"
        "print(sorted({lib['num_threads'] for lib in threadpool_info() if lib['user_api'] == 'blas'}))\n"
    )
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={**clean, **env}, timeout=120, check=True)
    assert set(ast.literal_eval(run.stdout)) == expected, run.stdout
