"""A real batch run killed with SIGKILL part-way, then started again: every page exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter

import orjson
import pytest

from pagegen.serve._batch import MANIFEST, SUCCESS

N_MEMBERS = 200
ARGS = ["--world", "tiny", "--limit", str(N_MEMBERS), "--shard-size", "4", "--workers", "2"]


def start(out) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "pagegen", "batch", *ARGS, "--out", str(out)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def wait_no_processes_writing(out, timeout: float = 10.0) -> bool:
    """True once no process (the killed run's forked workers carry its command line) names ``out``."""
    marker = str(out).encode()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as fh:
                    if marker in fh.read():
                        alive.append(pid)
            except OSError:
                continue
        if not alive:
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_kill_9_then_restart_gives_every_page_exactly_once(tmp_path):
    out = tmp_path / "pages"
    n_shards = N_MEMBERS // 4
    proc = start(out)
    deadline = time.monotonic() + 300
    while len(list(out.glob("part-*.jsonl"))) < 3:
        assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
        assert time.monotonic() < deadline, "the batch wrote no shard in time"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    done_at_kill = len(list(out.glob("part-*.jsonl")))
    assert done_at_kill < n_shards, "the run finished before it could be killed"
    assert not (out / SUCCESS).exists() and (out / MANIFEST).exists()
    assert wait_no_processes_writing(out), "worker processes outlived the killed run"

    again = start(out)
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr.decode()[-2000:]
    assert f"{done_at_kill} already done" in stdout.decode()

    users = Counter()
    for path in sorted(out.glob("part-*.jsonl")):
        for line in path.read_bytes().splitlines():
            users[orjson.loads(line)["user"]] += 1
    assert len(list(out.glob("part-*.jsonl"))) == n_shards
    assert sum(users.values()) == N_MEMBERS, "a page was lost or duplicated"
    assert set(users) == {f"u{i}" for i in range(N_MEMBERS)} and max(users.values()) == 1
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")]
    assert (out / SUCCESS).exists()
