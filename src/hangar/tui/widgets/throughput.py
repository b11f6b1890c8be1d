"""Task throughput over the last minute: successes in green above failures in red.

Textual's ``Sparkline`` draws one series in one colour ramp; the health pane needs two
series that read apart at a glance, so this draws one row each, on a shared scale (a bar
of three successes is as tall as a bar of three failures). A second without any ending is
a dim baseline, so the minute stays visible when nothing happens.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widget import Widget

__all__ = ["BARS", "IDLE_STYLE", "ROWS", "ThroughputSparkline"]

#: one eighth to a full block
BARS = "▁▂▃▄▅▆▇█"
#: the baseline drawn for a second without any ending
IDLE_STYLE = "grey35"
#: (label, colour) of the two rows, top first
ROWS = (("ok", "green"), ("failed", "red"))
LABEL_WIDTH = 8


class ThroughputSparkline(Widget):
    """``show(success, failure)`` with the daemon's rings (oldest second first)."""

    DEFAULT_CSS = """
    ThroughputSparkline { height: 2; }
    """

    def __init__(self, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.success: list[int] = []
        self.failure: list[int] = []

    def show(self, success: Sequence[int], failure: Sequence[int]) -> None:
        success, failure = list(success), list(failure)
        if (success, failure) != (self.success, self.failure):
            self.success, self.failure = success, failure
            self.refresh()

    def cells(self, width: int | None = None) -> list[list[tuple[str, str]]]:
        """Each row's bars as (character, style), newest second last; at most ``width``
        seconds, the newest, when the widget is narrower than the minute."""
        scale = max([1, *self.success, *self.failure])
        rows = []
        for (_, colour), ring in zip(ROWS, (self.success, self.failure), strict=True):
            shown = ring[-width:] if width is not None and width > 0 else ring
            rows.append([_bar(count, scale, colour) for count in shown])
        return rows

    def render(self) -> Text:
        total_width = self.content_size.width or (LABEL_WIDTH + 60 + 8)
        bars_width = max(1, total_width - LABEL_WIDTH - 8)
        text = Text(no_wrap=True, overflow="crop")
        for n, ((label, colour), ring, row) in enumerate(
            zip(ROWS, (self.success, self.failure), self.cells(bars_width), strict=True)
        ):
            if n:
                text.append("\n")
            text.append(f"{label:<{LABEL_WIDTH}}", style=colour)
            for char, style in row:
                text.append(char, style=style)
            text.append(f" {sum(ring):>6}", style=f"bold {colour}")
        return text


def _bar(count: int, scale: int, colour: str) -> tuple[str, str]:
    if count <= 0:
        return BARS[0], IDLE_STYLE
    eighths = max(1, min(len(BARS), -(-count * len(BARS) // scale)))
    return BARS[eighths - 1], colour
