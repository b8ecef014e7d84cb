"""Reading an events file of the generic format into blocks of raw columns (fields documented in
``_load_generic``, which validates and indexes the blocks).

CSV blocks with epoch-second timestamps, no empty or quoted cells and no field much wider than
the lines take numpy's C reader; other lines are parsed one by one into Python values, checked
for type and length, and kept as numpy string columns only when those stay narrow.
"""

from __future__ import annotations

import io

import numpy as np
import orjson

from pagegen.core._interactions import EVENT_KINDS

from ._load_common import MAX_ID_LENGTH, Problems, check_length, csv_line, iter_chunks, parse_time, read_header

__all__ = ["EVENT_FIELDS", "csv_blocks", "jsonl_blocks", "narrow"]

EVENT_FIELDS = ("user", "item", "timestamp", "kind", "value")
_REQUIRED = ("user", "item", "timestamp")
_MAX_FAST_FIELD = 256  # widest field (bytes) the vectorized path takes


def csv_blocks(f, problems: Problems):
    names = read_header(f, problems.source, _REQUIRED, EVENT_FIELDS)
    for start, block in iter_chunks(f, 2):
        n_lines = block.count(b"\n")
        cols = _fast_csv(block, names, n_lines)
        if cols is not None:
            yield cols, start + np.arange(n_lines, dtype=np.int64)
            continue
        rows, lines = [], []
        for k, raw in enumerate(block.split(b"\n")[:-1]):
            try:
                text = raw.decode("utf-8").rstrip("\r")
            except UnicodeDecodeError as err:
                problems.add(start + k, None, raw[:80], f"not UTF-8 ({err.reason})")
                continue
            row = csv_line(text, names, start + k, problems)
            if row is None:
                continue
            rows.append(dict(zip(names, row, strict=True)))
            lines.append(start + k)
        yield _typed(rows, lines, problems), np.asarray(lines, dtype=np.int64)


def _fast_csv(block: bytes, names: list[str], n_lines: int) -> dict[str, np.ndarray] | None:
    """Parse a block with numpy's C reader; None when some line needs the line-by-line path."""
    if b'"' in block or b"\0" in block or n_lines == 0:
        return None
    raw = np.frombuffer(block, dtype=np.uint8)
    # the widest field in bytes bounds its length in characters: string columns are never cut
    width = int(np.diff(np.flatnonzero((raw == 44) | (raw == 10)), prepend=-1).max())
    if width > _MAX_FAST_FIELD or width * n_lines > len(block):
        return None  # numpy's string columns would hold n_lines x width characters each
    kinds = {"user": f"U{width}", "item": f"U{width}", "kind": f"U{width}", "timestamp": np.int64, "value": np.float64}
    dtype = np.dtype([(name, kinds[name]) for name in names])
    try:
        arr = np.loadtxt(io.BytesIO(block), delimiter=",", dtype=dtype, comments=None, ndmin=1, encoding="utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    if len(arr) != n_lines:
        return None
    cols = {name: np.ascontiguousarray(arr[name]) for name in names}
    if b" " in block or b"\t" in block or b"\r" in block:
        for name in ("user", "item", "kind"):
            if name in cols:
                cols[name] = np.strings.strip(cols[name])
    if "value" in cols:
        cols["has_value"] = np.ones(n_lines, dtype=bool)
    return cols


def jsonl_blocks(f, problems: Problems):
    for start, block in iter_chunks(f, 1):
        rows, lines = [], []
        for k, raw in enumerate(block.split(b"\n")[:-1]):
            line = start + k
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as err:
                problems.add(line, None, raw[:80].decode("utf-8", "replace"), f"bad JSON ({err})")
                continue
            if not isinstance(obj, dict):
                problems.add(line, None, raw[:80].decode("utf-8", "replace"), "expected a JSON object")
                continue
            unknown = [k for k in obj if k not in EVENT_FIELDS]
            missing = [k for k in _REQUIRED if k not in obj]
            if unknown:
                problems.add(line, unknown[0], obj[unknown[0]], f"unknown field (expected some of {', '.join(EVENT_FIELDS)})")
            elif missing:
                problems.add(line, missing[0], None, "missing required field")
            else:
                rows.append(obj)
                lines.append(line)
        yield _typed(rows, lines, problems, json=True), np.asarray(lines, dtype=np.int64)


def _typed(rows: list[dict], lines: list[int], problems: Problems, *, json: bool = False) -> dict[str, np.ndarray]:
    """Columns from parsed rows (CSV cells or JSON values); a cell that does not convert is flagged.

    Rows with a flagged cell stay in the columns (with placeholder values) and are dropped by the
    caller's ``keep`` mask, so line numbers stay aligned. JSON values must have the type the
    format gives (a string or integer id, a string kind, a number or string time, a number value).
    """
    n = len(rows)
    user = np.empty(n, dtype=object)
    item = np.empty(n, dtype=object)
    kind = np.empty(n, dtype=object)
    ts = np.zeros(n, dtype=np.int64)
    value = np.zeros(n, dtype=np.float64)
    has_value = np.zeros(n, dtype=bool)
    for k, (row, line) in enumerate(zip(rows, lines, strict=True)):
        for name, out in (("user", user), ("item", item)):
            cell = row[name]
            if type(cell) is str:
                if len(cell) > MAX_ID_LENGTH or "\0" in cell:
                    if not check_length(problems, line, name, cell, MAX_ID_LENGTH):
                        problems.add(line, name, cell, "an id may not hold a NUL character")
                    cell = ""
            elif isinstance(cell, bool) or not isinstance(cell, str | int):
                problems.add(line, name, cell, "expected a string or integer id")
                cell = ""
            out[k] = str(cell).strip()
        cell = row.get("kind", "play")
        if not isinstance(cell, str):
            problems.add(line, "kind", cell, f"expected one of {', '.join(EVENT_KINDS)} (a string)")
            cell = "play"
        elif len(cell) > MAX_ID_LENGTH:
            check_length(problems, line, "kind", cell, MAX_ID_LENGTH)
            cell = "play"
        kind[k] = cell.strip()
        cell = row["timestamp"]
        try:
            if isinstance(cell, list | dict):
                raise TypeError(f"a JSON {'list' if isinstance(cell, list) else 'object'}")
            if not (isinstance(cell, str) and len(cell) > MAX_ID_LENGTH and check_length(problems, line, "timestamp", cell, MAX_ID_LENGTH)):
                ts[k] = parse_time(cell)
        except (ValueError, OverflowError, TypeError) as err:
            problems.add(line, "timestamp", cell, f"not epoch seconds or an ISO 8601 time ({err})")
        cell = row.get("value")
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        try:
            if isinstance(cell, bool) or (json and not isinstance(cell, int | float)):
                raise TypeError("expected a JSON number")
            if isinstance(cell, str) and len(cell) > MAX_ID_LENGTH:
                check_length(problems, line, "value", cell, MAX_ID_LENGTH)
                continue
            if isinstance(cell, str) and "_" in cell:
                raise ValueError("not a plain number")
            value[k] = float(cell)
            has_value[k] = True
        except (ValueError, TypeError, OverflowError) as err:
            problems.add(line, "value", cell, "not a number" + (f" ({err})" if isinstance(err, TypeError) else ""))
    # numpy string columns only when narrow: a fixed-width column takes n x the longest string
    user, item, kind = (col if (narrowed := narrow(col)) is None else narrowed for col in (user, item, kind))
    return {"user": user, "item": item, "kind": kind, "timestamp": ts, "value": value, "has_value": has_value}


def narrow(strings: np.ndarray) -> np.ndarray | None:
    """An object array of str as one numpy str array when that takes at most about twice the
    characters the strings hold; None when some strings are much longer than the rest."""
    lengths = np.fromiter(map(len, strings), dtype=np.int64, count=len(strings))
    if len(strings) == 0 or int(lengths.max()) * len(strings) <= 2 * int(lengths.sum()) + 32 * len(strings):
        return np.asarray(strings.tolist(), dtype=np.str_) if len(strings) else np.zeros(0, np.str_)
    return None
