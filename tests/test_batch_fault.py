"""Deterministic fault injection into a batch run's shard writes: the process dies right after a
chosen number of a shard's lines reached the disk (at a line boundary, the hardest case for a
resume), then the run is started again: every page exactly once, no leftover files.

The injection wraps the file objects the run opens in the output folder (``open`` and
``os.fdopen``), whatever the write protocol: a writer that put lines under the shard's final name
before they were all written would leave a shard that looks whole and loses pages.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections import Counter

import orjson
import pytest

from pagegen.serve._batch import SUCCESS

N_MEMBERS = 24
ARGS = ["batch", "--world", "tiny", "--limit", str(N_MEMBERS), "--shard-size", "4"]

_INJECT = textwrap.dedent(
    """
    import builtins, os, sys
    OUT, SHARD, LINES = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])

    class Dying:
        # a file whose process dies once LINES lines of this shard were written (at a line boundary)
        def __init__(self, inner):
            self.inner, self.lines = inner, 0
        def write(self, data):
            view = bytes(data) if not isinstance(data, str) else data.encode()
            chunks = view.splitlines(keepends=True)
            for chunk in chunks:
                if self.lines >= LINES:
                    self.inner.flush()
                    os.fsync(self.inner.fileno())
                    os._exit(137)
                self.inner.write(chunk if not isinstance(data, str) else chunk.decode())
                self.lines += chunk.endswith(b"\\n")
            return len(data)
        def __getattr__(self, name):
            return getattr(self.inner, name)
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return self.inner.__exit__(*exc)

    def wrap(handle, path):
        name = os.path.basename(str(path))
        if os.path.dirname(os.path.abspath(str(path))) == os.path.abspath(OUT) and f"part-{SHARD:05d}." in name:
            return Dying(handle)  # the chosen shard's file, under any name the writer gives it
        return handle

    real_open, real_fdopen = builtins.open, os.fdopen
    builtins.open = lambda file, *a, **k: wrap(real_open(file, *a, **k), file)
    os.fdopen = lambda fd, *a, **k: wrap(real_fdopen(fd, *a, **k), os.readlink(f"/proc/self/fd/{fd}"))

    from pagegen._cli import main
    sys.exit(main(sys.argv[4:]))
    """
)


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="the injection reads file names from /proc/self/fd")
@pytest.mark.slow
@pytest.mark.parametrize(("workers", "shard", "lines"), [("1", 0, 0), ("1", 2, 3), ("2", 0, 1), ("2", 3, 2)])
def test_a_run_that_dies_mid_shard_resumes_with_every_page_once(tmp_path, workers, shard, lines):
    out = tmp_path / "pages"
    died = _run("-c", _INJECT, str(out), str(shard), str(lines), *ARGS, "--workers", workers, "--out", str(out))
    assert died.returncode != 0, "the injected fault did not stop the run"
    again = _run("-m", "pagegen", *ARGS, "--workers", workers, "--out", str(out))
    assert again.returncode == 0, again.stderr[-2000:]
    users = Counter(orjson.loads(line)["user"] for path in sorted(out.glob("part-*.jsonl")) for line in path.read_bytes().splitlines())
    assert users == Counter({f"u{i}": 1 for i in range(N_MEMBERS)}), "a page was lost or duplicated"
    assert not [p.name for p in out.iterdir() if p.name.endswith(".tmp")], "temporary files were left behind"
    assert (out / SUCCESS).exists()
