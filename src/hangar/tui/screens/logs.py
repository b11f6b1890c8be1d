"""Screen L, Logs: the tail of the daemon's structured log, coloured by level.

It reads ``<home>/logs/daemon.<day>.jsonl`` itself, like ``hangar logs tail``: no call to the
daemon, so it keeps showing (and following) while the daemon is away. ``l`` steps the
lowest level shown through the chips; ``f`` follows the newest line or stops; Home and End
go to the first and the last line (End follows again).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widget import Widget
from textual.widgets import Static

from hangar.tui.screens.base import HangarScreen
from hangar.tui.widgets.log_view import LEVEL_STYLES, LogView

__all__ = ["CHIPS", "LogsScreen"]

#: the level chips, lowest first; the chip chosen and those above it are shown
#: (the lowest shows everything, trace lines included)
CHIPS = ("debug", "info", "warn", "error")


class LogsScreen(HangarScreen):
    BINDING_GROUP_TITLE = "Logs"
    # on the screen, not the view, so `[keymap]` can remap every one of them
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "next_level", "Level", id="log.level"),
        Binding("f", "toggle_follow", "Follow", id="log.follow"),
        Binding("home", "top", "Top", id="log.top"),
        Binding("end", "bottom", "End", id="log.bottom"),
        Binding("up", "line(-1)", "Line up", show=False, id="log.up"),
        Binding("down", "line(1)", "Line down", show=False, id="log.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="log.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="log.page_down"),
        Binding("left", "sideways(-1)", "Scroll left", show=False, id="log.left"),
        Binding("right", "sideways(1)", "Scroll right", show=False, id="log.right"),
    ]
    DEFAULT_CSS = """
    LogsScreen #log-bar { height: 1; padding: 0 1; }
    """

    def body(self) -> list[Widget]:
        return [
            Static(self._bar_text(None), id="log-bar"),
            LogView(self.hangar.paths.logs, id="log"),
        ]

    @property
    def view(self) -> LogView:
        return self.query_one("#log", LogView)

    def on_log_view_changed(self, message: LogView.Changed) -> None:
        self.query_one("#log-bar", Static).update(self._bar_text(message.view))

    def _bar_text(self, view: LogView | None) -> Text:
        chosen = CHIPS.index(view.min_level) if view is not None else 0
        text = Text()
        for n, level in enumerate(CHIPS):
            style = f"bold reverse {LEVEL_STYLES[level]}" if n >= chosen else "dim"
            text.append(f" {level} ", style=style)
            text.append(" ")
        if view is not None:
            text.append(f"  {view.status()}", style="grey62")
        return text

    # -- intents: all local, nothing goes to the daemon ---------------------------------------

    def action_next_level(self) -> None:
        view = self.view
        view.set_min_level(CHIPS[(CHIPS.index(view.min_level) + 1) % len(CHIPS)])

    def action_toggle_follow(self) -> None:
        self.view.set_follow(not self.view.follow)

    def action_top(self) -> None:
        self.view.top()

    def action_bottom(self) -> None:
        self.view.bottom()

    def action_line(self, delta: int) -> None:
        self.view.line(delta)

    def action_page(self, delta: int) -> None:
        self.view.page(delta)

    def action_sideways(self, delta: int) -> None:
        self.view.sideways(delta)
