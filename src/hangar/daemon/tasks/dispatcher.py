"""The claim loop: woken by events (enqueue, finish, cancel), with a slow poll as a safety net
only, so dispatch latency has no polling floor."""

from __future__ import annotations

import asyncio
import contextlib

from hangar.daemon.context import DaemonContext
from hangar.daemon.runner import KillReason, TaskRunner

SAFETY_POLL_S = 5.0


class Dispatcher:
    def __init__(self, ctx: DaemonContext, *, slots: int) -> None:
        self.ctx = ctx
        self.slots = slots
        self.runners: dict[str, TaskRunner] = {}
        self._runner_tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()
        self._runtime_ids: list[str] = []
        self._stopping = False
        ctx.dispatcher_wake = self.wake

    def wake(self) -> None:
        self._wake.set()

    async def refresh_runtimes(self) -> None:
        rows = await self.ctx.store.runtimes_for_daemon(self.ctx.daemon_id)
        self._runtime_ids = [r.id for r in rows]
        self.wake()

    @property
    def slots_used(self) -> int:
        return len(self.runners)

    async def run(self) -> None:
        await self.refresh_runtimes()
        while not self._stopping:
            self._wake.clear()  # before claiming, so a wake during the claims is not lost
            try:
                await self._fill_slots()
            except Exception as exc:  # a store hiccup must not end dispatching
                self.ctx.log.exception("claim failed", error=str(exc))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), SAFETY_POLL_S)

    async def _fill_slots(self) -> None:
        while not self._stopping and self._runtime_ids and len(self.runners) < self.slots:
            task = await self.ctx.store.task_claim(self._runtime_ids)
            if task is None:
                return
            if self._stopping:
                return  # claimed while shutting down: boot recovery requeues it
            if task.id in self.runners:  # never two runners for one task
                self.ctx.log.error("claimed a task that is already running", task_id=task.id)
                continue
            runner = TaskRunner(self.ctx, task)
            self.runners[task.id] = runner
            t = asyncio.create_task(self._run(runner), name=f"task-{task.id}")
            self._runner_tasks.add(t)
            t.add_done_callback(self._runner_tasks.discard)

    async def _run(self, runner: TaskRunner) -> None:
        try:
            await runner.run()
        except Exception as exc:  # the runner already tried hard to finalize; log and move on
            self.ctx.log.exception("runner failed", task_id=runner.task.id, error=str(exc))
        finally:
            if self.runners.get(runner.task.id) is runner:
                del self.runners[runner.task.id]
            self.wake()  # a slot is free

    def kill(self, task_id: str, reason: KillReason) -> bool:
        runner = self.runners.get(task_id)
        if runner is None:
            return False
        runner.kill(reason)
        return True

    async def shutdown(self, loop_task: asyncio.Task[None] | None = None) -> None:
        """Stop claiming; kill every running agent group and let each runner finalize."""
        self._stopping = True
        self._wake.set()
        if loop_task is not None:  # no claim may be in flight once the kill pass starts
            loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await loop_task
        for runner in list(self.runners.values()):
            runner.kill(KillReason.SHUTDOWN)
        if self._runner_tasks:
            await asyncio.wait(self._runner_tasks, timeout=self.ctx.kill_grace_s + 10)
