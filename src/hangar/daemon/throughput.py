"""A rolling 60 s ring of task successes and failures for the health pane."""

from __future__ import annotations

WINDOW_S = 60


class ThroughputRing:
    def __init__(self) -> None:
        self._success = [0] * WINDOW_S
        self._failure = [0] * WINDOW_S
        self._last_sec: int | None = None

    def _advance(self, now_ms: int) -> int:
        sec = now_ms // 1000
        if self._last_sec is None:
            self._last_sec = sec
        gap = sec - self._last_sec
        if gap > 0:
            for i in range(1, min(gap, WINDOW_S) + 1):
                slot = (self._last_sec + i) % WINDOW_S
                self._success[slot] = 0
                self._failure[slot] = 0
            self._last_sec = sec
        return sec % WINDOW_S

    def record(self, now_ms: int, *, success: bool) -> None:
        slot = self._advance(now_ms)
        (self._success if success else self._failure)[slot] += 1

    def snapshot(self, now_ms: int) -> tuple[list[int], list[int]]:
        """Both rings, oldest second first."""
        cur = self._advance(now_ms)
        order = [(cur + 1 + i) % WINDOW_S for i in range(WINDOW_S)]
        return [self._success[i] for i in order], [self._failure[i] for i in order]
