"""Pages out as tables: one row per tile, as a pandas DataFrame, an Arrow table or Parquet.

Columns, in order: ``member`` (the page's member id), ``row`` and ``column`` (0-based position of
the tile), then one column per field of ``Slot`` (``id`` is named ``item``), then one per field
of ``PageRow`` but its slots, named ``row_`` + the field. The columns follow the page models'
fields, so a field added to Slot or PageRow appears here with no other change; a list of
strings (``genres``) is a list column; a field whose values are anything else but text, numbers
or booleans (``row_evidence``) holds their JSON text.

pandas and pyarrow are optional (the ``frames`` extra), imported on the first call.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from pagegen.core._atomic import atomic_write_bytes
from pagegen.core._extras import require
from pagegen.core._page import JSON_OPTIONS, Page, PageRow, Slot

__all__ = ["TILE_COLUMNS", "pages_arrow", "pages_frame", "tile_columns", "write_parquet_shard"]

#: Slot fields whose column has another name than the field.
_RENAMED = {"id": "item"}


def _scalar(annotation: Any) -> str:
    """The column type of a field: "str", "int", "float", "bool", "strs" (a list of strings), or "json" for anything else."""
    if annotation == list[str]:
        return "strs"
    options = typing.get_args(annotation) if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union else (annotation,)
    options = tuple(o for o in options if o is not type(None))
    if len(options) == 1 and options[0] in (str, int, float, bool):
        return options[0].__name__
    return "json"


def _columns() -> list[tuple[str, str, str, str]]:
    """(column, "slot" | "row", field, type) of every field column, from the page models."""
    slot = [(_RENAMED.get(name, name), "slot", name, _scalar(info.annotation)) for name, info in Slot.model_fields.items()]
    row = [(f"row_{name}", "row", name, _scalar(info.annotation)) for name, info in PageRow.model_fields.items() if name != "slots"]
    return slot + row


#: The columns of a tile table, in order.
TILE_COLUMNS: tuple[str, ...] = ("member", "row", "column", *(c for c, _, _, _ in _columns()))


def _as_dict(page: Page | dict) -> dict:
    return page.model_dump(mode="python") if isinstance(page, Page) else page


def tile_columns(pages: Iterable[Page | dict]) -> dict[str, tuple[str, list]]:
    """Column name -> (type, values), one value per tile, pages in order, rows top to bottom,
    tiles left to right. ``pages``: Page objects or their JSON as dicts (``orjson.loads``)."""
    fields = _columns()
    out: dict[str, tuple[str, list]] = {"member": ("str", []), "row": ("int", []), "column": ("int", [])}
    for column, _, _, kind in fields:
        out[column] = (kind, [])
    for page in map(_as_dict, pages):
        for r, row in enumerate(page["rows"]):
            for c, slot in enumerate(row["slots"]):
                out["member"][1].append(page["user"])
                out["row"][1].append(r)
                out["column"][1].append(c)
                for column, owner, name, kind in fields:
                    value = (slot if owner == "slot" else row).get(name)
                    out[column][1].append(orjson.dumps(value, option=JSON_OPTIONS).decode() if kind == "json" and value is not None else value)
    return out


def pages_frame(pages: Iterable[Page | dict]) -> Any:
    """A pandas DataFrame with one row per tile of ``pages`` (columns: ``TILE_COLUMNS``).

    Needs the ``frames`` extra (pandas).
    """
    pd = require("pandas", "pages_frame")
    data = {}
    for column, (kind, values) in tile_columns(pages).items():
        if kind == "int":
            data[column] = np.asarray(values, dtype=np.int64) if None not in values else pd.array(values, dtype="Int64")
        elif kind == "float":
            data[column] = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
        elif kind == "bool":
            data[column] = pd.array(values, dtype="boolean")
        else:
            data[column] = pd.Series(values, dtype=object)
    return pd.DataFrame(data, columns=list(TILE_COLUMNS))


def pages_arrow(pages: Iterable[Page | dict]) -> Any:
    """A pyarrow Table with one row per tile of ``pages`` (columns: ``TILE_COLUMNS``). Needs pyarrow."""
    pa = require("pyarrow", "pages_arrow")
    types_ = {"str": pa.string(), "int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(), "json": pa.string(), "strs": pa.list_(pa.string())}
    columns = tile_columns(pages)
    schema = pa.schema([(name, types_[kind]) for name, (kind, _) in columns.items()])
    return pa.table({name: pa.array(values, type=types_[kind]) for name, (kind, values) in columns.items()}, schema=schema)


def write_parquet_shard(dest: str | os.PathLike[str], data: bytes | str) -> None:
    """Write a batch shard's pages as a Parquet tile table at ``dest``, atomically (``atomic_write_bytes``).

    ``data``: the shard's JSON lines, or the path of a worker's temporary file holding them
    (removed once the Parquet file is in place).
    """
    pa = require("pyarrow", "pagegen batch --format parquet")
    pq = require("pyarrow.parquet", "pagegen batch --format parquet")
    lines = Path(data).read_bytes() if isinstance(data, str) else data
    table = pages_arrow(orjson.loads(line) for line in lines.splitlines() if line)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    atomic_write_bytes(Path(dest), sink.getvalue().to_pybytes())
    if isinstance(data, str):
        Path(data).unlink(missing_ok=True)
