"""Model files: ``NAME.npz`` (arrays, never pickled) and ``NAME.json`` (the manifest).

The manifest holds the format version, the Model's meta (config, scalars, names) and, per
array, its dtype, shape and SHA-256. Both files are written atomically (temp file + rename);
the arrays first and the manifest last, so a manifest always describes a complete array file,
and a leftover array file of another save is caught by its checksums. Loading checks all of
it and raises ModelFileError naming the file and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from pagegen.core._atomic import atomic_open
from pagegen.core._errors import ModelFileError

from ._config import FORMAT_VERSION, FitConfig

__all__ = ["manifest_path", "read_model_files", "write_model_files"]

_KIND = "pagegen.Model"


def _npz_path(path: str | os.PathLike[str]) -> Path:
    path = Path(path)
    return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")


def manifest_path(path: str | os.PathLike[str]) -> Path:
    """The manifest that goes with a model path (``model.npz`` -> ``model.json``)."""
    return _npz_path(path).with_suffix(".json")


def _digest(arr: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest()


def write_model_files(path: str | os.PathLike[str], arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write a model's ``arrays`` to ``path`` (``.npz`` added when missing) and its manifest with ``meta``, each atomically."""
    npz = _npz_path(path)
    for name, arr in arrays.items():
        if arr.dtype == object:
            raise ModelFileError(f"{npz}: array {name!r} has dtype object, which cannot be saved without pickling")
    for target in (npz, manifest_path(npz)):  # both places first: never an array file without its manifest
        if target.is_dir():
            raise ModelFileError(f"{target}: is a folder; a model is saved as {npz.name} + {manifest_path(npz).name}")
        if not target.parent.is_dir():
            raise ModelFileError(f"{target.parent}: no such folder to save the model in")
    with atomic_open(npz, "wb") as handle:
        np.savez(handle, **arrays)
    manifest = {
        "kind": _KIND,
        "format_version": FORMAT_VERSION,
        "meta": meta,
        "arrays": {name: {"dtype": arr.dtype.str, "shape": list(arr.shape), "sha256": _digest(arr)} for name, arr in sorted(arrays.items())},
    }
    with atomic_open(manifest_path(npz), "w") as handle:
        handle.write(json.dumps(manifest, indent=1, sort_keys=True))


def read_model_files(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays and meta written by ``write_model_files``; ModelFileError for anything missing, corrupt or mismatched."""
    npz = _npz_path(path)
    man_path = manifest_path(npz)
    try:
        manifest = json.loads(man_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{man_path}: manifest not found (a model is saved as {npz.name} + {man_path.name})") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"{man_path}: not a readable JSON manifest ({err})") from None
    if not isinstance(manifest, dict) or manifest.get("kind") != _KIND:
        raise ModelFileError(f"{man_path}: not a pagegen model manifest (kind {manifest.get('kind') if isinstance(manifest, dict) else None!r})")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelFileError(f"{man_path}: format version {version!r}, this pagegen reads version {FORMAT_VERSION}")
    meta, specs = manifest.get("meta"), manifest.get("arrays")
    if not isinstance(meta, dict) or not isinstance(specs, dict):
        raise ModelFileError(f"{man_path}: manifest lacks 'meta' or 'arrays'")
    try:
        FitConfig(**meta.get("config", {}))
    except Exception as err:
        raise ModelFileError(f"{man_path}: field 'meta.config' is not a valid FitConfig ({err})") from None
    return _read_arrays(npz, specs), meta


def _read_arrays(npz: Path, specs: dict) -> dict[str, np.ndarray]:
    arrays: dict[str, np.ndarray] = {}
    try:
        with np.load(npz, allow_pickle=False) as data:
            names = set(data.files)
            missing = sorted(set(specs) - names)
            extra = sorted(names - set(specs))
            if missing or extra:
                raise ModelFileError(f"{npz}: arrays do not match the manifest (missing {missing}, unexpected {extra})")
            for name in sorted(specs):
                arrays[name] = data[name]
    except FileNotFoundError:
        raise ModelFileError(f"{npz}: array file not found") from None
    except ModelFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile) as err:
        raise ModelFileError(f"{npz}: corrupt or truncated array file ({type(err).__name__}: {err})") from None
    for name, spec in specs.items():
        arr = arrays[name]
        if arr.dtype.str != spec.get("dtype") or list(arr.shape) != spec.get("shape"):
            raise ModelFileError(f"{npz}: array {name!r} is {arr.dtype.str} {list(arr.shape)}, the manifest says {spec.get('dtype')} {spec.get('shape')}")
        if _digest(arr) != spec.get("sha256"):
            raise ModelFileError(f"{npz}: array {name!r} fails its SHA-256 check (corrupt, or not the file this manifest was written with)")
    return arrays
