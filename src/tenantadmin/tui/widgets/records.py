"""A table of records, each row keyed by its record's id, shown literally, that keeps its cursor on a record."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Generic, TypeVar

from rich.text import Text
from textual.widgets import DataTable

from ..literal import literal

Record = TypeVar("Record")


class RecordTable(DataTable[Any], Generic[Record]):
    """``fill`` replaces the rows, each the cells of one record; ``current`` is the record under the cursor.

    A reload keeps the cursor on the record it was on (by key), wherever the reload put it; only when that record is
    gone does it stay at the same row number. Cells are data: shown literally, their control characters visible.
    """

    def __init__(self, *columns: str, **options: Any) -> None:
        options.setdefault("cursor_type", "row")
        options.setdefault("zebra_stripes", True)
        super().__init__(**options)
        self.columns_wanted = columns
        self.records: dict[str, Record] = {}

    def on_mount(self) -> None:
        self.add_columns(*self.columns_wanted)

    def fill(self, rows: Iterable[tuple[str, Record, Sequence[object | Text]]]) -> None:
        """``rows``: each a key, its record and its cells."""
        was_on = self.current_key
        row = self.cursor_row
        self.clear()
        self.records = {}
        for key, record, cells in rows:
            self.records[key] = record
            self.add_row(*(cell if isinstance(cell, Text) else literal(cell) for cell in cells), key=key)
        if was_on in self.records:
            row = self.get_row_index(was_on)
        if self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1), animate=False)

    @property
    def current_key(self) -> str | None:
        if not self.row_count or not 0 <= self.cursor_row < self.row_count:
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    @property
    def current(self) -> Record | None:
        """The record of the highlighted row, or None when the table is empty."""
        key = self.current_key
        return None if key is None else self.records.get(key)
