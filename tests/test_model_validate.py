"""A tampered model file whose checksums were recomputed gives ModelFileError naming the array:
never a crash, an IndexError on every request, or pages built from NaN scores."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from pagegen import ModelFileError, synthetic_world
from pagegen.models._fit import FitConfig, fit
from pagegen.models._model import Model
from pagegen.models._modelio import read_model_files, write_model_files


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    world = synthetic_world("tiny")
    out = {}
    for name, config in (("ease", FitConfig()), ("als", FitConfig(ease_max_items=10, als_iterations=2, als_factors=4))):
        model = fit(world.catalog, world.interactions, config, progress=False)
        assert model.personal_method == name
        path = tmp_path_factory.mktemp(name) / "m.npz"
        model.save(path)
        out[name] = path
    return out


def _set(name, fn):
    def mutate(arrays, meta):
        arrays[name] = fn(arrays[name].copy())

    return mutate


def _meta(key, value):
    def mutate(arrays, meta):
        meta[key] = value

    return mutate


def _drop(name):
    def mutate(arrays, meta):
        del arrays[name]

    return mutate


def _bump(a, value):
    a.flat[len(a.flat) // 2] = value
    return a


CASES = [
    ("ease", "content indices past the columns", _set("content_indices", lambda a: _bump(a, 10**6)), "'content_indices' holds 1000000"),
    ("ease", "content row index falling", _set("content_indptr", lambda a: a[::-1].copy()), "'content_indptr' is not a row index"),
    ("ease", "fold out of range", _set("fold", lambda a: _bump(a, -5)), "'fold' holds -5"),
    ("ease", "fold to a non-tile", _set("fold", lambda a: np.roll(a, 1)), "'fold' maps a title"),
    ("ease", "fold of another dtype", _set("fold", lambda a: a.astype(np.int64)), "'fold' has dtype int64"),
    ("ease", "fold too short", _set("fold", lambda a: a[:-1]), "'fold' has shape"),
    ("ease", "ease_pos not the inverse", _set("ease_pos", lambda a: np.roll(a, 1)), "'ease_pos' is not the position"),
    ("ease", "ease_items unsorted", _set("ease_items", lambda a: a[::-1].copy()), "'ease_items' is not strictly increasing"),
    ("ease", "NaN EASE weight", _set("ease_weights", lambda a: _bump(a, np.nan)), "'ease_weights' holds a non-finite value"),
    ("ease", "infinite MF factor", _set("mf_factors", lambda a: _bump(a, np.inf)), "'mf_factors' holds a non-finite value"),
    ("ease", "NaN MF bias", _set("mf_bias", lambda a: _bump(a, np.nan)), "'mf_bias' holds a non-finite value"),
    ("ease", "play keys unsorted", _set("pop_keys", lambda a: a[::-1].copy()), "'pop_keys' is not sorted"),
    ("ease", "negative play key", _set("pop_keys", lambda a: _bump(a, -1)), "'pop_keys' holds -1"),
    ("ease", "zero blend scale", _set("blend_scale", lambda a: _bump(a, 0.0)), "'blend_scale' holds 0"),
    ("ease", "blend weights of another length", _set("blend_weights", lambda a: a[:-1]), "'blend_weights' has shape"),
    ("ease", "genre norms not the norms", _set("genre_norm", lambda a: a + 1.0), "'genre_norm' is not the norm"),
    ("ease", "regions of another width", _set("regions", lambda a: a[:, :-1]), "'regions' has shape"),
    ("ease", "years as floats", _set("year", lambda a: a.astype(np.float32)), "'year' has dtype float32"),
    ("ease", "an array missing", _drop("mf_bias"), "'mf_bias' is missing"),
    ("ease", "an unknown array", lambda arrays, meta: arrays.update(stray=np.zeros(3)), "'stray' is not an array"),
    ("ease", "n_items a string", _meta("n_items", "many"), "'meta.n_items' = 'many'"),
    ("ease", "unknown personal scorer", _meta("personal", "deep"), "'meta.personal' = 'deep'"),
    ("ease", "NaN mean rating", _meta("mu", float("nan")), "'meta.mu' = nan"),
    ("ease", "content shape not the titles", _meta("content_shape", [3, 4]), "'meta.content_shape'"),
    ("als", "neighbour indices past the titles", _set("topk_indices", lambda a: _bump(a, 10**6)), "'topk_indices' holds 1000000"),
    ("als", "NaN ALS factor", _set("als_items", lambda a: _bump(a, np.nan)), "'als_items' holds a non-finite value"),
    ("als", "neighbour shape not the titles", _meta("topk_shape", [1, 1]), "'meta.topk_shape'"),
    ("als", "ALS factors missing", _drop("als_items"), "'als_items' is missing"),
]


@pytest.mark.parametrize(("kind", "case", "mutate", "says"), CASES, ids=[c[1] for c in CASES])
def test_a_tampered_model_is_a_model_file_error(models, tmp_path, kind, case, mutate, says):
    arrays, meta = read_model_files(models[kind])
    arrays = {k: np.array(v) for k, v in arrays.items()}
    mutate(arrays, meta)
    path = tmp_path / "tampered.npz"
    write_model_files(path, arrays, meta)  # checksums recomputed: only the validation can tell
    with pytest.raises(ModelFileError) as err:
        Model.load(path)
    assert says in str(err.value) and str(path) in str(err.value)


def _at_bound(name, high):
    def mutate(arrays, meta):
        arrays[name] = arrays[name].copy()
        arrays[name].flat[len(arrays[name].flat) // 2] = high(meta)

    return mutate


# an index equal to its bound (one past the last valid value): the off-by-one a bounds check makes
AT_BOUND = [
    ("ease", "fold", lambda meta: meta["n_items"]),
    ("ease", "ease_items", lambda meta: meta["n_items"]),
    ("als", "topk_indices", lambda meta: meta["n_items"]),
    ("ease", "content_indices", lambda meta: meta["content_shape"][1]),
]


@pytest.mark.parametrize(("kind", "name", "high"), AT_BOUND, ids=[c[1] for c in AT_BOUND])
def test_an_index_equal_to_its_bound_is_refused(models, tmp_path, kind, name, high):
    arrays, meta = read_model_files(models[kind])
    arrays = {k: np.array(v) for k, v in arrays.items()}
    if name == "ease_items":  # keep it strictly increasing: the last title is the one past the end
        arrays[name][-1] = meta["n_items"]
    else:
        _at_bound(name, high)(arrays, meta)
    path = tmp_path / "tampered.npz"
    write_model_files(path, arrays, meta)
    with pytest.raises(ModelFileError, match=f"'{name}' holds {high(meta)}, outside \\[0, {high(meta)}\\)"):
        Model.load(path)


def test_untampered_models_load(models):
    for path in models.values():
        assert Model.load(path).n_items > 0


def test_out_of_range_content_indices_do_not_crash_the_process(models, tmp_path):
    """The case that used to write out of bounds (SIGSEGV) while loading: a clean error, exit 0."""
    arrays, meta = read_model_files(models["ease"])
    arrays = {k: np.array(v) for k, v in arrays.items()}
    arrays["content_indices"][-1] = 2**30
    path = tmp_path / "bad.npz"
    write_model_files(path, arrays, meta)
    code = f"from pagegen import Model, ModelFileError\ntry:\n    Model.load({str(path)!r})\nexcept ModelFileError as err:\n    print('refused:', err)\n"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "refused:" in run.stdout and "content_indices" in run.stdout, run.stderr
