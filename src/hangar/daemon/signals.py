"""Where the lifecycle meets whatever runs tasks in this process, without importing it.

The lifecycle says "work is waiting" (``wake``) and "stop this run" (``abort``); the
dispatcher waits on the first and registers a stopper per run for the second. Either side
is tested alone with this object in between.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

__all__ = ["RunSignals", "Stopper"]

#: Stops one local run and returns once it has been finalized.
Stopper = Callable[[], Awaitable[None]]


class RunSignals:
    def __init__(self) -> None:
        self.woken = asyncio.Event()
        self._stoppers: dict[str, Stopper] = {}

    def wake(self) -> None:
        """Queued work may be claimable, or a slot came free: look again."""
        self.woken.set()

    def register(self, task_id: str, stop: Stopper) -> None:
        self._stoppers[task_id] = stop

    def unregister(self, task_id: str) -> None:
        self._stoppers.pop(task_id, None)

    def runs_here(self, task_id: str) -> bool:
        return task_id in self._stoppers

    def abort(self, task_id: str) -> Awaitable[None] | None:
        """Ask the local run of ``task_id`` to stop; None when this process does not run it."""
        stop = self._stoppers.get(task_id)
        return None if stop is None else stop()
