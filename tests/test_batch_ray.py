"""The same batch job on Ray: a local Ray instance with 2 CPUs, the real engine on the tiny world.

Ray is an optional extra (pip install 'pagegen[ray]'); without it the test skips, except under
CI=true where a missing Ray is a failure.
"""

from __future__ import annotations

import os

import orjson
import pytest

from pagegen.serve._batch import BatchConfig, BatchError, run_batch


def ray_module():
    try:
        import ray
    except ImportError:
        if os.environ.get("CI") == "true":
            pytest.fail("ray is not installed (CI=true: install the 'ray' extra)")
        pytest.skip("ray is not installed (optional extra: pip install 'pagegen[ray]')")
    return ray


@pytest.fixture(scope="module")
def tiny_engine():
    from pagegen.data._synthetic import synthetic_world
    from pagegen.models._fit import fit
    from pagegen.serve._engine import Engine

    world = synthetic_world("tiny")
    model = fit(world.catalog, world.interactions, profiles=world.profiles, progress=False)
    engine = Engine(world.catalog, model, "default", interactions=world.interactions, profiles=world.profiles, now=world.now)
    return engine, world.interactions.users.ids[:40].tolist()


@pytest.mark.slow
def test_ray_batch_matches_local_and_resumes(tmp_path, tiny_engine):
    ray = ray_module()
    engine, members = tiny_engine
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        cfg = BatchConfig(shard_size=6, workers=2, engine="ray")
        result = run_batch(engine, tmp_path / "ray", members, cfg, params={"world": "tiny"}, progress=False)
        assert (result.n_shards, result.shards_built, result.pages) == (7, 7, 40)
        (tmp_path / "ray" / "part-00003.jsonl").unlink()
        again = run_batch(engine, tmp_path / "ray", members, cfg, params={"world": "tiny"}, progress=False)
        assert (again.shards_built, again.shards_skipped) == (1, 6)
        with pytest.raises(BatchError, match=f"member '{members[0]}'.*fridge"):  # a worker's error comes back by name
            run_batch(engine, tmp_path / "bad", members[:6], BatchConfig(shard_size=6, workers=2, engine="ray", device="fridge"), progress=False)
    finally:
        ray.shutdown()
    local = run_batch(engine, tmp_path / "local", members, BatchConfig(shard_size=6, workers=1), params={"world": "tiny"}, progress=False)
    assert local.pages == 40
    for k in range(7):
        name = f"part-{k:05d}.jsonl"
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes()
    users = [orjson.loads(line)["user"] for k in range(7) for line in (tmp_path / "ray" / f"part-{k:05d}.jsonl").read_bytes().splitlines()]
    assert users == members

