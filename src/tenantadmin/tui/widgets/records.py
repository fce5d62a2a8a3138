"""A table of records, each row keyed by its record's id, shown literally, that keeps its cursor on a record."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from ..literal import literal

Record = TypeVar("Record")
WIDEST = 40  # cells a list's column takes at most; a record's whole text is in its detail


class RecordTable(DataTable[Any], Generic[Record]):
    """``fill`` replaces the rows, each the cells of one record; ``current`` is the record under the cursor.

    A reload keeps the cursor on the record it was on (by key), wherever the reload put it; only when that record is
    gone does it stay at the same row number. Cells are data: shown literally, their control characters visible.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        # ←/→ move between an organization's tabs: a table wider than the screen scrolls with shift.
        Binding("shift+left", "scroll_left", "Scroll left", show=False),
        Binding("shift+right", "scroll_right", "Scroll right", show=False),
    ]

    def __init__(self, *columns: str, widest: int | None = WIDEST, **options: Any) -> None:
        options.setdefault("cursor_type", "row")
        options.setdefault("zebra_stripes", True)
        super().__init__(**options)
        self.columns_wanted = columns
        self.widest = widest
        self.records: dict[str, Record] = {}
        self.shown: list[tuple[str, list[Text]]] = []

    def cell(self, value: object) -> Text:
        """``value`` shown literally, cut with … past ``widest`` cells (measured as the terminal shows them: wide
        characters count two), so that one long name cannot push the other columns off the screen."""
        text = value if isinstance(value, Text) else literal(value)
        if self.widest is not None and text.cell_len > self.widest:
            text = text.copy()
            text.truncate(self.widest, overflow="ellipsis")
        return text

    def on_mount(self) -> None:
        self.add_columns(*self.columns_wanted)

    def fill(self, rows: Iterable[tuple[str, Record, Sequence[object | Text]]]) -> None:
        """``rows``: each a key, its record and its cells. Rows that read as they already do are left alone: a
        screen that follows the log reloads often, and must not flicker (or lose its layout) for nothing."""
        wanted = [(key, record, [self.cell(cell) for cell in cells]) for key, record, cells in rows]
        shown = [(key, cells) for key, _record, cells in wanted]
        self.records = {key: record for key, record, _cells in wanted}
        if shown == self.shown:
            return
        self.shown = shown
        was_on = self.current_key
        row = self.cursor_row
        self.clear()
        for key, cells in shown:
            self.add_row(*cells, key=key)
        self._size_columns(cells for _key, cells in shown)
        if was_on in self.records:
            row = self.get_row_index(was_on)
        if self.row_count:
            self.move_cursor(row=min(max(row, 0), self.row_count - 1), animate=False)

    def _size_columns(self, rows: Iterable[list[Text]]) -> None:
        """Each column as wide as its widest cell (or heading), measured now, as the terminal shows them: the
        table's own measuring, when idle, would leave a picture taken before it with columns the width of their
        headings."""
        widths = [label.cell_len if self.show_header else 1 for label in map(Text, self.columns_wanted)]
        for cells in rows:
            widths = [max(width, cell.cell_len) for width, cell in zip(widths, cells, strict=True)]
        for column, width in zip(self.ordered_columns, widths, strict=True):
            column.auto_width, column.width = False, width
        self.refresh()

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
