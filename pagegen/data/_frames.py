"""Data frames in: a pandas DataFrame or an Arrow table as a Catalog or as Interactions.

A frame has the columns of the generic catalog or events file (``_load_generic`` documents them)
and passes the same checks: a bad value is a DataError naming the frame, the row (its position,
from 0, as ``frame.iloc`` counts; and its index label when the index is not the positions), the
column and the value; with ``lenient=True`` bad rows are skipped, listed in a warning, and never
dropped silently. A frame and the same data written as
CSV give equal values.

Types: ids are strings or integers; a missing id (None, NaN) is an error. Times are integers
(epoch seconds), datetimes (pandas or numpy; UTC when they carry no zone) or ISO 8601 strings.
A missing cell of an optional column takes the field's default, as an absent JSON field does
(``kind``: play; ``value``: none, as an empty CSV cell). Catalog list fields (genres, regions,
tags) are lists or "|"-separated strings, as in CSV; other cells have the types of JSON lines.

pandas and pyarrow are optional (the ``frames`` extra), imported on the first call.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._extras import require
from pagegen.core._interactions import EVENT_KINDS, Interactions

from ._load_catalog import CATALOG_FIELDS, catalog_from_rows
from ._load_common import MAX_ID_LENGTH, Problems, check_length, parse_time, warn_skipped
from ._load_events_read import EVENT_FIELDS, narrow
from ._load_generic import _Collision, _Ids, _Users, _validate
from ._load_ratings import time_order

__all__ = ["catalog_from_arrow", "catalog_from_pandas", "interactions_from_arrow", "interactions_from_pandas"]

_FRAME, _TABLE = "DataFrame", "Arrow table"
_LIST_FIELDS = ("genres", "regions", "tags")


def catalog_from_pandas(frame: Any, *, lenient: bool = False) -> Catalog:
    """``Catalog.from_pandas``: a catalog from a DataFrame with the generic catalog columns."""
    return _catalog(_pandas_frame(frame, "Catalog.from_pandas"), _FRAME, lenient)


def catalog_from_arrow(table: Any, *, lenient: bool = False) -> Catalog:
    """``Catalog.from_arrow``: a catalog from an Arrow table with the generic catalog columns."""
    return _catalog(_arrow_frame(table, "Catalog.from_arrow"), _TABLE, lenient)


def interactions_from_pandas(frame: Any, catalog: Catalog, *, lenient: bool = False) -> Interactions:
    """``Interactions.from_pandas``: events over ``catalog`` from a DataFrame with the generic event columns."""
    return _events(_pandas_frame(frame, "Interactions.from_pandas"), catalog, _FRAME, lenient)


def interactions_from_arrow(table: Any, catalog: Catalog, *, lenient: bool = False) -> Interactions:
    """``Interactions.from_arrow``: events over ``catalog`` from an Arrow table with the generic event columns."""
    return _events(_arrow_frame(table, "Interactions.from_arrow"), catalog, _TABLE, lenient)


# -- frames ------------------------------------------------------------------------------


def _pandas_frame(frame: Any, what: str) -> Any:
    pd = require("pandas", what)
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{what} expects a pandas DataFrame", field="frame", value=type(frame).__name__)
    return frame


def _arrow_frame(table: Any, what: str) -> Any:
    pa = require("pyarrow", what)
    require("pandas", what)
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if not isinstance(table, pa.Table):
        raise DataError(f"{what} expects a pyarrow Table", field="table", value=type(table).__name__)
    return table.to_pandas()


def _check_columns(frame: Any, source: str, required: tuple[str, ...], known: tuple[str, ...]) -> list[str]:
    """The frame's column names, checked as a file's header is: all required, none unknown or repeated."""
    names = list(frame.columns)
    for name in names:
        if not isinstance(name, str) or name not in known:
            raise DataError(f"unknown column (expected some of {', '.join(known)})", source=source, field=str(name), value=name)
        if names.count(name) > 1:
            raise DataError("repeated column", source=source, field=name, value=name)
    for name in required:
        if name not in names:
            raise DataError(f"missing required column (the frame has {', '.join(names) or 'no columns'})", source=source, field=name)
    return names


def _missing(cell: Any) -> bool:
    """Whether a scalar cell is missing: None, NaN, NaT or pandas' NA."""
    if cell is None or (isinstance(cell, float) and cell != cell):
        return True
    return type(cell).__name__ in ("NAType", "NaTType") or (isinstance(cell, np.datetime64) and bool(np.isnat(cell)))


def _with_label(err: DataError, frame: Any) -> DataError:
    """A frame's error with the row's index label too, when the index is not the row positions
    (a filtered or re-indexed frame), so that ``frame.loc`` finds the row as well as ``iloc``."""
    index = frame.index
    if err.line is None or not 0 <= err.line < len(index) or index.equals(type(index)(range(len(index)))):
        return err
    return DataError(f"{err.message} (index label {_plain(index[err.line])!r})", source=err.source, line=err.line, field=err.field, value=err.value)


def _plain(cell: Any) -> Any:
    """A numpy scalar as the Python value (what an error quotes and a JSON field holds)."""
    return cell.item() if isinstance(cell, np.generic) else cell


# -- catalog -----------------------------------------------------------------------------


def _catalog(frame: Any, source: str, lenient: bool) -> Catalog:
    import pandas as pd

    names = _check_columns(frame, source, ("id", "title"), CATALOG_FIELDS)
    if not len(frame):
        raise DataError("no titles in the frame", source=source)
    problems = Problems(source, lenient)
    columns = [frame[name].to_numpy(dtype=object) for name in names]
    rows = []
    for k in range(len(frame)):
        row = {}
        for name, column in zip(names, columns, strict=True):
            cell = _catalog_cell(name, column[k], pd)
            if cell is not None:
                row[name] = cell
        rows.append((k, row))
    try:
        catalog = catalog_from_rows(rows, problems, typed=True)
    except DataError as err:
        raise _with_label(err, frame) from None
    warn_skipped(problems.skipped)
    return catalog


def _catalog_cell(name: str, cell: Any, pd: Any) -> Any:
    """One cell as the JSON lines format has it; None when missing (the field's default applies)."""
    if isinstance(cell, np.ndarray | list | tuple):
        return [_plain(v) for v in cell]
    if not _missing(cell):
        if isinstance(cell, str) and name in _LIST_FIELDS:
            return [v.strip() for v in cell.split("|")] if cell.strip() else []
        if isinstance(cell, datetime | np.datetime64):
            return _seconds(pd.Timestamp(cell))
        return _plain(cell)
    return None


def _seconds(ts: Any) -> int:
    """Epoch seconds (rounded down) of a pandas Timestamp; one without a zone is UTC."""
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000_000)


# -- events ------------------------------------------------------------------------------


def _events(frame: Any, catalog: Catalog, source: str, lenient: bool) -> Interactions:
    _check_columns(frame, source, ("user", "item", "timestamp"), EVENT_FIELDS)
    if not len(frame):
        raise DataError("no events in the frame", source=source)
    try:
        try:
            return _index(frame, catalog, Problems(source, lenient), exact=False)
        except _Collision:  # two ids with the same 64-bit key: compare the strings themselves
            return _index(frame, catalog, Problems(source, lenient), exact=True)
    except DataError as err:
        raise _with_label(err, frame) from None


def _index(frame: Any, catalog: Catalog, problems: Problems, *, exact: bool) -> Interactions:
    """Convert, validate (the file loaders' checks) and index the events, as ``_load_generic._events``."""
    import pandas as pd

    n = len(frame)
    lines = np.arange(n, dtype=np.int64)
    items, users = _Ids(catalog.ids, exact=exact), _Users(exact=exact)
    cols = {"user": _ids(frame["user"], "user", problems, pd), "item": _ids(frame["item"], "item", problems, pd), "timestamp": _times(frame["timestamp"], problems, pd)}
    cols["kind"] = _kinds(frame["kind"], problems, pd) if "kind" in frame.columns else np.full(n, "play")
    if "value" in frame.columns:
        cols["value"], cols["has_value"] = _values(frame["value"], problems, pd)
    user, item, ts, kind, value = _validate(cols, lines, items, problems)
    if not len(user):
        raise problems.nothing_usable("event rows")
    users.add(user)
    vocab, user = users.finish()
    warn_skipped(problems.skipped)
    order = time_order(user, ts, item.astype(np.int64) * len(EVENT_KINDS) + kind, catalog.n * len(EVENT_KINDS))
    return Interactions(users=vocab, n_items=catalog.n, user=user[order], item=item[order], timestamp=ts[order], kind=kind[order], value=value[order])


def _ids(series: Any, name: str, problems: Problems, pd: Any) -> np.ndarray:
    """An id column as strings (integers written in decimal); a bad cell is flagged and left empty.

    A float column takes whole numbers as integers: pandas stores an integer column with a
    missing value as floats, and the missing value is what the error should name."""
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        return series.to_numpy(dtype=np.int64).astype(np.str_)
    floats = pd.api.types.is_float_dtype(series.dtype)
    cells = series.to_numpy(dtype=object)
    if len(cells) and pd.api.types.infer_dtype(cells, skipna=False) == "string":  # all text: checked at once
        texts = cells.tolist()
        if max(map(len, texts)) <= MAX_ID_LENGTH and "\0" not in "".join(texts):
            strings = narrow(cells)
            return np.strings.strip(strings) if strings is not None else np.asarray([t.strip() for t in texts], dtype=object)
    out = np.empty(len(cells), dtype=object)
    for k, cell in enumerate(cells.tolist()):
        out[k] = ""
        if _missing(cell):
            problems.add(k, name, cell, "missing id")
        elif isinstance(cell, str):
            if check_length(problems, k, name, cell, MAX_ID_LENGTH):
                continue
            if "\0" in cell:
                problems.add(k, name, cell, "an id may not hold a NUL character")
                continue
            out[k] = cell.strip()
        elif isinstance(cell, int) and not isinstance(cell, bool):
            out[k] = str(cell)
        elif isinstance(cell, float) and floats and cell.is_integer():
            out[k] = str(int(cell))  # an integer column that pandas made float for its missing ids
        else:
            problems.add(k, name, cell, "expected a string or integer id")
    narrowed = narrow(out)
    return out if narrowed is None else narrowed


def _times(series: Any, problems: Problems, pd: Any) -> np.ndarray:
    """A time column as epoch seconds (int64); a bad or missing cell is flagged."""
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        series = series.dt.tz_convert("UTC").dt.tz_localize(None)
    if pd.api.types.is_datetime64_dtype(series.dtype):
        stamps = series.to_numpy()
        nat = np.isnat(stamps)
        problems.add_mask(np.arange(len(stamps)), nat, "timestamp", np.full(len(stamps), None, dtype=object), "missing time (NaT)")
        return np.where(nat, 0, stamps.astype("datetime64[s]").astype(np.int64))
    if pd.api.types.is_integer_dtype(series.dtype) and not series.hasnans:
        return series.to_numpy(dtype=np.int64)
    out = np.zeros(len(series), dtype=np.int64)
    for k, cell in enumerate(series.to_numpy(dtype=object).tolist()):
        if _missing(cell):
            problems.add(k, "timestamp", cell, "missing time")
            continue
        try:
            if isinstance(cell, datetime | np.datetime64):
                out[k] = _seconds(pd.Timestamp(cell))
            else:
                out[k] = parse_time(cell if isinstance(cell, str | int | float) else str(cell))
        except (ValueError, TypeError, OverflowError) as err:
            problems.add(k, "timestamp", cell, f"not epoch seconds, a datetime or an ISO 8601 time ({err})")
    return out


def _kinds(series: Any, problems: Problems, pd: Any) -> np.ndarray:
    cells = series.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(cells, skipna=False) == "string":
        return np.strings.strip(np.asarray(cells.tolist(), dtype=np.str_))
    out = np.full(len(series), "play", dtype=object)
    for k, cell in enumerate(cells.tolist()):
        if isinstance(cell, str):
            out[k] = cell.strip()
        elif not _missing(cell):  # missing: the default, play
            problems.add(k, "kind", cell, f"expected one of {', '.join(EVENT_KINDS)} (a string)")
    return np.asarray(out.tolist(), dtype=np.str_)


def _values(series: Any, problems: Problems, pd: Any) -> tuple[np.ndarray, np.ndarray]:
    """The value column as float64, and where a value was given (NaN or None: none, as an empty CSV cell)."""
    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        value = series.to_numpy(dtype=np.float64, na_value=np.nan)
        return value, ~np.isnan(value)
    value = np.zeros(len(series), dtype=np.float64)
    given = np.zeros(len(series), dtype=bool)
    for k, cell in enumerate(series.to_numpy(dtype=object).tolist()):
        if _missing(cell):
            continue
        if isinstance(cell, bool) or not isinstance(cell, int | float):
            problems.add(k, "value", cell, "not a number")
        else:
            value[k], given[k] = float(cell), True
    return value, given
