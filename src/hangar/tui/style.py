"""How states look on screen: one colour per state, shared by every screen."""

from __future__ import annotations

import time

from rich.text import Text

__all__ = ["LANE_COLOURS", "STATE_COLOURS", "ago", "short_id", "state_text", "when"]

STATE_COLOURS = {
    # issues
    "open": "cyan",
    "in_progress": "yellow",
    "done": "green",
    "cancelled": "grey50",
    # tasks
    "queued": "cyan",
    "dispatched": "yellow",
    "running": "yellow",
    "failed": "red",
    # sessions
    "busy": "yellow",
    "idle": "green",
    "waiting_for_input": "magenta",
    "exited": "grey50",
    "orphaned": "red",
    "active": "green",
    "creating": "cyan",
    "archived": "grey50",
}

#: the five lanes of a transcript
LANE_COLOURS = {
    "agent": "white",
    "thinking": "grey62",
    "tool_call": "cyan",
    "tool_result": "green",
    "error": "red",
}


def state_text(state: str) -> Text:
    return Text(state.replace("_", " "), style=STATE_COLOURS.get(state, ""))


def short_id(ident: str) -> str:
    """The tail of a ULID: its random part tells rows apart, the head is mostly time."""
    return ident[-8:].lower()


def ago(ms: int | None, now_ms: int | None = None) -> str:
    if ms is None:
        return ""
    now = time.time() * 1000 if now_ms is None else now_ms
    secs = max(0, int((now - ms) / 1000))
    if secs < 60:
        return f"{secs}s ago"
    if secs < 3600:
        return f"{secs // 60}m ago"
    if secs < 86400:
        return f"{secs // 3600}h ago"
    return f"{secs // 86400}d ago"


def when(ms: int | None, now_ms: int | None = None) -> str:
    """A stable, short local time: "14:05" today, "Dec 04" before (a list column that does
    not change every second, unlike "3s ago", so a table redraws only what changed)."""
    if ms is None:
        return ""
    now = time.time() if now_ms is None else now_ms / 1000
    then = time.localtime(ms / 1000)
    if time.localtime(now)[:3] == then[:3]:
        return time.strftime("%H:%M", then)
    return time.strftime("%b %d", then)
