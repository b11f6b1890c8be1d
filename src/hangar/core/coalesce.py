"""Bursts become one message: the coalescing rule of notifications, pure
(docs/notifications.md#coalescing).

Events are grouped by a key (the daemon uses ``(kind, workspace)`` per channel). The first
event of a key goes out at once and opens a window; every event of that key within the
window is only counted. When the window closes, a count above zero becomes one summary
message and a new window opens from then (a storm that goes on is one message per window);
a window that closes with nothing counted is forgotten. Time is passed in, in
milliseconds, so tests move it by hand.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["DEFAULT_WINDOW_MS", "Burst", "Coalescer"]

DEFAULT_WINDOW_MS = 60_000

T = TypeVar("T")


@dataclass
class Burst(Generic[T]):
    """An open window: when it closes, how many events it absorbed, and the latest one."""

    closes_at: int
    absorbed: int = 0
    last: T | None = None


class Coalescer(Generic[T]):
    def __init__(self, window_ms: int = DEFAULT_WINDOW_MS) -> None:
        if window_ms < 0:
            raise ValueError("a coalescing window cannot be negative")
        self.window_ms = window_ms
        self._open: dict[Hashable, Burst[T]] = {}

    def offer(self, key: Hashable, item: T, now_ms: int) -> bool:
        """Whether ``item`` goes out now (True) or was absorbed into its key's window."""
        self._close_expired(key, now_ms)
        burst = self._open.get(key)
        if burst is None:
            if self.window_ms > 0:
                self._open[key] = Burst(closes_at=now_ms + self.window_ms)
            return True
        burst.absorbed += 1
        burst.last = item
        return False

    def _close_expired(self, key: Hashable, now_ms: int) -> None:
        burst = self._open.get(key)
        if burst is not None and burst.closes_at <= now_ms and burst.absorbed == 0:
            del self._open[key]

    def due(self, now_ms: int) -> list[tuple[Hashable, int, T]]:
        """The windows closed by ``now_ms`` that absorbed something, as ``(key, count,
        latest)``; each opens a new window from its closing time."""
        out: list[tuple[Hashable, int, T]] = []
        for key, burst in list(self._open.items()):
            if burst.closes_at > now_ms:
                continue
            if burst.absorbed and burst.last is not None:
                out.append((key, burst.absorbed, burst.last))
                self._open[key] = Burst(closes_at=max(burst.closes_at, now_ms) + self.window_ms)
            else:
                del self._open[key]
        return out

    def next_due(self) -> int | None:
        """When the earliest window that absorbed something closes (None: nothing waits)."""
        pending = [b.closes_at for b in self._open.values() if b.absorbed]
        return min(pending) if pending else None

    def pending(self) -> int:
        """Events absorbed and not yet summarised."""
        return sum(b.absorbed for b in self._open.values())
