"""The one line that says the daemon is away; hidden while it is reachable."""

from __future__ import annotations

from textual.widgets import Static

__all__ = ["LinkBanner"]


class LinkBanner(Static):
    DEFAULT_CSS = """
    LinkBanner {
        display: none;
        height: 1;
        background: $error;
        color: $text;
        padding: 0 1;
    }
    LinkBanner.-down { display: block; }
    """

    def show_down(self, reason: str) -> None:
        self.update(f"daemon unreachable — reconnecting ({reason})")
        self.add_class("-down")

    def show_up(self) -> None:
        self.remove_class("-down")
