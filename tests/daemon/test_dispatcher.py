"""The claim loop alone: fake runs (``.task``, ``run()``, ``kill()``), a fake claim function
and the real RunSignals in between. No store, no processes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from hangar.daemon.signals import RunSignals
from hangar.daemon.tasks.dispatcher import SAFETY_POLL_S, Dispatcher
from hangar.daemon.tasks.runner import KillReason
from hangar.proto.rows import TaskRow
from hangar.testing import wait_for
from tests.daemon.helpers import RecordingLog


def row(n: int) -> TaskRow:
    return TaskRow(
        id=f"task-{n}",
        workspace_id="ws",
        runtime_id="rt-1",
        agent_id="ag-1",
        status="dispatched",
        created_at=n,
    )


@dataclass
class FakeRun:
    """Runs until released; a kill releases it unless ``stubborn`` (then the test does)."""

    task: TaskRow
    stubborn: bool = False
    fail_with: Exception | None = None
    kills: list[KillReason] = field(default_factory=list)
    started: bool = False
    ended: bool = False
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        self.started = True
        try:
            await self.release.wait()
            if self.fail_with is not None:
                raise self.fail_with
        finally:
            self.ended = True

    def kill(self, reason: KillReason) -> None:
        self.kills.append(reason)
        if not self.stubborn:
            self.release.set()


@dataclass
class Queue:
    """The claim side: hands out queued rows, one per claim; scripted errors in between."""

    rows: list[TaskRow | Exception] = field(default_factory=list)
    claims: list[list[str]] = field(default_factory=list)

    async def claim(self, runtime_ids: Sequence[str]) -> TaskRow | None:
        self.claims.append(list(runtime_ids))
        if not self.rows:
            return None
        item = self.rows.pop(0)
        if isinstance(item, Exception):
            raise item
        return item


@dataclass
class Rig:
    queue: Queue
    signals: RunSignals
    log: RecordingLog
    dispatcher: Dispatcher
    made: dict[str, FakeRun]
    stubborn: bool = False

    def run_of(self, n: int) -> FakeRun:
        return self.made[f"task-{n}"]


def rig(slots: int = 3, runtimes: Sequence[str] = ("rt-1",)) -> Rig:
    queue, signals, log = Queue(), RunSignals(), RecordingLog()
    made: dict[str, FakeRun] = {}

    def new_run(task: TaskRow) -> FakeRun:
        run = FakeRun(task, stubborn=r.stubborn)
        made.setdefault(task.id, run)
        return run

    async def runtime_ids() -> list[str]:
        return list(runtimes)

    dispatcher = Dispatcher(
        claim=queue.claim,
        runtime_ids=runtime_ids,
        new_run=new_run,
        signals=signals,
        slots=slots,
        log=log,
        kill_grace_s=0.1,
    )
    r = Rig(queue, signals, log, dispatcher, made)
    return r


async def ready(slots: int = 3, n_rows: int = 0) -> Rig:
    r = rig(slots)
    r.queue.rows = [row(i) for i in range(1, n_rows + 1)]
    await r.dispatcher.refresh_runtimes()
    return r


async def test_claims_fill_the_slots_and_stop_there() -> None:
    r = await ready(slots=3, n_rows=5)

    await r.dispatcher.fill_slots()

    assert sorted(r.dispatcher.runs) == ["task-1", "task-2", "task-3"]
    assert len(r.queue.claims) == 3  # no claim once the slots are full
    assert r.queue.claims[0] == ["rt-1"]
    await wait_for(lambda: all(run.started for run in r.made.values()))
    assert r.dispatcher.slots_used == 3


async def test_an_empty_queue_ends_the_pass() -> None:
    r = await ready(slots=3, n_rows=1)

    await r.dispatcher.fill_slots()

    assert list(r.dispatcher.runs) == ["task-1"]
    assert len(r.queue.claims) == 2  # the second found nothing


async def test_without_runtimes_nothing_is_claimed() -> None:
    r = rig(slots=3, runtimes=())
    r.queue.rows = [row(1)]
    await r.dispatcher.refresh_runtimes()

    await r.dispatcher.fill_slots()

    assert r.queue.claims == []
    assert r.dispatcher.runs == {}


async def test_a_task_claimed_twice_never_gets_a_second_run() -> None:
    r = await ready(slots=3)
    r.queue.rows = [row(1), row(1), row(2)]

    await r.dispatcher.fill_slots()

    assert sorted(r.dispatcher.runs) == ["task-1", "task-2"]
    assert r.dispatcher.runs["task-1"] is r.run_of(1)  # the first run is kept
    assert r.log.fields("claimed a task that is already running") == [{"task_id": "task-1"}]


async def test_the_end_of_a_run_frees_its_slot_and_wakes_the_loop() -> None:
    r = await ready(slots=2, n_rows=3)
    await r.dispatcher.fill_slots()
    assert sorted(r.dispatcher.runs) == ["task-1", "task-2"]
    r.signals.woken.clear()

    r.run_of(1).release.set()
    await wait_for(lambda: r.signals.woken.is_set())

    assert sorted(r.dispatcher.runs) == ["task-2"]
    assert not r.signals.runs_here("task-1")
    await r.dispatcher.fill_slots()
    assert sorted(r.dispatcher.runs) == ["task-2", "task-3"]


async def test_a_run_that_raises_is_logged_and_still_frees_its_slot() -> None:
    r = await ready(slots=1, n_rows=1)
    await r.dispatcher.fill_slots()
    r.run_of(1).fail_with = RuntimeError("runner blew up")

    r.run_of(1).release.set()
    await r.dispatcher.drain(5)

    assert r.dispatcher.runs == {}
    assert not r.signals.runs_here("task-1")
    assert r.log.fields("runner failed") == [{"task_id": "task-1", "error": "runner blew up"}]


async def test_each_run_registers_a_stopper_that_kills_and_waits_for_the_end() -> None:
    r = await ready(slots=2, n_rows=2)
    r.stubborn = True  # the runs take their time to stop, as a real agent does
    await r.dispatcher.fill_slots()
    assert r.signals.runs_here("task-1") and r.signals.runs_here("task-2")

    stopped = r.signals.abort("task-1")
    assert stopped is not None
    stopping = asyncio.ensure_future(stopped)
    await wait_for(lambda: r.run_of(1).kills)
    assert r.run_of(1).kills == [KillReason.CANCEL]
    await asyncio.sleep(0)
    assert not stopping.done()  # killed, not yet finalized: the stopper waits

    r.run_of(1).release.set()
    await asyncio.wait_for(stopping, 5)

    assert r.run_of(1).ended
    assert not r.signals.runs_here("task-1")
    assert r.run_of(2).kills == []  # only the one asked for
    assert r.signals.abort("task-9") is None  # not run here


async def test_shutdown_kills_every_run_and_waits_for_them() -> None:
    r = await ready(slots=3, n_rows=4)
    await r.dispatcher.fill_slots()
    runs = [r.run_of(i) for i in (1, 2, 3)]

    await r.dispatcher.shutdown()

    assert [run.kills for run in runs] == [[KillReason.SHUTDOWN]] * 3
    assert all(run.ended for run in runs)
    assert r.dispatcher.runs == {}
    claims = len(r.queue.claims)
    await r.dispatcher.fill_slots()  # stopping: no more claims
    assert len(r.queue.claims) == claims


async def test_a_failing_claim_is_logged_and_the_loop_goes_on() -> None:
    r = rig(slots=2)
    r.queue.rows = [OSError("database is locked")]
    loop = asyncio.create_task(r.dispatcher.run())
    try:
        await wait_for(lambda: r.log.fields("claim failed"))
        assert r.log.fields("claim failed") == [{"error": "database is locked"}]
        assert r.log.events("exception") == ["claim failed"]

        r.queue.rows = [row(1)]  # queued work arrives and is announced
        r.signals.wake()
        await wait_for(lambda: "task-1" in r.made and r.made["task-1"].started)
        assert list(r.dispatcher.runs) == ["task-1"]
    finally:
        await r.dispatcher.shutdown(loop)
    assert loop.done()
    assert r.run_of(1).kills == [KillReason.SHUTDOWN]


async def test_the_loop_claims_when_woken_without_waiting_for_the_poll() -> None:
    r = rig(slots=2)
    loop = asyncio.create_task(r.dispatcher.run())
    try:
        await wait_for(lambda: r.queue.claims)  # the first pass found nothing
        r.queue.rows = [row(1), row(2)]
        r.signals.wake()
        await wait_for(lambda: len(r.dispatcher.runs) == 2, timeout=SAFETY_POLL_S * 0.8)
    finally:
        await r.dispatcher.shutdown(loop)


@pytest.mark.parametrize("slots", [1, 4])
async def test_slots_are_never_exceeded_while_runs_come_and_go(slots: int) -> None:
    r = await ready(slots=slots, n_rows=12)
    peak = 0
    loop = asyncio.create_task(r.dispatcher.run())
    try:
        for _ in range(12):
            going = await wait_for(
                lambda: [
                    run
                    for run in r.made.values()
                    if run.task.id in r.dispatcher.runs and not run.release.is_set()
                ]
            )
            peak = max(peak, r.dispatcher.slots_used)
            going[0].release.set()
        await wait_for(lambda: len(r.made) == 12 and not r.dispatcher.runs)
    finally:
        await r.dispatcher.shutdown(loop)
    assert peak == slots
    assert all(run.ended and run.kills == [] for run in r.made.values())
