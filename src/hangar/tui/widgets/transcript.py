"""A task's transcript as a virtual list: good for 100k messages.

Only the rows on screen are rendered. Each message is wrapped to the view's width when a row
of it is first drawn, and its rows are kept in an LRU cache; how many rows a message takes
is counted when it arrives (arithmetic for ASCII, one fold otherwise), so the scrollbar knows
the whole height without rendering anything. Row → message is a bisect over the messages'
first rows.

The screen decides what to load. Messages arrive at the end (``append``: the live tail) or
at the top (``prepend``: an older page the user scrolled up to). While older messages are
still on the daemon, the first row says so, and when it comes into view the widget posts
``NeedOlder`` once. The view follows the end while the user has not scrolled up; scrolling
back to the end (End, or ``scroll_to_end``) follows again.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.cells import cell_len, chop_cells
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from hangar.tui.style import LANE_COLOURS

__all__ = ["LANE_MARKS", "Entry", "TranscriptView", "fold", "sanitize"]

#: one transcript message as the view holds it: (key, lane, body); the key is unique per
#: message (the task's seq) and names its cached rows
Entry = tuple[int, str, str]

#: the gutter mark on a message's first row, per lane (continuation rows get blanks)
LANE_MARKS = {
    "agent": "▌ ",
    "thinking": "∴ ",
    "tool_call": "→ ",
    "tool_result": "← ",
    "error": "✗ ",
}
GUTTER = 2
#: messages whose wrapped rows are kept; a screenful needs a few dozen at most
CACHED_MESSAGES = 512
OLDER_NOTE = "earlier messages: scroll up to load them"

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def sanitize(body: str) -> str:
    """Text that cannot move the cursor or change the terminal: line ends normalised, tabs
    expanded, other control characters shown as �, trailing blank lines dropped."""
    text = body.replace("\r\n", "\n")
    if "\t" in text:
        text = "\n".join(line.expandtabs(4) for line in text.split("\n"))
    return _CONTROL.sub("�", text).rstrip("\n")


def fold(line: str, width: int) -> list[str]:
    """One line cut into rows of at most ``width`` cells (a wide character is never split)."""
    if not line:
        return [""]
    if line.isascii():
        return [line[i : i + width] for i in range(0, len(line), width)]
    return chop_cells(line, width) or [""]


def _rows(body: str, width: int) -> int:
    """How many rows ``fold`` makes of every line of ``body``, without building them when
    the text is ASCII."""
    total = 0
    for line in body.split("\n"):
        if line.isascii():
            total += max(1, -(-len(line) // width))
        else:
            total += len(fold(line, width))
    return total


class TranscriptView(ScrollView, can_focus=True):
    """``append``/``prepend`` entries; ``clear`` for another task. ``follow`` is True while
    the view sticks to the end."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # jumps, not animations: across thousands of rows an animation only draws frames
        # nobody reads
        Binding("home", "scroll_to_top", "Top", show=False, id="transcript.top"),
        Binding("end", "scroll_to_end", "End", show=False, id="transcript.end"),
    ]

    DEFAULT_CSS = """
    TranscriptView {
        overflow-x: hidden;
        overflow-y: scroll;
        scrollbar-gutter: stable;
        background: $surface;
        border: round $panel;
        border-subtitle-color: $text-muted;
        &:focus { border: round $accent; }
    }
    """

    class NeedOlder(Message):
        """The first row (older messages not loaded) came into view."""

    def __init__(
        self,
        *,
        lanes: Mapping[str, str] = LANE_COLOURS,
        empty_text: str = "no messages yet",
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._lanes = dict(lanes)
        self.empty_text = empty_text
        self._keys: list[int] = []
        self._kinds: list[str] = []
        self._bodies: list[str] = []
        self._heights: list[int] = []
        #: each message's first row, on an axis whose origin moves when older ones arrive
        self._starts: list[int] = []
        self._wrap_width = 0
        self._rewrap_queued = False
        self._cache: LRUCache[tuple[int, int], list[Strip]] = LRUCache(CACHED_MESSAGES)
        self._more_above = False
        self._older_asked = False
        self._older_note = OLDER_NOTE
        self.follow = True

    # -- what the screen calls ---------------------------------------------------------------

    @property
    def entry_count(self) -> int:
        return len(self._keys)

    @property
    def row_count(self) -> int:
        """Rows of the whole transcript at the current width (the virtual height)."""
        return self._top + self._body_rows if self._keys else max(self._top, 1)

    @property
    def more_above(self) -> bool:
        return self._more_above

    def clear(self) -> None:
        self._keys.clear()
        self._kinds.clear()
        self._bodies.clear()
        self._heights.clear()
        self._starts.clear()
        self._cache.clear()
        self._more_above = False
        self._older_asked = False
        self._older_note = OLDER_NOTE
        self.follow = True
        self._update_subtitle()
        self._resize_virtual()
        self.scroll_to(0, 0, animate=False)
        self.refresh()

    def append(self, entries: Iterable[Entry]) -> None:
        """Messages after the last one held (the live tail)."""
        added = False
        width = self._text_width
        for key, kind, body in entries:
            text = sanitize(body)
            height = _rows(text, width) if width else 1
            start = self._starts[-1] + self._heights[-1] if self._keys else 0
            self._keys.append(key)
            self._kinds.append(kind)
            self._bodies.append(text)
            self._heights.append(height)
            self._starts.append(start)
            added = True
        if not added:
            return
        self._resize_virtual()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self.refresh()
        self._check_older()

    def prepend(self, entries: Iterable[Entry], *, more_above: bool) -> None:
        """Messages before the first one held (an older page), the view staying where it
        was; ``more_above`` says whether still older ones remain on the daemon."""
        items = list(entries)
        width = self._text_width
        texts = [sanitize(body) for _, _, body in items]
        heights = [_rows(text, width) if width else 1 for text in texts]
        rows_before = self.row_count
        first = self._starts[0] if self._starts else 0
        starts: list[int] = []
        at = first - sum(heights)
        for height in heights:
            starts.append(at)
            at += height
        self._keys[:0] = [key for key, _, _ in items]
        self._kinds[:0] = [kind for _, kind, _ in items]
        self._bodies[:0] = texts
        self._heights[:0] = heights
        self._starts[:0] = starts
        self._more_above = more_above
        self._older_asked = False
        self._older_note = OLDER_NOTE
        grown = self.row_count - rows_before
        self._resize_virtual()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        else:
            self.scroll_to(y=self.scroll_y + grown, animate=False)
        self.refresh()
        self._check_older()

    def set_more_above(self, more: bool) -> None:
        """Whether messages older than the first one held remain on the daemon."""
        if more != self._more_above:
            rows_before = self.row_count
            self._more_above = more
            grown = self.row_count - rows_before
            self._resize_virtual()
            if not self.follow and grown:
                self.scroll_to(y=self.scroll_y + grown, animate=False)
            self.refresh()
        self._older_asked = False
        self._older_note = OLDER_NOTE
        self._check_older()

    def rearm_older(self) -> None:
        """Ask for older messages again (after a failed load, once the daemon is back)."""
        self._older_asked = False
        self._older_note = OLDER_NOTE
        self.refresh()
        self._check_older()

    def action_scroll_to_top(self) -> None:
        self.scroll_home(animate=False, immediate=True, x_axis=False)

    def action_scroll_to_end(self) -> None:
        self.scroll_to_end()

    def scroll_to_end(self) -> None:
        """Jump to the last row and follow from there."""
        self.follow = True
        self._update_subtitle()
        self.scroll_end(animate=False, immediate=True, x_axis=False)

    # -- geometry ------------------------------------------------------------------------------

    @property
    def _top(self) -> int:
        return 1 if self._more_above else 0

    @property
    def _body_rows(self) -> int:
        if not self._keys:
            return 0
        return self._starts[-1] + self._heights[-1] - self._starts[0]

    @property
    def _text_width(self) -> int:
        return max(1, self._wrap_width - GUTTER) if self._wrap_width else 0

    def _resize_virtual(self) -> None:
        self.virtual_size = Size(self._wrap_width, self.row_count)

    def on_resize(self) -> None:
        self._rewrap(self.scrollable_content_region.width)
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        self._check_older()

    def _rewrap(self, width: int) -> None:
        self._rewrap_queued = False
        if width <= 0 or width == self._wrap_width:
            return
        anchor = self._anchor()
        self._wrap_width = width
        text_width = self._text_width
        self._cache.clear()
        self._heights = [_rows(text, text_width) for text in self._bodies]
        at, starts = 0, []
        for height in self._heights:
            starts.append(at)
            at += height
        self._starts = starts
        self._resize_virtual()
        if self.follow:
            self.scroll_end(animate=False, immediate=True, x_axis=False)
        elif anchor is not None:
            index, offset = anchor
            row = self._top + self._starts[index] + min(offset, self._heights[index] - 1)
            self.scroll_to(y=row, animate=False)
        self.refresh()
        self._check_older()

    def _anchor(self) -> tuple[int, int] | None:
        """The message at the top of the view and how far into it, to keep it there."""
        if not self._keys or not self._wrap_width:
            return None
        row = round(self.scroll_y) - self._top
        if row < 0:
            return 0, 0
        index = self._index_of(row)
        return index, row - (self._starts[index] - self._starts[0])

    def _index_of(self, body_row: int) -> int:
        return max(0, bisect_right(self._starts, body_row + self._starts[0]) - 1)

    # -- follow and older pages ----------------------------------------------------------------

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        at_end = round(new_value) >= self.max_scroll_y
        if at_end != self.follow:
            self.follow = at_end
            self._update_subtitle()
        self._check_older()

    def _check_older(self) -> None:
        """Ask for older messages once the first row is within a screen of the view."""
        if not self._more_above or self._older_asked or not self._keys:
            return
        if not self.is_mounted or not self.size:
            return
        if round(self.scroll_y) < max(1, self.scrollable_content_region.height):
            self._older_asked = True
            self._older_note = "earlier messages: loading…"
            self.refresh()
            self.post_message(self.NeedOlder())

    def _update_subtitle(self) -> None:
        self.border_subtitle = "following" if self.follow else "paused · End or f follows"

    # -- rendering: only the rows asked for ----------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._cache.clear()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        base = self.rich_style
        if width != self._wrap_width:
            # drawn before the resize reached us: wrap after this frame, never during it
            if not self._rewrap_queued:
                self._rewrap_queued = True
                self.call_later(self._rewrap, width)
            if not self._wrap_width:
                return Strip.blank(width, base)
        row = round(self.scroll_y) + y
        return self._row_strip(row, base).crop_extend(0, width, base)

    def _row_strip(self, row: int, base: Style) -> Strip:
        if self._more_above and row == 0:
            return Strip([Segment(f"↑ {self._older_note}", base + Style(dim=True, italic=True))])
        if not self._keys:
            if row == 0 and self.empty_text:
                return Strip([Segment(self.empty_text, base + Style(dim=True))])
            return Strip.blank(0)
        body_row = row - self._top
        if body_row < 0 or body_row >= self._body_rows:
            return Strip.blank(0)
        index = self._index_of(body_row)
        strips = self._message_strips(index, base)
        offset = body_row - (self._starts[index] - self._starts[0])
        return strips[offset] if offset < len(strips) else Strip.blank(0)

    def _message_strips(self, index: int, base: Style) -> list[Strip]:
        key = (self._keys[index], self._wrap_width)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        kind = self._kinds[index]
        colour = self._lanes.get(kind, self._lanes.get("agent", ""))
        style = base + Style(color=colour or None, italic=kind == "thinking")
        mark_style = base + Style(color=colour or None, bold=True)
        mark = LANE_MARKS.get(kind, LANE_MARKS["agent"])
        blank = " " * GUTTER
        width = self._text_width
        strips: list[Strip] = []
        for line in self._bodies[index].split("\n"):
            for chunk in fold(line, width):
                gutter = mark if not strips else blank
                strips.append(
                    Strip(
                        [Segment(gutter, mark_style), Segment(chunk, style)],
                        GUTTER + cell_len(chunk),
                    )
                )
        self._cache[key] = strips
        return strips
