"""One task for every autopilot of every workspace: sleep until the earliest planned fire,
fire what is due through the lifecycle, repeat.

Nothing lives only in memory: the plan is each autopilot's ``next_tick_at`` in the store, so a
restart (or another daemon on the same PostgreSQL) carries on from there. The loop is woken
early by a create, an edit or an enable in this daemon; changes made by another daemon are
seen within ``repoll_s`` at the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from hangar.core.clock import Clock
from hangar.daemon.lifecycle import Lifecycle
from hangar.store import Store
from hangar.store.autopilot_fire import FireOutcome

__all__ = ["NO_WORK_REPOLL_S", "Scheduler"]

#: the longest sleep: nothing planned, or the next fire far away
NO_WORK_REPOLL_S = 60.0
#: asyncio may wake a timer a hair early; sleeping this much longer finds the tick due
_MARGIN_S = 0.005


class Scheduler:
    def __init__(
        self,
        store: Store,
        lifecycle: Lifecycle,
        *,
        clock: Clock,
        log: Any,
        repoll_s: float = NO_WORK_REPOLL_S,
    ) -> None:
        self.store = store
        self.lifecycle = lifecycle
        self.clock = clock
        self.log = log
        self.repoll_s = repoll_s
        self._wake = asyncio.Event()
        #: fires of the last tick that raised: their plan did not move, so do not spin
        self.failed_fires = 0

    def wake(self) -> None:
        """Look again now: an autopilot was created, edited or enabled."""
        self._wake.set()

    async def run(self) -> None:
        while True:
            self._wake.clear()  # before the look: a wake during it is not lost
            try:
                await self.tick()
                delay = await self.delay_s()
                if self.failed_fires:
                    delay = max(delay, 1.0)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the loop must outlive one bad tick (a database blip)
                self.log.exception("autopilot tick failed", error=str(exc))
                delay = 1.0
            # asyncio.timeout, not wait_for: on 3.11 a wait_for woken as the task is cancelled
            # returns instead of raising, and the stop is lost
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()

    async def tick(self) -> list[FireOutcome]:
        """Fire every autopilot that is due now, oldest plan first."""
        outcomes = []
        self.failed_fires = 0
        for autopilot_id, planned in await self.store.autopilots.due(self.clock.now_ms()):
            try:
                outcomes.append(
                    await self.lifecycle.fire_autopilot(autopilot_id, expected_tick=planned)
                )
            except Exception as exc:  # one autopilot's trouble must not starve the others
                self.failed_fires += 1
                self.log.exception(
                    "autopilot fire failed", autopilot_id=autopilot_id, error=str(exc)
                )
        return outcomes

    async def delay_s(self) -> float:
        """How long to sleep: until the earliest planned fire, at most ``repoll_s``."""
        earliest = await self.store.autopilots.earliest_tick()
        if earliest is None:
            return self.repoll_s
        wait = (earliest - self.clock.now_ms()) / 1000 + _MARGIN_S
        return min(max(wait, 0.0), self.repoll_s)
