"""A plugin's screen: the sparse cells of a ``WireBuffer`` composited into a Textual widget.

The plugin paints exactly the viewport it was asked for (docs/plugins.md#shapes), so the
widget is one screenful, drawn line by line (``render_line``): a row's strip is built the
first time it is shown after a new buffer and kept until the next one. Unpainted cells are
blank; a wide character fills its cell and the next (the one it covers is unpainted).
"""

from __future__ import annotations

from functools import lru_cache

from rich.cells import cell_len
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.events import Resize
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from hangar.plugins import protocol as p

__all__ = ["WireBufferView", "cell_style", "row_strip"]


@lru_cache(maxsize=4096)
def cell_style(fg: p.Color | None, bg: p.Color | None, modifier: int) -> Style:
    """A cell's colours and ratatui modifier bits as a Rich style (None: the default)."""
    return Style(
        color=None if fg is None else RichColor.from_rgb(fg.r, fg.g, fg.b),
        bgcolor=None if bg is None else RichColor.from_rgb(bg.r, bg.g, bg.b),
        bold=bool(modifier & p.BOLD) or None,
        dim=bool(modifier & p.DIM) or None,
        italic=bool(modifier & p.ITALIC) or None,
        underline=bool(modifier & p.UNDERLINED) or None,
        blink=bool(modifier & p.SLOW_BLINK) or None,
        blink2=bool(modifier & p.RAPID_BLINK) or None,
        reverse=bool(modifier & p.REVERSED) or None,
        strike=bool(modifier & p.CROSSED_OUT) or None,
    )


def row_strip(cells: dict[int, p.Cell], width: int) -> Strip:
    """One row of ``width`` cells from its painted cells (x → cell)."""
    segments: list[Segment] = []
    x = 0
    for cx in sorted(cells):
        if cx < x or cx >= width:  # covered by a wide character, or outside
            continue
        if cx > x:
            segments.append(Segment(" " * (cx - x)))
            x = cx
        cell = cells[cx]
        symbol = cell.symbol
        if cell.modifier & p.HIDDEN:
            symbol = " " * max(1, cell_len(symbol))
        cells_wide = cell_len(symbol)
        if cells_wide == 0:  # empty, or a lone combining mark: nothing to draw on
            symbol, cells_wide = " ", 1
        if x + cells_wide > width:  # a wide character cut by the right edge
            symbol, cells_wide = " " * (width - x), width - x
        segments.append(Segment(symbol, cell_style(cell.fg, cell.bg, cell.modifier)))
        x += cells_wide
    if x < width:
        segments.append(Segment(" " * (width - x)))
    return Strip(segments, width)


class WireBufferView(Widget, can_focus=True):
    """Shows the last buffer given to ``show``; says when its size changes, so the screen
    can ask the plugin for a buffer of the new size."""

    DEFAULT_CSS = """
    WireBufferView { height: 1fr; width: 1fr; }
    """

    class Resized(Message):
        """The view's size changed: the plugin should paint the new viewport."""

        def __init__(self, view: WireBufferView, width: int, height: int) -> None:
            super().__init__()
            self.view = view
            self.width = width
            self.height = height

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.buffer: p.WireBuffer | None = None
        self._rows: dict[int, dict[int, p.Cell]] = {}
        self._strips: dict[int, Strip] = {}

    def show(self, buffer: p.WireBuffer) -> None:
        """Draw ``buffer`` (already checked and clipped by the caller)."""
        rows: dict[int, dict[int, p.Cell]] = {}
        for coord, cell in buffer.cells:
            rows.setdefault(coord.y, {})[coord.x] = cell  # a later cell paints over
        self.buffer, self._rows, self._strips = buffer, rows, {}
        self.refresh()

    def clear(self) -> None:
        self.buffer, self._rows, self._strips = None, {}, {}
        self.refresh()

    def lines(self) -> list[str]:
        """The text shown, row by row (for tests and debugging)."""
        if self.buffer is None:
            return []
        return [self._strip(y).text for y in range(self.buffer.height)]

    def _strip(self, y: int) -> Strip:
        strip = self._strips.get(y)
        if strip is None:
            assert self.buffer is not None
            strip = self._strips[y] = row_strip(self._rows.get(y, {}), self.buffer.width)
        return strip

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if self.buffer is None or y >= self.buffer.height:
            return Strip.blank(width)
        return self._strip(y).crop_extend(0, width, None)

    def on_resize(self, event: Resize) -> None:
        self.post_message(self.Resized(self, event.size.width, event.size.height))
