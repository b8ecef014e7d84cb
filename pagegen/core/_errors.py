"""Error types. Every error about bad input names where it was and what was wrong."""

from __future__ import annotations

__all__ = ["BatchError", "DataError", "ModelFileError", "PagegenError", "PolicyError"]


class PagegenError(Exception):
    """Base class of every error pagegen raises on purpose."""


class DataError(PagegenError, ValueError):
    """Bad input data: names the source (file), line, field and offending value.

    ``str(err)`` reads like ``ratings.csv:17: field 'rating' = 'abc': not a number``.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        field: str | None = None,
        value: object = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.field = field
        self.value = value
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.source is not None:
            where = str(self.source)
            if self.line is not None:
                where += f":{self.line}"
            where += ": "
        elif self.line is not None:
            where = f"line {self.line}: "
        what = ""
        if self.field is not None:
            what = f"field {self.field!r}"
            if self.value is not None:
                what += f" = {_short(self.value)!r}"
            what += ": "
        return f"{where}{what}{self.message}"


class PolicyError(PagegenError, ValueError):
    """A page policy that is malformed or contradicts itself; names the fields involved."""


class ModelFileError(PagegenError):
    """A saved model that cannot be loaded: missing, truncated, corrupt or mismatched."""


def _short(value: object, limit: int = 80) -> object:
    text = str(value)
    return value if len(text) <= limit else text[: limit - 3] + "..."


class BatchError(PagegenError):
    """A batch that cannot start or continue: folder in use, parameters changed, a page failed."""
