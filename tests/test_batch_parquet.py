"""pagegen batch --format parquet: shards of tiles that hold the JSON-lines batch's tiles, written
atomically, resumed like JSON-lines shards, and refused cleanly without pyarrow."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_frames_out import expected_tiles, records

from pagegen import Engine, Page, pages_frame
from pagegen._cli import main
from pagegen.core._errors import BatchError
from pagegen.serve._batch import MANIFEST, BatchConfig, run_batch, shard_path
from pagegen.serve._frames import TILE_COLUMNS


@pytest.fixture(scope="module")
def engine(tiny_world, tiny_model) -> Engine:
    return Engine(tiny_world.catalog, tiny_model, interactions=tiny_world.interactions, profiles=tiny_world.profiles, now=tiny_world.now)


def read_parquet(out) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(path) for path in sorted(out.glob("part-*.parquet"))], ignore_index=True)


def read_jsonl_pages(out) -> list[dict]:
    return [orjson.loads(line) for path in sorted(out.glob("part-*.jsonl")) for line in path.read_bytes().splitlines()]


@pytest.mark.parametrize("workers", [1, 2])
def test_a_parquet_batch_holds_the_json_lines_batch_tiles(engine, tiny_world, tmp_path, workers) -> None:
    members = tiny_world.interactions.users.ids[:23].tolist()
    config = BatchConfig(shard_size=5, workers=workers, now=tiny_world.now)
    run_batch(engine, tmp_path / "jsonl", members, config, progress=False)
    result = run_batch(engine, tmp_path / "parquet", members, config.model_copy(update={"format": "parquet"}), progress=False)
    assert (result.n_shards, result.pages) == (5, 23)
    assert sorted(p.name for p in (tmp_path / "parquet").glob("part-*")) == [f"part-{k:05d}.parquet" for k in range(5)]
    tiles = read_parquet(tmp_path / "parquet")
    pages = read_jsonl_pages(tmp_path / "jsonl")
    assert [p["user"] for p in pages] == members
    assert tuple(tiles.columns) == TILE_COLUMNS
    assert records(tiles) == records(pages_frame(pages))
    assert records(tiles) == expected_tiles([Page.model_validate(p) for p in pages])


def test_parquet_shards_are_byte_identical_across_runs_and_worker_counts(engine, tiny_world, tmp_path) -> None:
    members = tiny_world.interactions.users.ids[:10].tolist()
    config = BatchConfig(shard_size=4, workers=1, now=tiny_world.now, format="parquet")
    run_batch(engine, tmp_path / "a", members, config, progress=False)
    run_batch(engine, tmp_path / "b", members, config.model_copy(update={"workers": 2}), progress=False)
    for k in range(3):
        assert shard_path(tmp_path / "a", k, "parquet").read_bytes() == shard_path(tmp_path / "b", k, "parquet").read_bytes()


def test_a_parquet_batch_resumes_rebuilds_torn_shards_and_keeps_its_format(engine, tiny_world, tmp_path) -> None:
    members = tiny_world.interactions.users.ids[:12].tolist()
    config = BatchConfig(shard_size=4, workers=1, now=tiny_world.now, format="parquet")
    run_batch(engine, tmp_path, members, config, progress=False)
    whole = read_parquet(tmp_path)
    shard_path(tmp_path, 0, "parquet").unlink()
    torn = shard_path(tmp_path, 2, "parquet")
    torn.write_bytes(torn.read_bytes()[:-10])
    again = run_batch(engine, tmp_path, members, config, progress=False)
    assert (again.shards_built, again.shards_skipped, again.pages) == (2, 1, 8)
    assert records(read_parquet(tmp_path)) == records(whole)
    assert orjson.loads((tmp_path / MANIFEST).read_bytes())["output"] == "parquet"
    assert pq.read_metadata(torn).num_rows == int((whole["member"].isin(members[8:])).sum())
    with pytest.raises(BatchError, match="different parameters .*output: was 'parquet', now None"):
        run_batch(engine, tmp_path, members, config.model_copy(update={"format": "jsonl"}), progress=False)


def test_cli_batch_format_parquet(capsys, tmp_path) -> None:
    out = tmp_path / "tiles"
    code = main(["batch", "--world", "tiny", "--out", str(out), "--limit", "9", "--shard-size", "4", "--workers", "1", "--format", "parquet"])
    stdout, err = capsys.readouterr()
    assert code == 0, err
    assert "9 members in 3 shards" in stdout
    assert read_parquet(out)["member"].unique().tolist() == [f"u{i}" for i in range(9)]


def test_without_pyarrow_a_parquet_batch_names_the_extra(tmp_path) -> None:
    code = (
        "import sys\nsys.modules['pyarrow'] = None\n"
        "from pagegen import PagegenError\nfrom pagegen.serve._batch import BatchConfig, run_batch\n"
        f"try:\n    run_batch(None, {str(tmp_path)!r}, ['a'], BatchConfig(format='parquet'))\n"
        "except PagegenError as err:\n    print(err)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "pagegen batch --format parquet needs pyarrow, which is not installed: pip install 'pagegen[frames]'"
    assert list(tmp_path.iterdir()) == []  # refused before anything is written
