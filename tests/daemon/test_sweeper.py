"""The safety nets as the daemon runs them (``tasks.sweeper``): the TTL sweep and boot-time
recovery, through the lifecycle, with the clock moved by hand instead of waited for."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Iterator

import pytest

from hangar.core.clock import FixedClock
from hangar.core.ids import short_id
from hangar.daemon.tasks import sweeper
from hangar.daemon.tasks.meta import write_meta
from hangar.proto.events import IssueUpdated, TaskFinished, TaskQueued
from hangar.proto.rows import TaskRow
from hangar.store.sweeper import (
    DISPATCHED_TTL_MS,
    QUEUED_TTL_MS,
    RECLAIM_WINDOW_MS,
    RUNNING_TTL_MS,
    RUNTIME_OFFLINE_MS,
)
from hangar.testing import EventLog, InProcessDaemon, wait_for
from tests.daemon.helpers import RecordingLog, make_agent, runtime_ids

pytestmark = pytest.mark.usefixtures("migrated", "agent")


@pytest.fixture
async def agent(hangar: InProcessDaemon) -> str:
    return (await make_agent(hangar, max_concurrent_tasks=8))["id"]


@pytest.fixture
def log() -> RecordingLog:
    return RecordingLog()


async def queued(hangar: InProcessDaemon) -> TaskRow:
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "ok"})
    task = await hangar.store.task_get(made["task"]["workspace_id"], made["task"]["id"])
    assert task is not None
    return task


async def claimed(hangar: InProcessDaemon) -> TaskRow:
    await queued(hangar)
    task = await hangar.lifecycle.claim(await runtime_ids(hangar))
    assert task is not None
    return task


async def running(hangar: InProcessDaemon) -> TaskRow:
    change = await hangar.lifecycle.start(await claimed(hangar), work_dir=None)
    assert change.task is not None
    return change.task


async def status(hangar: InProcessDaemon, task: TaskRow) -> tuple[str, str | None]:
    row = await hangar.store.task_get(task.workspace_id, task.id)
    assert row is not None
    return row.status, row.failure_reason


async def stop(loop: asyncio.Task[None]) -> None:
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop


def finished(events: EventLog) -> dict[str, tuple[str, str | None]]:
    return {
        e.task_id: (e.status, e.failure_reason)
        for e in events.drain()
        if isinstance(e, TaskFinished)
    }


# -- the sweep -------------------------------------------------------------------------------


async def test_a_queued_task_fails_once_its_ttl_has_passed(
    hangar: InProcessDaemon, clock: FixedClock, log: RecordingLog
) -> None:
    events = await hangar.subscribe()
    task = await queued(hangar)

    clock.advance(QUEUED_TTL_MS - 1)
    await sweeper.sweep_once(hangar.lifecycle, log)
    assert await status(hangar, task) == ("queued", None)
    assert log.lines == []  # a pass that moved nothing says nothing

    clock.advance(2)
    await sweeper.sweep_once(hangar.lifecycle, log)

    assert await status(hangar, task) == ("failed", "timeout")
    assert finished(events) == {task.id: ("failed", "timeout")}
    [counts] = log.fields("sweep")
    assert counts == {
        "queued_timed_out": 1,
        "dispatched_requeued": 0,
        "dispatched_timed_out": 0,
        "running_timed_out": 0,
        "cancelled": 0,
    }


async def test_a_dispatch_on_a_dead_runtime_is_given_back_after_the_reclaim_window(
    hangar: InProcessDaemon, clock: FixedClock, log: RecordingLog
) -> None:
    clock.advance(RUNTIME_OFFLINE_MS + 1)  # no heartbeat since the daemon opened: dead
    task = await claimed(hangar)

    clock.advance(RECLAIM_WINDOW_MS - 1)
    await sweeper.sweep_once(hangar.lifecycle, log)
    assert await status(hangar, task) == ("dispatched", None)

    clock.advance(2)
    hangar.daemon.signals.woken.clear()
    await sweeper.sweep_once(hangar.lifecycle, log)

    row = await hangar.store.task_get(task.workspace_id, task.id)
    assert row is not None
    assert (row.status, row.dispatched_at) == ("queued", None)
    assert hangar.daemon.signals.woken.is_set()
    assert log.fields("sweep")[0]["dispatched_requeued"] == 1


async def test_a_dispatch_past_its_ttl_on_a_dead_runtime_fails(
    hangar: InProcessDaemon, clock: FixedClock, log: RecordingLog
) -> None:
    events = await hangar.subscribe()
    task = await claimed(hangar)

    clock.advance(DISPATCHED_TTL_MS + 1)
    await sweeper.sweep_once(hangar.lifecycle, log)

    assert await status(hangar, task) == ("failed", "timeout")
    assert finished(events) == {task.id: ("failed", "timeout")}


async def test_a_run_on_a_dead_runtime_fails_only_past_the_running_ttl(
    hangar: InProcessDaemon, clock: FixedClock, log: RecordingLog
) -> None:
    events = await hangar.subscribe()
    task = await running(hangar)

    clock.advance(RUNNING_TTL_MS - 1)  # long dead runtime, but within the TTL
    await sweeper.sweep_once(hangar.lifecycle, log)
    assert await status(hangar, task) == ("running", None)

    clock.advance(2)
    await sweeper.sweep_once(hangar.lifecycle, log)

    assert await status(hangar, task) == ("failed", "timeout")
    assert finished(events) == {task.id: ("failed", "timeout")}
    moved = [e.issue for e in events.drain() if isinstance(e, IssueUpdated)]
    assert [(i.id, i.state) for i in moved][-1] == (task.issue_id, "open")


async def test_rows_of_a_live_runtime_are_left_to_it(
    hangar: InProcessDaemon, clock: FixedClock, log: RecordingLog
) -> None:
    dispatched = await claimed(hangar)
    run = await running(hangar)
    clock.advance(RUNNING_TTL_MS + DISPATCHED_TTL_MS)
    await hangar.store.runtimes_heartbeat(hangar.daemon.daemon_id)

    await sweeper.sweep_once(hangar.lifecycle, log)

    assert await status(hangar, dispatched) == ("dispatched", None)
    assert await status(hangar, run) == ("running", None)
    assert log.lines == []


async def test_a_cancel_nobody_can_carry_out_is_finalized_by_the_sweep(
    hangar: InProcessDaemon, clock: FixedClock, log: RecordingLog
) -> None:
    events = await hangar.subscribe()
    task = await running(hangar)
    await hangar.lifecycle.cancel(task.workspace_id, task.id)  # not run here: marked
    await sweeper.sweep_once(hangar.lifecycle, log)
    assert await status(hangar, task) == ("running", None)  # its daemon is alive: its call

    clock.advance(RUNTIME_OFFLINE_MS + 1)
    await sweeper.sweep_once(hangar.lifecycle, log)

    assert await status(hangar, task) == ("cancelled", "user_cancel")
    assert finished(events) == {task.id: ("cancelled", "user_cancel")}
    tasks = await hangar.store.task_list(task.workspace_id)
    assert [t.id for t in tasks] == [task.id]  # not retried


async def test_a_failing_sweep_is_logged_not_raised(
    hangar: InProcessDaemon, log: RecordingLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(**limits: int) -> None:
        raise OSError("disk I/O error")

    monkeypatch.setattr(hangar.lifecycle.store, "sweep", broken)

    await sweeper.sweep_once(hangar.lifecycle, log)

    assert log.fields("sweep failed") == [{"error": "disk I/O error"}]


async def test_the_sweep_loop_outlives_a_failing_pass(
    hangar: InProcessDaemon, clock: FixedClock, log: RecordingLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    task = await queued(hangar)
    real = hangar.lifecycle.store.sweep
    passes: list[int] = []

    async def flaky(**limits: int) -> object:
        passes.append(1)
        if len(passes) == 1:
            raise OSError("database is locked")
        return await real(**limits)

    monkeypatch.setattr(hangar.lifecycle.store, "sweep", flaky)
    clock.advance(QUEUED_TTL_MS + 1)
    loop = asyncio.create_task(sweeper.sweep_loop(hangar.lifecycle, log, interval_s=0.01))
    try:
        await wait_for(lambda: log.fields("sweep"))
    finally:
        await stop(loop)
    assert log.events()[:2] == ["sweep failed", "sweep"]
    assert await status(hangar, task) == ("failed", "timeout")


async def test_the_heartbeat_keeps_this_daemons_runtimes_alive(
    hangar: InProcessDaemon, clock: FixedClock, log: RecordingLog
) -> None:
    daemon_id = hangar.daemon.daemon_id
    clock.advance(60_000)
    beat = asyncio.create_task(sweeper.heartbeat_loop(hangar.store, daemon_id, log, 0.01))

    async def seen_now() -> bool:
        rts = await hangar.store.runtimes_for_daemon(daemon_id)
        return bool(rts) and all(r.last_seen_at == clock.now_ms() for r in rts)

    try:
        await wait_for(seen_now)
    finally:
        await stop(beat)


# -- recovery at boot ------------------------------------------------------------------------


async def test_recovery_cancels_asked_requeues_dispatched_and_retries_running(
    hangar: InProcessDaemon, log: RecordingLog
) -> None:
    events = await hangar.subscribe()
    asked = await running(hangar)
    await hangar.lifecycle.cancel(asked.workspace_id, asked.id)  # marked; the daemon "dies"
    orphan = await running(hangar)
    waiting = await claimed(hangar)
    paths = hangar.daemon.paths

    await sweeper.recover(hangar.lifecycle, hangar.store, paths, hangar.daemon.daemon_id, log)

    assert await status(hangar, asked) == ("cancelled", "user_cancel")
    assert await status(hangar, orphan) == ("failed", "runtime_recovery")
    assert await status(hangar, waiting) == ("queued", None)
    tasks = await hangar.store.task_list(asked.workspace_id)
    children = [t for t in tasks if t.parent_task_id]
    assert [(c.parent_task_id, c.status, c.attempt) for c in children] == [(orphan.id, "queued", 2)]
    assert finished(events) == {
        asked.id: ("cancelled", "user_cancel"),
        orphan.id: ("failed", "runtime_recovery"),
    }
    assert [e.task_id for e in events.drain() if isinstance(e, TaskQueued)][-1] == children[0].id
    [counts] = log.fields("recovered tasks from a previous run")
    assert counts == {"failed": 1, "cancelled": 1, "requeued": 1, "retried": 1}


async def test_recovery_touches_only_this_daemons_runtimes(
    hangar: InProcessDaemon, log: RecordingLog
) -> None:
    task = await running(hangar)
    paths = hangar.daemon.paths

    await sweeper.recover(hangar.lifecycle, hangar.store, paths, "another-daemon", log)

    assert await status(hangar, task) == ("running", None)
    assert log.lines == []


@pytest.fixture
def spawn() -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    """Starts a `sleep` leading its own process group, with ``HANGAR_TASK_ID=<marker>``."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(marker: str) -> subprocess.Popen[bytes]:
        env = {"PATH": os.environ["PATH"], "HANGAR_TASK_ID": marker}
        proc = subprocess.Popen(["sleep", "60"], env=env, start_new_session=True)
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


async def test_recovery_reaps_the_agent_group_a_dead_daemon_left_behind(
    hangar: InProcessDaemon, log: RecordingLog, spawn: Callable[[str], subprocess.Popen[bytes]]
) -> None:
    ours = await running(hangar)
    theirs = await running(hangar)  # its recorded group now belongs to somebody else
    slug = (await hangar.store.workspace_default()).slug
    paths = hangar.daemon.paths
    groups = {}
    for task, marker in ((ours, ours.id), (theirs, "someone-else")):
        proc = spawn(marker)
        root = paths.task_root(slug, short_id(task.id))
        root.mkdir(parents=True)
        write_meta(root, task.id, proc.pid, task.started_at or 0)
        groups[task.id] = proc

    await sweeper.recover(hangar.lifecycle, hangar.store, paths, hangar.daemon.daemon_id, log)

    await wait_for(lambda: groups[ours.id].poll() is not None)
    assert groups[theirs.id].poll() is None  # a reused pgid is not ours to kill
    assert log.fields("reaped orphaned agent group") == [
        {"pgid": groups[ours.id].pid, "task_id": ours.id}
    ]
