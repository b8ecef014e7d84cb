"""Shared pieces of the loaders: the load report, strict/lenient problem handling, chunked reading.

Bounds every loader checks (one definition each):

- ``MIN_TIMESTAMP`` .. ``MAX_TIMESTAMP``: event and catalog times in epoch seconds must lie in
  [1970-01-01, 2100-01-01); a negative time or one past 2100 is a data error, not a far-off event.
- ``RATING_RANGE``: ratings of the generic format must lie within [0, 10] (rescale wider scales
  before loading); MovieLens ratings must lie within ``MOVIELENS_RATING_RANGE`` [0.5, 5].
- ``YEAR_RANGE``: a release year is 0 (unknown) or within [1870, 2100].
- ``MAX_ID_LENGTH`` (1,024 characters): an id (user, item, catalog id, series id) or any other
  single value (a kind, a time, a number); ``MAX_TITLE_LENGTH`` (4,096): a title and each genre,
  region or tag label; ``MAX_FIELD_LENGTH`` (65,536): a whole field, such as a CSV cell listing
  many tags. A longer field is a data error naming it and its (shortened) value.
"""

from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np

from pagegen.core._catalog import Catalog
from pagegen.core._errors import DataError
from pagegen.core._interactions import Interactions

__all__ = [
    "CHUNK_BYTES",
    "Dataset",
    "Links",
    "LoadReport",
    "MAX_FIELD_LENGTH",
    "MAX_ID_LENGTH",
    "MAX_TIMESTAMP",
    "MAX_TITLE_LENGTH",
    "MIN_TIMESTAMP",
    "MOVIELENS_RATING_RANGE",
    "Problems",
    "RATING_RANGE",
    "SkippedLine",
    "YEAR_RANGE",
    "check_header",
    "check_length",
    "csv_line",
    "csv_records",
    "iter_chunks",
    "open_table",
    "parse_time",
    "read_header",
    "shorten",
    "string_keys",
    "time_range_message",
    "warn_skipped",
    "year_start",
]

MIN_TIMESTAMP = 0
MAX_TIMESTAMP = 4_102_444_800  # 2100-01-01T00:00:00Z
RATING_RANGE = (0.0, 10.0)
MOVIELENS_RATING_RANGE = (0.5, 5.0)
YEAR_RANGE = (1870, 2100)
MAX_ID_LENGTH = 1_024
MAX_TITLE_LENGTH = 4_096
MAX_FIELD_LENGTH = 65_536
_BOM = b"\xef\xbb\xbf"
#: Bytes read and parsed at once on the vectorized paths (bounds memory for any file size).
CHUNK_BYTES = 1 << 22


@dataclass(frozen=True)
class SkippedLine:
    """One input line that lenient mode left out, and why."""

    source: str
    line: int
    field: str | None
    value: object
    message: str

    def __str__(self) -> str:
        return str(DataError(self.message, source=self.source, line=self.line, field=self.field, value=self.value))


@dataclass(frozen=True)
class LoadReport:
    """What a load did: ``counts`` maps each file read to the records loaded from it;
    ``skipped`` lists every line left out in lenient mode (empty in strict mode)."""

    skipped: tuple[SkippedLine, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)

    def merge(self, other: LoadReport) -> LoadReport:
        return LoadReport(skipped=self.skipped + other.skipped, counts={**self.counts, **other.counts})


@dataclass(frozen=True, eq=False)
class Links:
    """External ids of each catalog title (MovieLens links.csv): int64, -1 when unknown."""

    imdb: np.ndarray
    tmdb: np.ndarray


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded catalog with its events and the load report (``links`` for MovieLens when present)."""

    catalog: Catalog
    interactions: Interactions
    report: LoadReport
    links: Links | None = None


class Problems:
    """Collects the bad lines of one file: strict mode raises the earliest, lenient mode records all.

    Checks add candidates with ``add``/``add_mask``; ``settle`` then raises (strict) or records
    (lenient) and returns the set of bad line numbers, so a line with a bad field is never half-loaded.
    """

    def __init__(self, source: str, lenient: bool) -> None:
        self.source = source
        self.lenient = lenient
        self.skipped: list[SkippedLine] = []
        self._pending: dict[int, SkippedLine] = {}

    def fatal(self, message: str, *, line: int | None = None, field: str | None = None, value: object = None) -> DataError:
        """An error that no lenient mode can skip (missing file, bad header, empty file)."""
        return DataError(message, source=self.source, line=line, field=field, value=value)

    def add(self, line: int, field: str | None, value: object, message: str) -> None:
        """Flag one line; a problem with the whole line (``field`` None) quotes the line in the message."""
        if field is None and value is not None:
            text = repr(value)
            message = f"{message}: {text if len(text) <= 80 else text[:77] + '...'}"
        if line not in self._pending:
            self._pending[line] = SkippedLine(self.source, int(line), field, value, message)

    def add_mask(self, lines: np.ndarray, mask: np.ndarray, field: str, values: np.ndarray, message: str) -> None:
        """Flag the rows where ``mask`` holds (only the earliest in strict mode: it is what gets raised)."""
        bad = np.flatnonzero(mask)
        if self.lenient:
            for pos in bad.tolist():
                self.add(int(lines[pos]), field, _plain(values[pos]), message)
        elif len(bad):
            pos = int(bad[np.argmin(lines[bad])])
            self.add(int(lines[pos]), field, _plain(values[pos]), message)

    def settle(self) -> set[int]:
        if not self._pending:
            return set()
        if not self.lenient:
            first = self._pending[min(self._pending)]
            raise DataError(first.message, source=first.source, line=first.line, field=first.field, value=first.value)
        bad = set(self._pending)
        self.skipped.extend(self._pending[k] for k in sorted(self._pending))
        self._pending.clear()
        return bad

    def nothing_usable(self, what: str) -> DataError:
        """The error for a lenient load that skipped every line of the file: nothing is left to
        load. The skipped lines are listed by the usual warning first."""
        if not self.skipped:
            return DataError(f"no {what} in the file", source=self.source)
        warn_skipped(self.skipped)
        first = min(self.skipped, key=lambda s: s.line)
        where = DataError(first.message, line=first.line, field=first.field, value=first.value)
        return DataError(f"nothing usable: all {len(self.skipped):,} {what} were bad and skipped; the first, {where}", source=self.source)

    def keep(self, lines: np.ndarray) -> np.ndarray:
        """Settle, then the mask of ``lines`` that are not bad."""
        bad = self.settle()
        if not bad:
            return np.ones(len(lines), dtype=bool)
        return ~np.isin(lines, np.fromiter(bad, dtype=np.int64, count=len(bad)))


def warn_skipped(skipped: tuple[SkippedLine, ...] | list[SkippedLine]) -> None:
    """The lenient-mode summary warning (the details are in the LoadReport)."""
    if not skipped:
        return
    per_file: dict[str, int] = {}
    for s in skipped:
        per_file[s.source] = per_file.get(s.source, 0) + 1
    detail = ", ".join(f"{n} in {src}" for src, n in per_file.items())
    warnings.warn(f"skipped {len(skipped)} bad line(s) ({detail}); first: {skipped[0]}", stacklevel=3)


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def open_table(path: Path, *, what: str = "file", header: bool = True) -> BinaryIO:
    """Open a data file for binary reading, past a leading UTF-8 byte order mark if there is one.

    A missing, unreadable or empty file (nothing but a byte order mark counts as empty) is a DataError.
    """
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} not found", source=str(path))
    if not path.is_file():
        raise DataError(f"{what} is not a regular file", source=str(path))
    f = path.open("rb")
    head = f.read(len(_BOM) + 1)
    start = len(_BOM) if head.startswith(_BOM) else 0
    if len(head) <= start:
        f.close()
        bom = " (nothing but a byte order mark)" if start else ""
        raise DataError(f"empty {what}{bom}" + (": expected a header line" if header else ""), source=str(path), line=1)
    f.seek(start)
    return f


def check_header(names: list[str], source: str, required: tuple[str, ...], known: tuple[str, ...]) -> list[str]:
    """Check a CSV header's column names: every ``required`` one present, no unknown or repeated one."""
    if not any(names):
        raise DataError("empty header line", source=source, line=1)
    for name in names:
        if name not in known:
            raise DataError(f"unknown column (expected some of {', '.join(known)})", source=source, line=1, field=name, value=name)
        if names.count(name) > 1:
            raise DataError("repeated column", source=source, line=1, field=name, value=name)
    for name in required:
        if name not in names:
            raise DataError(f"missing required column (header has {', '.join(names)})", source=source, line=1, field=name)
    return names


def read_header(f: BinaryIO, source: str, required: tuple[str, ...], known: tuple[str, ...]) -> list[str]:
    """Read and check a CSV header line (see ``check_header``)."""
    raw = f.readline(MAX_FIELD_LENGTH)
    try:
        text = raw.decode("utf-8-sig").rstrip("\r\n")
    except UnicodeDecodeError as err:
        raise DataError(f"header is not UTF-8 ({err.reason})", source=source, line=1) from None
    return check_header([c.strip() for c in text.split(",")], source, required, known)


def shorten(value: str, keep: int = 40) -> str:
    """A long text cut to its start, with its length: what an error quotes of a too-long field."""
    return value if len(value) <= keep + 20 else f"{value[:keep]}... ({len(value):,} characters)"


def check_length(problems: Problems, line: int, field: str, value: object, limit: int) -> bool:
    """Flag a string ``value`` longer than ``limit`` characters; True when it was flagged."""
    if not isinstance(value, str) or len(value) <= limit:
        return False
    problems.add(line, field, shorten(value), f"longer than {limit:,} characters")
    return True


def csv_line(text: str, names: list[str], line: int, problems: Problems) -> list[str] | None:
    """The cells of one CSV line, or None when the line is flagged (malformed, wrong field count)."""
    try:
        row = next(csv.reader([text]), [])
    except csv.Error as err:
        _csv_error(text, names, line, problems, err)
        return None
    if len(row) != len(names):
        problems.add(line, None, text, f"expected {len(names)} fields ({', '.join(names)}), found {len(row)}")
        return None
    return row


def csv_records(text: str, problems: Problems, required: tuple[str, ...], known: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """The header, then (line, cells by column) of each record of a whole CSV text (quoted fields
    may span lines). A malformed record or one with the wrong field count is flagged and settled."""
    source = problems.source
    physical = io.StringIO(text, newline="").readlines()
    reader = csv.reader(physical)
    try:
        header = next(reader, [])
    except csv.Error as err:
        raise DataError(f"header is not valid CSV ({err})", source=source, line=1) from None
    names = check_header([c.strip() for c in header], source, required, known)
    end = reader.line_num
    while True:
        line = end + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            end = reader.line_num
            _csv_error("".join(physical[line - 1 : end]), names, line, problems, err)
            problems.settle()
            continue
        end = reader.line_num
        if len(row) != len(names):
            problems.add(line, None, ",".join(row), f"expected {len(names)} fields ({', '.join(names)}), found {len(row)}")
            problems.settle()
            continue
        yield line, dict(zip(names, row, strict=True))


def _csv_error(record: str, names: list[str], line: int, problems: Problems, err: csv.Error) -> None:
    """Flag a record the csv module refused; a field past its size limit is named, with its start."""
    if "field larger than field limit" not in str(err):
        problems.add(line, None, record, f"not valid CSV ({err})")
        return
    # the too-long field is the last of a prefix that holds no field past the limit
    prefix = next(csv.reader(io.StringIO(record[: csv.field_size_limit()], newline="")), [""])
    field = names[len(prefix) - 1] if 0 < len(prefix) <= len(names) else None
    problems.add(line, field, shorten(prefix[-1] if prefix else record), f"longer than {MAX_FIELD_LENGTH:,} characters")


def iter_chunks(f: BinaryIO, first_line: int, chunk_bytes: int | None = None) -> Iterator[tuple[int, bytes]]:
    """Whole lines in blocks of about ``chunk_bytes`` (default CHUNK_BYTES): yields (number of the
    block's first line, bytes). Every block ends with a newline (one is added to a last line that lacks it).
    """
    chunk_bytes = chunk_bytes or CHUNK_BYTES
    line = first_line
    rest = b""
    while True:
        data = f.read(chunk_bytes)
        if not data:
            break
        data = rest + data
        cut = data.rfind(b"\n")
        if cut < 0:
            rest = data
            continue
        block, rest = data[: cut + 1], data[cut + 1 :]
        yield line, block
        line += block.count(b"\n")
    if rest:
        yield line, rest + b"\n"


def parse_time(text: object) -> int:
    """Epoch seconds from an int, a float with no fraction, digits, or an ISO 8601 date/time.

    A time without a zone is taken as UTC; a bare date is its midnight UTC. ValueError otherwise.
    """
    if isinstance(text, bool):
        raise ValueError("a boolean is not a time")
    if isinstance(text, int):
        return text
    if isinstance(text, float):
        if not np.isfinite(text) or text != int(text):
            raise ValueError("not a whole number of seconds")
        return int(text)
    s = str(text).strip()
    if not s:
        raise ValueError("empty")
    if s.lstrip("+-").isdigit():
        return int(s)
    if len(s) == 10 and s[4] == "-":
        d = date.fromisoformat(s)
        return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())
    dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


def year_start(years: np.ndarray) -> np.ndarray:
    """Epoch seconds of Jan 1 (UTC) of each year; 0 where the year is 0 (unknown)."""
    years = np.asarray(years, dtype=np.int64)
    out = (years - 1970).astype("datetime64[Y]").astype("datetime64[s]").astype(np.int64)
    return np.where(years == 0, 0, out)


def time_range_message() -> str:
    return f"time outside [{MIN_TIMESTAMP}, {MAX_TIMESTAMP}) (1970-01-01 to 2100-01-01)"


def string_keys(strings: np.ndarray) -> np.ndarray:
    """A uint64 hash (FNV-1a over code points) of each string of a numpy str array, vectorized
    over the strings (the loop runs over character positions). Equal strings get equal keys
    whatever the array widths; callers confirm matches by comparing the strings themselves.
    """
    arr = np.ascontiguousarray(strings, dtype=np.str_)
    n, width = len(arr), arr.dtype.itemsize // 4
    key = np.full(n, 14695981039346656037, dtype=np.uint64)
    if n == 0 or width == 0:
        return key
    codes = arr.view(np.uint32).reshape(n, width)
    prime = np.uint64(1099511628211)
    for j in range(width):
        c = codes[:, j]
        if not c.any():
            break
        key = np.where(c != 0, (key ^ c.astype(np.uint64)) * prime, key)
    return key
