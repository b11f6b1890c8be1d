"""A table that takes the whole list each time and changes only what changed."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

__all__ = ["Cell", "KeyedTable"]

Cell = str | Text


class _KeyCell(Text):
    """The first cell of a row, carrying its row's key so a sort can find it."""

    def __init__(self, cell: Cell, row_key: str) -> None:
        if isinstance(cell, Text):
            super().__init__(cell.plain, style=cell.style, spans=list(cell.spans))
        else:
            super().__init__(cell)
        self.row_key = row_key


def _wrapped(key: str, cells: tuple[Cell, ...]) -> tuple[Cell, ...]:
    return (_KeyCell(cells[0], key), *cells[1:])


class KeyedTable(DataTable[Cell]):
    """``sync(rows)`` after every snapshot or event: rows keep their keys, so the cursor
    stays on the same row; stale rows go, new ones are added, and only changed cells are
    updated — inside one batch, so the screen repaints once."""

    def __init__(self, columns: Sequence[str], **kwargs: object) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)  # type: ignore[arg-type]
        self._columns = list(columns)
        self._cells: dict[str, tuple[Cell, ...]] = {}
        self._order: list[str] = []

    def on_mount(self) -> None:
        for name in self._columns:
            self.add_column(name, key=name)

    @property
    def current_key(self) -> str | None:
        if not self._order or self.cursor_row < 0:
            return None
        try:
            return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except (RowDoesNotExist, KeyError):
            return None

    def sync(self, rows: Sequence[tuple[str, tuple[Cell, ...]]]) -> None:
        wanted = dict(rows)
        order = [key for key, _ in rows]
        with self.app.batch_update():
            keep_key = self.current_key
            for key in [k for k in self._cells if k not in wanted]:
                self.remove_row(key)
                del self._cells[key]
            for key, cells in rows:
                old = self._cells.get(key)
                if old is None:
                    self.add_row(*_wrapped(key, cells), key=key)
                elif old != cells:
                    new = _wrapped(key, cells)
                    for name, before, after, cell in zip(
                        self._columns, old, cells, new, strict=True
                    ):
                        if before != after:
                            self.update_cell(key, name, cell, update_width=True)
                self._cells[key] = cells
            if order != self._order_now():
                rank = {key: n for n, key in enumerate(order)}
                self.sort(self._columns[0], key=lambda first: rank[first.row_key])
            self._order = order
            if keep_key is not None and keep_key in wanted:
                self.move_cursor(row=self.get_row_index(keep_key), animate=False)
        self._measure_soon()

    def update_row(self, key: str, cells: tuple[Cell, ...]) -> bool:
        """Change one row in place (an event about one row); False if it is not shown."""
        old = self._cells.get(key)
        if old is None:
            return False
        if old != cells:
            new = _wrapped(key, cells)
            for name, before, after, cell in zip(self._columns, old, cells, new, strict=True):
                if before != after:
                    self.update_cell(key, name, cell, update_width=True)
            self._cells[key] = cells
            self._measure_soon()
        return True

    def _measure_soon(self) -> None:
        """DataTable measures new and changed cells only when it next goes idle, and
        ``update_cell`` does not prompt it to: a table whose queue stayed empty kept drawing
        a changed row at its old column widths ("ANTH  not s") until something else
        happened to it. Prompting it here makes the idle pass, and so the widths, certain."""
        self.check_idle()

    def _order_now(self) -> list[str]:
        return [row.key.value for row in self.ordered_rows if row.key.value is not None]
