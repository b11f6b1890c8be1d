"""The claim loop: woken by the lifecycle (work queued, a slot or a guard freed), with a
slow poll as a safety net only, so dispatch latency has no polling floor.

Each claimed task gets a runner; each run is registered with the signals so a cancel can
stop it and wait until it is finalized.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from hangar.daemon.signals import RunSignals
from hangar.daemon.tasks.supervision import KillReason
from hangar.proto.rows import TaskRow

__all__ = ["CANCEL_POLL_S", "SAFETY_POLL_S", "Dispatcher", "Run"]

SAFETY_POLL_S = 5.0
#: how often the runs here are checked for a cancel asked through another daemon
CANCEL_POLL_S = 1.0


class Run(Protocol):
    """What the dispatcher needs of a runner (``TaskRunner``, or a test's fake)."""

    task: TaskRow

    async def run(self) -> None: ...

    def kill(self, reason: KillReason) -> None: ...


class Dispatcher:
    def __init__(
        self,
        *,
        claim: Callable[[Sequence[str]], Awaitable[TaskRow | None]],
        runtime_ids: Callable[[], Awaitable[list[str]]],
        new_run: Callable[[TaskRow], Run],
        signals: RunSignals,
        slots: int,
        log: Any,
        kill_grace_s: float = 3.0,
        cancel_requested: Callable[[Sequence[str]], Awaitable[list[str]]] | None = None,
    ) -> None:
        self._claim = claim
        self._cancel_requested = cancel_requested
        self._runtime_ids = runtime_ids
        self._new_run = new_run
        self._signals = signals
        self.slots = slots
        self.log = log
        self._kill_grace_s = kill_grace_s
        self.runs: dict[str, Run] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._runtimes: list[str] = []
        self._stopping = False

    @property
    def slots_used(self) -> int:
        return len(self.runs)

    async def refresh_runtimes(self) -> None:
        """Re-read this daemon's runtimes (a new agent may have added one), then look."""
        self._runtimes = await self._runtime_ids()
        self._signals.wake()

    async def run(self) -> None:
        await self.refresh_runtimes()
        woken = self._signals.woken
        while not self._stopping:
            woken.clear()  # before claiming, so a wake during the claims is not lost
            try:
                await self.fill_slots()
            except Exception as exc:  # a store hiccup must not end dispatching
                self.log.exception("claim failed", error=str(exc))
            # asyncio.timeout, not wait_for: on 3.11 a wait_for woken as the task is cancelled
            # returns instead of raising, and the stop is lost
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SAFETY_POLL_S):
                    await woken.wait()

    async def fill_slots(self) -> None:
        """Claim until the slots are full or nothing claimable is left."""
        while not self._stopping and self._runtimes and len(self.runs) < self.slots:
            task = await self._claim(self._runtimes)
            if task is None:
                return
            if self._stopping:
                return  # claimed while shutting down: boot recovery requeues it
            if task.id in self.runs:  # never two runners for one task
                self.log.error("claimed a task that is already running", task_id=task.id)
                continue
            self._launch(self._new_run(task))

    async def stop_cancelled(self) -> int:
        """Stop the runs here whose task was asked to be cancelled (through any daemon: a
        cancel is a mark on the row); each run finalizes itself as cancelled."""
        if not self.runs or self._cancel_requested is None:
            return 0
        asked = await self._cancel_requested(list(self.runs))
        for task_id in asked:
            run = self.runs.get(task_id)
            if run is not None:
                self.log.info("cancel requested elsewhere; stopping the run", task_id=task_id)
                run.kill(KillReason.CANCEL)
        return len(asked)

    async def watch_cancels(self, interval_s: float = CANCEL_POLL_S) -> None:
        """The floor under cross-host cancels: a cheap look at this daemon's own runs."""
        while not self._stopping:
            try:
                await self.stop_cancelled()
            except Exception as exc:  # a store hiccup: look again next time
                self.log.warning("cancel watch failed", error=str(exc))
            await asyncio.sleep(interval_s)

    def _launch(self, run: Run) -> None:
        task_id = run.task.id
        self.runs[task_id] = run
        job = asyncio.create_task(self._supervise(run), name=f"task-{task_id}")
        self._tasks[task_id] = job

        async def stop() -> None:
            run.kill(KillReason.CANCEL)
            await asyncio.wait({job})  # done = finalized; never cancels the run itself

        self._signals.register(task_id, stop)

    async def _supervise(self, run: Run) -> None:
        task_id = run.task.id
        try:
            await run.run()
        except Exception as exc:  # the runner already tried hard to finalize; log and move on
            self.log.exception("runner failed", task_id=task_id, error=str(exc))
        finally:
            if self.runs.get(task_id) is run:
                del self.runs[task_id]
                self._tasks.pop(task_id, None)
                self._signals.unregister(task_id)
            self._signals.wake()  # a slot is free

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every run started so far has ended (finalized)."""
        while self._tasks:
            done, _ = await asyncio.wait(list(self._tasks.values()), timeout=timeout)
            if not done:
                raise TimeoutError(f"{len(self._tasks)} runs still going after {timeout}s")

    async def shutdown(self, loop_task: asyncio.Task[None] | None = None) -> None:
        """Stop claiming; kill every running agent group and let each runner finalize."""
        self._stopping = True
        self._signals.wake()
        if loop_task is not None:  # no claim may be in flight once the kill pass starts
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop_task
        for run in list(self.runs.values()):
            run.kill(KillReason.SHUTDOWN)
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=self._kill_grace_s + 10)
