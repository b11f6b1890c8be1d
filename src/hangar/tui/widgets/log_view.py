"""A virtual view of the daemon's JSONL log: only the lines on screen are read and drawn.

The newest ``daemon.<day>.jsonl`` is indexed off the event loop, a chunk at a time: where
each line starts and what level it has (under 20 bytes a line, the filter's list included).
A line is read from the file by its offset when it scrolls into view, parsed, drawn once and
kept in an LRU cache, so a file of 100k lines costs its index and a screenful of reads. A
worker checks the file every ``poll_s`` (stat, then index what was added) and moves on when
a new day starts a new file; a file that shrank or was replaced is indexed again from its
start.

A line that is not a record (not JSON, not an object, still being written) is shown as it
is, dimmed, at every level filter: what cannot be classified is never hidden.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from array import array
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
from rich.text import Text
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from hangar.core.logfiles import (
    HEAD_KEYS,
    LEVELS,
    UNRANKED,
    format_value,
    level_rank,
    newest_log_name,
    parse_record,
    record_level,
)

__all__ = ["LEVEL_STYLES", "RAW_STYLE", "LogView", "Scan", "line_rank", "line_text", "scan_lines"]

#: colour of each level's label (and of the message, for warn and error)
LEVEL_STYLES = {
    "trace": "grey50",
    "debug": "blue",
    "info": "green",
    "warn": "yellow",
    "error": "red",
}
#: how a line that is not a record is drawn
RAW_STYLE = "dim"
#: bytes indexed per trip to the worker thread (the view grows between trips)
CHUNK_BYTES = 4 * 1024 * 1024
#: bytes of one line read for drawing; a longer line is cut and shown raw
MAX_LINE_BYTES = 256 * 1024
#: cells of one drawn line (the view scrolls sideways up to this)
MAX_LINE_CELLS = 2000
#: drawn lines kept
CACHE_LINES = 2000
POLL_S = 0.25


class _Head(msgspec.Struct):
    """All the index needs of a record: its level (the other fields are skipped)."""

    level: Any = "info"


_decode_head = msgspec.json.Decoder(_Head).decode


def line_rank(line: bytes) -> int:
    """The rank of the line's level; ``UNRANKED`` for a line that is not a record.

    msgspec reads the common line fast; what it refuses goes to ``parse_record``, which
    decides for every reader of the log what is a record."""
    try:
        level = _decode_head(line).level
    except msgspec.DecodeError:
        record = parse_record(line)
        if record is None:
            return UNRANKED
        level = record_level(record)
    return level_rank(str(level))


@dataclass
class Scan:
    """What one trip to the file found, from ``start`` on."""

    identity: tuple[int, int]
    size: int
    #: where each complete line starts, and its rank
    starts: array[int] = field(default_factory=lambda: array("q"))
    ranks: bytearray = field(default_factory=bytearray)
    #: the offset after the last complete line
    end: int = 0
    #: bytes after ``end``: a line still being written
    tail: int = 0


def scan_lines(path: Path, start: int, limit: int = CHUNK_BYTES) -> Scan:
    """Index up to ``limit`` bytes of ``path`` from ``start`` (a line start). Runs in a thread."""
    with path.open("rb") as fh:
        st = os.fstat(fh.fileno())
        scan = Scan(identity=(st.st_dev, st.st_ino), size=st.st_size, end=start)
        fh.seek(start)
        data = fh.read(limit)
        cut = data.rfind(b"\n") + 1
        if cut == 0 and len(data) == limit:
            # one line longer than a chunk: find where it ends without keeping it
            pos = start + len(data)
            while block := fh.read(limit):
                nl = block.find(b"\n")
                if nl >= 0:
                    scan.starts.append(start)
                    scan.ranks.append(UNRANKED)
                    scan.end = pos + nl + 1
                    scan.tail = 0
                    return scan
                pos += len(block)
            scan.tail = pos - start
            return scan
    pos = start
    starts, ranks = scan.starts, scan.ranks
    for line in data[:cut].split(b"\n")[:-1]:
        starts.append(pos)
        ranks.append(line_rank(line))
        pos += len(line) + 1
    scan.end = pos
    scan.tail = len(data) - cut
    return scan


def _newest(logs_dir: Path) -> Path | None:
    try:
        names = os.listdir(logs_dir)
    except OSError:
        return None
    name = newest_log_name(names)
    return logs_dir / name if name else None


#: C0 and C1 controls (and DEL) shown as escapes: log text never drives the terminal
_CONTROLS = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0xA0))} | {0x09: " "}


def _printable(text: str) -> str:
    return text.translate(_CONTROLS)


def _clock(ts: str) -> str:
    """``2026-06-01T12:34:56.789012Z`` → ``12:34:56.789`` (the day is the file's)."""
    if len(ts) >= 19 and ts[10] == "T":
        return ts[11:23]
    return ts


def line_text(raw: bytes, cut: bool) -> Text:
    """How one line of the file is drawn: time, level, target, message, fields."""
    record = None if cut else _decode(raw)
    if record is None:
        return Text(_printable(raw.decode("utf-8", "replace").rstrip("\r")), style=RAW_STYLE)
    level = record_level(record)
    colour = LEVEL_STYLES.get(level, "magenta")
    text = Text(no_wrap=True, overflow="crop")
    text.append(f"{_clock(str(record.get('ts', ''))):<12} ", style="grey62")
    text.append(f"{_printable(level.upper()):<5}", style=f"bold {colour}")
    target = record.get("target")
    if target is not None:
        text.append(f" {_printable(str(target))}", style="grey62")
    msg = record.get("msg")
    if msg is not None:
        text.append(f" {_printable(str(msg))}", style=colour if level in ("warn", "error") else "")
    for key, value in record.items():
        if key in HEAD_KEYS:
            continue
        text.append(f"  {_printable(str(key))}=", style="grey62")
        text.append(_printable(format_value(value)))
    return text


def _decode(raw: bytes) -> dict[str, Any] | None:
    try:
        record = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        return parse_record(raw)
    return record if isinstance(record, dict) else None


class LogView(ScrollView, can_focus=True, inherit_bindings=False):
    """Tails the newest log in ``logs_dir``. Its keys belong to the screen (so the keymap
    can remap them); it offers the moves: ``line``, ``page``, ``top``, ``bottom``."""

    DEFAULT_CSS = """
    LogView { height: 1fr; scrollbar-gutter: stable; }
    """

    class Changed(Message):
        """What the status line says moved: the file, the counts, the filter, following."""

        def __init__(self, view: LogView) -> None:
            super().__init__()
            self.view = view

    def __init__(self, logs_dir: Path, *, poll_s: float = POLL_S, id: str | None = None) -> None:
        super().__init__(id=id)
        self.logs_dir = logs_dir
        self.poll_s = poll_s
        #: the file shown, None until the daemon has written one
        self.path: Path | None = None
        #: the lowest level shown
        self.min_level = "debug"
        #: keep the newest line in view as lines arrive
        self.follow = True
        #: lines that arrived below the view while not following
        self.unseen = 0
        #: drawn lines by their index in the file
        self._lines: LRUCache[int, Strip] = LRUCache(CACHE_LINES)
        self._fd: int | None = None
        self._identity: tuple[int, int] | None = None
        self._reset_index()

    # -- the index ---------------------------------------------------------------------------

    def _reset_index(self) -> None:
        self._starts: array[int] = array("q")
        self._ranks = bytearray()
        #: indices of the lines the filter shows, ascending
        self._shown: array[int] = array("q")
        self._end = 0
        self._tail = 0
        self._lines.clear()
        self._max_width = 0

    @property
    def line_count(self) -> int:
        """Lines in the file (a line still being written counts)."""
        return len(self._starts)

    @property
    def shown_count(self) -> int:
        return len(self._shown)

    @property
    def cached_lines(self) -> int:
        """Lines read and drawn so far and still kept (a screenful or a few)."""
        return len(self._lines)

    def _min_rank(self) -> int:
        # debug, the lowest chip, shows everything: trace lines too
        low = level_rank(self.min_level)
        return 0 if low <= LEVELS.index("debug") else low

    def _open_file(self, path: Path | None) -> None:
        self._close_file()
        self.path = path
        self._identity = None
        self._reset_index()
        if path is not None:
            with contextlib.suppress(OSError):
                self._fd = os.open(path, os.O_RDONLY)
                st = os.fstat(self._fd)
                self._identity = (st.st_dev, st.st_ino)
        self.unseen = 0
        self._sync_size()
        self.scroll_to(0, 0, animate=False)
        self.refresh()
        self.post_message(self.Changed(self))

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _extend(self, scan: Scan) -> int:
        """Add what a scan found; the number of lines the filter shows more than before."""
        starts, ranks, shown = self._starts, self._ranks, self._shown
        before = len(shown)
        if self._tail:  # the line being written is indexed again, whole or still partial
            last = len(starts) - 1
            starts.pop()
            ranks.pop()
            if shown and shown[-1] == last:
                shown.pop()
            self._lines.discard(last)
        first = len(starts)
        starts.extend(scan.starts)
        ranks.extend(scan.ranks)
        if scan.tail:
            starts.append(scan.end)
            ranks.append(UNRANKED)
        low = self._min_rank()
        shown.extend(i for i in range(first, len(starts)) if ranks[i] >= low)
        self._end, self._tail = scan.end, scan.tail
        return len(shown) - before

    def _line_bytes(self, index: int) -> tuple[bytes, bool]:
        """The line's bytes (without its newline) and whether they were cut short."""
        start = self._starts[index]
        if index + 1 < len(self._starts):
            stop = self._starts[index + 1] - 1
        else:
            stop = self._end + self._tail if self._tail else self._end - 1
        length = stop - start
        if self._fd is None or length <= 0:
            return b"", False
        try:
            data = os.pread(self._fd, min(length, MAX_LINE_BYTES), start)
        except OSError:
            return b"", False
        is_tail = self._tail > 0 and index == len(self._starts) - 1
        return data, length > MAX_LINE_BYTES or is_tail

    # -- following the file ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.post_message(self.Changed(self))
        self.run_worker(self._watch(), name="log-watch", group="log-watch", exclusive=True)

    def on_unmount(self) -> None:
        self._close_file()

    async def _watch(self) -> None:
        """Check the file, index what was added; again after ``poll_s``. Never two at once."""
        while True:
            await self.check()
            await asyncio.sleep(self.poll_s)

    async def check(self) -> None:
        """One look at the logs directory and the file: the next day, a truncation, growth."""
        newest = _newest(self.logs_dir)
        if newest != self.path:
            self._open_file(newest)  # a new day (or the first file, or none left)
        path = self.path
        if path is None:
            return
        try:
            st = os.stat(path)
        except OSError:
            return  # gone between the listing and now: the next look says what is there
        seen = self._end + self._tail
        if (st.st_dev, st.st_ino) != self._identity or (
            st.st_size != seen and not self._same_lines(st.st_size)
        ):
            self._open_file(path)  # replaced or truncated: index it again from the start
        while self._fd is not None and (seen := self._end + self._tail) < st.st_size:
            try:
                scan = await asyncio.to_thread(scan_lines, path, self._end)
            except OSError:
                return
            if path != self.path or scan.identity != self._identity:
                return  # the file changed under the scan: the next look starts over
            self._grown(self._extend(scan))
            if self._end + self._tail <= seen:
                return  # nothing new since the stat

    def _same_lines(self, size: int) -> bool:
        """Whether what was indexed is still there: the file did not shrink and the last
        indexed line still ends where it did (a file emptied and written again past its
        old size shows there)."""
        if size < self._end + self._tail:
            return False
        if self._end == 0 or self._fd is None:
            return True
        try:
            return os.pread(self._fd, 1, self._end - 1) == b"\n"
        except OSError:
            return False

    def _grown(self, added: int) -> None:
        self._sync_size()
        if self.follow:
            self._stick()
        else:
            self.unseen += added
        self.refresh()
        self.post_message(self.Changed(self))

    # -- what the user does ------------------------------------------------------------------

    def set_min_level(self, level: str) -> None:
        """Show ``level`` and above. The top line stays in view (or the end, when following)."""
        top = self._top_line()
        self.min_level = level
        low = self._min_rank()
        self._shown = array("q", (i for i, r in enumerate(self._ranks) if r >= low))
        self._sync_size()
        if self.follow:
            self._stick()
        elif top is not None:
            self.scroll_to(y=bisect_left(self._shown, top), animate=False)
        self.refresh()
        self.post_message(self.Changed(self))

    def set_follow(self, follow: bool) -> None:
        if follow == self.follow:
            return
        self.follow = follow
        if follow:
            self._stick()
        self.post_message(self.Changed(self))

    def line(self, delta: int) -> None:
        if delta < 0:
            self.set_follow(False)
        self.scroll_relative(y=delta, animate=False)

    def page(self, delta: int) -> None:
        if delta < 0:
            self.set_follow(False)
            self.scroll_page_up(animate=False)
        else:
            self.scroll_page_down(animate=False)

    def top(self) -> None:
        self.set_follow(False)
        self.scroll_to(y=0, animate=False)

    def bottom(self) -> None:
        self.set_follow(True)
        self._stick()

    def sideways(self, delta: int) -> None:
        self.scroll_relative(x=delta * 8, animate=False)

    def on_mouse_scroll_up(self) -> None:
        self.set_follow(False)

    def _stick(self) -> None:
        self.scroll_to(y=self.max_scroll_y, animate=False, force=True)
        if self.unseen:
            self.unseen = 0
            self.post_message(self.Changed(self))

    def on_resize(self) -> None:
        if self.follow:
            self._stick()

    def _top_line(self) -> int | None:
        row = self.scroll_offset.y
        return self._shown[row] if row < len(self._shown) else None

    # -- drawing -----------------------------------------------------------------------------

    def _sync_size(self) -> None:
        self.virtual_size = Size(self._max_width, len(self._shown))

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._lines.clear()

    def render_lines(self, crop: Region) -> list[Strip]:
        strips = super().render_lines(crop)
        if self._max_width > self.virtual_size.width:
            self.call_later(self._sync_size)  # a wider line came into view: scroll to it
        return strips

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + y
        width = self.scrollable_content_region.width
        style = self.rich_style
        if row >= len(self._shown):
            return Strip.blank(width, style)
        index = self._shown[row]
        strip = self._lines.get(index)
        if strip is None:
            raw, cut = self._line_bytes(index)
            text = line_text(raw, cut)
            text.truncate(MAX_LINE_CELLS, overflow="ellipsis")
            text.stylize_before(style)
            strip = Strip(text.render(self.app.console), text.cell_len)
            self._max_width = max(self._max_width, strip.cell_length)
            self._lines.set(index, strip)
        return strip.crop_extend(scroll_x, scroll_x + width, style)

    def status(self) -> str:
        """One line: following or not, the file, how many lines are shown."""
        if self.path is None:
            return f"no daemon logs yet in {self.logs_dir}"
        mode = "following" if self.follow else "paused: End follows"
        if self.unseen:
            mode += f" ({self.unseen:,} new below)"
        count = f"{self.line_count:,} line{'' if self.line_count == 1 else 's'}"
        if self.shown_count != self.line_count:
            count = f"{self.shown_count:,} of {count}"
        return f"{mode} · {self.path.name} · {count}"
