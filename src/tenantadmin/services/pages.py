"""Lists a page at a time, by keyset: each page ends with a cursor, and the next page is what sorts after it.

A cursor names the list it belongs to and the sort key of the last record shown, so the next page is exact even while
records are added or removed (an offset would skip or repeat them) and costs the same however deep it is. It is
opaque to the operator (base64 of JSON), and a cursor of another list, or a damaged one, is refused as invalid input.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute

from tenantadmin.errors import InvalidInput

DEFAULT_LIMIT = 50
LARGEST_LIMIT = 10_000

Record = TypeVar("Record")
Statement = sa.Select[*tuple[Any, ...]]  # a select of any columns


@dataclass(frozen=True)
class Page(Generic[Record]):
    records: list[Record]
    after: str | None  # the cursor of the next page; None when this page is the last


def limit(value: int) -> int:
    if not 1 <= value <= LARGEST_LIMIT:
        raise InvalidInput(f"invalid limit {value}: from 1 to {LARGEST_LIMIT:,}", field="limit")
    return value


@dataclass(frozen=True)
class Keyset:
    """The sort of a list: its name (in its cursors), the columns it sorts by, all one way, the last one unique."""

    name: str
    columns: Sequence[sa.ColumnElement[Any] | QueryableAttribute[Any]]
    descending: bool = False

    def read(
        self,
        execute: Callable[[Statement], Sequence[Any]],
        statement: Statement,
        after: str | None,
        count: int | None,
        record: Callable[[Any], Record],
        keep: Callable[[Record], bool] | None = None,
    ) -> Page[Record]:
        """A page: ``count`` records (None: every one) of the rows of ``statement`` after the cursor ``after``, each
        made by ``record``, with the cursor of the next page when more exist. A record ``keep`` refuses (a condition
        SQL does not hold, such as a key's shown status) is passed over, and reading goes on until the page is full;
        one more record than the page is read, so that "more exist" is never said of an empty page."""
        kept: list[tuple[Record, Any]] = []
        while True:
            rows = execute(self._select(statement, after, count))
            more = count is not None and len(rows) > count
            rows = rows[:count] if count is not None else rows
            for row in rows:
                made = record(row)
                if keep is None or keep(made):
                    kept.append((made, row))
            if not more or (count is not None and len(kept) > count):
                break
            after = self._cursor(rows[-1])
        if count is None or len(kept) <= count:
            return Page([made for made, _row in kept], None)
        return Page([made for made, _row in kept[:count]], self._cursor(kept[count - 1][1]))

    def _select(self, statement: Statement, after: str | None, count: int | None) -> Statement:
        """``statement`` sorted, from after the cursor, one more than ``count``; the sort key is read too, at the end
        of each row, for the cursor."""
        order = [column.desc() if self.descending else column.asc() for column in self.columns]
        statement = statement.add_columns(*self.columns).order_by(*order)
        if count is not None:
            statement = statement.limit(limit(count) + 1)
        if after is None:
            return statement
        key, bound = sa.tuple_(*self.columns), sa.tuple_(*(sa.literal(value) for value in self.decode(after)))
        return statement.where(key < bound if self.descending else key > bound)

    def _cursor(self, row: Any) -> str:
        return self.encode(tuple(row)[-len(self.columns) :])

    def encode(self, key: tuple[Any, ...]) -> str:
        """The cursor of a record whose sort key is ``key``: the next page starts after it."""
        values = [
            value.isoformat() if isinstance(value, datetime) else str(value) if isinstance(value, uuid.UUID) else value
            for value in key
        ]
        return (
            base64.urlsafe_b64encode(json.dumps([self.name, *values], separators=(",", ":")).encode())
            .decode()
            .rstrip("=")
        )

    def decode(self, cursor: str) -> list[Any]:
        """The sort key a cursor of this list holds; any other text is refused as invalid input."""
        refused = InvalidInput(
            f"invalid cursor {cursor[:40]!r}: give the --after that a page of this list printed", field="after"
        )
        try:
            name, *values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
            raise refused from None
        if name != self.name or len(values) != len(self.columns):
            raise refused
        try:
            return [_typed(column, value) for column, value in zip(self.columns, values, strict=True)]
        except (TypeError, ValueError):
            raise refused from None


def _typed(column: sa.ColumnElement[Any] | QueryableAttribute[Any], value: Any) -> Any:
    kind = column.type.python_type
    if issubclass(kind, enum.Enum):
        return kind(value)
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):  # JSON's true is no number
        raise TypeError(value)
    if kind is int and not -(2**63) <= value < 2**63:  # what a BIGINT holds
        raise ValueError(value)
    return value
