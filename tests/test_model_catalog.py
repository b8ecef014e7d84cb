"""A model records the catalog it was fitted on and refuses another one (same size or not)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pagegen import DataError, Engine, ModelFileError
from pagegen.core._vocab import Vocab
from pagegen.models._model import Model
from pagegen.models._modelio import read_model_files, write_model_files


def _renamed(catalog, mapping):
    """The catalog with some ids changed: the same size and columns, other titles."""
    ids = [mapping.get(i, i) for i in catalog.ids.tolist()]
    return dataclasses.replace(catalog, vocab=Vocab(ids, what="item id"))


def test_the_fingerprint_follows_ids_and_their_order(tiny_world) -> None:
    cat = tiny_world.catalog
    first, second = cat.ids[:2].tolist()
    assert cat.fingerprint() == cat.fingerprint() and len(cat.fingerprint()) == 64
    assert _renamed(cat, {first: first + "x"}).fingerprint() != cat.fingerprint()
    assert _renamed(cat, {first: second, second: first}).fingerprint() != cat.fingerprint()


def test_a_model_refuses_a_catalog_of_the_same_size_with_other_ids(tiny_world, tiny_model, tmp_path) -> None:
    cat = tiny_world.catalog
    other = _renamed(cat, {cat.ids[5]: "someone-else"})
    assert other.n == cat.n
    tiny_model.save(tmp_path / "m.npz")
    loaded = Model.load(tmp_path / "m.npz")
    assert loaded.meta["catalog_sha256"] == cat.fingerprint()
    Engine(cat, loaded)  # its own catalog: accepted
    with pytest.raises(DataError, match="fitted on another catalog") as err:
        Engine(other, loaded)
    assert err.value.field == "model"


@pytest.mark.parametrize("value", [None, "abc", 7, "G" * 64])
def test_a_manifest_without_a_valid_catalog_digest_is_refused(tiny_model, tmp_path, value) -> None:
    tiny_model.save(tmp_path / "m.npz")
    arrays, meta = read_model_files(tmp_path / "m.npz")
    meta = {k: v for k, v in meta.items() if k != "catalog_sha256"} if value is None else {**meta, "catalog_sha256": value}
    write_model_files(tmp_path / "bad.npz", {k: np.asarray(v) for k, v in arrays.items()}, meta)
    with pytest.raises(ModelFileError, match="catalog_sha256"):
        Model.load(tmp_path / "bad.npz")
