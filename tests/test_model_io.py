"""Model files: save -> load gives identical answers; bad files give ModelFileError naming the file."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_model import CONFIG, NOW, T0, plays, tiny_catalog

from pagegen.core._errors import ModelFileError
from pagegen.core._userstate import UserState
from pagegen.models._fit import FORMAT_VERSION, FitConfig, fit
from pagegen.models._model import Model
from pagegen.models._modelio import manifest_path

DAY = 86_400


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = fit(tiny_catalog(), plays([(u, (u + k) % 6, T0 + (3 * u + k) * DAY) for u in range(4) for k in range(4)]), CONFIG, progress=False)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    model.save(path)
    return model, path


events_st = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 5), st.integers(0, 40 * DAY)), min_size=1, max_size=30, unique_by=lambda e: (e[0], e[1]))


@given(events=events_st, history=st.lists(st.integers(0, 5), max_size=4, unique=True), ease=st.booleans())
def test_save_then_load_gives_identical_scores(tmp_path_factory, events, history, ease):
    config = CONFIG if ease else CONFIG.model_copy(update={"ease_max_items": 1, "als_iterations": 2, "als_factors": 3})
    model = fit(tiny_catalog(), plays([(u, i, T0 + t) for u, i, t in events]), config, progress=False)
    path = tmp_path_factory.mktemp("prop") / "m.npz"
    model.save(path)
    loaded = Model.load(path)
    user = UserState(now=NOW, items=history, last=[NOW - 10 - k for k in range(len(history))], fraction=[1.0] * len(history), rated=history, ratings=[4.0] * len(history))
    for state in (user, UserState.cold(NOW)):
        np.testing.assert_array_equal(model.score(state), loaded.score(state))
        np.testing.assert_array_equal(model.personal(state), loaded.personal(state))
        np.testing.assert_array_equal(model.predict_rating(state, np.arange(6)), loaded.predict_rating(state, np.arange(6)))
    np.testing.assert_array_equal(model.popularity(NOW), loaded.popularity(NOW))
    np.testing.assert_array_equal(model.trending(NOW), loaded.trending(NOW))
    np.testing.assert_array_equal(model.similarity(np.arange(6)), loaded.similarity(np.arange(6)))
    assert loaded.meta == json.loads(json.dumps(model.meta))


def test_save_writes_two_files_and_no_leftovers(saved):
    _, path = saved
    assert sorted(p.name for p in path.parent.iterdir()) == ["model.json", "model.npz"]
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["format_version"] == FORMAT_VERSION and "pop_keys" in manifest["arrays"]


def test_missing_files(saved, tmp_path):
    with pytest.raises(ModelFileError, match="manifest not found"):
        Model.load(tmp_path / "nothing.npz")
    _, path = saved
    (tmp_path / "m.json").write_bytes(manifest_path(path).read_bytes())
    with pytest.raises(ModelFileError, match=r"m\.npz: array file not found"):
        Model.load(tmp_path / "m.npz")


def _copy(saved, tmp_path):
    _, path = saved
    dst = tmp_path / "copy.npz"
    dst.write_bytes(path.read_bytes())
    manifest_path(dst).write_bytes(manifest_path(path).read_bytes())
    return dst


def test_truncated_array_file(saved, tmp_path):
    dst = _copy(saved, tmp_path)
    data = dst.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match=r"copy\.npz: corrupt or truncated"):
        Model.load(dst)


def test_corrupt_array_bytes_fail_the_checksum(saved, tmp_path):
    dst = _copy(saved, tmp_path)
    arrays = dict(np.load(dst, allow_pickle=False))
    arrays["mf_bias"] = arrays["mf_bias"] + 1.0
    np.savez(dst, **arrays)
    with pytest.raises(ModelFileError, match="'mf_bias' fails its SHA-256"):
        Model.load(dst)


def test_mismatched_manifest(saved, tmp_path):
    dst = _copy(saved, tmp_path)
    man = manifest_path(dst)
    manifest = json.loads(man.read_text())
    manifest["arrays"]["pop_keys"]["shape"] = [1]
    man.write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="'pop_keys' is"):
        Model.load(dst)
    del manifest["arrays"]["pop_keys"]
    man.write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match="unexpected \\['pop_keys'\\]"):
        Model.load(dst)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: m.update(format_version=99), "format version 99"),
        (lambda m: m.update(kind="something"), "not a pagegen model manifest"),
        (lambda m: m["meta"]["config"].update(bogus=1), "not a valid FitConfig"),
        (lambda m: m.pop("meta"), "lacks 'meta'"),
    ],
)
def test_bad_manifest_fields(saved, tmp_path, edit, message):
    dst = _copy(saved, tmp_path)
    man = manifest_path(dst)
    manifest = json.loads(man.read_text())
    edit(manifest)
    man.write_text(json.dumps(manifest))
    with pytest.raises(ModelFileError, match=message):
        Model.load(dst)


def test_manifest_not_json(saved, tmp_path):
    dst = _copy(saved, tmp_path)
    manifest_path(dst).write_text("{not json")
    with pytest.raises(ModelFileError, match=r"copy\.json: not a readable JSON manifest"):
        Model.load(dst)


def test_pickled_arrays_are_refused(saved, tmp_path):
    dst = _copy(saved, tmp_path)
    arrays = dict(np.load(dst, allow_pickle=False))
    arrays["mf_bias"] = np.array([object()], dtype=object)
    np.savez(dst, **arrays)
    with pytest.raises(ModelFileError, match="copy.npz"):
        Model.load(dst)


def test_fit_config_roundtrip_in_manifest(saved):
    model, path = saved
    assert FitConfig(**Model.load(path).meta["config"]) == FitConfig(**model.meta["config"])
