"""The one lifecycle: each transition is one store write, the events it implies and the
wake-ups, and nothing read again. Driven directly, with the daemon's FixedClock, its
MemoryEventBus and its RunSignals; the store is wrapped so every call it gets is named."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from hangar.core.clock import FixedClock
from hangar.core.failures import FailureReason
from hangar.core.fsm import FinalizeKind, UnknownState
from hangar.daemon import lifecycle
from hangar.daemon.lifecycle import Lifecycle, Refused
from hangar.daemon.signals import RunSignals
from hangar.proto.events import (
    AnyEvent,
    CommentCreated,
    IssueCreated,
    IssueUpdated,
    TaskFinished,
    TaskQueued,
    TaskStarted,
)
from hangar.proto.rows import IssueRow, TaskRow
from hangar.store.sweeper import QUEUED_TTL_MS, RUNNING_TTL_MS, RUNTIME_OFFLINE_MS
from hangar.testing import EventLog, InProcessDaemon, wait_for
from tests.daemon.helpers import RecordingLog, StoreRecorder, make_agent, runtime_ids

pytestmark = pytest.mark.usefixtures("migrated")


@dataclass
class World:
    """The daemon's lifecycle, its store wrapped, one agent, a subscription."""

    hangar: InProcessDaemon
    clock: FixedClock
    store: StoreRecorder
    ws: str
    agent: str
    log: EventLog
    _seen: int = 0
    rows: list[TaskRow] = field(default_factory=list)

    @property
    def lc(self) -> Lifecycle:
        return self.hangar.lifecycle

    @property
    def signals(self) -> RunSignals:
        return self.hangar.daemon.signals

    def mark(self) -> None:
        """From here on: no store calls, no events, not woken."""
        self.store.calls.clear()
        self._seen = len(self.log.drain())
        self.signals.woken.clear()

    def events(self) -> list[AnyEvent]:
        """Events published since the last mark."""
        return self.log.drain()[self._seen :]

    def names(self) -> list[str]:
        return [type(e).__name__ for e in self.events()]

    @property
    def woken(self) -> bool:
        return self.signals.woken.is_set()

    async def issue(self, *, assign: bool = True) -> tuple[IssueRow, TaskRow | None]:
        return await self.lc.create_issue(
            self.ws, title="t", creator="member:me", assign_agent_id=self.agent if assign else None
        )

    async def claimed(self) -> TaskRow:
        """A new assigned issue's task, claimed (dispatched)."""
        await self.issue()
        task = await self.lc.claim(await runtime_ids(self.hangar))
        assert task is not None
        assert task.status == "dispatched"
        return task

    async def running(self) -> TaskRow:
        task = await self.claimed()
        change = await self.lc.start(task, work_dir=None)
        assert change.wrote
        assert change.task is not None
        return change.task

    def success_count(self) -> int:
        success, _ = self.lc.throughput.snapshot(self.clock.now_ms())
        return sum(success)

    def failure_count(self) -> int:
        _, failure = self.lc.throughput.snapshot(self.clock.now_ms())
        return sum(failure)


@pytest.fixture
async def world(
    hangar: InProcessDaemon, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> World:
    agent = await make_agent(hangar, max_concurrent_tasks=8)
    ws = (await hangar.store.workspace_default()).id
    recorder = StoreRecorder(hangar.store)
    monkeypatch.setattr(hangar.lifecycle, "store", recorder)
    log = await hangar.subscribe()
    w = World(hangar, clock, recorder, ws, agent["id"], log)
    w.mark()
    return w


# -- issues ----------------------------------------------------------------------------------


async def test_an_assigned_issue_is_created_queued_announced_and_wakes(world: World) -> None:
    issue, task = await world.issue()

    assert task is not None
    assert (task.status, task.issue_id, task.agent_id) == ("queued", issue.id, world.agent)
    assert world.events() == [
        IssueCreated(issue=issue),
        TaskQueued(task_id=task.id, issue_id=issue.id, agent_id=world.agent),
    ]
    assert world.woken
    assert world.store.calls == ["issue_create"]


async def test_an_unassigned_issue_is_announced_and_wakes_nobody(world: World) -> None:
    issue, task = await world.issue(assign=False)

    assert task is None
    assert world.events() == [IssueCreated(issue=issue)]
    assert not world.woken


async def test_an_issue_update_announces_the_written_row(world: World) -> None:
    issue, _ = await world.issue(assign=False)
    world.mark()

    edit = await world.lc.edit_issue(world.ws, issue.id, state="done", priority=3)

    updated = edit.issue
    assert (updated.state, updated.priority) == ("done", 3)
    assert world.events() == [IssueUpdated(issue=updated)]
    assert world.store.calls == ["issue_edit"]
    assert not world.woken


async def test_the_last_blocker_done_announces_its_dependents_task(world: World) -> None:
    task = await world.running()
    assert task.issue_id is not None
    dependent, _ = await world.issue(assign=False)
    store = world.hangar.store
    await store.dependencies.add(world.ws, dependent.id, task.issue_id)
    _, none = await store.issue_assign(world.ws, dependent.id, world.agent)
    assert none is None  # blocked: assigning it queued nothing
    world.mark()

    change = await world.lc.complete(task, result={}, session_id=None)

    [woken] = change.woken
    assert (woken.issue_id, woken.status) == (dependent.id, "queued")
    events = world.events()
    assert TaskQueued(task_id=woken.id, issue_id=dependent.id, agent_id=world.agent) in events
    assert world.woken


# -- a run -----------------------------------------------------------------------------------


async def test_start_announces_the_start_and_the_issue_moving_once(world: World) -> None:
    task = await world.claimed()
    world.clock.advance(1234)
    world.mark()

    change = await world.lc.start(task, work_dir="/tmp/wd")

    assert change.wrote and change.task is not None
    assert (change.task.status, change.task.work_dir) == ("running", "/tmp/wd")
    assert change.task.started_at == world.clock.now_ms()
    [issue] = change.issues
    assert issue.state == "in_progress"
    assert world.events() == [
        TaskStarted(task_id=task.id, started_at=world.clock.now_ms()),
        IssueUpdated(issue=issue),
    ]
    assert world.store.calls == ["task_start"]

    world.mark()
    again = await world.lc.start(task, work_dir="/tmp/wd")  # a second start is a no-op
    assert not again.wrote
    assert again.kind is FinalizeKind.ALREADY_STARTED
    assert world.events() == []


async def test_a_second_task_starting_on_a_started_issue_does_not_move_it_again(
    world: World,
) -> None:
    issue, first = await world.issue()
    other = await make_agent(world.hangar, "other")
    store = world.hangar.store
    second = await store.task_enqueue(world.ws, agent_id=other["id"], issue_id=issue.id)
    rids = await runtime_ids(world.hangar)
    assert first is not None
    claimed = [await world.lc.claim(rids), await world.lc.claim(rids)]
    assert {t.id for t in claimed if t} == {first.id, second.id}
    world.mark()

    for task in claimed:
        assert task is not None
        await world.lc.start(task, work_dir=None)

    assert world.names() == ["TaskStarted", "IssueUpdated", "TaskStarted"]


async def test_complete_announces_success_moves_the_issue_and_counts_it(world: World) -> None:
    task = await world.running()
    world.clock.advance(5000)
    world.mark()

    change = await world.lc.complete(task, result={"content": "ok"}, session_id="s-1")

    assert change.wrote and change.task is not None
    assert (change.task.status, change.task.session_id) == ("done", "s-1")
    assert change.task.result == {"content": "ok"}
    [issue] = change.issues
    assert issue.state == "done"
    # the agent's answer joins its issue's thread in the same write
    [comment] = change.comments
    assert (comment.issue_id, comment.author, comment.body) == (
        issue.id,
        f"agent:{world.agent}",
        "ok",
    )
    assert world.events() == [
        TaskFinished(
            task_id=task.id,
            result="success",
            status="done",
            failure_reason=None,
            ended_at=world.clock.now_ms(),
        ),
        IssueUpdated(issue=issue),
        CommentCreated(comment=comment),
    ]
    assert (world.success_count(), world.failure_count()) == (1, 0)
    # the slot, the cap and the (issue, agent) guard are used when the run leaves its
    # dispatcher, which wakes itself then: the write itself wakes nobody
    assert not world.woken
    assert world.store.calls == ["task_complete"]


async def test_a_retryable_failure_announces_the_failure_and_queues_a_child(world: World) -> None:
    task = await world.running()
    world.mark()

    change = await world.lc.fail(task, FailureReason.RUNTIME_OFFLINE, result={"exit_code": 75})

    assert change.wrote and change.task is not None
    assert (change.task.status, change.task.failure_reason) == ("failed", "runtime_offline")
    [child] = change.children
    assert (child.status, child.attempt, child.parent_task_id) == ("queued", 2, task.id)
    assert change.issues == []  # the retry keeps the issue in progress
    assert world.events() == [
        TaskFinished(
            task_id=task.id,
            result="failure",
            status="failed",
            failure_reason="runtime_offline",
            ended_at=world.clock.now_ms(),
        ),
        TaskQueued(task_id=child.id, issue_id=task.issue_id, agent_id=world.agent),
    ]
    assert (world.success_count(), world.failure_count()) == (0, 1)
    assert world.woken
    assert world.store.calls == ["task_fail"]


async def test_a_final_failure_reopens_the_issue_and_queues_nothing(world: World) -> None:
    task = await world.running()
    world.mark()

    change = await world.lc.fail(task, FailureReason.AGENT_ERROR)

    assert change.children == []
    [issue] = change.issues
    assert issue.state == "open"
    assert world.names() == ["TaskFinished", "IssueUpdated"]
    assert world.events()[1] == IssueUpdated(issue=issue)


async def test_a_losing_write_announces_nothing(world: World) -> None:
    task = await world.running()
    await world.lc.finish_cancelled(task)
    world.mark()

    completed = await world.lc.complete(task, result={"content": "late"}, session_id=None)
    failed = await world.lc.fail(task, FailureReason.AGENT_ERROR)
    cancelled_again = await world.lc.finish_cancelled(task)

    assert completed.kind is FinalizeKind.TERMINAL_MISMATCH
    assert failed.kind is FinalizeKind.TERMINAL_MISMATCH
    assert cancelled_again.kind is FinalizeKind.ALREADY_TERMINAL
    assert not (completed.wrote or failed.wrote or cancelled_again.wrote)
    assert world.events() == []
    assert not world.woken
    assert (world.success_count(), world.failure_count()) == (0, 1)  # the cancel, once
    row = await world.hangar.store.task_get(world.ws, task.id)
    assert row is not None
    assert (row.status, row.result) == ("cancelled", None)


# -- by hand ---------------------------------------------------------------------------------


async def test_cancel_of_a_queued_task_cancels_it_at_once(world: World) -> None:
    _, task = await world.issue()
    assert task is not None
    world.mark()

    change = await world.lc.cancel(world.ws, task.id)

    assert change.wrote and change.task is not None
    assert (change.task.status, change.task.failure_reason) == ("cancelled", "user_cancel")
    assert world.events() == [
        TaskFinished(
            task_id=task.id,
            result="cancelled",
            status="cancelled",
            failure_reason="user_cancel",
            ended_at=world.clock.now_ms(),
        )
    ]
    assert not world.woken  # a queued task held no slot
    assert world.store.calls == ["task_request_cancel"]


async def test_cancel_of_a_running_task_waits_for_its_owner_to_stop_and_finalize(
    world: World,
) -> None:
    task = await world.running()
    gate = asyncio.Event()
    stops: list[str] = []

    async def stopper() -> None:  # what the dispatcher registers: stop the agent, finalize
        stops.append(task.id)
        await gate.wait()
        await world.lc.finish_cancelled(task)

    world.signals.register(task.id, stopper)
    world.mark()

    cancelling = asyncio.create_task(world.lc.cancel(world.ws, task.id))
    await wait_for(lambda: stops)
    marked = await world.hangar.store.task_get(world.ws, task.id)
    assert marked is not None
    assert marked.status == "running"
    assert marked.cancel_requested_at == world.clock.now_ms()
    assert not cancelling.done()  # still waiting for the owner
    assert world.events() == []

    gate.set()
    await asyncio.wait_for(cancelling, 10)

    row = await world.hangar.store.task_get(world.ws, task.id)
    assert row is not None
    assert row.status == "cancelled"
    assert stops == [task.id]
    assert world.names() == ["TaskFinished", "IssueUpdated"]
    finished = world.events()[0]
    assert isinstance(finished, TaskFinished)
    assert finished.result == "cancelled"


async def test_a_cancel_stops_waiting_for_an_owner_that_never_finishes(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lifecycle, "CANCEL_WAIT_S", 0.05)
    task = await world.running()
    released = asyncio.Event()

    async def stuck() -> None:
        await released.wait()

    world.signals.register(task.id, stuck)

    change = await asyncio.wait_for(world.lc.cancel(world.ws, task.id), 10)

    assert change.task is not None
    assert (change.task.status, change.task.cancel_requested_at) == (
        "running",
        world.clock.now_ms(),
    )
    released.set()


async def test_cancel_of_a_task_run_elsewhere_only_marks_it(world: World) -> None:
    task = await world.running()  # no stopper registered: no local run
    world.mark()

    change = await world.lc.cancel(world.ws, task.id)

    assert not change.wrote
    assert change.task is not None
    assert change.task.status == "running"
    assert change.task.cancel_requested_at == world.clock.now_ms()
    assert world.events() == []


async def test_cancel_of_a_finished_task_is_refused_and_says_why(world: World) -> None:
    task = await world.running()
    await world.lc.complete(task, result=None, session_id=None)
    world.mark()

    with pytest.raises(Refused, match=rf"cannot cancel task {task.id}: it is done"):
        await world.lc.cancel(world.ws, task.id)
    assert world.events() == []


async def test_cancel_of_a_cancelled_task_is_accepted_quietly(world: World) -> None:
    _, task = await world.issue()
    assert task is not None
    await world.lc.cancel(world.ws, task.id)
    world.mark()

    change = await world.lc.cancel(world.ws, task.id)

    assert change.ok and not change.wrote
    assert world.events() == []


async def test_retry_queues_a_new_attempt_even_past_max_attempts(world: World) -> None:
    task = await world.running()
    await world.lc.fail(task, FailureReason.AGENT_ERROR)
    world.mark()

    child = await world.lc.retry(world.ws, task.id)

    assert (child.status, child.attempt, child.parent_task_id) == ("queued", 2, task.id)
    assert world.events() == [
        TaskQueued(task_id=child.id, issue_id=task.issue_id, agent_id=world.agent)
    ]
    assert world.woken
    assert world.store.calls == ["task_retry"]

    # attempt 2 of 2 fails for good; a person may still ask for a third
    claimed = await world.lc.claim(await runtime_ids(world.hangar))
    assert claimed is not None
    assert claimed.id == child.id
    started = await world.lc.start(claimed, work_dir=None)
    assert started.task is not None
    await world.lc.fail(started.task, FailureReason.RUNTIME_OFFLINE)
    third = await world.lc.retry(world.ws, child.id)
    assert third.attempt == 3


async def test_retry_of_a_task_that_did_not_fail_is_refused(world: World) -> None:
    _, task = await world.issue()
    assert task is not None
    world.mark()

    with pytest.raises(Refused, match=r"cannot retry task .*: it is queued"):
        await world.lc.retry(world.ws, task.id)
    assert world.events() == []
    assert not world.woken


async def test_a_board_move_can_only_cancel_or_requeue(world: World) -> None:
    task = await world.running()

    with pytest.raises(Refused, match="illegal transition running -> done: only cancel"):
        await world.lc.move(world.ws, task, "done")
    with pytest.raises(Refused, match="illegal transition running -> queued"):
        await world.lc.move(world.ws, task, "queued")
    with pytest.raises(UnknownState):
        await world.lc.move(world.ws, task, "finished")
    row = await world.hangar.store.task_get(world.ws, task.id)
    assert row is not None
    assert row.status == "running"

    _, queued = await world.issue()
    assert queued is not None
    world.mark()
    await world.lc.move(world.ws, queued, "cancelled")
    assert world.names() == ["TaskFinished"]

    cancelled = await world.hangar.store.task_get(world.ws, queued.id)
    assert cancelled is not None
    assert cancelled.status == "cancelled"
    world.mark()
    await world.lc.move(world.ws, cancelled, "queued")
    [event] = world.events()
    assert isinstance(event, TaskQueued)
    child = await world.hangar.store.task_get(world.ws, event.task_id)
    assert child is not None
    assert (child.status, child.parent_task_id) == ("queued", queued.id)


# -- safety nets -----------------------------------------------------------------------------


async def test_sweep_fails_stale_rows_and_finalizes_orphaned_cancels(world: World) -> None:
    doomed = await world.running()
    await world.lc.cancel(world.ws, doomed.id)  # no local owner: running, cancel requested
    _, stale = await world.issue()  # queued, never claimed
    assert stale is not None
    world.clock.advance(QUEUED_TTL_MS + 1)  # the runtime has missed every heartbeat since
    world.mark()

    report = await world.lc.sweep()

    assert [t.id for t in report.queued_timed_out] == [stale.id]
    assert [t.id for t in report.cancelled] == [doomed.id]
    assert world.store.calls == ["sweep"]
    finished = {e.task_id: e for e in world.events() if isinstance(e, TaskFinished)}
    assert finished[stale.id] == TaskFinished(
        task_id=stale.id,
        result="failure",
        status="failed",
        failure_reason="timeout",
        ended_at=world.clock.now_ms(),
    )
    assert (finished[doomed.id].status, finished[doomed.id].result) == ("cancelled", "cancelled")
    moved = [e.issue for e in world.events() if isinstance(e, IssueUpdated)]
    assert [(i.id, i.state) for i in moved] == [(doomed.issue_id, "open")]
    assert world.woken

    world.mark()  # a second pass finds nothing and says nothing
    again = await world.lc.sweep()
    assert again.total == 0
    assert world.events() == []
    assert not world.woken


async def test_sweep_spares_rows_whose_runtime_is_alive(world: World) -> None:
    task = await world.running()
    world.clock.advance(RUNNING_TTL_MS + 1)
    await world.hangar.store.runtimes_heartbeat(world.hangar.daemon.daemon_id)
    world.mark()

    report = await world.lc.sweep()

    assert report.total == 0
    assert world.events() == []
    row = await world.hangar.store.task_get(world.ws, task.id)
    assert row is not None
    assert row.status == "running"


async def test_sweep_requeues_a_stale_dispatch_and_wakes(world: World) -> None:
    task = await world.claimed()
    world.clock.advance(RUNTIME_OFFLINE_MS + 1)  # past the reclaim window, within the TTL
    world.mark()

    report = await world.lc.sweep()

    assert [t.id for t in report.dispatched_requeued] == [task.id]
    assert report.dispatched_requeued[0].status == "queued"
    assert world.woken  # somebody may claim it now


async def test_recover_cancels_what_was_asked_and_retries_the_rest(world: World) -> None:
    asked = await world.running()
    await world.lc.cancel(world.ws, asked.id)  # no local run: marked only
    orphan = await world.running()
    waiting = await world.claimed()
    world.mark()

    report = await world.lc.recover(await runtime_ids(world.hangar))

    assert [t.id for t in report.cancelled] == [asked.id]
    assert report.cancelled[0].status == "cancelled"
    assert [t.id for t in report.failed] == [orphan.id]
    assert report.failed[0].failure_reason == "runtime_recovery"
    assert [t.id for t in report.requeued] == [waiting.id]
    [child] = report.children
    assert child.parent_task_id == orphan.id  # the cancelled one is not retried
    assert world.store.calls == ["recover_runtimes"]
    events = world.events()
    ended = {e.task_id: (e.status, e.result) for e in events if isinstance(e, TaskFinished)}
    assert ended == {asked.id: ("cancelled", "cancelled"), orphan.id: ("failed", "failure")}
    queued = [e.task_id for e in events if isinstance(e, TaskQueued)]
    assert queued == [child.id]
    moved = [(e.issue.id, e.issue.state) for e in events if isinstance(e, IssueUpdated)]
    assert moved == [(asked.issue_id, "open")]
    assert world.woken


# -- nothing read twice ----------------------------------------------------------------------


async def test_no_transition_reads_what_it_just_wrote(world: World) -> None:
    """Every transition above is one store call; over a whole life, never a read."""
    task = await world.running()
    await world.lc.fail(task, FailureReason.RUNTIME_OFFLINE)
    child = await world.lc.claim(await runtime_ids(world.hangar))
    assert child is not None
    started = await world.lc.start(child, work_dir=None)
    assert started.task is not None
    await world.lc.fail(started.task, FailureReason.AGENT_ERROR)  # the last attempt
    await world.lc.retry(world.ws, child.id)

    reads = [c for c in world.store.calls if c.endswith(("_get", "_list"))]
    assert reads == []
    assert world.store.calls == [
        "issue_create",
        "task_claim",
        "task_start",
        "task_fail",
        "task_claim",
        "task_start",
        "task_fail",
        "task_retry",
    ]


async def test_a_whole_run_reads_its_issue_once_for_the_prompt(
    hangar: InProcessDaemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads: list[str] = []
    real = hangar.store.issue_get

    async def counted(workspace_id: str, issue_id: str) -> IssueRow | None:
        reads.append(issue_id)
        return await real(workspace_id, issue_id)

    monkeypatch.setattr(hangar.store, "issue_get", counted)
    await make_agent(hangar)
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "ok"})

    await hangar.dispatch()

    task = (await hangar.call("hangar/task_get", {"task_id": made["task"]["id"]}))["task"]
    assert task["status"] == "done"
    assert reads == [made["issue"]["id"]]


async def test_a_failure_is_logged_as_a_warning_with_its_reason(hangar: InProcessDaemon) -> None:
    log = RecordingLog()
    hangar.lifecycle.log = log
    await hangar.call(
        "hangar/agent_create", {"name": "a", "provider": "command", "command": ["true"]}
    )
    made = await hangar.call("hangar/issue_create", {"title": "t", "assign": "a"})
    task = await hangar.store.task_get(made["task"]["workspace_id"], made["task"]["id"])
    assert task is not None
    await hangar.lifecycle.fail(
        task, FailureReason.AGENT_ERROR, result={"content": "", "error": "boom"}
    )
    assert [f["error"] for f in log.fields("task finished")] == ["boom"]
    assert log.events("warning") == ["task finished"]
