"""fit gives the same arrays and pages whatever the BLAS thread count of the caller."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from pagegen import Engine, FitConfig, fit, synthetic_world


def test_fit_is_bit_identical_under_one_and_two_blas_threads():
    # on this world an unguarded fit differs (EASE weights and the blend) between 1 and 2 threads;
    # ALS is fitted beside EASE so that its compiled solver is compared too
    world = synthetic_world("small", seed=0)
    config = FitConfig(als=True)
    models = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            models.append(fit(world.catalog, world.interactions, config, profiles=world.profiles, progress=False))
    a, b = models
    assert sorted(a.arrays) == sorted(b.arrays) and "als_items" in a.arrays
    for name, arr in a.arrays.items():
        assert arr.dtype == b.arrays[name].dtype and arr.tobytes() == b.arrays[name].tobytes(), name
    assert a.meta == b.meta
    assert [lib["num_threads"] for lib in a.meta["blas"]] == ["1"] * len(a.meta["blas"])
    users = [world.interactions.users.id(i) for i in range(20)]
    dumps = [Engine(world.catalog, m, "default", interactions=world.interactions, profiles=world.profiles, now=world.now).dump_many(users) for m in models]
    assert dumps[0] == dumps[1]
    assert np.isfinite(a.arrays["blend_weights"]).all()
