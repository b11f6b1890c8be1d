"""An issue's thread as a scrollable box: who wrote, when, and what, newest last."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from hangar.proto.comments import CommentRow

__all__ = ["CommentThread", "thread_text"]


def thread_text(
    comments: Sequence[CommentRow],
    names: Mapping[str, str],
    *,
    older: str | None = None,
    empty: str = "No comments yet.",
) -> Text:
    """``older``: the line that says how to read what came before (shown first, dim)."""
    text = Text()
    if older:
        text.append(older + "\n\n", style="dim")
    if not comments:
        text.append(empty, style="dim")
        return text
    for n, c in enumerate(comments):
        if n:
            text.append("\n\n")
        who = names.get(c.author, c.author)
        text.append(who, style="bold cyan" if c.author.startswith("agent:") else "bold")
        text.append(f"  {_stamp(c.created_at)}", style="dim")
        text.append("\n")
        text.append(c.body)
    return text


def _stamp(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(ms / 1000))


class CommentThread(VerticalScroll):
    """Holds the rows it shows: a new comment is appended without asking the daemon again."""

    DEFAULT_CSS = """
    CommentThread {
        height: auto;
        border: round $panel;
        border-title-color: $text-muted;
        padding: 0 1;
    }
    CommentThread:focus { border: round $accent; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(Static("", classes="thread-text"), id=id, classes=classes)
        self.comments: list[CommentRow] = []
        self.names: dict[str, str] = {}
        self.older: str | None = None

    def show(
        self,
        comments: Sequence[CommentRow],
        names: Mapping[str, str],
        *,
        older: str | None = None,
    ) -> None:
        self.comments, self.names, self.older = list(comments), dict(names), older
        self._paint()

    def add(self, comment: CommentRow) -> bool:
        """Append one comment (from an event); False when it is held already."""
        if any(c.id == comment.id for c in self.comments):
            return False
        self.comments.append(comment)
        self._paint()
        return True

    def clear(self) -> None:
        self.show([], {})

    def _paint(self) -> None:
        self.query_one(".thread-text", Static).update(
            thread_text(self.comments, self.names, older=self.older)
        )
        count = len(self.comments)
        more = "+" if self.older else ""
        self.border_title = f"thread · {count}{more} comment{'s' * (count != 1)}"
        # the newest is what a reader wants: at the end, once the new text is laid out
        self.call_after_refresh(self.scroll_end, animate=False)
